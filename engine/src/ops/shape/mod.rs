//! Ops that rearrange, pick or resample elements (Select, Slice, Transpose, Permute, PixelShuffle,
//! Upsample copy; Detach passes values and stops the gradient). Flatten and Reshape are
//! views ([`ViewKind`]): they only state the output shape; forward and backward reshape
//! without copying.

pub mod detach;
pub mod flatten;
pub mod permute;
pub mod pixel_shuffle;
pub mod reorder;
pub mod reshape;
pub mod select;
pub mod slice;
pub mod transpose;
pub mod upsample;

pub use detach::Detach;
pub use flatten::Flatten;
pub use permute::Permute;
pub use pixel_shuffle::PixelShuffle;
pub use reshape::Reshape;
pub use select::Select;
pub use slice::Slice;
pub use transpose::Transpose;
pub use upsample::{Upsample, UpsampleMode};

use crate::error::{Error, Result};
use crate::ops::{Backward, BackwardArgs, Ctx, FamilyLayer, Forward, check_arity};
use crate::tensor::Tensor;

crate::family!(ViewFamily: Flatten, Reshape);

/// An op that gives its input a new shape and leaves the data as it is.
pub trait ViewKind {
    const OP: &'static str;

    /// The output shape for this input shape, or an error naming the op and shape.
    fn view_shape(&self, input: &[usize]) -> Result<Vec<usize>>;
}

/// The [`FamilyLayer`] of every [`ViewKind`].
pub struct ViewFamily;

impl<V: ViewKind> FamilyLayer<V> for ViewFamily {
    fn output_shape(op: &V, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(V::OP, Self::arity(op), inputs.len())?;
        op.view_shape(inputs[0])
    }

    fn flops(_op: &V, _inputs: &[&[usize]], _output: &[usize]) -> u64 {
        0
    }

    fn forward(op: &V, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        check_arity(V::OP, Self::arity(op), inputs.len())?;
        let out = op.view_shape(inputs[0].shape())?;
        Ok(Forward::output(inputs[0].reshape(&out)?))
    }

    fn backward(op: &V, args: BackwardArgs<'_>) -> Result<Backward> {
        check_arity(V::OP, Self::arity(op), args.inputs.len())?;
        let dx = args
            .grad_output
            .reshape(args.inputs[0].shape())
            .map_err(|_| {
                Error::shape_mismatch(
                    V::OP,
                    "args.grad_output vs input",
                    args.grad_output.shape(),
                    args.inputs[0].shape(),
                )
            })?;
        Ok(Backward::input(dx))
    }
}
