//! Add: elementwise sum of two or more same-shaped inputs (residual connections, merges).

use super::same_shapes;
use crate::error::Result;
use crate::ops::{Arity, Backward, BackwardArgs, Ctx, Forward, Layer, shapes};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Add {}

const OP: &str = "Add";

impl Layer for Add {
    fn arity(&self) -> Arity {
        Arity::AtLeast(2)
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        same_shapes(OP, self.arity(), inputs)
    }

    fn flops(&self, inputs: &[&[usize]], output: &[usize]) -> u64 {
        (inputs.len().saturating_sub(1) * output.iter().product::<usize>()) as u64
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        self.output_shape(&shapes(inputs))?;
        let mut out = inputs[0].clone();
        for t in &inputs[1..] {
            out.axpy(1.0, t)?;
        }
        Ok(Forward::output(out))
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        let (inputs, grad_output) = (args.inputs, args.grad_output);
        // The same gradient flows to every input: shared storage, no copy.
        Ok(Backward::inputs(
            inputs.iter().map(|_| Some(grad_output.clone())).collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    #[test]
    fn forward_and_gradients() {
        let a = randn(&[2, 3], 1);
        let b = randn(&[2, 3], 2);
        let c = randn(&[2, 3], 3);
        let y = Add {}
            .forward(&Ctx::eval(), &[&a, &b, &c], &[])
            .unwrap()
            .output;
        assert!((y.data()[4] - (a.data()[4] + b.data()[4] + c.data()[4])).abs() < 1e-6);
        check_all_inputs(&Add {}, &Ctx::train(0), &[a, b, c], &[]);
    }

    #[test]
    fn mismatched_shapes_are_an_error() {
        let err = shape_error(&Add {}, &[&[2, 3], &[2, 4]]);
        assert_mentions(&err, &["Add", "[2, 3]", "[2, 4]"]);
        assert!(Add {}.output_shape(&[&[2, 3]]).is_err());
    }
}
