//! The schedules over the training world, built apart from the world itself: a training
//! step, an evaluation pass and a gradient pass, and how each is executed.
//!
//! A system that hits an error records it in `StepState::error`; the `no_error` run
//! condition then skips every later system of the step (one guard, not one per system).

use super::components::StepState;
use super::runtime::{Executor, IN_POOL_FLOPS};
use super::systems;
use crate::graph::ValidGraph;
use bevy_ecs::prelude::*;
use bevy_ecs::schedule::{ScheduleLabel, SingleThreadedExecutor};

#[derive(ScheduleLabel, Debug, Clone, PartialEq, Eq, Hash)]
struct TrainStep;

#[derive(ScheduleLabel, Debug, Clone, PartialEq, Eq, Hash)]
struct EvalStep;

#[derive(ScheduleLabel, Debug, Clone, PartialEq, Eq, Hash)]
struct GradStep;

/// Run condition: no system of this step has failed.
fn no_error(st: Res<StepState>) -> bool {
    st.error.is_none()
}

/// Run condition: the loss is finite (the optimizer skips a step whose loss is not).
fn finite_loss(st: Res<StepState>) -> bool {
    st.non_finite_node.is_none()
}

/// Run condition: this step takes layer statistics.
fn collecting_stats(st: Res<StepState>) -> bool {
    st.collect_stats
}

pub struct Schedules {
    /// `load_batch → forward → loss → backward → clip → (optimizer ∥ statistics) → emit`.
    pub train: Schedule,
    /// Run the training schedule on a rayon worker thread (single-threaded executor):
    /// kernels' fork/joins then start from inside the pool instead of injecting work from
    /// outside and blocking this thread each time (a wake-up pair per parallel region).
    pub train_in_pool: bool,
    /// `load_batch → forward → loss`.
    pub eval: Schedule,
    /// `load_batch → forward → loss → backward`: gradients without an optimizer step.
    pub grads: Schedule,
}

impl Schedules {
    pub fn new(graph: &ValidGraph, executor: Executor) -> Schedules {
        let mut train = Schedule::new(TrainStep);
        train.add_systems(
            (
                systems::load_batch,
                systems::forward,
                systems::loss,
                systems::backward,
                systems::clip,
                (
                    systems::optimizer.run_if(finite_loss),
                    systems::statistics.run_if(collecting_stats),
                ),
                systems::emit,
            )
                .chain()
                .distributive_run_if(no_error),
        );
        let mut eval = Schedule::new(EvalStep);
        eval.add_systems(
            (systems::load_batch, systems::forward, systems::loss)
                .chain()
                .distributive_run_if(no_error),
        );
        eval.set_executor(SingleThreadedExecutor::new());
        let mut grads = Schedule::new(GradStep);
        grads.add_systems(
            (
                systems::load_batch,
                systems::forward,
                systems::loss,
                systems::backward,
            )
                .chain()
                .distributive_run_if(no_error),
        );
        grads.set_executor(SingleThreadedExecutor::new());
        let single = executor.resolve(graph) == Executor::SingleThreaded;
        if single {
            train.set_executor(SingleThreadedExecutor::new());
        }
        let batch_flops = graph
            .flops()
            .saturating_mul(graph.file.training.batch_size.max(1) as u64);
        Schedules {
            train,
            train_in_pool: single && IN_POOL_FLOPS.contains(&batch_flops),
            eval,
            grads,
        }
    }
}
