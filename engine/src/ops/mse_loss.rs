//! MSELoss: `mean((input - target)²)` (or the sum). Differentiable in both operands.
//!
//! This file also holds what the pointwise losses (MSE, L1, SmoothL1, BCEWithLogits,
//! GaussianKL) share: the [`Reduction`] config enum, the two-operand shape check, and
//! f64-accumulated, rayon-parallel sum/gradient kernels over a pair of same-shaped inputs.

use super::{Arity, Backward, Ctx, Forward, Layer, check_arity};
use crate::error::{Error, Result};
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
pub(crate) fn check_pair(op: &str, layer: &dyn Layer, inputs: &[&[usize]]) -> Result<()> {
    check_arity(op, layer.arity(), inputs.len())?;
    if inputs[0] != inputs[1] {
        return Err(Error::shape_mismatch(
            op,
            format!(
                "{} and {} must have the same shape",
                layer.input_name(0),
                layer.input_name(1)
            ),
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

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MseLoss {
    #[serde(default)]
    pub reduction: Reduction,
}

const OP: &str = "MSELoss";

impl Layer for MseLoss {
    fn arity(&self) -> Arity {
        Arity::Exactly(2)
    }

    fn input_name(&self, i: usize) -> String {
        if i == 0 { "input" } else { "target" }.to_string()
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_pair(OP, self, inputs)?;
        Ok(Vec::new())
    }

    fn flops(&self, inputs: &[&[usize]], _output: &[usize]) -> u64 {
        3 * inputs.first().map_or(0, |s| s.iter().product::<usize>()) as u64
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        let shapes: Vec<&[usize]> = inputs.iter().map(|t| t.shape()).collect();
        self.output_shape(&shapes)?;
        let (x, t) = (inputs[0], inputs[1]);
        let sum = sum_pairs(x.data(), t.data(), |x, t| {
            let d = x as f64 - t as f64;
            d * d
        });
        let loss = sum / self.reduction.divisor(x.numel());
        Ok(Forward::output(Tensor::scalar(loss as f32)))
    }

    fn backward(
        &self,
        _ctx: &Ctx,
        inputs: &[&Tensor],
        _params: &[&Tensor],
        _forward: &Forward,
        grad_output: &Tensor,
    ) -> Result<Backward> {
        let shapes: Vec<&[usize]> = inputs.iter().map(|t| t.shape()).collect();
        self.output_shape(&shapes)?;
        let (x, t) = (inputs[0], inputs[1]);
        let k =
            (2.0 * scalar_grad(OP, grad_output)? as f64 / self.reduction.divisor(x.numel())) as f32;
        let (dx, dt) = pair_grads(x, t, |x, t| {
            let g = k * (x - t);
            (g, -g)
        })?;
        Ok(Backward {
            inputs: vec![Some(dx), Some(dt)],
            params: vec![],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{GradCheck, randn};
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error as DeError, MapDeserializer};

    #[test]
    fn forward_values() {
        let x = Tensor::new(&[2, 2], vec![1., 2., 3., 4.]).unwrap();
        let t = Tensor::new(&[2, 2], vec![0., 2., 5., 3.5]).unwrap();
        // squared differences 1, 0, 4, 0.25
        let mean = MseLoss::default().forward(&Ctx::eval(), &[&x, &t], &[]);
        assert!((mean.unwrap().output.item().unwrap() - 1.3125).abs() < 1e-6);
        let sum = MseLoss {
            reduction: Reduction::Sum,
        }
        .forward(&Ctx::eval(), &[&x, &t], &[])
        .unwrap()
        .output;
        assert_eq!(sum.shape(), &[] as &[usize]);
        assert!((sum.item().unwrap() - 5.25).abs() < 1e-6);
    }

    #[test]
    fn gradients() {
        for reduction in [Reduction::Mean, Reduction::Sum] {
            let loss = MseLoss { reduction };
            let x = randn(&[4, 5], 1);
            let t = randn(&[4, 5], 2);
            GradCheck::default()
                .check(&loss, &Ctx::train(0), &[x, t], &[], &[true, true])
                .unwrap();
        }
    }

    #[test]
    fn large_inputs_match_serial_sum() {
        let x = randn(&[300, 300], 3);
        let t = randn(&[300, 300], 4);
        let y = MseLoss::default()
            .forward(&Ctx::eval(), &[&x, &t], &[])
            .unwrap()
            .output;
        let want: f64 = x
            .data()
            .iter()
            .zip(t.data())
            .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
            .sum::<f64>()
            / 90000.0;
        assert!((y.item().unwrap() as f64 - want).abs() < 1e-5);
    }

    #[test]
    fn shape_errors_name_op_and_shapes() {
        let loss = MseLoss::default();
        let err = loss
            .output_shape(&[&[2, 3], &[2, 4]])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("MSELoss") && err.contains("[2, 3]") && err.contains("[2, 4]"),
            "{err}"
        );
        assert!(loss.output_shape(&[&[2, 3]]).is_err());
        let (x, t) = (Tensor::zeros(&[3]), Tensor::zeros(&[4]));
        let err = loss
            .forward(&Ctx::eval(), &[&x, &t], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("MSELoss") && err.contains("[3]") && err.contains("[4]"));
        assert_eq!(loss.input_name(1), "target");
    }

    #[test]
    fn config_defaults_and_reduction_strings() {
        let empty = MapDeserializer::<_, DeError>::new(std::iter::empty::<(&str, &str)>());
        assert_eq!(MseLoss::deserialize(empty).unwrap(), MseLoss::default());
        let sum = Reduction::deserialize("sum".into_deserializer());
        assert_eq!(sum, Ok::<_, DeError>(Reduction::Sum));
        let mean = Reduction::deserialize("mean".into_deserializer());
        assert_eq!(mean, Ok::<_, DeError>(Reduction::Mean));
        let bad: Result<_, DeError> = Reduction::deserialize("none".into_deserializer());
        assert!(bad.is_err());
    }
}
