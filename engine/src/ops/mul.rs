//! Mul: elementwise product of two same-shaped inputs (gates, attention-style masks).
//! Each input's gradient is the other input times dY.

use super::{Arity, Backward, Ctx, Forward, Layer, check_arity};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mul {}

const OP: &str = "Mul";

impl Layer for Mul {
    fn arity(&self) -> Arity {
        Arity::Exactly(2)
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        if inputs[0] != inputs[1] {
            return Err(Error::shape_mismatch(
                OP,
                "input1 must have the shape of input0",
                inputs[0],
                inputs[1],
            ));
        }
        Ok(inputs[0].to_vec())
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        let shapes: Vec<&[usize]> = inputs.iter().map(|t| t.shape()).collect();
        self.output_shape(&shapes)?;
        Ok(Forward::output(inputs[0].zip_map(
            inputs[1],
            OP,
            |a, b| a * b,
        )?))
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
        let da = grad_output.zip_map(inputs[1], OP, |g, b| g * b)?;
        let db = grad_output.zip_map(inputs[0], OP, |g, a| g * a)?;
        Ok(Backward {
            inputs: vec![Some(da), Some(db)],
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
        let a = Tensor::new(&[1, 3], vec![1., -2., 3.]).unwrap();
        let b = Tensor::new(&[1, 3], vec![4., 5., -0.5]).unwrap();
        let y = Mul {}.forward(&Ctx::eval(), &[&a, &b], &[]).unwrap().output;
        assert_eq!(y.data(), &[4., -10., -1.5]);
    }

    #[test]
    fn gradients() {
        let a = randn(&[3, 4, 2], 1);
        let b = randn(&[3, 4, 2], 2);
        GradCheck::default()
            .check(&Mul {}, &Ctx::train(0), &[a, b], &[], &[true, true])
            .unwrap();
    }

    #[test]
    fn mismatched_shapes_are_an_error() {
        let err = Mul {}
            .output_shape(&[&[2, 3], &[3, 2]])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Mul") && err.contains("[2, 3]") && err.contains("[3, 2]"),
            "{err}"
        );
        assert!(Mul {}.output_shape(&[&[2, 3]]).is_err());
        assert!(Mul {}.output_shape(&[&[2], &[2], &[2]]).is_err());
    }
}
