//! SiLU (swish): `x·σ(x)`. Backward recomputes `σ(x)` from the input rather than keeping a
//! second activation-sized tensor alive between forward and backward.

use super::sigmoid::sigmoid;
use super::{Backward, Ctx, Forward, Layer, check_arity};
use crate::error::Result;
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Silu {}

const OP: &str = "SiLU";

impl Layer for Silu {
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        Ok(inputs[0].to_vec())
    }

    fn flops(&self, _inputs: &[&[usize]], output: &[usize]) -> u64 {
        4 * output.iter().product::<usize>() as u64
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        let shapes: Vec<&[usize]> = inputs.iter().map(|t| t.shape()).collect();
        self.output_shape(&shapes)?;
        Ok(Forward::output(inputs[0].map(|x| x * sigmoid(x))))
    }

    fn backward(
        &self,
        _ctx: &Ctx,
        inputs: &[&Tensor],
        _params: &[&Tensor],
        _forward: &Forward,
        grad_output: &Tensor,
    ) -> Result<Backward> {
        check_arity(OP, self.arity(), inputs.len())?;
        let dx = grad_output.zip_map(inputs[0], OP, |g, x| {
            let s = sigmoid(x);
            g * s * (1.0 + x * (1.0 - s))
        })?;
        Ok(Backward {
            inputs: vec![Some(dx)],
            params: vec![],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{GradCheck, randn};

    #[test]
    fn forward_values() {
        // torch.nn.functional.silu(torch.tensor([-100., -2., 0., 1., 3.]))
        let x = Tensor::new(&[5], vec![-100., -2., 0., 1., 3.]).unwrap();
        let y = Silu {}.forward(&Ctx::eval(), &[&x], &[]).unwrap().output;
        let want = [-0.0, -0.23840584, 0.0, 0.7310586, 2.8577225];
        for (a, b) in y.data().iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn gradients() {
        let x = randn(&[4, 6], 3).scale(2.0);
        GradCheck::default()
            .check(&Silu {}, &Ctx::train(0), &[x], &[], &[true])
            .unwrap();
    }

    #[test]
    fn errors_name_op_and_shapes() {
        let x = Tensor::zeros(&[2, 3]);
        let fwd = Silu {}.forward(&Ctx::train(0), &[&x], &[]).unwrap();
        let err = Silu {}
            .backward(&Ctx::train(0), &[&x], &[], &fwd, &Tensor::zeros(&[3]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("SiLU") && err.contains("[2, 3]") && err.contains("[3]"),
            "{err}"
        );
        assert!(Silu {}.output_shape(&[&[1], &[1]]).is_err());
    }
}
