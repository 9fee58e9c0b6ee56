//! GaussianKLLoss: the VAE regulariser `KL(N(mu, exp(logvar)) ‖ N(0, 1))`
//! `= -0.5·Σ(1 + logvar - mu² - exp(logvar))`, summed over the latent dims and averaged
//! over the batch: inputs `mu` and `logvar` of shape `[N, D]` (or `[N, D, ...]`), output
//! `Σ_{n,d} KLₙ,d / N`. That is the usual VAE code
//! `-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())` divided by the batch size, so
//! the value does not grow with N. Both inputs are differentiable:
//! `∂/∂mu = mu/N`, `∂/∂logvar = (exp(logvar) - 1)/(2N)`.

use super::PairLoss;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaussianKlLoss {}

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

    /// The batch size: the sum over latent dims is averaged over samples only.
    fn divisor(&self, shape: &[usize]) -> f64 {
        shape[0] as f64
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
        let y = GaussianKlLoss {}
            .forward(&Ctx::eval(), &[&mu, &lv], &[])
            .unwrap()
            .output;
        assert_eq!(y.shape(), &[] as &[usize]);
        assert!((y.item().unwrap() as f64 - 1.9354051351547241).abs() < 1e-6);
        // the prior itself has zero divergence
        let z = Tensor::zeros(&[4, 8]);
        let y = GaussianKlLoss {}.forward(&Ctx::eval(), &[&z, &z], &[]);
        assert_eq!(y.unwrap().output.item().unwrap(), 0.0);
    }

    #[test]
    fn gradients() {
        for shape in [vec![4, 6], vec![2, 3, 2, 2]] {
            let mu = randn(&shape, 1);
            let logvar = randn(&shape, 2).scale(0.5);
            check_all_inputs(&GaussianKlLoss {}, &Ctx::train(0), &[mu, logvar], &[]);
        }
    }

    #[test]
    fn shape_errors_name_op_ports_and_shapes() {
        let l = GaussianKlLoss {};
        let err = shape_error(&l, &[&[8, 16], &[8, 32]]);
        assert_mentions(&err, &["GaussianKLLoss", "mu and logvar", "[8, 32]"]);
        assert!(l.output_shape(&[&[8], &[8]]).is_err());
        assert_eq!(l.input_name(0), "mu");
        assert_eq!(l.input_name(1), "logvar");
    }
}
