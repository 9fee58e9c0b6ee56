//! Transpose: swaps two dimensions (PyTorch's `x.transpose(dim0, dim1)`, dims counted with
//! the batch as 0, which must stay). `[N, T, C]` logits become the `[N, C, T]` that
//! CrossEntropyLoss reads with `[N, T]` targets.

use super::permute::{backward_order, forward_order};
use crate::error::Result;
use crate::ops::support::dims::sample_dim;
use crate::ops::{Backward, BackwardArgs, Ctx, Forward, Layer, check_arity};
use crate::tensor::Tensor;
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

const OP: &str = "Transpose";

impl Transpose {
    fn order(&self, shape: &[usize]) -> Result<Vec<usize>> {
        let a = sample_dim(OP, "dim0", self.dim0, shape)?;
        let b = sample_dim(OP, "dim1", self.dim1, shape)?;
        let mut order: Vec<usize> = (0..shape.len()).collect();
        order.swap(a, b);
        Ok(order)
    }
}

impl Layer for Transpose {
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        let order = self.order(inputs[0])?;
        Ok(order.iter().map(|&d| inputs[0][d]).collect())
    }

    fn flops(&self, _inputs: &[&[usize]], _output: &[usize]) -> u64 {
        0
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        check_arity(OP, self.arity(), inputs.len())?;
        forward_order(inputs[0], &self.order(inputs[0].shape())?)
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        check_arity(OP, self.arity(), args.inputs.len())?;
        let order = self.order(args.inputs[0].shape())?;
        backward_order(OP, &args, &order)
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
        let x = Tensor::from_fn(&[1, 2, 3], |i| i as f32);
        let y = Transpose { dim0: -1, dim1: 1 }
            .forward(&Ctx::eval(), &[&x], &[])
            .unwrap()
            .output;
        assert_eq!(y.shape(), &[1, 3, 2]);
        assert_eq!(y.data(), &[0., 3., 1., 4., 2., 5.]);
    }

    #[test]
    fn gradients() {
        check_all_inputs(
            &Transpose::default(),
            &Ctx::train(0),
            &[randn(&[2, 3, 4], 1)],
            &[],
        );
    }

    #[test]
    fn errors_name_the_field() {
        assert_mentions(
            &shape_error(&Transpose { dim0: 0, dim1: 1 }, &[&[2, 3]]),
            &["Transpose", "dim0", "batch"],
        );
        assert_mentions(
            &shape_error(&Transpose { dim0: 1, dim1: 5 }, &[&[2, 3]]),
            &["dim1 5", "out of range"],
        );
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
