//! BCELoss: binary cross-entropy on probabilities, `-[t·log x + (1-t)·log(1-x)]`, with each
//! log clamped at -100 as PyTorch does (so x = 0 or 1 gives a large finite loss, never
//! inf). For sigmoid outputs prefer BCEWithLogitsLoss, which is exact at the extremes; this
//! one is for graphs that already produce probabilities (a VAE's decoder, a GAN's
//! discriminator written PyTorch's way). Gradients, as PyTorch:
//! `∂/∂x = (x - t) / max(x·(1-x), 1e-12)`, `∂/∂t = log(1-x) - log x` (both logs clamped,
//! where PyTorch's target gradient is ±inf at x = 0 or 1).

use super::PairLoss;
use super::reduction::Reduction;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BceLoss {
    #[serde(default)]
    pub reduction: Reduction,
}

/// `max(ln v, -100)`, PyTorch's clamp.
#[inline(always)]
fn clamped_ln(v: f32) -> f32 {
    v.ln().max(-100.0)
}

/// The first element of `t` outside [0, 1], as an error naming `what`.
fn check_probabilities(t: &Tensor, what: &str) -> Result<()> {
    match t.data().iter().position(|v| !(0.0..=1.0).contains(v)) {
        None => Ok(()),
        Some(i) => Err(Error::value(
            BceLoss::OP,
            format!(
                "{what} element {i} is {}, but {what}s must be probabilities in [0, 1] \
                 (end the network with Sigmoid, or use BCEWithLogitsLoss on logits)",
                t.data()[i]
            ),
        )),
    }
}

impl PairLoss for BceLoss {
    const OP: &'static str = "BCELoss";
    const FLOPS: u64 = 8;

    fn check_values(&self, x: &Tensor, t: &Tensor) -> Result<()> {
        check_probabilities(x, "input")?;
        check_probabilities(t, "target")
    }

    fn divisor(&self, shape: &[usize]) -> f64 {
        self.reduction.divisor(shape.iter().product())
    }

    #[inline(always)]
    fn term(&self, x: f32, t: f32) -> f64 {
        -((t * clamped_ln(x)) as f64 + ((1.0 - t) * clamped_ln(1.0 - x)) as f64)
    }

    #[inline(always)]
    fn grads(&self, k: f32, x: f32, t: f32) -> (f32, f32) {
        let dx = (x - t) / (x * (1.0 - x)).max(1e-12);
        let dt = clamped_ln(1.0 - x) - clamped_ln(x);
        (k * dx, k * dt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    /// PyTorch literals, generated with:
    /// ```python
    /// import torch
    /// F = torch.nn.functional
    /// x = torch.tensor([[0.1, 0.7, 0.0], [0.5, 1.0, 0.95]])
    /// t = torch.tensor([[0.0, 1.0, 0.3], [0.5, 1.0, 0.2]])
    /// print(F.binary_cross_entropy(x, t).item())                        # 5.5936713218688965
    /// x = torch.tensor([[0.1, 0.7], [0.5, 0.95]], requires_grad=True)
    /// t = torch.tensor([[0.0, 1.0], [0.5, 0.2]], requires_grad=True)
    /// l = F.binary_cross_entropy(x, t, reduction='sum'); l.backward()
    /// print(l.item(), x.grad.flatten().tolist(), t.grad.flatten().tolist())
    /// ```
    #[test]
    fn matches_pytorch() {
        let x = Tensor::new(&[2, 3], vec![0.1, 0.7, 0.0, 0.5, 1.0, 0.95]).unwrap();
        let t = Tensor::new(&[2, 3], vec![0.0, 1.0, 0.3, 0.5, 1.0, 0.2]).unwrap();
        let mean = BceLoss::default().forward(&Ctx::eval(), &[&x, &t], &[]);
        assert_close(mean.unwrap().output.data(), &[5.593_671_3], 1e-5);

        let x = Tensor::new(&[2, 2], vec![0.1, 0.7, 0.5, 0.95]).unwrap();
        let t = Tensor::new(&[2, 2], vec![0.0, 1.0, 0.5, 0.2]).unwrap();
        let loss = BceLoss {
            reduction: Reduction::Sum,
        };
        let grads: [&[f32]; 2] = [
            &[1.111_111_2, -1.428_571_5, 0.0, 15.789_47],
            &[2.197_224_6, -0.847_297_8, 0.0, -2.944_438_7],
        ];
        assert_loss_literals(&loss, [&x, &t], 3.562_027, grads, 1e-5);
    }

    #[test]
    fn gradients() {
        for reduction in [Reduction::Mean, Reduction::Sum] {
            // probabilities away from 0 and 1, where the loss is smooth
            let x = uniform(&[3, 4], 1, 0.1, 0.9);
            let t = uniform(&[3, 4], 2, 0.0, 1.0);
            check_all_inputs(&BceLoss { reduction }, &Ctx::train(0), &[x, t], &[]);
        }
    }

    #[test]
    fn values_outside_0_1_are_errors_naming_the_port() {
        let ok = Tensor::new(&[2], vec![0.5, 0.5]).unwrap();
        let bad = Tensor::new(&[2], vec![0.5, 1.5]).unwrap();
        let loss = BceLoss::default();
        let err = loss.forward(&Ctx::eval(), &[&bad, &ok], &[]).unwrap_err();
        assert_mentions(&err.to_string(), &["BCELoss", "input element 1", "1.5"]);
        let err = loss.forward(&Ctx::eval(), &[&ok, &bad], &[]).unwrap_err();
        assert_mentions(&err.to_string(), &["BCELoss", "target element 1"]);
    }
}
