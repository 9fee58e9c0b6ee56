//! The Runs window's commands: labels and deletions go through the engine's
//! `train::runs` (atomic label writes, deletes refused for anything but a run folder);
//! the list shows the change at once, and a failure is a message, never a panic.

use crate::app::EditorApp;
use crate::command::Command;
use crate::model::runs;
use hyphae::train::runs as engine_runs;

impl EditorApp {
    /// Runs one of the Runs window's commands (other commands are ignored here).
    pub(crate) fn runs_command(&mut self, c: Command) {
        match c {
            Command::RefreshRuns(root) => self.ui.runs.list.refresh(&root),
            Command::SetRunLabels { dir, labels } => {
                match engine_runs::write_labels(&dir, &labels) {
                    Ok(()) => {
                        let what = if labels.hidden { "hidden" } else { "saved" };
                        self.info(format!("{}: labels {what}", runs::folder(&dir)));
                        self.ui.runs.list.set_labels(&dir, labels);
                    }
                    Err(e) => self.error(format!("cannot label the run: {e}")),
                }
            }
            Command::DeleteRun(dir) => match engine_runs::delete(&dir) {
                Ok(()) => {
                    self.info(format!("deleted {}", dir.display()));
                    self.ui.runs.list.remove(&dir);
                }
                Err(e) => self.error(format!("cannot delete the run: {e}")),
            },
            Command::ShowRunDiff { old, new } => match runs::diff(&old, &new) {
                Ok(d) => {
                    let g = &d.diff;
                    self.info(format!(
                        "{} -> {}: {} added, {} removed, {} changed",
                        d.old,
                        d.new,
                        g.added.len(),
                        g.removed.len(),
                        g.changed.len()
                    ));
                    self.core.run_diff = Some(d);
                }
                Err(e) => self.error(format!("cannot compare the runs' graphs: {e}")),
            },
            Command::ClearRunDiff => self.core.run_diff = None,
            _ => {}
        }
    }
}
