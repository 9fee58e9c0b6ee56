//! Slice: the positions `start..end` along a dimension (PyTorch's `x[:, start:end]` with
//! step 1): negative bounds count from the end, and bounds past either end are clamped, as
//! in Python. `Slice(dim: 1, start: -8)` keeps the last 8 steps of a `[N, T, F]` sequence.

use crate::error::{Error, Result};
use crate::ops::activation::softmax::split_dim;
use crate::ops::support::defaults;
use crate::ops::support::dims::sample_dim;
use crate::ops::{Backward, BackwardArgs, Ctx, Forward, Layer, check_arity, check_grad_output};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slice {
    /// The dimension to slice; negative counts from the end; not the batch (0).
    #[serde(default = "defaults::dim_one")]
    pub dim: i64,
    /// First position kept; negative counts from the end.
    #[serde(default)]
    pub start: i64,
    /// One past the last position kept; negative counts from the end; the end when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<i64>,
}

impl Default for Slice {
    fn default() -> Self {
        Slice {
            dim: 1,
            start: 0,
            end: None,
        }
    }
}

const OP: &str = "Slice";

/// How a slice cuts its input: `outer` blocks of `n` positions of `inner` values, of
/// which positions `from..to` are kept.
struct Cut {
    dim: usize,
    outer: usize,
    n: usize,
    inner: usize,
    from: usize,
    to: usize,
}

impl Slice {
    fn cut(&self, shape: &[usize]) -> Result<Cut> {
        let dim = sample_dim(OP, "dim", self.dim, shape)?;
        let (outer, n, inner) = split_dim(OP, shape, dim as i64)?;
        let clamp = |v: i64| {
            let v = if v < 0 { v + n as i64 } else { v };
            v.clamp(0, n as i64) as usize
        };
        let (from, to) = (clamp(self.start), clamp(self.end.unwrap_or(n as i64)));
        if from >= to {
            return Err(Error::bad_shape(
                OP,
                shape,
                format!(
                    "start {} and end {} keep nothing of dimension {dim} (size {n})",
                    self.start,
                    self.end.map_or("None".to_string(), |e| e.to_string())
                ),
            ));
        }
        Ok(Cut {
            dim,
            outer,
            n,
            inner,
            from,
            to,
        })
    }
}

impl Layer for Slice {
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        let c = self.cut(inputs[0])?;
        let mut out = inputs[0].to_vec();
        out[c.dim] = c.to - c.from;
        Ok(out)
    }

    fn flops(&self, _inputs: &[&[usize]], _output: &[usize]) -> u64 {
        0
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        let out_shape = self.output_shape(&[inputs[0].shape()])?;
        let c = self.cut(inputs[0].shape())?;
        let x = inputs[0].data();
        let kept = (c.to - c.from) * c.inner;
        let mut y = Vec::with_capacity(c.outer * kept);
        for o in 0..c.outer {
            y.extend_from_slice(&x[(o * c.n + c.from) * c.inner..][..kept]);
        }
        Ok(Forward::output(Tensor::new(&out_shape, y)?))
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        let shape = args.inputs[0].shape();
        let out_shape = self.output_shape(&[shape])?;
        check_grad_output(OP, args.grad_output, &out_shape)?;
        let c = self.cut(shape)?;
        let kept = (c.to - c.from) * c.inner;
        let mut dx = vec![0.0; args.inputs[0].numel()];
        for (o, g) in args.grad_output.data().chunks_exact(kept).enumerate() {
            dx[(o * c.n + c.from) * c.inner..][..kept].copy_from_slice(g);
        }
        Ok(Backward::input(Tensor::new(shape, dx)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    fn slice(dim: i64, start: i64, end: Option<i64>) -> Slice {
        Slice { dim, start, end }
    }

    #[test]
    fn keeps_python_style_ranges() {
        // x[:, 1:3] of [[0, 1, 2, 3], [4, 5, 6, 7]]
        let x = Tensor::new(&[2, 4], (0..8).map(|v| v as f32).collect()).unwrap();
        let y = |s: Slice| s.forward(&Ctx::eval(), &[&x], &[]).unwrap().output;
        assert_eq!(y(slice(1, 1, Some(3))).data(), &[1.0, 2.0, 5.0, 6.0]);
        assert_eq!(y(slice(1, -1, None)).data(), &[3.0, 7.0]);
        assert_eq!(y(slice(-1, -10, Some(-2))).data(), &[0.0, 1.0, 4.0, 5.0]);
        assert_eq!(
            slice(2, 1, None).output_shape(&[&[2, 3, 5, 4]]).unwrap(),
            vec![2, 3, 4, 4]
        );
    }

    #[test]
    fn gradients_and_errors() {
        let x = randn(&[2, 5, 3], 1);
        check_all_inputs(&slice(1, 1, Some(-1)), &Ctx::train(0), &[x], &[]);
        let x = randn(&[2, 5, 3], 2);
        check_all_inputs(&slice(2, 1, None), &Ctx::train(0), &[x], &[]);
        assert_mentions(
            &shape_error(&slice(1, 3, Some(2)), &[&[2, 5]]),
            &["Slice", "keep nothing"],
        );
        assert_mentions(
            &shape_error(&slice(0, 0, None), &[&[2, 5]]),
            &["Slice", "batch"],
        );
    }
}
