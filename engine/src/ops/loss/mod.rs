//! Losses: each reduces to a scalar; the training loss is their sum.
//!
//! Losses over two same-shaped inputs (MSE, L1, SmoothL1, BCE, BCEWithLogits, GaussianKL)
//! state one element's term and its two partial derivatives as a [`PairLoss`]; the
//! parallel f64 sum, the scaling by the reduction and the `Layer` are written once here.

pub mod bce;
pub mod bce_with_logits;
pub mod cross_entropy;
pub mod gaussian_kl;
pub mod l1_loss;
pub mod mse_loss;
pub mod reduction;
pub mod smooth_l1_loss;

pub use bce::BceLoss;
pub use bce_with_logits::BceWithLogitsLoss;
pub use cross_entropy::CrossEntropyLoss;
pub use gaussian_kl::GaussianKlLoss;
pub use l1_loss::L1Loss;
pub use mse_loss::MseLoss;
pub use reduction::Reduction;
pub use smooth_l1_loss::SmoothL1Loss;

use crate::error::Result;
use crate::ops::{Arity, Backward, BackwardArgs, Ctx, FamilyLayer, Forward, shapes};
use crate::tensor::Tensor;
use reduction::{check_pair, pair_grads, scalar_grad, sum_pairs};

crate::family!(PairLossFamily: MseLoss, L1Loss, SmoothL1Loss, BceLoss, BceWithLogitsLoss, GaussianKlLoss);

/// A loss `Σᵢ term(aᵢ, bᵢ) / divisor` over two inputs of the same shape.
pub trait PairLoss: Clone + Send + Sync {
    /// The name users write (PyTorch's class name).
    const OP: &'static str;
    /// The two input ports.
    const INPUTS: [&'static str; 2] = ["input", "target"];
    /// Forward FLOPs per element.
    const FLOPS: u64;

    /// Rejects settings outside the op's domain, or an input shape (already known equal
    /// for both inputs) the loss cannot take.
    fn check(&self, _shape: &[usize]) -> Result<()> {
        Ok(())
    }

    /// Rejects input values outside the loss's domain (BCE's targets in [0, 1]).
    fn check_values(&self, _a: &Tensor, _b: &Tensor) -> Result<()> {
        Ok(())
    }

    /// What the sum of the terms is divided by, for inputs of this shape.
    fn divisor(&self, shape: &[usize]) -> f64;

    /// One element's term, in f64.
    fn term(&self, a: f32, b: f32) -> f64;

    /// `k·(∂term/∂a, ∂term/∂b)`: the gradients for an incoming gradient already divided by
    /// the divisor.
    fn grads(&self, k: f32, a: f32, b: f32) -> (f32, f32);
}

/// The [`FamilyLayer`] of every [`PairLoss`].
pub struct PairLossFamily;

impl<L: PairLoss> FamilyLayer<L> for PairLossFamily {
    fn arity(_op: &L) -> Arity {
        Arity::Exactly(2)
    }

    fn input_name(_op: &L, i: usize) -> String {
        L::INPUTS[i.min(1)].to_string()
    }

    fn output_shape(op: &L, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_pair(L::OP, L::INPUTS, inputs)?;
        op.check(inputs[0])?;
        Ok(Vec::new())
    }

    fn flops(_op: &L, inputs: &[&[usize]], _output: &[usize]) -> u64 {
        L::FLOPS * inputs.first().map_or(0, |s| s.iter().product::<usize>()) as u64
    }

    fn forward(op: &L, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        Self::output_shape(op, &shapes(inputs))?;
        let (a, b) = (inputs[0], inputs[1]);
        op.check_values(a, b)?;
        let sum = sum_pairs(a.data(), b.data(), |x, y| op.term(x, y));
        let loss = sum / op.divisor(a.shape());
        Ok(Forward::output(Tensor::scalar(loss as f32)))
    }

    fn backward(op: &L, args: BackwardArgs<'_>) -> Result<Backward> {
        Self::output_shape(op, &shapes(args.inputs))?;
        let (a, b) = (args.inputs[0], args.inputs[1]);
        let k = (scalar_grad(L::OP, args.grad_output)? as f64 / op.divisor(a.shape())) as f32;
        // A copy captured by value keeps the config's fields loop-invariant values.
        let op = op.clone();
        let (da, db) = pair_grads(a, b, move |x, y| op.grads(k, x, y))?;
        Ok(Backward::inputs(vec![Some(da), Some(db)]))
    }
}

impl crate::ops::Op {
    /// Whether this is a loss reduced by `sum`, whose value grows with the batch: a
    /// per-sample figure over a whole set (validation loss, an epoch's loss) must add its
    /// batch values as they are, where mean-reduced values are weighted by batch size.
    pub fn sums_over_batch(&self) -> bool {
        use crate::ops::Op;
        let reduction = match self {
            Op::MseLoss(l) => l.reduction,
            Op::L1Loss(l) => l.reduction,
            Op::SmoothL1Loss(l) => l.reduction,
            Op::CrossEntropyLoss(l) => l.reduction,
            Op::BceLoss(l) => l.reduction,
            Op::BceWithLogitsLoss(l) => l.reduction,
            Op::GaussianKlLoss(l) => l.reduction,
            _ => return false,
        };
        reduction == Reduction::Sum
    }
}
