//! GaussianKLLoss: the VAE regulariser `KL(N(mu, exp(logvar)) ‖ N(0, 1))`
//! `= -0.5·Σ(1 + logvar - mu² - exp(logvar))`, summed over the latent dims and averaged
//! over the batch: inputs `mu` and `logvar` of shape `[N, D]` (or `[N, D, ...]`), output
//! `Σ_{n,d} KLₙ,d / N`. That is the usual VAE code
//! `-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())` divided by the batch size, so
//! the value does not grow with N. Both inputs are differentiable:
//! `∂/∂mu = mu/N`, `∂/∂logvar = (exp(logvar) - 1)/(2N)`.

use super::mse_loss::{check_pair, pair_grads, scalar_grad, sum_pairs};
use super::{Arity, Backward, Ctx, Forward, Layer};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaussianKlLoss {}

const OP: &str = "GaussianKLLoss";

impl Layer for GaussianKlLoss {
    fn arity(&self) -> Arity {
        Arity::Exactly(2)
    }

    fn input_name(&self, i: usize) -> String {
        if i == 0 { "mu" } else { "logvar" }.to_string()
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_pair(OP, self, inputs)?;
        if inputs[0].len() < 2 {
            return Err(Error::bad_shape(
                OP,
                inputs[0],
                "expected mu and logvar of shape [N, D] (or [N, D, ...])",
            ));
        }
        Ok(Vec::new())
    }

    fn flops(&self, inputs: &[&[usize]], _output: &[usize]) -> u64 {
        6 * inputs.first().map_or(0, |s| s.iter().product::<usize>()) as u64
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        let shapes: Vec<&[usize]> = inputs.iter().map(|t| t.shape()).collect();
        self.output_shape(&shapes)?;
        let (mu, logvar) = (inputs[0], inputs[1]);
        let sum = sum_pairs(mu.data(), logvar.data(), |m, lv| {
            let (m, lv) = (m as f64, lv as f64);
            -0.5 * (1.0 + lv - m * m - lv.exp())
        });
        let n = mu.shape()[0] as f64;
        Ok(Forward::output(Tensor::scalar((sum / n) as f32)))
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
        let (mu, logvar) = (inputs[0], inputs[1]);
        let k = (scalar_grad(OP, grad_output)? as f64 / mu.shape()[0] as f64) as f32;
        let (dmu, dlogvar) = pair_grads(mu, logvar, |m, lv| (k * m, 0.5 * k * lv.exp_m1()))?;
        Ok(Backward {
            inputs: vec![Some(dmu), Some(dlogvar)],
            params: vec![],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{GradCheck, randn};

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
            GradCheck::default()
                .check(
                    &GaussianKlLoss {},
                    &Ctx::train(0),
                    &[mu, logvar],
                    &[],
                    &[true, true],
                )
                .unwrap();
        }
    }

    #[test]
    fn shape_errors_name_op_ports_and_shapes() {
        let l = GaussianKlLoss {};
        let err = l
            .output_shape(&[&[8, 16], &[8, 32]])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("GaussianKLLoss")
                && err.contains("mu and logvar")
                && err.contains("[8, 16]")
                && err.contains("[8, 32]"),
            "{err}"
        );
        assert!(l.output_shape(&[&[8], &[8]]).is_err());
        assert_eq!(l.input_name(0), "mu");
        assert_eq!(l.input_name(1), "logvar");
    }
}
