//! BCEWithLogitsLoss: binary cross-entropy on logits, `-[w·t·log σ(x) + (1-t)·log(1-σ(x))]`
//! with `w = pos_weight` (1 by default), in PyTorch's overflow-free form
//! `(1-t)·x + (1 + (w-1)·t)·softplus(-x)`, `softplus(-x) = log1p(e^(-|x|)) + max(-x, 0)`.
//! Targets are probabilities in [0, 1] of the input's shape, and are differentiable
//! (soft targets, distillation): `∂/∂t = -x + (w-1)·softplus(-x)`.

use super::PairLoss;
use super::reduction::Reduction;
use crate::error::{Error, Result};
use crate::ops::support::maths::sigmoid;
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BceWithLogitsLoss {
    #[serde(default)]
    pub reduction: Reduction,
    /// Weight of the positive term (PyTorch's `pos_weight`, here one scalar for all
    /// outputs): > 1 raises recall on imbalanced data. None means 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos_weight: Option<f32>,
}

/// `softplus(-x) = -log σ(x)`, without overflow for any x.
fn softplus_neg(x: f32) -> f32 {
    (-x.abs()).exp().ln_1p() + (-x).max(0.0)
}

impl PairLoss for BceWithLogitsLoss {
    const OP: &'static str = "BCEWithLogitsLoss";
    const FLOPS: u64 = 8;

    fn check(&self, _shape: &[usize]) -> Result<()> {
        let w = self.pos_weight.unwrap_or(1.0);
        if !(w.is_finite() && w >= 0.0) {
            return Err(Error::config(
                Self::OP,
                format!("pos_weight must be a finite number ≥ 0, got {w}"),
            ));
        }
        Ok(())
    }

    fn check_values(&self, _x: &Tensor, t: &Tensor) -> Result<()> {
        if let Some(i) = t.data().iter().position(|v| !(0.0..=1.0).contains(v)) {
            return Err(Error::value(
                Self::OP,
                format!(
                    "target element {i} is {}, but targets must be probabilities in [0, 1]",
                    t.data()[i]
                ),
            ));
        }
        Ok(())
    }

    fn divisor(&self, shape: &[usize]) -> f64 {
        self.reduction.divisor(shape.iter().product())
    }

    #[inline(always)]
    fn term(&self, x: f32, t: f32) -> f64 {
        let w = self.pos_weight.unwrap_or(1.0);
        let lw = 1.0 + (w - 1.0) * t;
        ((1.0 - t) * x + lw * softplus_neg(x)) as f64
    }

    #[inline(always)]
    fn grads(&self, k: f32, x: f32, t: f32) -> (f32, f32) {
        let w = self.pos_weight.unwrap_or(1.0);
        let lw = 1.0 + (w - 1.0) * t;
        let dx = (1.0 - t) + lw * (sigmoid(x) - 1.0);
        let dt = if w == 1.0 {
            -x
        } else {
            -x + (w - 1.0) * softplus_neg(x)
        };
        (k * dx, k * dt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    #[test]
    fn forward_matches_pytorch() {
        // F = torch.nn.functional
        // x = torch.tensor([[-3., -0.5, 0.], [0.25, 2., 40.]])
        // t = torch.tensor([[0., 1., 0.5], [0.2, 1., 0.]])
        // F.binary_cross_entropy_with_logits(x, t)                        7.103112697601318
        // F.binary_cross_entropy_with_logits(x, t, reduction='sum')      42.618675231933594
        // F.binary_cross_entropy_with_logits(x, t, pos_weight=torch.tensor(3.0))
        //                                                                 7.624034881591797
        let x = Tensor::new(&[2, 3], vec![-3., -0.5, 0., 0.25, 2., 40.]).unwrap();
        let t = Tensor::new(&[2, 3], vec![0., 1., 0.5, 0.2, 1., 0.]).unwrap();
        for (reduction, pos_weight, want) in [
            (Reduction::Mean, None, 7.103112697601318),
            (Reduction::Sum, None, 42.618675231933594),
            (Reduction::Mean, Some(3.0), 7.624034881591797),
        ] {
            let l = BceWithLogitsLoss {
                reduction,
                pos_weight,
            };
            let y = l.forward(&Ctx::eval(), &[&x, &t], &[]).unwrap().output;
            assert!(
                (y.item().unwrap() as f64 - want).abs() < 1e-5,
                "{l:?}: {y:?}"
            );
        }
        // extreme logits stay finite
        let x = Tensor::new(&[2], vec![-1000., 1000.]).unwrap();
        let t = Tensor::new(&[2], vec![1., 0.]).unwrap();
        let y = BceWithLogitsLoss::default()
            .forward(&Ctx::eval(), &[&x, &t], &[])
            .unwrap()
            .output;
        assert_eq!(y.item().unwrap(), 1000.0);
    }

    #[test]
    fn gradients() {
        for (reduction, pos_weight) in [
            (Reduction::Mean, None),
            (Reduction::Sum, None),
            (Reduction::Mean, Some(2.5)),
            (Reduction::Sum, Some(0.5)),
        ] {
            let l = BceWithLogitsLoss {
                reduction,
                pos_weight,
            };
            let x = randn(&[4, 5], 1).scale(2.0);
            // targets inside (0.1, 0.9) so t ± eps stays a probability
            let t = Tensor::uniform(&[4, 5], 0.1, 0.9, &mut Rng::seed(2));
            check_case(&format!("{l:?}"), &l, &Ctx::train(0), &[x, t], &[]);
        }
    }

    #[test]
    fn errors_name_op_shapes_and_values() {
        let l = BceWithLogitsLoss::default();
        let err = shape_error(&l, &[&[4, 1], &[4]]);
        assert_mentions(&err, &["BCEWithLogitsLoss", "[4, 1]", "[4]"]);
        let x = Tensor::zeros(&[3]);
        let t = Tensor::new(&[3], vec![0., 1., 2.]).unwrap();
        let err = forward_error(&l, &[&x, &t], &[]);
        assert_mentions(&err, &["element 2", "[0, 1]"]);
        let bad = BceWithLogitsLoss {
            pos_weight: Some(f32::NAN),
            ..Default::default()
        };
        assert!(bad.output_shape(&[&[2], &[2]]).is_err());
    }
}
