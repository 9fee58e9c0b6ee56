//! Reparameterize: the VAE's sample `z = mu + ε·exp(½·logvar)`, `ε ~ N(0, 1)`, written so
//! the gradient reaches `mu` and `logvar` (Kingma & Welling's trick; PyTorch's vae example
//! writes it by hand as `mu + randn_like(std) * std`). Like that example it samples in
//! train and eval mode alike; ε comes from the step's seed, so runs are reproducible.
//! Backward needs no saved ε: `∂z/∂mu = 1`, `∂z/∂logvar = ½·ε·std = ½·(z − mu)`.

use crate::error::Result;
use crate::ops::loss::reduction::check_pair;
use crate::ops::{Arity, Backward, BackwardArgs, Ctx, Forward, Layer, check_grad_output, shapes};
use crate::tensor::{Rng, Tensor};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reparameterize {}

const OP: &str = "Reparameterize";
const PORTS: [&str; 2] = ["mu", "logvar"];
/// Stream id for ε, apart from every other draw made from the step's seed.
const EPS_STREAM: u64 = 0x5EB_0001;

impl Layer for Reparameterize {
    fn arity(&self) -> Arity {
        Arity::Exactly(2)
    }

    fn input_name(&self, i: usize) -> String {
        PORTS[i.min(1)].to_string()
    }

    fn uses_seed(&self) -> bool {
        true
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_pair(OP, PORTS, inputs)?;
        Ok(inputs[0].to_vec())
    }

    fn flops(&self, _inputs: &[&[usize]], output: &[usize]) -> u64 {
        4 * output.iter().product::<usize>() as u64
    }

    fn forward(&self, ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        self.output_shape(&shapes(inputs))?;
        let (mu, logvar) = (inputs[0], inputs[1]);
        let mut rng = Rng::derived(ctx.seed, EPS_STREAM);
        let z = mu
            .data()
            .iter()
            .zip(logvar.data())
            .map(|(&m, &lv)| m + rng.normal() * (0.5 * lv).exp())
            .collect();
        Ok(Forward::output(Tensor::new(mu.shape(), z)?))
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        let inputs = args.inputs;
        let out = self.output_shape(&shapes(inputs))?;
        let (g, z, mu) = (args.grad_output, &args.forward.output, inputs[0]);
        check_grad_output(OP, g, &out)?;
        check_grad_output(OP, z, &out)?;
        let dlogvar = g
            .data()
            .iter()
            .zip(z.data().iter().zip(mu.data()))
            .map(|(&g, (&z, &m))| 0.5 * g * (z - m))
            .collect();
        Ok(Backward::inputs(vec![
            Some(g.clone()),
            Some(Tensor::new(&out, dlogvar)?),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    #[test]
    fn samples_have_the_given_mean_and_variance_and_follow_the_seed() {
        let n = 20_000;
        let mu = Tensor::from_fn(&[n], |_| 1.5);
        let logvar = Tensor::from_fn(&[n], |_| (0.25f32).ln()); // std 0.5
        let op = Reparameterize {};
        let z = op
            .forward(&Ctx::train(7), &[&mu, &logvar], &[])
            .unwrap()
            .output;
        let mean = z.data().iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let var = z
            .data()
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / n as f64;
        assert!((mean - 1.5).abs() < 0.02, "mean {mean}");
        assert!((var.sqrt() - 0.5).abs() < 0.02, "std {}", var.sqrt());
        let again = op
            .forward(&Ctx::train(7), &[&mu, &logvar], &[])
            .unwrap()
            .output;
        assert_eq!(z.data(), again.data(), "same seed, same sample");
        let other = op
            .forward(&Ctx::train(8), &[&mu, &logvar], &[])
            .unwrap()
            .output;
        assert_ne!(z.data(), other.data());
    }

    #[test]
    fn gradients() {
        let (mu, logvar) = (randn(&[3, 4], 1), randn(&[3, 4], 2));
        check_all_inputs(&Reparameterize {}, &Ctx::train(3), &[mu, logvar], &[]);
    }

    #[test]
    fn mu_and_logvar_must_match() {
        let err = shape_error(&Reparameterize {}, &[&[2, 3], &[2, 4]]);
        assert_mentions(&err, &["Reparameterize", "mu and logvar", "[2, 4]"]);
    }
}
