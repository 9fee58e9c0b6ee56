//! The window's panels, one file each. Panels read the editor's state and queue
//! [`Command`]s; only widget state (text being typed, open dialogs) changes here.

pub mod boundary;
pub mod canvas;
pub mod canvas_far;
pub mod canvas_view;
pub mod data_view;
pub mod dialogs;
pub mod evaluation;
pub mod fields;
pub mod find;
pub mod fork_marks;
pub mod inspect_node;
pub mod inspector;
pub mod menu;
pub mod minimap;
pub mod node_outputs;
pub mod palette;
pub mod plots;
pub mod run_diff;
pub mod runs;
pub mod shortcuts;
pub mod status;
pub mod step_plot;
pub mod summary;
pub mod tint;
pub mod train_settings;
pub mod training_panel;

use crate::command::{Command, Queue};
use egui::{Color32, Ui};

pub const ERROR_RED: Color32 = Color32::from_rgb(230, 70, 70);
pub const WARN_AMBER: Color32 = Color32::from_rgb(240, 170, 50);
pub const SERIOUS_ORANGE: Color32 = Color32::from_rgb(250, 110, 40);
pub const OK_GREEN: Color32 = Color32::from_rgb(120, 200, 120);

/// Which view fills the centre.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Canvas,
    Summary,
}

/// What the in-app file dialog is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialogMode {
    Open,
    SaveAs,
}

/// A simple file dialog: a path field and the `.ron` files of a folder (no native dialog
/// toolkit is needed).
#[derive(Clone, Debug)]
pub struct FileDialog {
    pub mode: DialogMode,
    pub path: String,
}

/// Widget state: what is being typed and which windows are open. Never the document.
pub struct UiState {
    pub view: View,
    /// Palette search.
    pub search: String,
    pub dialog: Option<FileDialog>,
    /// The inspector's name field: (node it belongs to, text).
    pub rename: (String, String),
    /// Why the last config edit in the inspector was refused.
    pub field_error: Option<String>,
    /// The find box (Ctrl+F) and its text, when open.
    pub find: Option<String>,
    /// Path for Save/Load weights.
    pub weights_path: String,
    /// A run folder to follow (`runs/<graph>/latest`).
    pub follow_path: String,
    /// Path typed in the dataset picker for `mnist:`/`csv:` sets.
    pub data_path: String,
    pub show_training: bool,
    pub show_evaluation: bool,
    /// Evaluations seen: a new one opens the evaluation window.
    pub seen_evaluations: u64,
    pub show_data: bool,
    pub show_boundary: bool,
    pub show_runs: bool,
    /// The Runs window: the listed runs, the ticked ones, what is being typed.
    pub runs: runs::RunsPanel,
    /// The loaded dataset and the data, evaluation and boundary views made from it.
    pub panels: data_view::DataPanels,
    /// The nodes' outputs windows (a node's "Show outputs").
    pub outputs: node_outputs::OutputWindows,
}

impl Default for UiState {
    fn default() -> Self {
        UiState {
            view: View::Canvas,
            search: String::new(),
            dialog: None,
            rename: (String::new(), String::new()),
            field_error: None,
            find: None,
            weights_path: "runs/editor/weights.safetensors".into(),
            follow_path: String::new(),
            data_path: String::new(),
            show_training: false,
            show_evaluation: false,
            seen_evaluations: 0,
            show_data: false,
            show_boundary: false,
            show_runs: false,
            runs: runs::RunsPanel::default(),
            panels: data_view::DataPanels::default(),
            outputs: node_outputs::OutputWindows::default(),
        }
    }
}

/// A button for `c` showing its shortcut; queues `c` when clicked.
pub fn command_button(ui: &mut Ui, q: &mut Queue, c: Command, enabled: bool) -> egui::Response {
    let mut b = egui::Button::new(c.label());
    if let Some(s) = c.shortcut() {
        b = b.shortcut_text(ui.ctx().format_shortcut(&s));
    }
    let r = ui.add_enabled(enabled, b);
    if r.clicked() {
        q.push(c);
    }
    r
}

/// Text for the default fonts, which lack some symbols the engine's messages use (an
/// arrow drew as a box).
pub fn plain(text: &str) -> String {
    text.replace('→', "->")
}
