//! Events the runtime sends while it trains: what the CLI prints and the editor plots.

use super::stats::{ParamStats, TensorStats};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TrainEvent {
    /// One optimizer step finished.
    Step { step: u64, loss: f64, lr: f32 },
    /// Per-node activation and per-parameter gradient statistics (every `stats_every` steps).
    Stats {
        step: u64,
        /// (node name, activation statistics), in graph order.
        nodes: Vec<(String, TensorStats)>,
        /// (parameter name, statistics), in graph order.
        params: Vec<(String, ParamStats)>,
    },
    /// A node's output held NaN/Inf: the first such node in topological order.
    NonFinite { step: u64, node: String },
}
