//! Concat: joins two or more inputs along `dim` (PyTorch's `torch.cat`; default 1, the
//! channel/feature dimension). All other dimensions must match. Backward splits the
//! gradient back into the inputs' slices.
//!
//! In row-major order the output is `outer` blocks, each the inputs' `dim·inner` blocks
//! side by side, so both directions are block copies.

use crate::error::{Error, Result};
use crate::ops::support::defaults;
use crate::ops::{Arity, Backward, BackwardArgs, Ctx, Forward, Layer, check_arity};
use crate::tensor::{Tensor, for_each_block_mut};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Concat {
    /// Dimension to join along; negative counts from the end.
    #[serde(default = "defaults::dim_one")]
    pub dim: i64,
}

impl Default for Concat {
    fn default() -> Self {
        Concat { dim: 1 }
    }
}

const OP: &str = "Concat";

impl Concat {
    /// The resolved dimension, checking every input against input0.
    fn axis(&self, inputs: &[&[usize]]) -> Result<usize> {
        check_arity(OP, self.arity(), inputs.len())?;
        let first = inputs[0];
        let rank = first.len() as i64;
        let d = if self.dim < 0 {
            self.dim + rank
        } else {
            self.dim
        };
        if !(0..rank).contains(&d) {
            return Err(Error::bad_shape(
                OP,
                first,
                format!(
                    "dim {} is out of range for rank {rank} (expected [-{rank}, {}])",
                    self.dim,
                    rank - 1
                ),
            ));
        }
        let d = d as usize;
        for (i, s) in inputs.iter().enumerate().skip(1) {
            let same_rest = s.len() == first.len()
                && s.iter()
                    .zip(first.iter())
                    .enumerate()
                    .all(|(k, (a, b))| k == d || a == b);
            if !same_rest {
                return Err(Error::shape_mismatch(
                    OP,
                    format!("input{i} must match input0 in every dimension except dim {d}"),
                    first,
                    s,
                ));
            }
        }
        Ok(d)
    }
}

/// Size of the row-major block below `dim` times `dim` itself, per input.
fn block(shape: &[usize], d: usize) -> usize {
    shape[d..].iter().product()
}

impl Layer for Concat {
    fn arity(&self) -> Arity {
        Arity::AtLeast(2)
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        let d = self.axis(inputs)?;
        let mut out = inputs[0].to_vec();
        out[d] = inputs.iter().map(|s| s[d]).sum();
        Ok(out)
    }

    fn flops(&self, _inputs: &[&[usize]], _output: &[usize]) -> u64 {
        0
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        let shapes: Vec<&[usize]> = inputs.iter().map(|t| t.shape()).collect();
        let out_shape = self.output_shape(&shapes)?;
        let d = self.axis(&shapes)?;
        let blocks: Vec<usize> = shapes.iter().map(|s| block(s, d)).collect();
        let out_block: usize = blocks.iter().sum();
        let mut y = vec![0.0; out_shape.iter().product()];
        if out_block == 0 {
            return Ok(Forward::output(Tensor::new(&out_shape, y)?));
        }
        for_each_block_mut(&mut y, out_block, |o, row| {
            let mut at = 0;
            for (t, &b) in inputs.iter().zip(&blocks) {
                row[at..at + b].copy_from_slice(&t.data()[o * b..(o + 1) * b]);
                at += b;
            }
        });
        Ok(Forward::output(Tensor::new(&out_shape, y)?))
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        let shapes = args.checked_shapes(OP, self)?;
        let (inputs, grad_output) = (args.inputs, args.grad_output);
        let d = self.axis(&shapes)?;
        let out_block: usize = shapes.iter().map(|s| block(s, d)).sum();
        let g = grad_output.data();
        let mut grads = Vec::with_capacity(inputs.len());
        let mut offset = 0;
        for t in inputs {
            let b = block(t.shape(), d);
            let mut dx = vec![0.0; t.numel()];
            if b > 0 {
                for_each_block_mut(&mut dx, b, |o, row| {
                    row.copy_from_slice(&g[o * out_block + offset..][..b]);
                });
            }
            offset += b;
            grads.push(Some(Tensor::new(t.shape(), dx)?));
        }
        Ok(Backward::inputs(grads))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    #[test]
    fn forward_values() {
        let a = Tensor::new(&[2, 2], vec![1., 2., 3., 4.]).unwrap();
        let b = Tensor::new(&[2, 1], vec![5., 6.]).unwrap();
        let y = Concat::default()
            .forward(&Ctx::eval(), &[&a, &b], &[])
            .unwrap()
            .output;
        assert_eq!(y.shape(), &[2, 3]);
        assert_eq!(y.data(), &[1., 2., 5., 3., 4., 6.]);
        let c = Tensor::new(&[1, 2], vec![7., 8.]).unwrap();
        let y = Concat { dim: 0 }
            .forward(&Ctx::eval(), &[&a, &c], &[])
            .unwrap()
            .output;
        assert_eq!(y.shape(), &[3, 2]);
        assert_eq!(y.data(), &[1., 2., 3., 4., 7., 8.]);
    }

    #[test]
    fn gradients() {
        for (dim, shapes) in [
            (
                1,
                vec![vec![2, 3, 4, 2], vec![2, 1, 4, 2], vec![2, 2, 4, 2]],
            ),
            (-1, vec![vec![2, 3, 2], vec![2, 3, 5]]),
            (0, vec![vec![1, 3], vec![2, 3]]),
            (2, vec![vec![2, 3, 1, 2], vec![2, 3, 3, 2]]),
        ] {
            let c = Concat { dim };
            let xs: Vec<Tensor> = shapes
                .iter()
                .enumerate()
                .map(|(i, s)| randn(s, i as u64))
                .collect();
            let diff = vec![true; xs.len()];
            GradCheck::default()
                .check(&c, &Ctx::train(0), &xs, &[], &diff)
                .unwrap_or_else(|e| panic!("{c:?}: {e}"));
        }
    }

    #[test]
    fn large_parallel_round_trip() {
        let a = randn(&[8, 40, 16, 16], 1);
        let b = randn(&[8, 24, 16, 16], 2);
        let c = Concat::default();
        let f = c.forward(&Ctx::eval(), &[&a, &b], &[]).unwrap();
        assert_eq!(f.output.shape(), &[8, 64, 16, 16]);
        let back = c
            .backward(&Ctx::eval(), &[&a, &b], &[], &f, &f.output)
            .unwrap();
        assert_eq!(back.inputs[0].as_ref().unwrap(), &a);
        assert_eq!(back.inputs[1].as_ref().unwrap(), &b);
    }

    #[test]
    fn mismatches_name_op_shapes_and_dim() {
        let err = shape_error(&Concat::default(), &[&[2, 3, 4], &[2, 3, 5]]);
        assert_mentions(&err, &["Concat", "[2, 3, 4]", "[2, 3, 5]", "dim 1"]);
        let err = shape_error(&Concat { dim: 3 }, &[&[2, 3], &[2, 3]]);
        assert_mentions(&err, &["Concat", "dim 3"]);
        assert!(
            Concat::default()
                .output_shape(&[&[2, 3], &[2, 3, 1]])
                .is_err()
        );
        assert!(Concat::default().output_shape(&[&[2, 3]]).is_err());
    }
}
