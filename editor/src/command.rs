//! Everything a user can do, as one type. Menu items, keyboard shortcuts, canvas gestures,
//! inspector edits and training buttons all produce a [`Command`]; the handler
//! (`crate::handler`) runs the queued commands once per frame and is the only code that
//! changes the document, the selection or the training session.

use egui::{Key, KeyboardShortcut, Modifiers};
use hyphae::graph::{InputDecl, Training};
use hyphae::ops::Op;
use std::path::PathBuf;

/// A position on the canvas (graph space, top-left of a node).
pub type Pos = (f32, f32);

/// One thing the user asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    // ----- file -----
    NewGraph,
    NewFromTemplate(PathBuf),
    /// Show the Open dialog.
    OpenDialog,
    Open(PathBuf),
    Save,
    /// Show the Save As dialog.
    SaveAsDialog,
    SaveAs(PathBuf),
    Quit,
    /// Answer to "discard?": save first (`true`) or discard (`false`), then go on.
    ConfirmPending {
        save: bool,
    },
    CancelPending,
    /// Close the "could not open" message.
    DismissLoadError,

    // ----- edit -----
    Undo,
    Redo,
    Copy,
    /// Paste this text if it is a graph fragment, else the editor's own clipboard.
    Paste(Option<String>),
    Duplicate,
    /// Delete what is selected.
    Delete,
    SelectAll,
    Select(Vec<String>),
    ClearSelection,
    AutoLayout,
    FitView,
    /// Open the find box (Ctrl+F).
    Find,
    /// Select this node and centre the view on it.
    Reveal(String),

    // ----- graph edits -----
    /// Add an op at `pos` (or a free spot in view); `wire` connects it to an existing pin.
    AddNode {
        op: Box<Op>,
        pos: Option<Pos>,
        wire: Option<WireEnd>,
    },
    AddInput {
        pos: Option<Pos>,
    },
    Connect {
        src: String,
        dst: String,
        port: usize,
    },
    Disconnect {
        dst: String,
        port: usize,
    },
    DisconnectOutputs {
        src: String,
    },
    /// Nodes dragged on the canvas, to these positions (one undo step per gesture).
    Move(Vec<(String, Pos)>),
    Rename {
        old: String,
        new: String,
    },
    /// A changed op config of `node`; `field` names the field for undo coalescing.
    SetOp {
        node: String,
        field: String,
        op: Box<Op>,
    },
    SetInput {
        name: String,
        input: InputDecl,
    },
    SetFrozen {
        node: String,
        frozen: bool,
    },
    SetLrMult {
        node: String,
        lr_mult: f32,
    },
    SetTraining(Box<Training>),
    SetDescription(String),
    /// Make the data inputs (and the last layer's classes) match the graph's dataset.
    FitInputsToDataset,
    /// Fold the selected nodes into one new, collapsed group.
    Group,
    /// Dissolve the groups that hold selected nodes.
    Ungroup,
    /// Collapse or expand this group.
    ToggleGroup(String),

    // ----- training -----
    StartTraining,
    /// Start paused and run one batch, or one more batch when paused.
    Step,
    Pause,
    Resume,
    /// End the run, keeping the model.
    StopTraining,
    SetLiveLr(f32),
    SetStatsEvery(usize),
    Evaluate,
    /// Ask the trainer for a snapshot of its model (the decision-boundary view).
    SnapshotModel,
    /// Ask the trainer for its model as it is now (the nodes' outputs windows).
    SnapshotForOutputs,
    /// Open or close the window of this node's outputs for a fixed batch.
    ToggleOutputs(String),
    SaveWeights(PathBuf),
    SaveCheckpoint,
    LoadWeights(PathBuf),
    /// Follow the run another process writes in this folder (read-only).
    FollowRun(PathBuf),

    // ----- runs (the Runs window) -----
    /// List the runs under this root again.
    RefreshRuns(PathBuf),
    /// Save a run's name, tags and hidden flag (`labels.ron` in its folder).
    SetRunLabels {
        dir: PathBuf,
        labels: hyphae::train::runs::RunLabels,
    },
    /// Delete a run folder (the window asks first).
    DeleteRun(PathBuf),
    /// Mark on the canvas what changed in the graph from run `old` to run `new`.
    ShowRunDiff {
        old: PathBuf,
        new: PathBuf,
    },
    ClearRunDiff,
}

/// The pin a dropped wire came from: a new node connects to it.
#[derive(Clone, Debug, PartialEq)]
pub enum WireEnd {
    /// The output of this node feeds the new node's first input.
    FromOutput(String),
    /// The new node's output feeds input `port` of this node.
    ToInput { node: String, port: usize },
}

