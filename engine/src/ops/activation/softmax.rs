//! Softmax along `dim` (default -1, the last): `exp(x - max) / Σ exp(x - max)`, the max
//! subtracted so no exponential overflows. The tensor is viewed as `(outer, n, inner)` with
//! `n` the size of `dim`, so any dim works without a transpose: for `inner > 1` every step
//! runs over whole contiguous rows of length `inner`.
//!
//! This file also holds the kernels LogSoftmax and CrossEntropyLoss reuse, and the
//! [`SoftmaxKind`] family that gives Softmax and LogSoftmax their one `Layer`.

use crate::error::{Error, Result};
use crate::ops::support::defaults;
use crate::ops::support::maths::exp_f32;
use crate::ops::{
    Backward, BackwardArgs, Ctx, FamilyLayer, Forward, check_arity, check_grad_output,
};
use crate::tensor::{PARALLEL_MIN_ELEMS, Tensor, vectorized};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Softmax {
    /// The dimension that sums to 1; negative counts from the end.
    #[serde(default = "defaults::last_dim")]
    pub dim: i64,
}

impl Default for Softmax {
    fn default() -> Self {
        Softmax { dim: -1 }
    }
}

/// `(outer, n, inner)` for a reduction of `shape` along `dim` (negative counts from the end).
pub(crate) fn split_dim(op: &str, shape: &[usize], dim: i64) -> Result<(usize, usize, usize)> {
    let rank = shape.len() as i64;
    let d = if dim < 0 { dim + rank } else { dim };
    if rank == 0 || d < 0 || d >= rank {
        return Err(Error::bad_shape(
            op,
            shape,
            format!("dim {dim} is out of range for a tensor of rank {rank}"),
        ));
    }
    let d = d as usize;
    let outer = shape[..d].iter().product();
    let inner = shape[d + 1..].iter().product();
    Ok((outer, shape[d], inner))
}

/// Independent accumulators in the row reductions: one running f32 sum or max is a serial
/// chain LLVM may not reorder, eight of them vectorize.
const LANES: usize = 8;

/// Largest element (NaN elements are skipped here and poison the exponentials instead).
#[inline(always)]
fn max_lanes(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = if v > *a { v } else { *a };
        }
    }
    acc.iter().fold(tail, |m, &v| m.max(v))
}

/// `out = exp(x - m)`, returning the sum of `out`. Two plain passes (the row is still
/// in L1 for the second): a fused exp-and-accumulate loop defeats the vectorizer.
#[inline(always)]
fn exp_sum(x: &[f32], out: &mut [f32], m: f32) -> f32 {
    out.iter_mut()
        .zip(x)
        .for_each(|(o, &v)| *o = exp_f32(v - m));
    sum_lanes(out, out, |e, _| e)
}

