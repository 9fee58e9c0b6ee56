//! The command handler: the only code that changes the document, the selection and the
//! training session. The frame queues [`Command`]s and runs them here at its end.

use crate::app::{EditorApp, Pending};
use crate::command::{Command, WireEnd};
use crate::model::{dataset, fit, groups, layout};
use crate::session::TrainerCommand;
use crate::ui::DialogMode;
use hyphae::graph::Source;

mod clipboard;
mod files;
mod grouping;
mod runs;

/// Why a structural edit is refused while a run is live.
pub const LOCKED_WHILE_TRAINING: &str = "the graph cannot change while it trains: \
    Pause first (Resume then continues on the edited graph, the unchanged layers keeping \
    their weights), or Stop (the trained model is kept until the next Start)";

impl EditorApp {
    /// Runs one command now.
    pub fn run(&mut self, c: Command) {
        // A paused run may change: Resume continues it on the edited graph (a fork).
        let paused = self.core.training.paused_for_edits();
        if self.core.training.is_live() && !paused && self.changes_structure(&c) {
            self.error(LOCKED_WHILE_TRAINING);
            return;
        }
        match c {
            Command::NewGraph => self.request(Pending::New),
            Command::NewFromTemplate(p) => self.request(Pending::Template(p)),
            Command::Open(p) => self.request(Pending::Open(p)),
            Command::OpenDialog => self.open_dialog(DialogMode::Open),
            Command::SaveAsDialog => self.open_dialog(DialogMode::SaveAs),
            Command::Save => match self.core.doc.path.clone() {
                Some(p) => self.save_to(&p),
                None => self.open_dialog(DialogMode::SaveAs),
            },
            Command::SaveAs(p) => {
                let p = if p.extension().is_none() {
                    p.with_extension("ron")
                } else {
                    p
                };
                self.save_to(&p);
                if !self.core.doc.is_dirty()
                    && let Some(next) = self.core.pending.take()
                {
                    self.run_pending(next);
                }
            }
            Command::Quit => self.request(Pending::Quit),
            Command::ConfirmPending { save } => self.confirm(save),
            Command::CancelPending => self.core.pending = None,
            Command::DismissLoadError => self.core.load_error = None,
            Command::Undo => {
                if self.core.doc.undo() {
                    self.core.selection.retain_existing(&self.core.doc);
                    self.info("undo");
                }
            }
            Command::Redo => {
                if self.core.doc.redo() {
                    self.core.selection.retain_existing(&self.core.doc);
                    self.info("redo");
                }
            }
            Command::Copy => self.copy(),
            Command::Paste(text) => self.paste(text),
            Command::Duplicate => self.duplicate(),
            Command::Delete => {
                let names = self.core.selection.names().to_vec();
                if !names.is_empty() {
                    self.core.doc.delete(&names);
                    self.core.selection.clear();
                    self.info(format!("deleted {}", names.join(", ")));
                }
            }
            Command::SelectAll => {
                let all = self.core.doc.names();
                self.core.selection.set(all);
            }
            Command::Select(names) => {
                let names = names
                    .into_iter()
                    .filter(|n| self.core.doc.exists(n))
                    .collect();
                self.core.selection.set(names);
            }
            Command::ClearSelection => self.core.selection.clear(),
            Command::AutoLayout => {
                let canvas = &self.canvas;
                let file = self.core.doc.file.clone();
                self.core.doc.auto_layout(|n| {
                    canvas
                        .node_size(n)
                        .unwrap_or_else(|| layout::estimated_size(&file, n))
                });
                self.canvas.fit_view = true;
            }
            Command::FitView => self.canvas.fit_view = true,
            Command::Find => self.ui.find = Some(String::new()),
            Command::Reveal(name) => {
                if self.core.doc.exists(&name) {
                    self.core.selection.set(vec![name.clone()]);
                    self.canvas.reveal(&name);
                }
            }
            Command::AddNode { op, pos, wire } => self.add_node(*op, pos, wire),
            Command::AddInput { pos } => {
                let pos = pos.unwrap_or_else(|| self.free_spot_in_view());
                let shape = self.default_input_shape();
                let name = self.core.doc.add_input(shape, Source::Features, pos);
                self.core.selection.set(vec![name]);
            }
            Command::Connect { src, dst, port } => match self.core.doc.connect(&src, &dst, port) {
                Ok(()) => self.info(format!("connected {src} to {dst}")),
                Err(e) => self.error(e),
            },
            Command::Disconnect { dst, port } => self.core.doc.disconnect(&dst, port),
            Command::DisconnectOutputs { src } => self.core.doc.disconnect_outputs(&src),
            Command::Move(moves) => self.core.doc.edit_keyed(Some("move".into()), |f| {
                for (n, p) in moves {
                    f.layout.insert(n, p);
                }
            }),
            Command::Rename { old, new } => match self.core.doc.rename(&old, &new) {
                Ok(()) => self.core.selection.set(vec![new.trim().to_string()]),
                Err(e) => self.error(e),
            },
            Command::SetOp { node, field, op } => {
                self.core
                    .doc
                    .edit_keyed(Some(format!("{node}.{field}")), |f| {
                        if let Some(n) = f.nodes.iter_mut().find(|n| n.name == node) {
                            n.op = *op;
                        }
                    })
            }
            Command::SetInput { name, input } => {
                self.core
                    .doc
                    .edit_keyed(Some(format!("{name}.input")), |f| {
                        if let Some(i) = f.inputs.iter_mut().find(|i| i.name == name) {
                            *i = input;
                        }
                    })
            }
            Command::SetFrozen { node, frozen } => self.core.doc.edit(|f| {
                if let Some(n) = f.nodes.iter_mut().find(|n| n.name == node) {
                    n.frozen = frozen;
                }
            }),
            Command::SetLrMult { node, lr_mult } => {
                if !(lr_mult.is_finite() && lr_mult >= 0.0) {
                    self.error(format!(
                        "lr_mult must be a finite number ≥ 0, not {lr_mult}"
                    ));
                    return;
                }
                self.core
                    .doc
                    .edit_keyed(Some(format!("{node}.lr_mult")), |f| {
                        if let Some(n) = f.nodes.iter_mut().find(|n| n.name == node) {
                            n.lr_mult = lr_mult;
                        }
                    })
            }
            Command::SetTraining(t) => match crate::model::settings::check(&t) {
                Ok(()) => self
                    .core
                    .doc
                    .edit_keyed(Some("training".into()), |f| f.training = *t),
                Err(e) => self.error(e),
            },
            Command::SetDescription(d) => self
                .core
                .doc
                .edit_keyed(Some("description".into()), |f| f.description = d),
            Command::FitInputsToDataset => self.fit_inputs(),
            Command::Group => self.group_selection(),
            Command::Ungroup => self.ungroup_selection(),
            Command::ToggleGroup(name) => self.core.doc.edit(|f| groups::toggle(f, &name)),
            Command::StartTraining => {
                if self.core.training.has_model() {
                    self.core.pending = Some(Pending::StartTraining);
                } else {
                    self.start_training(false);
                }
            }
            Command::Step => {
                if self.core.training.is_live() {
                    match self.core.training.fork_if_edited(&self.core.doc, true) {
                        None => self.core.training.send(TrainerCommand::Step),
                        Some(Ok(m)) => self.info(m),
                        Some(Err(e)) => self.error(e),
                    }
                } else if self.core.training.has_model() {
                    self.core.pending = Some(Pending::StartTraining);
                } else if self.start_training(true) {
                    self.core.training.send(TrainerCommand::Step);
                }
            }
            Command::Pause => self.core.training.send(TrainerCommand::Pause),
            Command::Resume => match self.core.training.fork_if_edited(&self.core.doc, false) {
                None => self.core.training.send(TrainerCommand::Resume),
                Some(Ok(m)) => self.info(m),
                Some(Err(e)) => self.error(e),
            },
            Command::StopTraining => {
                if self.core.training.edited(&self.core.doc.file) {
                    self.info("stopped: the kept model is the graph before the paused edits");
                }
                self.core.training.halt();
            }
            Command::SetLiveLr(lr) => match crate::model::settings::lr(lr) {
                Ok(()) => {
                    self.core.training.live_lr = lr;
                    self.core.training.send(TrainerCommand::SetLr(lr));
                }
                Err(e) => self.error(e),
            },
            Command::SetStatsEvery(n) => {
                self.core.training.live_stats_every = n;
                self.core.training.send(TrainerCommand::SetStatsEvery(n));
            }
            Command::SnapshotModel => self.core.training.send(TrainerCommand::Snapshot),
            Command::SnapshotForOutputs => self.core.training.send(TrainerCommand::SnapshotModel),
            Command::ToggleOutputs(node) => self.ui.outputs.toggle(&node),
            Command::Evaluate => {
                if self.core.training.has_model() {
                    self.core.training.send(TrainerCommand::Evaluate);
                } else {
                    self.error("nothing to evaluate: train the graph or load weights first");
                }
            }
            Command::SaveWeights(p) => {
                if let Some(dir) = p.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                self.core.training.send(TrainerCommand::SaveWeights(p));
            }
            Command::SaveCheckpoint => self.core.training.send(TrainerCommand::SaveCheckpoint),
            Command::LoadWeights(p) => {
                if self.core.training.session.is_some() || self.start_training(true) {
                    self.core.training.send(TrainerCommand::LoadWeights(p));
                }
            }
            Command::FollowRun(dir) => {
                if self.core.training.is_live() {
                    self.error("a run is on: Stop it before following another");
                } else if !dir.join("metrics.jsonl").is_file() {
                    // Checked before anything is dropped: a typo costs no model.
                    self.error(format!(
                        "{}: not a run folder (no metrics.jsonl); `hyphae train` writes one under runs/",
                        dir.display()
                    ));
                } else if self.core.training.has_model() {
                    self.core.pending = Some(Pending::FollowRun(dir));
                } else {
                    self.follow_run(dir);
                }
            }
            c @ (Command::RefreshRuns(_)
            | Command::SetRunLabels { .. }
            | Command::DeleteRun(_)
            | Command::ShowRunDiff { .. }
            | Command::ClearRunDiff) => self.runs_command(c),
        }
    }

