//! Normalisation layers. BatchNorm1d and BatchNorm2d are one [`BatchNormFamily`] layer
//! over the shared batch-norm core in `kernels.rs`, differing only in how they view their
//! input as `(N, C, L)`.

pub mod batch_norm1d;
pub mod batch_norm2d;
pub mod kernels;
pub mod layer_norm;

pub use batch_norm1d::BatchNorm1d;
pub use batch_norm2d::BatchNorm2d;
pub use layer_norm::LayerNorm;

use crate::error::Result;
use crate::ops::{Backward, BackwardArgs, Ctx, FamilyLayer, Forward, ParamSpec, check_arity};
use crate::tensor::Tensor;
use kernels::{BN_FLOPS_PER_ELEM, BnCore, BnView};

crate::family!(BatchNormFamily: BatchNorm1d, BatchNorm2d);

/// A batch-norm op: its config as the shared core sees it, and its input as `(N, C, L)`.
pub trait BatchNormKind {
    fn core(&self) -> BnCore;

    /// `(N, C, L)` for this input shape, or an error naming the op and shape.
    fn nlc(&self, shape: &[usize]) -> Result<(usize, usize, usize)>;

    /// The validated `(N, C, L)` view, with C checked against `num_features`.
    fn view(&self, shape: &[usize]) -> Result<BnView> {
        let (n, c, l) = self.nlc(shape)?;
        self.core().view(shape, n, c, l)
    }
}

/// The [`FamilyLayer`] of BatchNorm1d and BatchNorm2d.
pub struct BatchNormFamily;

impl<B: BatchNormKind> FamilyLayer<B> for BatchNormFamily {
    fn output_shape(op: &B, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(op.core().op, Self::arity(op), inputs.len())?;
        op.view(inputs[0])?;
        Ok(inputs[0].to_vec())
    }

    fn params(op: &B, inputs: &[&[usize]]) -> Result<Vec<ParamSpec>> {
        check_arity(op.core().op, Self::arity(op), inputs.len())?;
        Ok(op.core().params(op.view(inputs[0])?.c))
    }

    fn flops(_op: &B, _inputs: &[&[usize]], output: &[usize]) -> u64 {
        BN_FLOPS_PER_ELEM * output.iter().product::<usize>() as u64
    }

    fn forward(op: &B, ctx: &Ctx, inputs: &[&Tensor], params: &[&Tensor]) -> Result<Forward> {
        check_arity(op.core().op, Self::arity(op), inputs.len())?;
        let v = op.view(inputs[0].shape())?;
        op.core().forward(ctx, inputs[0], v, params)
    }

    fn backward(op: &B, args: BackwardArgs<'_>) -> Result<Backward> {
        check_arity(op.core().op, Self::arity(op), args.inputs.len())?;
        let v = op.view(args.inputs[0].shape())?;
        op.core().backward(
            args.ctx,
            args.inputs[0],
            v,
            args.params,
            args.forward,
            args.grad_output,
        )
    }
}
