//! Select: one index along a dimension, which disappears (PyTorch's `torch.select(input,
//! dim, index)`; `x[:, -1]` is `Select(dim: 1, index: -1)`). The default picks the last
//! time step of a `[N, T, F]` sequence, what a sequence classifier reads after an RNN.

use crate::error::{Error, Result};
use crate::ops::activation::softmax::split_dim;
use crate::ops::support::defaults;
use crate::ops::support::dims::sample_dim;
use crate::ops::{Backward, BackwardArgs, Ctx, Forward, Layer, check_arity, check_grad_output};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Select {
    /// The dimension to index; negative counts from the end; not the batch (0).
    #[serde(default = "defaults::dim_one")]
    pub dim: i64,
    /// The index along `dim`; negative counts from the end (-1: the last).
    #[serde(default = "defaults::last_dim")]
    pub index: i64,
}

impl Default for Select {
    fn default() -> Self {
        Select { dim: 1, index: -1 }
    }
}

const OP: &str = "Select";

impl Select {
    /// `(outer, n, inner, index)` of the selection in `shape`.
    fn plan(&self, shape: &[usize]) -> Result<(usize, usize, usize, usize)> {
        let d = sample_dim(OP, "dim", self.dim, shape)?;
        let (outer, n, inner) = split_dim(OP, shape, d as i64)?;
        let i = if self.index < 0 {
            self.index + n as i64
        } else {
            self.index
        };
        if i < 0 || i >= n as i64 {
            return Err(Error::bad_shape(
                OP,
                shape,
                format!(
                    "index {} is out of range for dimension {d} of size {n}",
                    self.index
                ),
            ));
        }
        Ok((outer, n, inner, i as usize))
    }
}

impl Layer for Select {
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        self.plan(inputs[0])?;
        let d = sample_dim(OP, "dim", self.dim, inputs[0])?;
        let mut out = inputs[0].to_vec();
        out.remove(d);
        Ok(out)
    }

    fn flops(&self, _inputs: &[&[usize]], _output: &[usize]) -> u64 {
        0
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        let out_shape = self.output_shape(&[inputs[0].shape()])?;
        let (outer, n, inner, i) = self.plan(inputs[0].shape())?;
        let x = inputs[0].data();
        let mut y = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            y.extend_from_slice(&x[(o * n + i) * inner..][..inner]);
        }
        Ok(Forward::output(Tensor::new(&out_shape, y)?))
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        let x = args.inputs[0];
        let out_shape = self.output_shape(&[x.shape()])?;
        check_grad_output(OP, args.grad_output, &out_shape)?;
        let (outer, n, inner, i) = self.plan(x.shape())?;
        let mut dx = vec![0.0; x.numel()];
        for (o, g) in args
            .grad_output
            .data()
            .chunks(inner.max(1))
            .enumerate()
            .take(outer)
        {
            dx[(o * n + i) * inner..][..inner].copy_from_slice(g);
        }
        Ok(Backward::input(Tensor::new(x.shape(), dx)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    #[test]
    fn picks_the_step_and_drops_the_dim() {
        // torch.arange(24.).reshape(2, 3, 4).select(1, -1) → rows 8..12 and 20..24
        let y = forward_arange(&Select::default(), &[2, 3, 4]);
        assert_eq!(y.shape(), &[2, 4]);
        assert_eq!(y.data(), &[8., 9., 10., 11., 20., 21., 22., 23.]);
        let first = forward_arange(&Select { dim: 1, index: 0 }, &[2, 3, 4]);
        assert_eq!(first.data()[..4], [0., 1., 2., 3.]);
        let last_dim = Select { dim: -1, index: 1 };
        assert_eq!(last_dim.output_shape(&[&[2, 3, 4]]).unwrap(), vec![2, 3]);
    }

    #[test]
    fn gradients() {
        for op in [Select::default(), Select { dim: 2, index: 1 }] {
            check_all_inputs(&op, &Ctx::train(0), &[randn(&[2, 3, 4], 1)], &[]);
        }
    }

    #[test]
    fn errors_name_the_field() {
        for (op, parts) in [
            (
                Select { dim: 1, index: 3 },
                &["Select", "index 3", "[2, 3]"][..],
            ),
            (Select { dim: 0, index: 0 }, &["Select", "batch"]),
            (Select { dim: 2, index: 0 }, &["dim 2", "out of range"]),
        ] {
            assert_shape_errors(&op, &[(&[&[2, 3]], parts)]);
        }
    }
}
