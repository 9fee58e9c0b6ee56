//! Mean: the mean over one dimension (PyTorch's `x.mean(dim, keepdim)`); see [`super`].

use super::ReduceKind;
use crate::ops::support::defaults;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mean {
    /// The dimension reduced; negative counts from the end; not the batch (0).
    #[serde(default = "defaults::dim_one")]
    pub dim: i64,
    /// Keep the reduced dimension with size 1 instead of dropping it.
    #[serde(default)]
    pub keepdim: bool,
}

impl Default for Mean {
    fn default() -> Self {
        Mean {
            dim: 1,
            keepdim: false,
        }
    }
}

impl ReduceKind for Mean {
    const OP: &'static str = "Mean";

    fn dim(&self) -> i64 {
        self.dim
    }

    fn keepdim(&self) -> bool {
        self.keepdim
    }

    fn scale(n: usize) -> f32 {
        1.0 / n.max(1) as f32
    }
}