const fn cmd(key: Key) -> KeyboardShortcut {
    KeyboardShortcut::new(Modifiers::COMMAND, key)
}

impl Command {
    /// The text of its menu item or button.
    pub fn label(&self) -> String {
        match self {
            Command::NewGraph => "New".into(),
            Command::OpenDialog => "Open…".into(),
            Command::Save => "Save".into(),
            Command::SaveAsDialog => "Save As…".into(),
            Command::Quit => "Quit".into(),
            Command::Undo => "Undo".into(),
            Command::Redo => "Redo".into(),
            Command::Copy => "Copy".into(),
            Command::Paste(_) => "Paste".into(),
            Command::Duplicate => "Duplicate".into(),
            Command::Delete => "Delete".into(),
            Command::SelectAll => "Select all".into(),
            Command::AutoLayout => "Auto-layout".into(),
            Command::FitView => "Fit graph in view".into(),
            Command::Find => "Find node…".into(),
            Command::StartTraining => "▶ Start".into(),
            Command::Step => "Step".into(),
            Command::Pause => "⏸ Pause".into(),
            Command::Resume => "⏵ Resume".into(),
            Command::StopTraining => "⏹ Stop".into(),
            Command::Evaluate => "Evaluate".into(),
            Command::SaveWeights(_) => "Save weights".into(),
            Command::SaveCheckpoint => "Checkpoint".into(),
            Command::LoadWeights(_) => "Load weights".into(),
            Command::FollowRun(_) => "Follow run".into(),
            Command::FitInputsToDataset => "Fit inputs to dataset".into(),
            Command::Group => "Group selection".into(),
            Command::Ungroup => "Ungroup".into(),
            other => format!("{other:?}"),
        }
    }

    /// Its keyboard shortcut, shown next to the menu item.
    pub fn shortcut(&self) -> Option<KeyboardShortcut> {
        Some(match self {
            Command::NewGraph => cmd(Key::N),
            Command::OpenDialog => cmd(Key::O),
            Command::Save => cmd(Key::S),
            Command::SaveAsDialog => {
                KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::S)
            }
            Command::Undo => cmd(Key::Z),
            Command::Redo => {
                KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::Z)
            }
            Command::Copy => cmd(Key::C),
            Command::Paste(_) => cmd(Key::V),
            Command::Duplicate => cmd(Key::D),
            Command::Delete => KeyboardShortcut::new(Modifiers::NONE, Key::Delete),
            Command::SelectAll => cmd(Key::A),
            Command::FitView => KeyboardShortcut::new(Modifiers::NONE, Key::F),
            Command::Find => cmd(Key::F),
            Command::Group => cmd(Key::G),
            Command::Ungroup => {
                KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::G)
            }
            _ => return None,
        })
    }

    /// Whether it applies while typing in a text field (file commands do; edits of the
    /// graph would fight the field's own Ctrl+Z, Ctrl+A, Delete…).
    pub fn works_while_typing(&self) -> bool {
        matches!(
            self,
            Command::NewGraph
                | Command::OpenDialog
                | Command::Save
                | Command::SaveAsDialog
                | Command::Find
        )
    }

    /// Whether it changes the graph's structure (what a live training run is built from).
    pub fn is_structural(&self) -> bool {
        matches!(
            self,
            Command::AddNode { .. }
                | Command::AddInput { .. }
                | Command::Connect { .. }
                | Command::Disconnect { .. }
                | Command::DisconnectOutputs { .. }
                | Command::Rename { .. }
                | Command::SetOp { .. }
                | Command::SetInput { .. }
                | Command::SetFrozen { .. }
                | Command::SetLrMult { .. }
                | Command::SetTraining(_)
                | Command::FitInputsToDataset
                | Command::Delete
                | Command::Duplicate
                | Command::Paste(_)
                | Command::Undo
                | Command::Redo
        )
    }

    /// Commands reached by a keyboard shortcut, checked every frame.
    pub fn with_shortcuts() -> Vec<Command> {
        vec![
            Command::NewGraph,
            Command::OpenDialog,
            Command::SaveAsDialog,
            Command::Save,
            Command::Redo,
            Command::Undo,
            Command::Duplicate,
            Command::SelectAll,
            Command::Find,
            Command::Ungroup,
            Command::Group,
            Command::FitView,
            Command::Delete,
        ]
    }
}

/// Commands produced during a frame, run by the handler at its end.
#[derive(Debug, Default)]
pub struct Queue(Vec<Command>);

impl Queue {
    pub fn push(&mut self, c: Command) {
        self.0.push(c);
    }

    pub fn take(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.0)
    }
}
