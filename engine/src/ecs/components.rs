//! Components and resources of the training world (see DESIGN.md, "The ECS mapping").

use super::stats::{ParamStats, TensorStats};
use crate::error::Error;
use crate::graph::{Clip, Optimizer, Schedule};
use crate::ops::{Op, Saved};
use crate::tensor::Tensor;
use crate::train::optim::ParamState;
use bevy_ecs::prelude::*;

/// A graph node: its op, where its inputs come from, and the parameters it owns.
#[derive(Component, Debug)]
pub struct Node {
    /// Index in the graph file's node list.
    pub index: usize,
    pub name: String,
    pub op: Op,
    /// Entities feeding the node's inputs, in port order (data inputs or other nodes).
    pub sources: Vec<Entity>,
    /// Parameter entities, in the op's parameter order.
    pub params: Vec<Entity>,
    pub depth: u32,
    pub is_loss: bool,
}

/// A data input of the graph (fed from the batch).
#[derive(Component, Debug)]
pub struct DataInput {
    pub index: usize,
    pub name: String,
}

/// A tensor value: a node's output for the current batch, a data input's batch, or a
/// parameter's current weights.
#[derive(Component, Debug, Clone)]
pub struct Value(pub Tensor);

/// What a node's forward kept for its backward; taken (and so freed) by backward.
#[derive(Component, Debug, Default)]
pub struct SavedState(pub Saved);

/// dLoss/dOutput of a node, summed over its consumers; None when no gradient reached it.
#[derive(Component, Debug, Default)]
pub struct ValueGrad(pub Option<Tensor>);

/// Activation statistics of a node, from the last step that computed statistics.
#[derive(Component, Debug, Default)]
pub struct ActStats(pub Option<TensorStats>);

/// A recurrent node's per-step gradient norms from this step's backward (statistics
/// steps only; see [`crate::ops::Backward::step_grad_norms`]), taken by the statistics.
#[derive(Component, Debug, Default)]
pub struct StepGrads(pub Option<Vec<f32>>);

/// A parameter (weight, bias or buffer) of a node.
#[derive(Component, Debug)]
pub struct Param {
    /// The node that owns it.
    pub node: Entity,
    /// Position in the op's parameter list.
    pub index: usize,
    /// PyTorch-style qualified name: `fc1.weight`.
    pub name: String,
    pub lr_mult: f32,
}

/// Marker: a parameter the optimizer must not change (its node is frozen).
#[derive(Component, Debug)]
pub struct Frozen;

/// Marker: a buffer (running statistics), updated by forward, not by the optimizer.
#[derive(Component, Debug)]
pub struct Buffer;

/// dLoss/dParam for the current step; None when no gradient reached the parameter.
#[derive(Component, Debug, Default)]
pub struct Grad(pub Option<Tensor>);

/// The optimizer's per-parameter state.
#[derive(Component, Debug, Default)]
pub struct OptState(pub ParamState);

/// Weight norm and last update norm, written by the optimizer (it has both at hand).
#[derive(Component, Debug, Default, Clone, Copy)]
pub struct UpdateStats {
    pub weight_norm: f64,
    pub update_norm: f64,
}

/// Gradient statistics of a parameter, from the last step that computed statistics.
#[derive(Component, Debug, Default)]
pub struct GradStats(pub Option<ParamStats>);

/// Wall time per node (forward, backward) and in the optimizer, summed over the steps
/// taken while enabled (`hyphae bench --profile`). Off by default: it reads the clock
/// twice per node and pass.
#[derive(Resource, Debug, Default, Clone)]
pub struct Profile {
    pub enabled: bool,
    /// (forward, backward) seconds by node index (the graph file's node order).
    pub nodes: Vec<(f64, f64)>,
    /// Seconds in the optimizer system.
    pub optimizer: f64,
}

impl Profile {
    /// Adds one pass's time for node `index`.
    pub fn add(&mut self, index: usize, forward: f64, backward: f64) {
        if self.nodes.len() <= index {
            self.nodes.resize(index + 1, (0.0, 0.0));
        }
        self.nodes[index].0 += forward;
        self.nodes[index].1 += backward;
    }
}

/// The graph's structure as entities: depth buckets and the special node lists.
#[derive(Resource, Debug, Default)]
pub struct Topology {
    /// Node entities by depth; nodes in one bucket are independent.
    pub buckets: Vec<Vec<Entity>>,
    /// Data input entities, in the graph's input order.
    pub inputs: Vec<Entity>,
    /// Loss node entities; the training loss is their sum.
    pub losses: Vec<Entity>,
    /// Every parameter entity, in graph order (node order, then the op's order).
    pub params: Vec<Entity>,
    /// Every node entity, in the graph file's order.
    pub nodes: Vec<Entity>,
}

/// The training phase being stepped: the nodes whose parameters the optimizer updates
/// (None: every trainable parameter, the graph without phases).
#[derive(Resource, Debug, Default)]
pub struct ActivePhase {
    pub updates: Option<Vec<Entity>>,
}

/// The batch to load at the next step, one tensor per data input.
#[derive(Resource, Debug, Default)]
pub struct Batch(pub Vec<Tensor>);

/// Training hyper-parameters; changing `optimizer`'s LR takes effect at the next step.
#[derive(Resource, Debug, Clone)]
pub struct Hyper {
    pub optimizer: Optimizer,
    pub schedule: Schedule,
    pub warmup_steps: usize,
    pub clip: Option<Clip>,
    pub stats_every: usize,
    pub seed: u64,
}

/// Per-step state shared by the systems.
#[derive(Resource, Debug, Default)]
pub struct StepState {
    /// Optimizer steps taken so far.
    pub step: u64,
    pub training: bool,
    /// LR used by the current step.
    pub lr: f32,
    /// Sum of the loss nodes' values for the current batch.
    pub loss: f64,
    /// Global gradient norm before clipping (computed when clipping by norm or for stats).
    pub grad_norm: Option<f64>,
    /// Compute statistics this step.
    pub collect_stats: bool,
    /// Name of the first node (in topological order) whose output holds NaN/Inf.
    pub non_finite_node: Option<String>,
    /// The first error a system hit this step; later systems do nothing.
    pub error: Option<Error>,
}
