//! `Runtime`: a validated graph turned into a bevy `World` plus the schedules that train
//! and evaluate it.

mod averages;

use super::components::*;
use super::events::TrainEvent;
use super::model::Model;
use super::schedules::Schedules;
use super::systems::EventSink;
use crate::error::{Error, Result};
use crate::graph::{Optimizer, Source, ValidGraph};
use crate::tensor::Tensor;
use crate::train::schedule::lr_at;
use bevy_ecs::prelude::*;
use crossbeam_channel::Sender;
use std::sync::Arc;

/// What one training or evaluation step produced.
#[derive(Clone, Debug, PartialEq)]
pub struct StepOutcome {
    /// Optimizer steps taken so far (after this one).
    pub step: u64,
    /// Sum of the loss nodes for this batch.
    pub loss: f64,
    pub lr: f32,
    /// The first node whose output went NaN/Inf; the optimizer skipped this step.
    pub non_finite_node: Option<String>,
}

/// How to run the schedules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Executor {
    /// Single-threaded below [`AUTO_MULTI_THREADED_MIN_FLOPS`] forward FLOPs per batch,
    /// where the multi-threaded executor's per-step cost (task spawning, waking its
    /// threads) outweighs the overlap it buys; multi-threaded above.
    #[default]
    Auto,
    /// bevy's multi-threaded executor: independent systems (optimizer, statistics) overlap.
    MultiThreaded,
    /// Every system on the calling thread, in order: lowest per-step overhead for tiny
    /// graphs. Kernels still use rayon either way.
    SingleThreaded,
}

/// Forward FLOPs per batch from which [`Executor::Auto`] picks the multi-threaded executor.
/// Measured (2 cores): below it the single-threaded one is as fast or faster (mlp, 137
/// MFLOP: 4.2 vs 5.1 ms/step) and leaner (cnn, 1.5 GFLOP: 115 vs 195-203 MB peak RSS, the
/// executor's extra threads each keeping a malloc arena of freed activations).
pub const AUTO_MULTI_THREADED_MIN_FLOPS: u64 = 2_000_000_000;

/// Forward FLOPs per batch for which the single-threaded executor runs on a rayon worker
/// (see `Runtime::train_in_pool`). Below: no kernel is big enough to fork, and the step's
/// own hop into the pool (~25 µs: overhead.ron 21 → 48 µs/step) would be pure cost. From
/// 1 GFLOP the saving is lost in the step time (cnn: no gain measured) while allocations
/// from two threads' malloc arenas raised its peak RSS from 118 to 160–196 MB.
/// Measured gain inside: mlp (137 MFLOP) 2.79 → 2.64 ms/step (alternating runs).
pub const IN_POOL_FLOPS: std::ops::Range<u64> =
    2 * crate::tensor::PARALLEL_MIN_MACS as u64..1_000_000_000;

impl Executor {
    /// The executor actually used for a graph: `Auto` resolved by its forward FLOPs per
    /// batch (at the graph's training batch size).
    pub fn resolve(self, graph: &ValidGraph) -> Executor {
        let batch = graph.file.training.batch_size.max(1) as u64;
        match self {
            Executor::Auto
                if graph.flops().saturating_mul(batch) < AUTO_MULTI_THREADED_MIN_FLOPS =>
            {
                Executor::SingleThreaded
            }
            Executor::Auto => Executor::MultiThreaded,
            e => e,
        }
    }
}

pub struct Runtime {
    world: World,
    schedules: Schedules,
    graph: Arc<ValidGraph>,
    stats_gate: StatsGate,
}

/// Statistics at most once per `min_interval` of wall time, on top of `stats_every`: a
/// viewer (the editor) reads a few a second, and a fast graph (400 steps/s) taking them
/// every 10 steps spent a tenth of its time on statistics nobody saw.
#[derive(Debug, Default, Clone, Copy)]
struct StatsGate {
    min_interval: Option<std::time::Duration>,
    last: Option<std::time::Instant>,
}

impl StatsGate {
    /// Whether a step that `stats_every` picks takes statistics now (and if so, counts it).
    fn admit(&mut self) -> bool {
        let Some(gap) = self.min_interval else {
            return true;
        };
        let now = std::time::Instant::now();
        if self.last.is_some_and(|t| now.duration_since(t) < gap) {
            return false;
        }
        self.last = Some(now);
        true
    }
}

