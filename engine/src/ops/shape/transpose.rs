//! Transpose: swaps two dimensions (PyTorch's `x.transpose(dim0, dim1)`, dims counted with
//! the batch as 0, which must stay). `[N, T, C]` logits become the `[N, C, T]` that
//! CrossEntropyLoss reads with `[N, T]` targets.

use super::reorder::ReorderKind;
use crate::error::Result;
use crate::ops::support::dims::sample_dim;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transpose {
    /// One dimension to swap; negative counts from the end; not the batch (0).
    pub dim0: i64,
    /// The other.
    pub dim1: i64,
}

impl Default for Transpose {
    fn default() -> Self {
        Transpose { dim0: 1, dim1: 2 }
    }
}

impl ReorderKind for Transpose {
    const OP: &'static str = "Transpose";

    fn order(&self, shape: &[usize]) -> Result<Vec<usize>> {
        let a = sample_dim(Self::OP, "dim0", self.dim0, shape)?;
        let b = sample_dim(Self::OP, "dim1", self.dim1, shape)?;
        let mut order: Vec<usize> = (0..shape.len()).collect();
        order.swap(a, b);
        Ok(order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::loss::CrossEntropyLoss;
    use crate::ops::testing::*;

    #[test]
    fn swaps_two_dims() {
        // torch.arange(6.).reshape(1, 2, 3).transpose(1, 2) → [[0, 3], [1, 4], [2, 5]]
        let y = forward_arange(&Transpose { dim0: -1, dim1: 1 }, &[1, 2, 3]);
        assert_eq!(y.shape(), &[1, 3, 2]);
        assert_eq!(y.data(), &[0., 3., 1., 4., 2., 5.]);
    }

    #[test]
    fn gradients() {
        let x = randn(&[2, 3, 4], 1);
        check_all_inputs(&Transpose::default(), &Ctx::train(0), &[x], &[]);
    }

    #[test]
    fn errors_name_the_field() {
        let batch = Transpose { dim0: 0, dim1: 1 };
        assert_shape_errors(&batch, &[(&[&[2, 3]], &["Transpose", "dim0", "batch"])]);
        let past_the_end = Transpose { dim0: 1, dim1: 5 };
        assert_shape_errors(&past_the_end, &[(&[&[2, 3]], &["dim1 5", "out of range"])]);
    }

    /// Per-step classification: `[N, T, C]` logits transposed to `[N, C, T]` go into
    /// CrossEntropyLoss with `[N, T]` targets, as in PyTorch.
    #[test]
    fn sequence_cross_entropy_through_transpose() {
        // torch: F.cross_entropy(x.transpose(1, 2), t) with x = arange(12.).reshape(1, 3, 4)
        // / 4 and t = [[0, 3, 1]]: 1.4666830
        let x = Tensor::from_fn(&[1, 3, 4], |i| i as f32 / 4.0);
        let t = Tensor::new(&[1, 3], vec![0., 3., 1.]).unwrap();
        let xt = Transpose::default()
            .forward(&Ctx::eval(), &[&x], &[])
            .unwrap()
            .output;
        let ce = CrossEntropyLoss::default();
        let loss = ce.forward(&Ctx::eval(), &[&xt, &t], &[]).unwrap().output;
        assert!((loss.item().unwrap() - 1.466_683).abs() < 1e-5, "{loss:?}");
    }
}
