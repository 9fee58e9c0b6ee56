//! ReLU: `max(x, 0)`. Backward only needs the output (positive where the input was).

use super::{Backward, Ctx, Forward, Layer, check_arity};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Relu {}

const OP: &str = "ReLU";

impl Layer for Relu {
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        Ok(inputs[0].to_vec())
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        check_arity(OP, self.arity(), inputs.len())?;
        Ok(Forward::output(inputs[0].map(|x| x.max(0.0))))
    }

    fn backward(
        &self,
        _ctx: &Ctx,
        _inputs: &[&Tensor],
        _params: &[&Tensor],
        forward: &Forward,
        grad_output: &Tensor,
    ) -> Result<Backward> {
        let y = &forward.output;
        if y.shape() != grad_output.shape() {
            return Err(Error::shape_mismatch(
                OP,
                "grad_output vs output",
                grad_output.shape(),
                y.shape(),
            ));
        }
        let dx = grad_output.zip_map(y, OP, |g, y| if y > 0.0 { g } else { 0.0 })?;
        Ok(Backward {
            inputs: vec![Some(dx)],
            params: vec![],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{GradCheck, randn_away_from_zero};

    #[test]
    fn forward_values() {
        let x = Tensor::new(&[4], vec![-1., 0., 2., -0.5]).unwrap();
        let y = Relu {}.forward(&Ctx::eval(), &[&x], &[]).unwrap().output;
        assert_eq!(y.data(), &[0., 0., 2., 0.]);
    }

    #[test]
    fn gradients() {
        let x = randn_away_from_zero(&[3, 7], 4, 0.05);
        GradCheck::default()
            .check(&Relu {}, &Ctx::train(0), &[x], &[], &[true])
            .unwrap();
    }
}