impl Runtime {
    /// Builds the world: one entity per data input, node and parameter, parameters
    /// initialised from the graph's seed.
    pub fn new(graph: ValidGraph) -> Result<Runtime> {
        Self::with_executor(graph, Executor::default())
    }

    pub fn with_executor(graph: ValidGraph, executor: Executor) -> Result<Runtime> {
        let world = super::world::build(&graph);
        let schedules = Schedules::new(&graph, executor);
        Ok(Runtime {
            world,
            schedules,
            graph: Arc::new(graph),
            stats_gate: StatsGate::default(),
        })
    }

    pub fn graph(&self) -> &ValidGraph {
        &self.graph
    }

    /// Send step, statistics and NaN events to this channel.
    pub fn set_events(&mut self, sender: Option<Sender<TrainEvent>>) {
        self.world.resource_mut::<EventSink>().0 = sender;
    }

    /// Whether someone (the editor) receives this runtime's events.
    pub fn has_events(&self) -> bool {
        self.world.resource::<EventSink>().0.is_some()
    }

    /// Optimizer steps taken so far.
    pub fn step(&self) -> u64 {
        self.world.resource::<StepState>().step
    }

    /// Sets the step counter (resuming from a checkpoint).
    pub fn set_step(&mut self, step: u64) {
        self.world.resource_mut::<StepState>().step = step;
    }

    /// The base learning rate (before schedule and warm-up).
    pub fn base_lr(&self) -> f32 {
        self.world.resource::<Hyper>().optimizer.lr()
    }

    /// Changes the base learning rate; applies from the next step.
    pub fn set_lr(&mut self, lr: f32) {
        self.world.resource_mut::<Hyper>().optimizer.set_lr(lr);
    }

    /// Hyper-parameters, to change between steps.
    /// Starts (clearing earlier figures) or stops timing nodes and the optimizer.
    pub fn set_profiling(&mut self, enabled: bool) {
        *self.world.resource_mut::<Profile>() = Profile {
            enabled,
            ..Profile::default()
        };
    }

    /// Takes statistics at most once per `gap` of wall time (`None`: at every
    /// `stats_every` step). The steps statistics come from are then not fixed in advance;
    /// each report carries its step.
    pub fn set_stats_min_interval(&mut self, gap: Option<std::time::Duration>) {
        self.stats_gate = StatsGate {
            min_interval: gap,
            last: None,
        };
    }

    /// The gap set by [`Runtime::set_stats_min_interval`].
    pub fn stats_min_interval(&self) -> Option<std::time::Duration> {
        self.stats_gate.min_interval
    }

    /// Times summed since profiling was switched on.
    pub fn profile(&self) -> &Profile {
        self.world.resource::<Profile>()
    }

