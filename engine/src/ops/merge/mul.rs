//! Mul: elementwise product of two same-shaped inputs (gates, attention-style masks).
//! Each input's gradient is the other input times dY.

use super::same_shapes;
use crate::error::Result;
use crate::ops::{Arity, Backward, BackwardArgs, Ctx, Forward, Layer, shapes};
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
        same_shapes(OP, self.arity(), inputs)
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        self.output_shape(&shapes(inputs))?;
        Ok(Forward::output(inputs[0].zip_map(
            inputs[1],
            OP,
            |a, b| a * b,
        )?))
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        let (inputs, grad_output) = (args.inputs, args.grad_output);
        self.output_shape(&shapes(inputs))?;
        let da = grad_output.zip_map(inputs[1], OP, |g, b| g * b)?;
        let db = grad_output.zip_map(inputs[0], OP, |g, a| g * a)?;
        Ok(Backward::inputs(vec![Some(da), Some(db)]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

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
        check_all_inputs(&Mul {}, &Ctx::train(0), &[a, b], &[]);
    }

    #[test]
    fn mismatched_shapes_are_an_error() {
        let err = shape_error(&Mul {}, &[&[2, 3], &[3, 2]]);
        assert_mentions(&err, &["Mul", "[2, 3]", "[3, 2]"]);
        assert!(Mul {}.output_shape(&[&[2, 3]]).is_err());
        assert!(Mul {}.output_shape(&[&[2], &[2], &[2]]).is_err());
    }
}
