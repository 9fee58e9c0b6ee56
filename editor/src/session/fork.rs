//! Hot edits of a live run: while a run is paused the graph may change; Resume (or Step)
//! then hands the edited graph to the trainer thread, which continues the run on it with
//! the engine's `Trainer::fork` (unchanged parameters and optimizer state carried by name
//! and shape, the step and data position kept). Here: when a fork is due, what the user
//! is told about one, and the markers the plots draw where the graph changed.

use super::state::{Phase, TrainState};
use super::trainer_thread::TrainerCommand;
use crate::model::Document;
use hyphae::graph::{GraphFile, ValidGraph};
use hyphae::train::trainer::Fork;

/// The edited graph a paused run continues on (compared by its file).
#[derive(Clone, Debug)]
pub struct EditedGraph(pub Box<ValidGraph>);

impl PartialEq for EditedGraph {
    fn eq(&self, other: &Self) -> bool {
        self.0.file == other.0.file
    }
}

/// Where the graph changed during a run, for the plots: the step, and the position in
/// epochs (epoch plots put epoch k's validation at x = k + 1).
#[derive(Clone, Debug, PartialEq)]
pub struct ForkMark {
    pub step: f64,
    pub epoch: f64,
}

impl ForkMark {
    pub fn new(fork: &Fork, batches_per_epoch: usize) -> ForkMark {
        // A followed run does not say how long its epochs are: the epoch's start then.
        let within = match batches_per_epoch {
            0 => 0.0,
            n => fork.batch as f64 / n as f64,
        };
        ForkMark {
            step: fork.step as f64,
            epoch: fork.epoch as f64 + within.min(1.0),
        }
    }
}

/// Whether the document's network differs from the one the run trains (layout and
/// description do not count): Resume must fork first.
pub fn differs(running: &GraphFile, doc: &GraphFile) -> bool {
    running.inputs != doc.inputs || running.nodes != doc.nodes || running.training != doc.training
}

impl TrainState {
    /// Whether the graph may change under this run now: it is our own run, paused (or
    /// stopped at a NaN), with no fork on its way.
    pub fn paused_for_edits(&self) -> bool {
        self.session.is_some()
            && self.following.is_none()
            && !self.fork_in_flight
            && matches!(self.phase, Phase::Paused | Phase::NonFinite(_))
    }

    /// Whether `doc` differs from the graph the live run trains: Resume forks first.
    pub fn edited(&self, doc: &GraphFile) -> bool {
        self.is_live() && self.running.as_ref().is_some_and(|r| differs(r, doc))
    }

    /// Resume (or Step, `step`) of a paused run whose graph `doc` was edited: asks the
    /// trainer thread to continue on the edited graph. `None`: not edited, resume as usual;
    /// otherwise the message to show (an error, for a graph with errors: the run stays
    /// paused).
    pub fn fork_if_edited(
        &mut self,
        doc: &Document,
        step: bool,
    ) -> Option<Result<&'static str, &'static str>> {
        if !self.edited(&doc.file) {
            return None;
        }
        let Some(graph) = doc.valid.clone() else {
            return Some(Err(
                "the edited graph has errors: fix them (or Undo the edits) before resuming",
            ));
        };
        self.fork(graph, step);
        Some(Ok("continuing on the edited graph…"))
    }

    /// Asks the trainer thread to continue on `graph`, then resume (or run one batch).
    pub fn fork(&mut self, graph: ValidGraph, step: bool) {
        self.fork_in_flight = true;
        self.send(TrainerCommand::Fork {
            graph: EditedGraph(Box::new(graph)),
            step,
        });
    }

    /// The trainer continues on `graph`: mark the plots, say what was carried, forget
    /// statistics of the old graph (its badges would point at changed nodes).
    pub(super) fn forked(&mut self, fork: Fork, graph: GraphFile) {
        self.fork_in_flight = false;
        self.running = Some(graph);
        self.run
            .forks
            .push(ForkMark::new(&fork, self.batches_per_epoch));
        let text = summary(&fork);
        self.note(text.clone(), false);
        if let Some(why) = &fork.note {
            self.note(why.clone(), true);
        }
        self.news = Some((text, false));
        self.last_fork = Some(Box::new(fork));
        self.clear_statistics();
    }

    pub(super) fn fork_failed(&mut self, why: String) {
        self.fork_in_flight = false;
        self.note(why.clone(), true);
        self.news = Some((why, true));
    }
}

/// One line for the status bar and the run's messages.
pub fn summary(fork: &Fork) -> String {
    let c = &fork.carry;
    let mut s = format!(
        "step {}: continued on the edited graph; kept {} of {} tensors",
        fork.step,
        c.carried.len(),
        c.carried.len() + c.reinitialised.len()
    );
    if !c.reinitialised.is_empty() {
        s += &format!(", reset {}", names(&c.reinitialised));
    }
    if !c.dropped.is_empty() {
        s += &format!(", dropped {}", names(&c.dropped));
    }
    if c.optimizer_reset {
        s += "; optimizer changed, its state starts afresh";
    }
    s
}

/// Up to six names, then a count.
fn names(list: &[String]) -> String {
    let mut s = list.iter().take(6).cloned().collect::<Vec<_>>().join(", ");
    if list.len() > 6 {
        s += &format!(" and {} more", list.len() - 6);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyphae::train::trainer::{CarryReport, GraphDiff};

    #[test]
    fn the_summary_names_what_was_reset() {
        let fork = Fork {
            step: 120,
            epoch: 1,
            batch: 0,
            graph: None,
            diff: GraphDiff::default(),
            carry: CarryReport {
                carried: vec!["conv1.weight".into(), "conv1.bias".into()],
                reinitialised: vec!["fc1.weight".into()],
                dropped: vec![],
                optimizer_reset: false,
            },
            note: None,
        };
        let s = summary(&fork);
        assert!(s.contains("kept 2 of 3 tensors"), "{s}");
        assert!(s.contains("reset fc1.weight"), "{s}");
        assert_eq!(ForkMark::new(&fork, 125).epoch, 1.0);
    }
}