    pub fn hyper_mut(&mut self) -> Mut<'_, Hyper> {
        self.world.resource_mut::<Hyper>()
    }

    /// The learning rate the next step will use.
    pub fn current_lr(&self) -> f32 {
        let h = self.world.resource::<Hyper>();
        lr_at(h.optimizer.lr(), &h.schedule, h.warmup_steps, self.step())
    }

    /// One training step on a batch (one tensor per data input, `[N, ...]`).
    pub fn train_step(&mut self, batch: Vec<Tensor>) -> Result<StepOutcome> {
        let lr = self.current_lr();
        let stats_every = self.world.resource::<Hyper>().stats_every as u64;
        let due = stats_every > 0 && self.step().is_multiple_of(stats_every);
        let collect_stats = due && self.stats_gate.admit();
        {
            self.world.resource_mut::<Batch>().0 = batch;
            let mut st = self.world.resource_mut::<StepState>();
            st.training = true;
            st.lr = lr;
            st.error = None;
            st.collect_stats = collect_stats;
        }
        let (train, world) = (&mut self.schedules.train, &mut self.world);
        if self.schedules.train_in_pool && rayon::current_num_threads() > 1 {
            rayon::scope(|_| train.run(world));
        } else {
            train.run(world);
        }
        let mut st = self.world.resource_mut::<StepState>();
        if let Some(e) = st.error.take() {
            return Err(e);
        }
        if st.non_finite_node.is_none() {
            st.step += 1;
        }
        Ok(StepOutcome {
            step: st.step,
            loss: st.loss,
            lr,
            non_finite_node: st.non_finite_node.clone(),
        })
    }

    /// One training step of a phase: minimises the sum of the loss nodes `losses` (node
    /// indices) and updates only the parameters of the nodes `updates`, with `optimizer`
    /// (its state is each parameter's own, as in [`Runtime::train_step`]). The graph's
    /// losses and optimizer are restored afterwards, whatever the outcome.
    pub fn train_phase(
        &mut self,
        batch: Vec<Tensor>,
        losses: &[usize],
        updates: &[usize],
        optimizer: &Optimizer,
    ) -> Result<StepOutcome> {
        let nodes = self.world.resource::<Topology>().nodes.clone();
        let entities = |idx: &[usize]| idx.iter().filter_map(|&i| nodes.get(i).copied()).collect();
        let all_losses = std::mem::replace(
            &mut self.world.resource_mut::<Topology>().losses,
            entities(losses),
        );
        self.world.resource_mut::<ActivePhase>().updates = Some(entities(updates));
        let base = std::mem::replace(
            &mut self.world.resource_mut::<Hyper>().optimizer,
            optimizer.clone(),
        );
        let outcome = self.train_step(batch);
        self.world.resource_mut::<Topology>().losses = all_losses;
        self.world.resource_mut::<ActivePhase>().updates = None;
        self.world.resource_mut::<Hyper>().optimizer = base;
        outcome
    }

    /// Forward only, in eval mode (running statistics, no dropout); returns the loss.
    pub fn eval_batch(&mut self, batch: Vec<Tensor>) -> Result<StepOutcome> {
        self.run_unstepped(batch, false, false)
    }

    /// Forward and backward in train mode, without an optimizer step: fills every node's
    /// output gradient and every parameter's gradient (for inspection and parity checks).
    /// Buffers (running statistics) are updated as in a training forward.
    pub fn compute_grads(&mut self, batch: Vec<Tensor>) -> Result<StepOutcome> {
        self.run_unstepped(batch, true, true)
    }

    /// The loss of a batch, in train mode (batch statistics, the current step's dropout
    /// masks) or eval mode, changing nothing but buffers in train mode.
    pub fn loss(&mut self, batch: Vec<Tensor>, training: bool) -> Result<f64> {
        Ok(self.run_unstepped(batch, training, false)?.loss)
    }

    fn run_unstepped(
        &mut self,
        batch: Vec<Tensor>,
        training: bool,
        grads: bool,
    ) -> Result<StepOutcome> {
        {
            self.world.resource_mut::<Batch>().0 = batch;
            let mut st = self.world.resource_mut::<StepState>();
            st.training = training;
            st.error = None;
            st.collect_stats = false;
        }
        if grads {
            self.schedules.grads.run(&mut self.world);
        } else {
            self.schedules.eval.run(&mut self.world);
        }
        let mut st = self.world.resource_mut::<StepState>();
        if let Some(e) = st.error.take() {
            return Err(e);
        }
        Ok(StepOutcome {
            step: st.step,
            loss: st.loss,
            lr: st.lr,
            non_finite_node: st.non_finite_node.clone(),
        })
    }

    fn node_entity(&mut self, name: &str) -> Option<Entity> {
        let mut q = self.world.query::<(Entity, &Node)>();
        q.iter(&self.world)
            .find(|(_, n)| n.name == name)
            .map(|(e, _)| e)
    }

    /// A node's output for the last batch.
    pub fn output(&mut self, node: &str) -> Option<Tensor> {
        let e = self.node_entity(node)?;
        self.world.get::<Value>(e).map(|v| v.0.clone())
    }

    /// dLoss/dOutput of a node from the last training step (None if no gradient reached
    /// it). Kept until the next step clears it.
    pub fn output_grad(&mut self, node: &str) -> Option<Tensor> {
        let e = self.node_entity(node)?;
        self.world.get::<ValueGrad>(e).and_then(|g| g.0.clone())
    }

    /// Every parameter and buffer, by PyTorch-style name, in graph order.
    pub fn state_dict(&mut self) -> Vec<(String, Tensor)> {
        self.read_params(|e| Some(e.get::<Value>()?.0.clone()))
    }

    /// Parameter gradients from the last training step, by name (None: no gradient).
    pub fn grads(&mut self) -> Vec<(String, Option<Tensor>)> {
        self.read_params(|e| Some(e.get::<Grad>()?.0.clone()))
    }

    /// `read` applied to each parameter's entity, in graph order, beside the parameter's
    /// name; entities it returns None for are left out. The one walk every reader of
    /// per-parameter state (values, gradients, optimizer state, averages) shares.
    fn read_params<T>(&self, read: impl Fn(EntityRef) -> Option<T>) -> Vec<(String, T)> {
        let world = &self.world;
        world
            .resource::<Topology>()
            .params
            .iter()
            .filter_map(|&e| {
                let entity = world.get_entity(e).ok()?;
                let name = entity.get::<Param>()?.name.clone();
                Some((name, read(entity)?))
            })
            .collect()
    }

    /// Replaces parameter values by name. Every parameter must be present with its
    /// shape; unknown names are an error too (a wrong weights file, not a partial load).
    pub fn load_state_dict(&mut self, tensors: &[(String, Tensor)], origin: &str) -> Result<()> {
        let order = self.world.resource::<Topology>().params.clone();
        let mut missing = Vec::new();
        let mut updates = Vec::new();
        for &e in &order {
            let (Some(p), Some(v)) = (self.world.get::<Param>(e), self.world.get::<Value>(e))
            else {
                continue;
            };
            match tensors.iter().find(|(n, _)| *n == p.name) {
                None => missing.push(p.name.clone()),
                Some((_, t)) if t.shape() != v.0.shape() => {
                    return Err(Error::File {
                        path: origin.to_string(),
                        why: format!(
                            "tensor `{}` has shape {} but the graph needs {}",
                            p.name,
                            crate::error::ShapeDisplay(t.shape().to_vec()),
                            crate::error::ShapeDisplay(v.0.shape().to_vec())
                        ),
                    });
                }
                Some((_, t)) => updates.push((e, t.clone())),
            }
        }
        if !missing.is_empty() {
            return Err(Error::File {
                path: origin.to_string(),
                why: format!("missing tensor(s): {}", missing.join(", ")),
            });
        }
        for (e, t) in updates {
            if let Some(mut v) = self.world.get_mut::<Value>(e) {
                v.0 = t;
            }
        }
        Ok(())
    }

    /// The optimizer's state, per trainable parameter: (name, steps taken, moment buffers).
    pub fn optimizer_state(&mut self) -> Vec<(String, u64, Vec<Tensor>)> {
        self.read_params(|e| {
            let s = &e.get::<OptState>()?.0;
            let bufs = [&s.buf1, &s.buf2]
                .into_iter()
                .filter(|b| !b.is_empty())
                .filter_map(|b| Tensor::new(&[b.len()], b.clone()).ok())
                .collect::<Vec<_>>();
            Some((s.steps, bufs))
        })
        .into_iter()
        .map(|(name, (steps, bufs))| (name, steps, bufs))
        .collect()
    }

    /// Restores optimizer state saved by [`Runtime::optimizer_state`]; parameters not
    /// listed start fresh.
    pub fn load_optimizer_state(&mut self, state: &[(String, u64, Vec<Tensor>)]) -> Result<()> {
        let order = self.world.resource::<Topology>().params.clone();
        for &e in &order {
            let Some(name) = self.world.get::<Param>(e).map(|p| p.name.clone()) else {
                continue;
            };
            let Some((_, steps, bufs)) = state.iter().find(|(n, _, _)| *n == name) else {
                continue;
            };
            let numel = self.world.get::<Value>(e).map_or(0, |v| v.0.numel());
            if bufs.iter().any(|b| b.numel() != numel) {
                return Err(Error::Other(format!(
                    "optimizer state for `{name}` does not match the parameter's size {numel}"
                )));
            }
            if let Some(mut s) = self.world.get_mut::<OptState>(e) {
                s.0.steps = *steps;
                s.0.buf1 = bufs.first().map(|t| t.data().to_vec()).unwrap_or_default();
                s.0.buf2 = bufs.get(1).map(|t| t.data().to_vec()).unwrap_or_default();
            }
        }
        Ok(())
    }

    /// A forward-only model sharing the current parameters (no copy).
    pub fn model(&mut self) -> Model {
        let params = self.state_dict().into_iter().map(|(_, t)| t).collect();
        Model::new(self.graph.clone(), params)
    }

    /// Index of the data input fed from the dataset's labels (the loss target), if any.
    pub fn label_input(&self) -> Option<usize> {
        self.graph
            .file
            .inputs
            .iter()
            .position(|i| i.source == Source::Labels)
    }

    /// The world, for systems and tools that want to look inside.
    pub fn world(&self) -> &World {
        &self.world
    }
}
