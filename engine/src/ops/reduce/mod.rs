//! Reductions over one dimension: [`Sum`] and [`Mean`] (PyTorch's `x.sum(dim, keepdim)` and
//! `x.mean(dim, keepdim)`, dims counted with the batch as 0, which must stay). Averaging a
//! sequence's steps (`Mean(dim: 1)`) is the other common way to read an RNN's output.

use crate::error::Result;
use crate::ops::activation::softmax::split_dim;
use crate::ops::support::defaults;
use crate::ops::support::dims::sample_dim;
use crate::ops::{
    Backward, BackwardArgs, Ctx, FamilyLayer, Forward, check_arity, check_grad_output,
};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// Declares a reduction's config (`dim`, `keepdim`; the same fields and defaults for every
/// reduction) and its [`ReduceKind`], which differ only in the name and the scale.
macro_rules! reduction {
    ($(#[$doc:meta])* $name:ident, scale: |$n:pat_param| $scale:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// The dimension reduced; negative counts from the end; not the batch (0).
            #[serde(default = "defaults::dim_one")]
            pub dim: i64,
            /// Keep the reduced dimension with size 1 instead of dropping it.
            #[serde(default)]
            pub keepdim: bool,
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    dim: 1,
                    keepdim: false,
                }
            }
        }

        impl ReduceKind for $name {
            const OP: &'static str = stringify!($name);

            fn dim(&self) -> i64 {
                self.dim
            }

            fn keepdim(&self) -> bool {
                self.keepdim
            }

            fn scale($n: usize) -> f32 {
                $scale
            }
        }
    };
}

reduction! {
    /// Sum: the sum over one dimension (PyTorch's `x.sum(dim, keepdim)`).
    Sum, scale: |_| 1.0
}

reduction! {
    /// Mean: the mean over one dimension (PyTorch's `x.mean(dim, keepdim)`).
    Mean, scale: |n| 1.0 / n.max(1) as f32
}

crate::family!(ReduceFamily: Sum, Mean);

/// A sum over one dimension, scaled by [`ReduceKind::scale`] of that dimension's size.
pub trait ReduceKind {
    const OP: &'static str;
    fn dim(&self) -> i64;
    fn keepdim(&self) -> bool;
    /// The factor on the sum of `n` elements: 1 for a sum, 1/n for a mean.
    fn scale(n: usize) -> f32;
}

/// The [`FamilyLayer`] of every [`ReduceKind`].
pub struct ReduceFamily;

/// `(outer, n, inner)` of the reduction and its output shape.
fn plan<R: ReduceKind>(op: &R, shape: &[usize]) -> Result<((usize, usize, usize), Vec<usize>)> {
    let d = sample_dim(R::OP, "dim", op.dim(), shape)?;
    let split = split_dim(R::OP, shape, d as i64)?;
    let mut out = shape.to_vec();
    if op.keepdim() {
        out[d] = 1;
    } else {
        out.remove(d);
    }
    Ok((split, out))
}

impl<R: ReduceKind> FamilyLayer<R> for ReduceFamily {
    fn output_shape(op: &R, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(R::OP, Self::arity(op), inputs.len())?;
        Ok(plan(op, inputs[0])?.1)
    }

    fn flops(_op: &R, inputs: &[&[usize]], _output: &[usize]) -> u64 {
        inputs.first().map_or(0, |s| s.iter().product::<usize>()) as u64
    }

    fn forward(op: &R, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        check_arity(R::OP, Self::arity(op), inputs.len())?;
        let ((outer, n, inner), out) = plan(op, inputs[0].shape())?;
        let x = inputs[0].data();
        let scale = R::scale(n);
        let mut y = vec![0.0; outer * inner];
        for (o, ys) in y.chunks_mut(inner.max(1)).enumerate() {
            let mut acc = vec![0.0f64; inner];
            for k in 0..n {
                for (a, &v) in acc.iter_mut().zip(&x[(o * n + k) * inner..][..inner]) {
                    *a += v as f64;
                }
            }
            for (yv, a) in ys.iter_mut().zip(acc) {
                *yv = a as f32 * scale;
            }
        }
        Ok(Forward::output(Tensor::new(&out, y)?))
    }

    fn backward(op: &R, args: BackwardArgs<'_>) -> Result<Backward> {
        check_arity(R::OP, Self::arity(op), args.inputs.len())?;
        let x = args.inputs[0];
        let ((outer, n, inner), out) = plan(op, x.shape())?;
        check_grad_output(R::OP, args.grad_output, &out)?;
        let scale = R::scale(n);
        let g = args.grad_output.data();
        let mut dx = vec![0.0; x.numel()];
        for o in 0..outer {
            for k in 0..n {
                let row = &mut dx[(o * n + k) * inner..][..inner];
                for (d, &gv) in row.iter_mut().zip(&g[o * inner..][..inner]) {
                    *d = gv * scale;
                }
            }
        }
        Ok(Backward::input(Tensor::new(x.shape(), dx)?))
    }
}

#[cfg(test)]
mod tests;
