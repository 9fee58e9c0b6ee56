//! GaussianKLLoss: the VAE regulariser `KL(N(mu, exp(logvar)) ‖ N(0, 1))`
//! `= -0.5·Σ(1 + logvar - mu² - exp(logvar))`, summed over the latent dims and averaged
//! over the batch or summed: inputs `mu` and `logvar` of shape `[N, D]` (or `[N, D, ...]`).
//!
//! - `reduction: mean` (the default): `Σ_{n,d} KLₙ,d / N`, the divergence per *sample*, so
//!   the value does not grow with N. The mean is over samples, not elements, because a
//!   sample's divergence is the sum over its latent dims (PyTorch's `KLDivLoss` calls this
//!   `batchmean`).
//! - `reduction: sum`: `Σ_{n,d} KLₙ,d`, PyTorch's vae example
//!   `-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())`, to pair with a
//!   `BCELoss(reduction: sum)` as that example does.
//!
//! Both inputs are differentiable: `∂/∂mu = mu/k`, `∂/∂logvar = (exp(logvar) - 1)/(2k)`,
//! with `k` = N (mean) or 1 (sum).

use super::PairLoss;
use super::reduction::Reduction;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaussianKlLoss {
    /// `mean`: per sample (÷ N); `sum`: over the batch.
    #[serde(default)]
    pub reduction: Reduction,
}

impl PairLoss for GaussianKlLoss {
    const OP: &'static str = "GaussianKLLoss";
    const INPUTS: [&'static str; 2] = ["mu", "logvar"];
    const FLOPS: u64 = 6;

    fn check(&self, shape: &[usize]) -> Result<()> {
        if shape.len() < 2 {
            return Err(Error::bad_shape(
                Self::OP,
                shape,
                "expected mu and logvar of shape [N, D] (or [N, D, ...])",
            ));
        }
        Ok(())
    }

    /// The batch size (mean) or 1 (sum): the sum over latent dims is never averaged.
    fn divisor(&self, shape: &[usize]) -> f64 {
        match self.reduction {
            Reduction::Mean => shape[0] as f64,
            Reduction::Sum => 1.0,
        }
    }

    #[inline(always)]
    fn term(&self, m: f32, lv: f32) -> f64 {
        let (m, lv) = (m as f64, lv as f64);
        -0.5 * (1.0 + lv - m * m - lv.exp())
    }

    #[inline(always)]
    fn grads(&self, k: f32, m: f32, lv: f32) -> (f32, f32) {
        (k * m, 0.5 * k * lv.exp_m1())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    #[test]
    fn forward_matches_vae_formula() {
        // mu = torch.tensor([[0.5, -1., 0.], [2., 0.1, -0.3]])
        // lv = torch.tensor([[0., 0.5, -1.], [1., -2., 0.2]])
        // (-0.5 * torch.sum(1 + lv - mu**2 - lv.exp()) / 2).item()   1.9354051351547241
        let mu = Tensor::new(&[2, 3], vec![0.5, -1., 0., 2., 0.1, -0.3]).unwrap();
        let lv = Tensor::new(&[2, 3], vec![0., 0.5, -1., 1., -2., 0.2]).unwrap();
        let y = GaussianKlLoss::default()
            .forward(&Ctx::eval(), &[&mu, &lv], &[])
            .unwrap()
            .output;
        assert_eq!(y.shape(), &[] as &[usize]);
        assert!((y.item().unwrap() as f64 - 1.9354051351547241).abs() < 1e-6);
        // the prior itself has zero divergence
        let z = Tensor::zeros(&[4, 8]);
        let y = GaussianKlLoss::default().forward(&Ctx::eval(), &[&z, &z], &[]);
        assert_eq!(y.unwrap().output.item().unwrap(), 0.0);
    }

    /// PyTorch's vae example's KL term and its gradients:
    /// ```python
    /// mu = torch.tensor([[0.5, -1., 0.], [2., 0.1, -0.3]], requires_grad=True)
    /// lv = torch.tensor([[0., 0.5, -1.], [1., -2., 0.2]], requires_grad=True)
    /// kld = -0.5 * torch.sum(1 + lv - mu.pow(2) - lv.exp()); kld.backward()
    /// print(kld.item(), mu.grad.flatten().tolist(), lv.grad.flatten().tolist())
    /// ```
    #[test]
    fn sum_reduction_matches_pytorch_vae_example() {
        let mu = Tensor::new(&[2, 3], vec![0.5, -1., 0., 2., 0.1, -0.3]).unwrap();
        let lv = Tensor::new(&[2, 3], vec![0., 0.5, -1., 1., -2., 0.2]).unwrap();
        let loss = GaussianKlLoss {
            reduction: Reduction::Sum,
        };
        let grads: [&[f32]; 2] = [
            &[0.5, -1.0, 0.0, 2.0, 0.1, -0.3],
            &[
                0.0,
                0.324_360_6,
                -0.316_060_3,
                0.859_140_9,
                -0.432_332_4,
                0.110_701_4,
            ],
        ];
        assert_loss_literals(&loss, [&mu, &lv], 3.870_810_2, grads, 1e-6);
    }

    #[test]
    fn gradients() {
        for reduction in [Reduction::Mean, Reduction::Sum] {
            for shape in [vec![4, 6], vec![2, 3, 2, 2]] {
                let mu = randn(&shape, 1);
                let logvar = randn(&shape, 2).scale(0.5);
                let loss = GaussianKlLoss { reduction };
                check_all_inputs(&loss, &Ctx::train(0), &[mu, logvar], &[]);
            }
        }
    }

    #[test]
    fn shape_errors_name_op_ports_and_shapes() {
        let l = GaussianKlLoss::default();
        let err = shape_error(&l, &[&[8, 16], &[8, 32]]);
        assert_mentions(&err, &["GaussianKLLoss", "mu and logvar", "[8, 32]"]);
        assert!(l.output_shape(&[&[8], &[8]]).is_err());
        assert_eq!(l.input_name(0), "mu");
        assert_eq!(l.input_name(1), "logvar");
    }
}
