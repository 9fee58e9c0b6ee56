//! What the losses share: the [`Reduction`] config, the two-operand shape check, the
//! scalar incoming gradient, and f64-accumulated, rayon-parallel sum/gradient kernels over
//! a pair of same-shaped inputs.

use crate::error::{Error, Result};
use crate::ops::{Arity, check_arity};
use crate::tensor::{PARALLEL_MIN_ELEMS, Tensor};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// How a loss reduces its per-element terms to the scalar output (PyTorch's `reduction`;
/// `"none"` is not offered because a loss node's output is a scalar).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reduction {
    /// Average over the terms (PyTorch's default).
    #[default]
    Mean,
    Sum,
}

impl Reduction {
    /// What the sum of `count` terms is divided by. A mean over no terms is NaN, as in
    /// PyTorch.
    pub(crate) fn divisor(self, count: usize) -> f64 {
        match self {
            Reduction::Mean => count as f64,
            Reduction::Sum => 1.0,
        }
    }
}

/// Chunk size for the parallel loss kernels.
const CHUNK: usize = 1 << 14;

/// Arity 2 and equal shapes; the error names the op, both ports and both shapes.
pub(crate) fn check_pair(op: &str, names: [&str; 2], inputs: &[&[usize]]) -> Result<()> {
    check_arity(op, Arity::Exactly(2), inputs.len())?;
    if inputs[0] != inputs[1] {
        return Err(Error::shape_mismatch(
            op,
            format!("{} and {} must have the same shape", names[0], names[1]),
            inputs[0],
            inputs[1],
        ));
    }
    Ok(())
}

/// The value of a scalar loss's incoming gradient.
pub(crate) fn scalar_grad(op: &str, grad_output: &Tensor) -> Result<f32> {
    grad_output.item().map_err(|_| {
        Error::bad_shape(
            op,
            grad_output.shape(),
            "grad_output of a loss must be a scalar",
        )
    })
}

/// `Σ f(aᵢ, bᵢ)` accumulated in f64, parallel for large inputs. Eight independent
/// accumulators per chunk, so the loop is not one serial chain of dependent adds.
pub(crate) fn sum_pairs(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f64 + Sync) -> f64 {
    const LANES: usize = 8;
    let serial = |a: &[f32], b: &[f32]| {
        let mut acc = [0.0f64; LANES];
        let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        let tail: f64 = ca
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
        acc.iter().sum::<f64>() + tail
    };
    if a.len() >= PARALLEL_MIN_ELEMS {
        a.par_chunks(CHUNK)
            .zip(b.par_chunks(CHUNK))
            .map(|(a, b)| serial(a, b))
            // Collected, then added in order: deterministic whatever the scheduling.
            .collect::<Vec<f64>>()
            .iter()
            .sum()
    } else {
        serial(a, b)
    }
}

/// Gradients of `Σ f(aᵢ, bᵢ)`-style losses in one pass: `(daᵢ, dbᵢ) = f(aᵢ, bᵢ)`.
/// `a` and `b` must have the same shape (callers check it first).
pub(crate) fn pair_grads(
    a: &Tensor,
    b: &Tensor,
    f: impl Fn(f32, f32) -> (f32, f32) + Sync,
) -> Result<(Tensor, Tensor)> {
    let n = a.numel();
    let mut da = vec![0.0; n];
    let mut db = vec![0.0; n];
    let kernel = |da: &mut [f32], db: &mut [f32], a: &[f32], b: &[f32]| {
        for ((da, db), (&x, &y)) in da.iter_mut().zip(db.iter_mut()).zip(a.iter().zip(b)) {
            (*da, *db) = f(x, y);
        }
    };
    if n >= PARALLEL_MIN_ELEMS {
        da.par_chunks_mut(CHUNK)
            .zip(db.par_chunks_mut(CHUNK))
            .zip(a.data().par_chunks(CHUNK).zip(b.data().par_chunks(CHUNK)))
            .for_each(|((da, db), (a, b))| kernel(da, db, a, b));
    } else {
        kernel(&mut da, &mut db, a.data(), b.data());
    }
    Ok((Tensor::new(a.shape(), da)?, Tensor::new(b.shape(), db)?))
}
