//! SmoothL1Loss (Huber-like, PyTorch's definition): per element `0.5·d²/beta` where
//! `|d| < beta`, else `|d| - 0.5·beta`, with `d = input - target`; `beta = 0` is L1.
//! Differentiable in both operands.

use super::PairLoss;
use super::reduction::Reduction;
use crate::error::{Error, Result};
use crate::ops::support::defaults;
use crate::ops::support::maths::sign;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmoothL1Loss {
    #[serde(default)]
    pub reduction: Reduction,
    /// Where the quadratic part meets the linear part (PyTorch default 1.0).
    #[serde(default = "defaults::one_f32")]
    pub beta: f32,
}

impl Default for SmoothL1Loss {
    fn default() -> Self {
        SmoothL1Loss {
            reduction: Reduction::Mean,
            beta: 1.0,
        }
    }
}

impl PairLoss for SmoothL1Loss {
    const OP: &'static str = "SmoothL1Loss";
    const FLOPS: u64 = 4;

    fn check(&self, _shape: &[usize]) -> Result<()> {
        if !(self.beta >= 0.0 && self.beta.is_finite()) {
            return Err(Error::config(
                Self::OP,
                format!("beta must be a finite number ≥ 0, got {}", self.beta),
            ));
        }
        Ok(())
    }

    fn divisor(&self, shape: &[usize]) -> f64 {
        self.reduction.divisor(shape.iter().product())
    }

    #[inline(always)]
    fn term(&self, x: f32, t: f32) -> f64 {
        let beta = self.beta as f64;
        let d = (x as f64 - t as f64).abs();
        if d < beta {
            0.5 * d * d / beta
        } else {
            d - 0.5 * beta
        }
    }

    #[inline(always)]
    fn grads(&self, k: f32, x: f32, t: f32) -> (f32, f32) {
        let d = x - t;
        let g = if d.abs() < self.beta {
            k * d / self.beta
        } else {
            k * sign(d)
        };
        (g, -g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;
    use serde::de::value::{Error as DeError, MapDeserializer};

    #[test]
    fn forward_values() {
        let x = Tensor::new(&[4], vec![0., 0., 0., 0.]).unwrap();
        let t = Tensor::new(&[4], vec![0.5, -2., 1., 0.]).unwrap();
        // beta 1: 0.125, 1.5, 0.5, 0
        let y = SmoothL1Loss::default()
            .forward(&Ctx::eval(), &[&x, &t], &[])
            .unwrap()
            .output;
        assert!((y.item().unwrap() - 2.125 / 4.0).abs() < 1e-6);
        // beta 0.5, sum: 0.25, 1.75, 0.75, 0
        let loss = SmoothL1Loss {
            reduction: Reduction::Sum,
            beta: 0.5,
        };
        let y = loss.forward(&Ctx::eval(), &[&x, &t], &[]).unwrap().output;
        assert!((y.item().unwrap() - 2.75).abs() < 1e-6);
        // beta 0 is L1
        let loss = SmoothL1Loss {
            reduction: Reduction::Sum,
            beta: 0.0,
        };
        let y = loss.forward(&Ctx::eval(), &[&x, &t], &[]).unwrap().output;
        assert!((y.item().unwrap() - 3.5).abs() < 1e-6);
    }

    /// Differences `d = input - target` at least 0.05 away from 0 and ±beta.
    fn away_from_kinks(shape: &[usize], seed: u64, beta: f32) -> Tensor {
        randn(shape, seed).map(move |d| {
            let mut d = 1.5 * d;
            for k in [0.0, beta, -beta] {
                if (d - k).abs() < 0.05 {
                    d = k + if d >= k { 0.05 } else { -0.05 } + (d - k);
                }
            }
            d
        })
    }

    #[test]
    fn gradients() {
        for (reduction, beta) in [
            (Reduction::Mean, 1.0),
            (Reduction::Sum, 1.0),
            (Reduction::Mean, 0.3),
            (Reduction::Sum, 0.0),
        ] {
            let loss = SmoothL1Loss { reduction, beta };
            let x = randn(&[5, 6], 1);
            let d = away_from_kinks(&[5, 6], 2, beta);
            for &v in d.data() {
                assert!(v.abs() >= 0.05 && (v.abs() - beta).abs() >= 0.05);
            }
            let t = x.sub(&d).unwrap();
            check_case(
                &format!("beta {beta}, {reduction:?}"),
                &loss,
                &Ctx::train(0),
                &[x, t],
                &[],
            );
        }
    }

    #[test]
    fn errors_name_op_and_shapes() {
        let err = shape_error(&SmoothL1Loss::default(), &[&[2, 3], &[6]]);
        assert_mentions(&err, &["SmoothL1Loss", "[2, 3]", "[6]"]);
        let bad = SmoothL1Loss {
            beta: -1.0,
            ..Default::default()
        };
        assert!(bad.output_shape(&[&[2], &[2]]).is_err());
    }

    #[test]
    fn config_defaults() {
        let empty = MapDeserializer::<_, DeError>::new(std::iter::empty::<(&str, &str)>());
        assert_eq!(
            SmoothL1Loss::deserialize(empty).unwrap(),
            SmoothL1Loss::default()
        );
    }
}
