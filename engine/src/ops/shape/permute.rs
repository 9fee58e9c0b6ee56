//! Permute: reorders the dimensions (PyTorch's `x.permute(*dims)`, here written with the
//! batch first, which must stay first: `Permute(dims: [0, 2, 1])`). The data is copied into
//! the new order; backward applies the inverse order. [`Transpose`](super::Transpose) is
//! the two-dimension case.

use crate::error::{Error, Result};
use crate::ops::{Backward, BackwardArgs, Ctx, Forward, Layer, check_arity, check_grad_output};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permute {
    /// The new order of the dimensions, batch (0) first; negative counts from the end.
    pub dims: Vec<i64>,
}

const OP: &str = "Permute";

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

/// Forward of a dimension reordering: what Permute and Transpose share.
pub(crate) fn forward_order(x: &Tensor, order: &[usize]) -> Result<Forward> {
    let (y, shape) = permute(x.data(), x.shape(), order);
    Ok(Forward::output(Tensor::new(&shape, y)?))
}

/// Backward of a dimension reordering: the gradient put back in the input's order.
pub(crate) fn backward_order(
    op: &str,
    args: &BackwardArgs<'_>,
    order: &[usize],
) -> Result<Backward> {
    let x = args.inputs[0];
    let out: Vec<usize> = order.iter().map(|&d| x.shape()[d]).collect();
    check_grad_output(op, args.grad_output, &out)?;
    let (dx, _) = permute(args.grad_output.data(), &out, &inverse(order));
    Ok(Backward::input(Tensor::new(x.shape(), dx)?))
}

impl Layer for Permute {
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        let order = check_order(OP, &self.dims, inputs[0])?;
        Ok(order.iter().map(|&d| inputs[0][d]).collect())
    }

    fn flops(&self, _inputs: &[&[usize]], _output: &[usize]) -> u64 {
        0
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        check_arity(OP, self.arity(), inputs.len())?;
        forward_order(inputs[0], &check_order(OP, &self.dims, inputs[0].shape())?)
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        check_arity(OP, self.arity(), args.inputs.len())?;
        let order = check_order(OP, &self.dims, args.inputs[0].shape())?;
        backward_order(OP, &args, &order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    #[test]
    fn reorders_like_pytorch() {
        // torch.arange(24.).reshape(2, 3, 4).permute(0, 2, 1)[0, 1] → [1, 5, 9]
        let x = Tensor::from_fn(&[2, 3, 4], |i| i as f32);
        let op = Permute {
            dims: vec![0, -1, 1],
        };
        let y = op.forward(&Ctx::eval(), &[&x], &[]).unwrap().output;
        assert_eq!(y.shape(), &[2, 4, 3]);
        assert_eq!(y.data()[3..6], [1., 5., 9.]);
        assert_eq!(y.data()[12..15], [12., 16., 20.]);
    }

    #[test]
    fn gradients() {
        let op = Permute {
            dims: vec![0, 3, 1, 2],
        };
        check_all_inputs(&op, &Ctx::train(0), &[randn(&[2, 3, 2, 4], 1)], &[]);
    }

    #[test]
    fn errors_name_the_dims() {
        for dims in [vec![0, 1], vec![0, 1, 1], vec![1, 0, 2], vec![0, 1, 3]] {
            let e = Permute { dims: dims.clone() }
                .output_shape(&[&[2, 3, 4]])
                .unwrap_err();
            assert_mentions(
                &e.to_string(),
                &["Permute", "[2, 3, 4]", &format!("{dims:?}")],
            );
        }
    }
}
