//! Detach: passes its input through and stops the gradient there (PyTorch's
//! `tensor.detach()`): nodes upstream get no gradient through this path. A GAN's
//! discriminator step reads the generator's samples through it, so that step does not
//! train the generator.

use crate::error::Result;
use crate::ops::{Backward, BackwardArgs, Ctx, Forward, Layer, check_arity};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detach {}

const OP: &str = "Detach";

impl Layer for Detach {
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        Ok(inputs[0].to_vec())
    }

    fn flops(&self, _inputs: &[&[usize]], _output: &[usize]) -> u64 {
        0
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        check_arity(OP, self.arity(), inputs.len())?;
        Ok(Forward::output(inputs[0].clone()))
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        check_arity(OP, self.arity(), args.inputs.len())?;
        Ok(Backward::inputs(vec![None]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    #[test]
    fn passes_values_and_stops_the_gradient() {
        let x = randn(&[2, 3], 1);
        let fwd = Detach {}.forward(&Ctx::train(0), &[&x], &[]).unwrap();
        assert_eq!(fwd.output.data(), x.data());
        let g = randn(&[2, 3], 2);
        let bwd = Detach {}
            .backward(&Ctx::train(0), &[&x], &[], &fwd, &g)
            .unwrap();
        assert!(bwd.inputs[0].is_none());
    }
}