    /// Whether `c` would change what a live run was built from.
    fn changes_structure(&self, c: &Command) -> bool {
        let doc = &self.core.doc;
        let differs = |other: Option<&hyphae::graph::GraphFile>| {
            other.is_some_and(|o| {
                o.inputs != doc.file.inputs
                    || o.nodes != doc.file.nodes
                    || o.training != doc.file.training
            })
        };
        match c {
            Command::Undo => differs(doc.peek_undo()),
            Command::Redo => differs(doc.peek_redo()),
            Command::Delete | Command::Duplicate => !self.core.selection.is_empty(),
            c => c.is_structural(),
        }
    }

    pub(crate) fn info(&mut self, msg: impl Into<String>) {
        self.core.status = Some((msg.into(), false));
    }

    pub(crate) fn error(&mut self, msg: impl Into<String>) {
        self.core.status = Some((msg.into(), true));
    }

    /// A free spot near the middle of the view, so a new node never lands on another.
    fn free_spot_in_view(&self) -> (f32, f32) {
        let c = self.canvas.view_center();
        layout::free_spot(
            &self.core.doc.file,
            (c.0 - 95.0, c.1 - 50.0),
            (190.0, 100.0),
        )
    }

    /// A new Features input takes the dataset's sample shape when the graph names one.
    fn default_input_shape(&self) -> Vec<usize> {
        self.core
            .doc
            .file
            .training
            .dataset
            .as_deref()
            .and_then(|s| dataset::describe(&self.resolved_dataset(s)).ok())
            .map_or(vec![1, 28, 28], |i| i.sample_shape)
    }

