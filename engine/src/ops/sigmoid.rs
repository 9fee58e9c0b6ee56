//! Sigmoid: not implemented yet (placeholder so the registry compiles).

use super::{Backward, Ctx, Forward, Layer};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sigmoid {}

impl Layer for Sigmoid {
    fn output_shape(&self, _inputs: &[&[usize]]) -> Result<Vec<usize>> {
        Err(Error::Other("Sigmoid: not implemented".into()))
    }

    fn forward(&self, _ctx: &Ctx, _inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        Err(Error::Other("Sigmoid: not implemented".into()))
    }

    fn backward(
        &self,
        _ctx: &Ctx,
        _inputs: &[&Tensor],
        _params: &[&Tensor],
        _forward: &Forward,
        _grad_output: &Tensor,
    ) -> Result<Backward> {
        Err(Error::Other("Sigmoid: not implemented".into()))
    }
}
