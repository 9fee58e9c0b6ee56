//! Training phases in the one training loop: on each batch, every phase that is due runs
//! its own step (forward, backward on its losses, update of its nodes' parameters) over
//! the same world, in the order the graph lists them (see `graph::phases`). The step
//! counter advances once per phase run, so each phase's noise and dropout draws are its
//! own; whether a phase is due derives from the batch's position in the run, which
//! checkpoints hold, so resuming is exact.

use super::Trainer;
use crate::ecs::StepOutcome;
use crate::error::{Error, Result};
use crate::graph::{Optimizer, ValidGraph};
use crate::tensor::Tensor;

/// A phase with its nodes resolved to indices.
#[derive(Clone, Debug)]
pub(super) struct PhasePlan {
    name: String,
    loss_names: Vec<String>,
    losses: Vec<usize>,
    updates: Vec<usize>,
    optimizer: Optimizer,
    every: u64,
}

/// The graph's phases (validated with the graph), in order.
pub(super) fn plans(graph: &ValidGraph) -> Result<Vec<PhasePlan>> {
    let training = &graph.file.training;
    let index = |name: &String| {
        graph.node_index(name).ok_or_else(|| {
            Error::Other(format!("{}: phases: no node named `{name}`", graph.origin))
        })
    };
    training
        .phases
        .iter()
        .map(|p| {
            Ok(PhasePlan {
                name: p.name.clone(),
                loss_names: p.losses.clone(),
                losses: p.losses.iter().map(index).collect::<Result<_>>()?,
                updates: p.updates.iter().map(index).collect::<Result<_>>()?,
                optimizer: p.optimizer.clone().unwrap_or(training.optimizer.clone()),
                every: p.every.max(1) as u64,
            })
        })
        .collect()
}

/// What the phases of one batch did.
pub(super) struct PhasesOutcome {
    /// The last phase's outcome, its loss replaced by the sum over the phases run.
    pub outcome: StepOutcome,
    /// Each phase run: its name and loss.
    pub losses: Vec<(String, f64)>,
    /// The phases' losses summed over the batch's samples (see `Trainer::samples_loss`).
    pub samples_loss: f64,
}

impl Trainer {
    /// Runs the phases due on the batch at `batch_index` (counted from the run's start).
    /// A phase whose loss goes non-finite ends the batch (its update was skipped).
    pub(super) fn train_phases(
        &mut self,
        x: &Tensor,
        y: &Tensor,
        batch_index: u64,
    ) -> Result<PhasesOutcome> {
        let n = x.dim(0);
        let mut last: Option<StepOutcome> = None;
        let (mut total, mut samples_loss, mut losses) = (0.0, 0.0, Vec::new());
        for plan in self.phases.clone() {
            if !batch_index.is_multiple_of(plan.every) {
                continue;
            }
            let batch = self.batch(x.clone(), y.clone(), self.runtime.step())?;
            let out =
                self.runtime
                    .train_phase(batch, &plan.losses, &plan.updates, &plan.optimizer)?;
            total += out.loss;
            samples_loss += self.samples_loss_of(out.loss, n, &plan.loss_names);
            losses.push((plan.name.clone(), out.loss));
            let stop = out.non_finite_node.is_some();
            last = Some(out);
            if stop {
                break;
            }
        }
        let mut outcome = last.ok_or_else(|| {
            Error::Other(format!(
                "no training phase is due on batch {batch_index}: give one phase every: 1"
            ))
        })?;
        outcome.loss = total;
        Ok(PhasesOutcome {
            outcome,
            losses,
            samples_loss,
        })
    }
}
