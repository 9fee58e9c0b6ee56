//! L1Loss: `mean(|input - target|)` (or the sum). Differentiable in both operands; the
//! gradient at an exact tie is 0, as PyTorch's `sgn`.

use super::mse_loss::{Reduction, check_pair, pair_grads, scalar_grad, sum_pairs};
use super::{Arity, Backward, Ctx, Forward, Layer};
use crate::error::Result;
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L1Loss {
    #[serde(default)]
    pub reduction: Reduction,
}

const OP: &str = "L1Loss";

/// Sign with `sign(0) = 0` (`f32::signum(0.0)` is 1).
pub(crate) fn sign(d: f32) -> f32 {
    if d > 0.0 {
        1.0
    } else if d < 0.0 {
        -1.0
    } else {
        0.0
    }
}

impl Layer for L1Loss {
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
        let sum = sum_pairs(x.data(), t.data(), |x, t| (x as f64 - t as f64).abs());
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
        let k = (scalar_grad(OP, grad_output)? as f64 / self.reduction.divisor(x.numel())) as f32;
        let (dx, dt) = pair_grads(x, t, |x, t| {
            let g = k * sign(x - t);
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
    use crate::ops::gradcheck::{GradCheck, randn, randn_away_from_zero};

    #[test]
    fn forward_values() {
        let x = Tensor::new(&[2, 2], vec![1., 2., 3., 4.]).unwrap();
        let t = Tensor::new(&[2, 2], vec![0., 2., 5., 3.5]).unwrap();
        // |differences| 1, 0, 2, 0.5
        let mean = L1Loss::default().forward(&Ctx::eval(), &[&x, &t], &[]);
        assert!((mean.unwrap().output.item().unwrap() - 0.875).abs() < 1e-6);
        let sum = L1Loss {
            reduction: Reduction::Sum,
        }
        .forward(&Ctx::eval(), &[&x, &t], &[])
        .unwrap()
        .output;
        assert!((sum.item().unwrap() - 3.5).abs() < 1e-6);
    }

    #[test]
    fn gradients() {
        for reduction in [Reduction::Mean, Reduction::Sum] {
            let loss = L1Loss { reduction };
            // target = input - d with |d| ≥ 0.05: no finite difference straddles the kink.
            let x = randn(&[4, 5], 1);
            let d = randn_away_from_zero(&[4, 5], 2, 0.05);
            let t = x.sub(&d).unwrap();
            GradCheck::default()
                .check(&loss, &Ctx::train(0), &[x, t], &[], &[true, true])
                .unwrap();
        }
    }

    #[test]
    fn tie_has_zero_gradient() {
        let x = Tensor::new(&[2], vec![1., 2.]).unwrap();
        let t = Tensor::new(&[2], vec![1., 3.]).unwrap();
        let loss = L1Loss::default();
        let fwd = loss.forward(&Ctx::train(0), &[&x, &t], &[]).unwrap();
        let bwd = loss
            .backward(&Ctx::train(0), &[&x, &t], &[], &fwd, &Tensor::scalar(1.0))
            .unwrap();
        assert_eq!(bwd.inputs[0].as_ref().unwrap().data(), &[0.0, -0.5]);
        assert_eq!(bwd.inputs[1].as_ref().unwrap().data(), &[0.0, 0.5]);
    }

    #[test]
    fn shape_errors_name_op_and_shapes() {
        let err = L1Loss::default()
            .output_shape(&[&[2, 3], &[3, 2]])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("L1Loss") && err.contains("[2, 3]") && err.contains("[3, 2]"),
            "{err}"
        );
    }
}
