//! Dimension reorderings, [`Permute`](super::Permute) and [`Transpose`](super::Transpose):
//! each states its order of the input's dimensions ([`ReorderKind`]); copying the data into
//! that order, and the gradient back with the inverse order, is written once here.

use crate::error::{Error, Result};
use crate::ops::{
    Backward, BackwardArgs, Ctx, FamilyLayer, Forward, check_arity, check_grad_output,
};
use crate::tensor::Tensor;

crate::family!(ReorderFamily: super::Permute, super::Transpose);

/// An op that reorders its input's dimensions.
pub trait ReorderKind {
    const OP: &'static str;

    /// Output dimension k is input dimension `order[k]`; an error names the op and field.
    fn order(&self, shape: &[usize]) -> Result<Vec<usize>>;
}

/// The [`FamilyLayer`] of every [`ReorderKind`].
pub struct ReorderFamily;

impl<R: ReorderKind> FamilyLayer<R> for ReorderFamily {
    fn output_shape(op: &R, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(R::OP, Self::arity(op), inputs.len())?;
        let order = op.order(inputs[0])?;
        Ok(order.iter().map(|&d| inputs[0][d]).collect())
    }

    fn flops(_op: &R, _inputs: &[&[usize]], _output: &[usize]) -> u64 {
        0
    }

    fn forward(op: &R, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        check_arity(R::OP, Self::arity(op), inputs.len())?;
        let x = inputs[0];
        let (y, shape) = permute(x.data(), x.shape(), &op.order(x.shape())?);
        Ok(Forward::output(Tensor::new(&shape, y)?))
    }

    /// The gradient put back in the input's order.
    fn backward(op: &R, args: BackwardArgs<'_>) -> Result<Backward> {
        check_arity(R::OP, Self::arity(op), args.inputs.len())?;
        let x = args.inputs[0];
        let order = op.order(x.shape())?;
        let out: Vec<usize> = order.iter().map(|&d| x.shape()[d]).collect();
        check_grad_output(R::OP, args.grad_output, &out)?;
        let (dx, _) = permute(args.grad_output.data(), &out, &inverse(&order));
        Ok(Backward::input(Tensor::new(x.shape(), dx)?))
    }
}

/// `order` (negative entries counting from the end) checked as a permutation of
/// `0..shape.len()` that keeps the batch first; the error names `op`.
pub(crate) fn check_order(op: &str, order: &[i64], shape: &[usize]) -> Result<Vec<usize>> {
    let rank = shape.len();
    let bad = |why: String| Error::bad_shape(op, shape, why);
    if order.len() != rank {
        return Err(bad(format!(
            "dims {order:?} has {} entries but the input has {rank} dimensions",
            order.len()
        )));
    }
    let mut seen = vec![false; rank];
    let mut out = Vec::with_capacity(rank);
    for &d in order {
        let r = if d < 0 { d + rank as i64 } else { d };
        if r < 0 || r >= rank as i64 || seen[r as usize] {
            return Err(bad(format!(
                "dims {order:?} is not an order of the dimensions 0..{rank}"
            )));
        }
        seen[r as usize] = true;
        out.push(r as usize);
    }
    if out.first() != Some(&0) {
        return Err(bad(format!(
            "dims {order:?} moves the batch dimension 0, which must stay first"
        )));
    }
    Ok(out)
}

/// `x` of `shape` with its dimensions in `order` (output dim k is input dim `order[k]`).
pub(crate) fn permute(x: &[f32], shape: &[usize], order: &[usize]) -> (Vec<f32>, Vec<usize>) {
    let rank = shape.len();
    let mut in_strides = vec![1usize; rank];
    for k in (0..rank.saturating_sub(1)).rev() {
        in_strides[k] = in_strides[k + 1] * shape[k + 1];
    }
    let out_shape: Vec<usize> = order.iter().map(|&d| shape[d]).collect();
    let strides: Vec<usize> = order.iter().map(|&d| in_strides[d]).collect();
    let mut y = Vec::with_capacity(x.len());
    let mut idx = vec![0usize; rank];
    for _ in 0..x.len() {
        let src: usize = idx.iter().zip(&strides).map(|(i, s)| i * s).sum();
        y.push(x[src]);
        for k in (0..rank).rev() {
            idx[k] += 1;
            if idx[k] < out_shape[k] {
                break;
            }
            idx[k] = 0;
        }
    }
    (y, out_shape)
}

/// The order that undoes `order`.
fn inverse(order: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; order.len()];
    for (k, &d) in order.iter().enumerate() {
        inv[d] = k;
    }
    inv
}