    fn add_node(&mut self, op: hyphae::ops::Op, pos: Option<(f32, f32)>, wire: Option<WireEnd>) {
        let pos = pos.unwrap_or_else(|| self.free_spot_in_view());
        let name = self.core.doc.add_node(op, pos);
        let wired = match wire {
            Some(WireEnd::FromOutput(src)) => self.core.doc.connect(&src, &name, 0),
            Some(WireEnd::ToInput { node, port }) => self.core.doc.connect(&name, &node, port),
            None => Ok(()),
        };
        if let Err(e) = wired {
            self.error(e);
        }
        self.core.selection.set(vec![name]);
    }

    fn resolved_dataset(&self, spec: &str) -> String {
        dataset::resolve(spec, self.core.doc.path.as_deref())
    }

    fn fit_inputs(&mut self) {
        let Some(spec) = self.core.doc.file.training.dataset.clone() else {
            self.error("pick a dataset first");
            return;
        };
        match dataset::describe(&self.resolved_dataset(&spec)) {
            Ok(info) => {
                let done = self.core.doc.edit(|f| fit::fit_to_dataset(f, &info));
                if done.is_empty() {
                    self.info(format!("the data inputs already match {spec}"));
                } else {
                    self.info(done.join("; "));
                }
            }
            Err(e) => self.error(format!("dataset {spec}: {e}")),
        }
    }

    /// Starts a run on the graph as it is; `false` (with the reason shown) if it cannot.
    fn start_training(&mut self, paused: bool) -> bool {
        let Some(graph) = self.core.doc.valid.clone() else {
            self.error("fix the graph's errors before training");
            return false;
        };
        let Some(spec) = self.core.doc.file.training.dataset.clone() else {
            self.error("no dataset: pick one in the training panel");
            return false;
        };
        let dataset = self.resolved_dataset(&spec);
        let wake = self.wake();
        self.core.training.start(graph, dataset, paused, wake);
        true
    }

    fn follow_run(&mut self, dir: std::path::PathBuf) {
        let wake = self.wake();
        self.core.training.follow(dir, wake);
    }

    /// How a session asks for a frame: soon for routine news, at once for the rest.
    fn wake(&self) -> Option<crate::session::trainer_thread::Wake> {
        self.egui_ctx.clone().map(|ctx| {
            Box::new(move |routine: bool| {
                if routine {
                    ctx.request_repaint_after(STEP_REPAINT);
                } else {
                    ctx.request_repaint();
                }
            }) as crate::session::trainer_thread::Wake
        })
    }
}

/// Longest wait before a step's news is painted (≈ 4 frames/s while training).
const STEP_REPAINT: std::time::Duration = std::time::Duration::from_millis(250);
