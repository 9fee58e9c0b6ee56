//! Sum: the sum over one dimension (PyTorch's `x.sum(dim, keepdim)`); see [`super`].

use super::ReduceKind;
use crate::ops::support::defaults;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sum {
    /// The dimension reduced; negative counts from the end; not the batch (0).
    #[serde(default = "defaults::dim_one")]
    pub dim: i64,
    /// Keep the reduced dimension with size 1 instead of dropping it.
    #[serde(default)]
    pub keepdim: bool,
}

impl Default for Sum {
    fn default() -> Self {
        Sum {
            dim: 1,
            keepdim: false,
        }
    }
}

impl ReduceKind for Sum {
    const OP: &'static str = "Sum";

    fn dim(&self) -> i64 {
        self.dim
    }

    fn keepdim(&self) -> bool {
        self.keepdim
    }

    fn scale(_n: usize) -> f32 {
        1.0
    }
}