/// `Σ f(aᵢ, bᵢ)` with [`LANES`] accumulators.
#[inline(always)]
fn sum_lanes(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| f(x, y))
        .sum();
    for (xa, xb) in ca.zip(cb) {
        for ((s, &x), &y) in acc.iter_mut().zip(xa).zip(xb) {
            *s += f(x, y);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Softmax (or log-softmax when `log`) of one `n × inner` block along `n`, into `out`;
/// the log-sum-exp of each of the `inner` columns goes to `lse`.
pub(crate) fn softmax_block(x: &[f32], out: &mut [f32], lse: &mut [f32], inner: usize, log: bool) {
    vectorized(
        #[inline(always)]
        || softmax_block_loops(x, out, lse, inner, log),
    )
}

/// [`softmax_block`]'s loops, inlined into each of `vectorized`'s copies.
#[inline(always)]
fn softmax_block_loops(x: &[f32], out: &mut [f32], lse: &mut [f32], inner: usize, log: bool) {
    if inner == 1 {
        let m = max_lanes(x);
        let s = exp_sum(x, out, m);
        let l = m + s.ln();
        if log {
            out.iter_mut().zip(x).for_each(|(o, &v)| *o = v - l);
        } else {
            let inv = 1.0 / s;
            out.iter_mut().for_each(|o| *o *= inv);
        }
        if let Some(first) = lse.first_mut() {
            *first = l;
        }
        return;
    }
    // Column maxima, kept in `lse` until it is overwritten with the log-sum-exp. Every
    // loop below runs along a contiguous row of `inner` columns.
    lse.fill(f32::NEG_INFINITY);
    for row in x.chunks_exact(inner) {
        lse.iter_mut()
            .zip(row)
            .for_each(|(m, &v)| *m = if v > *m { v } else { *m });
    }
    let mut sum = vec![0.0f32; inner];
    for (orow, xrow) in out.chunks_exact_mut(inner).zip(x.chunks_exact(inner)) {
        for ((o, &v), (&m, s)) in orow.iter_mut().zip(xrow).zip(lse.iter().zip(&mut sum)) {
            let e = exp_f32(v - m);
            *o = e;
            *s += e;
        }
    }
    if log {
        lse.iter_mut().zip(&sum).for_each(|(m, s)| *m += s.ln());
        for (orow, xrow) in out.chunks_exact_mut(inner).zip(x.chunks_exact(inner)) {
            for ((o, &v), &l) in orow.iter_mut().zip(xrow).zip(lse.iter()) {
                *o = v - l;
            }
        }
    } else {
        sum.iter_mut().for_each(|s| *s = 1.0 / *s);
        for orow in out.chunks_exact_mut(inner) {
            orow.iter_mut().zip(&sum).for_each(|(o, inv)| *o *= inv);
        }
        lse.iter_mut().zip(&sum).for_each(|(m, inv)| *m -= inv.ln());
    }
}

/// [`softmax_block`] over every block of an `(outer, n, inner)` tensor, parallel over
/// blocks for large tensors. `lse` holds `outer·inner` values.
pub(crate) fn softmax_into(
    x: &[f32],
    out: &mut [f32],
    lse: &mut [f32],
    n: usize,
    inner: usize,
    log: bool,
) {
    let block = n * inner;
    if block == 0 || inner == 0 {
        return;
    }
    if x.len() >= PARALLEL_MIN_ELEMS && x.len() > block {
        out.par_chunks_mut(block)
            .zip(x.par_chunks(block))
            .zip(lse.par_chunks_mut(inner))
            .for_each(|((o, x), l)| softmax_block(x, o, l, inner, log));
    } else {
        for ((o, x), l) in out
            .chunks_mut(block)
            .zip(x.chunks(block))
            .zip(lse.chunks_mut(inner))
        {
            softmax_block(x, o, l, inner, log);
        }
    }
}

/// Backward of one block from the output `y`: softmax `dx = y·(g - Σ g·y)`, log-softmax
/// `dx = g - exp(y)·Σ g` (sums along `n`, per column).
pub(crate) fn softmax_backward_block(
    y: &[f32],
    g: &[f32],
    dx: &mut [f32],
    inner: usize,
    log: bool,
) {
    vectorized(
        #[inline(always)]
        || softmax_backward_loops(y, g, dx, inner, log),
    )
}

/// [`softmax_backward_block`]'s loops, inlined into each of `vectorized`'s copies.
#[inline(always)]
fn softmax_backward_loops(y: &[f32], g: &[f32], dx: &mut [f32], inner: usize, log: bool) {
    if inner == 1 {
        let a = if log {
            sum_lanes(g, g, |g, _| g)
        } else {
            sum_lanes(g, y, |g, y| g * y)
        };
        for ((d, &y), &g) in dx.iter_mut().zip(y).zip(g) {
            *d = if log { g - exp_f32(y) * a } else { y * (g - a) };
        }
        return;
    }
    let mut acc = vec![0.0f32; inner];
    for (yrow, grow) in y.chunks_exact(inner).zip(g.chunks_exact(inner)) {
        for ((a, &y), &g) in acc.iter_mut().zip(yrow).zip(grow) {
            *a += if log { g } else { g * y };
        }
    }
    for ((drow, yrow), grow) in dx
        .chunks_exact_mut(inner)
        .zip(y.chunks_exact(inner))
        .zip(g.chunks_exact(inner))
    {
        for (((d, &y), &g), &a) in drow.iter_mut().zip(yrow).zip(grow).zip(&acc) {
            *d = if log { g - exp_f32(y) * a } else { y * (g - a) };
        }
    }
}

/// Input gradient of (log-)softmax along `dim` from its output, parallel over blocks.
pub(crate) fn softmax_backward(
    op: &str,
    dim: i64,
    y: &Tensor,
    g: &Tensor,
    log: bool,
) -> Result<Tensor> {
    check_grad_output(op, g, y.shape())?;
    let (_, n, inner) = split_dim(op, y.shape(), dim)?;
    let block = n * inner;
    let mut dx = vec![0.0; y.numel()];
    if block > 0 {
        if dx.len() >= PARALLEL_MIN_ELEMS && dx.len() > block {
            dx.par_chunks_mut(block)
                .zip(y.data().par_chunks(block).zip(g.data().par_chunks(block)))
                .for_each(|(d, (y, g))| softmax_backward_block(y, g, d, inner, log));
        } else {
            for (d, (y, g)) in dx
                .chunks_mut(block)
                .zip(y.data().chunks(block).zip(g.data().chunks(block)))
            {
                softmax_backward_block(y, g, d, inner, log);
            }
        }
    }
    Tensor::new(y.shape(), dx)
}

/// Forward of Softmax / LogSoftmax.
pub(crate) fn softmax_forward(
    op: &str,
    dim: i64,
    inputs: &[&Tensor],
    log: bool,
) -> Result<Forward> {
    check_arity(op, crate::ops::Arity::Exactly(1), inputs.len())?;
    let x = inputs[0];
    let (outer, n, inner) = split_dim(op, x.shape(), dim)?;
    let mut out = vec![0.0; x.numel()];
    let mut lse = vec![0.0; outer * inner];
    softmax_into(x.data(), &mut out, &mut lse, n, inner, log);
    Ok(Forward::output(Tensor::new(x.shape(), out)?))
}

/// Softmax or LogSoftmax: the same kernels, in the log form or not.
pub trait SoftmaxKind {
    const OP: &'static str;
    const LOG: bool;
    /// The dimension normalised over; negative counts from the end.
    fn dim(&self) -> i64;
}

impl SoftmaxKind for Softmax {
    const OP: &'static str = "Softmax";
    const LOG: bool = false;

    fn dim(&self) -> i64 {
        self.dim
    }
}

/// The [`FamilyLayer`] of Softmax and LogSoftmax.
pub struct SoftmaxFamily;

impl<S: SoftmaxKind> FamilyLayer<S> for SoftmaxFamily {
    fn output_shape(op: &S, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(S::OP, Self::arity(op), inputs.len())?;
        split_dim(S::OP, inputs[0], op.dim())?;
        Ok(inputs[0].to_vec())
    }

    fn flops(_op: &S, _inputs: &[&[usize]], output: &[usize]) -> u64 {
        5 * output.iter().product::<usize>() as u64
    }

    fn forward(op: &S, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        softmax_forward(S::OP, op.dim(), inputs, S::LOG)
    }

    fn backward(op: &S, args: BackwardArgs<'_>) -> Result<Backward> {
        let dx = softmax_backward(
            S::OP,
            op.dim(),
            &args.forward.output,
            args.grad_output,
            S::LOG,
        )?;
        Ok(Backward::input(dx))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ops::testing::*;

    /// Softmax along `dim` by the definition, in f64, index by index.
    pub(crate) fn reference(x: &Tensor, dim: usize, log: bool) -> Vec<f32> {
        let shape = x.shape();
        let inner: usize = shape[dim + 1..].iter().product();
        let n = shape[dim];
        (0..x.numel())
            .map(|i| {
                let (o, r) = (i / (n * inner), i % inner);
                let col: Vec<f64> = (0..n)
                    .map(|k| x.data()[o * n * inner + k * inner + r] as f64)
                    .collect();
                let s: f64 = col.iter().map(|v| v.exp()).sum();
                let v = x.data()[i] as f64;
                (if log { v - s.ln() } else { v.exp() / s }) as f32
            })
            .collect()
    }

    /// Asserts the op made by `op(dim)` matches [`reference`] within `tol` on seeded
    /// inputs of each `(shape, dim)` case.
    pub(crate) fn assert_matches_reference(
        op: impl Fn(i64) -> Box<dyn Layer>,
        log: bool,
        cases: &[(Vec<usize>, i64)],
        tol: f32,
    ) {
        for (shape, dim) in cases {
            let x = randn(shape, 7).scale(3.0);
            let y = op(*dim).forward(&Ctx::eval(), &[&x], &[]).unwrap().output;
            let d = (dim + shape.len() as i64) as usize % shape.len();
            for (a, b) in y.data().iter().zip(&reference(&x, d, log)) {
                assert!((a - b).abs() < tol, "dim {dim}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn forward_values() {
        let x = Tensor::new(&[2, 3], vec![1., 2., 3., 1000., 1000., 1000.]).unwrap();
        let y = Softmax::default()
            .forward(&Ctx::eval(), &[&x], &[])
            .unwrap()
            .output;
        // torch.softmax(torch.tensor([[1., 2., 3.]]), -1)
        let want = [
            0.09003057,
            0.24472848,
            0.66524094,
            1. / 3.,
            1. / 3.,
            1. / 3.,
        ];
        for (a, b) in y.data().iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        let cases = [
            (vec![2, 3, 4], 0i64),
            (vec![2, 3, 4], 1),
            (vec![2, 3, 4], -1),
            (vec![3, 5, 2, 2], -3),
        ];
        assert_matches_reference(|dim| Box::new(Softmax { dim }), false, &cases, 1e-6);
    }

    #[test]
    fn large_tensor_parallel_path_matches_reference() {
        let x = randn(&[64, 40, 30], 2).scale(4.0);
        for dim in [1i64, 2] {
            let y = Softmax { dim }
                .forward(&Ctx::eval(), &[&x], &[])
                .unwrap()
                .output;
            let want = reference(&x, dim as usize, false);
            for i in (0..y.numel()).step_by(331) {
                assert!((y.data()[i] - want[i]).abs() < 1e-6);
            }
        }
    }

    /// Softmax and LogSoftmax (the family's two members).
    #[test]
    fn gradients() {
        use crate::ops::activation::LogSoftmax;
        for (shape, dim) in [(vec![3, 5], -1i64), (vec![3, 5], 0), (vec![2, 3, 2, 2], 1)] {
            let x = randn(&shape, 3).scale(1.5);
            let ctx = Ctx::train(0);
            let xs = std::slice::from_ref(&x);
            check_case(
                &format!("Softmax dim {dim}"),
                &Softmax { dim },
                &ctx,
                xs,
                &[],
            );
            check_case(
                &format!("LogSoftmax dim {dim}"),
                &LogSoftmax { dim },
                &ctx,
                xs,
                &[],
            );
        }
    }

    #[test]
    fn errors_name_op_and_shapes() {
        let err = shape_error(&Softmax { dim: 2 }, &[&[4, 5]]);
        assert_mentions(&err, &["Softmax", "[4, 5]", "dim 2"]);
        assert!(Softmax { dim: -3 }.output_shape(&[&[4, 5]]).is_err());
        assert!(Softmax::default().output_shape(&[&[]]).is_err());
        let x = Tensor::zeros(&[2, 3]);
        let fwd = Softmax::default()
            .forward(&Ctx::train(0), &[&x], &[])
            .unwrap();
        let err = Softmax::default()
            .backward(&Ctx::train(0), &[&x], &[], &fwd, &Tensor::zeros(&[3, 2]))
            .unwrap_err()
            .to_string();
        assert_mentions(&err, &["Softmax", "[3, 2]", "[2, 3]"]);
    }
}
