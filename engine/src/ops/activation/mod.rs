//! Activations: pointwise functions (one [`Pointwise`] impl each) and the softmax family.
//!
//! A pointwise activation states `f`, its derivative `df` and whether `df` reads the input
//! or the output; the loops, shape checks and `Layer` plumbing are written once here. Ops
//! whose `df` reads the output keep no extra tensor alive between forward and backward.

pub mod elu;
pub mod gelu;
pub mod leaky_relu;
pub mod log_softmax;
pub mod relu;
pub mod sigmoid;
pub mod silu;
pub mod softmax;
pub mod tanh;

pub use elu::Elu;
pub use gelu::{Gelu, GeluApproximate};
pub use leaky_relu::LeakyRelu;
pub use log_softmax::LogSoftmax;
pub use relu::Relu;
pub use sigmoid::Sigmoid;
pub use silu::Silu;
pub use softmax::Softmax;
pub use tanh::Tanh;

use crate::error::Result;
use crate::ops::{Backward, BackwardArgs, Ctx, FamilyLayer, Forward, check_arity, shapes};
use crate::tensor::Tensor;

crate::family!(PointwiseFamily: Relu, LeakyRelu, Elu, Gelu, Silu, Sigmoid, Tanh);
crate::family!(softmax::SoftmaxFamily: Softmax, LogSoftmax);

/// Which value a pointwise op's derivative is a function of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DerivativeOf {
    /// `df(x)`: the input must be kept for backward (the runtime keeps it anyway when
    /// another consumer or the previous op needs it).
    Input,
    /// `df(y)`, cheaper when `f` is invertible enough (ReLU, Sigmoid, Tanh).
    Output,
}

/// An elementwise activation `y = f(x)`.
pub trait Pointwise: Clone + Send + Sync {
    /// The name users write (PyTorch's class name).
    const OP: &'static str;

    /// Forward FLOPs per element.
    fn flops_per_element(&self) -> u64 {
        1
    }

    /// Rejects settings outside the op's domain (a non-finite slope, …).
    fn check(&self) -> Result<()> {
        Ok(())
    }

    /// Whether [`Pointwise::df`] takes the input or the output.
    fn derivative_of(&self) -> DerivativeOf;

    fn f(&self, x: f32) -> f32;

    /// `dy/dx` as a function of the input or the output, per [`Pointwise::derivative_of`].
    fn df(&self, v: f32) -> f32;

    /// The input gradient for incoming gradient `g`; ops that mask (ReLU) override it so
    /// a NaN gradient is dropped, not multiplied by 0, as in PyTorch.
    #[inline(always)]
    fn grad(&self, g: f32, v: f32) -> f32 {
        g * self.df(v)
    }
}

/// The [`FamilyLayer`] of every [`Pointwise`] op.
pub struct PointwiseFamily;

impl<P: Pointwise> FamilyLayer<P> for PointwiseFamily {
    fn output_shape(op: &P, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(P::OP, Self::arity(op), inputs.len())?;
        op.check()?;
        Ok(inputs[0].to_vec())
    }

    fn flops(op: &P, _inputs: &[&[usize]], output: &[usize]) -> u64 {
        op.flops_per_element() * output.iter().product::<usize>() as u64
    }

    fn forward(op: &P, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        Self::output_shape(op, &shapes(inputs))?;
        // A copy of the config captured by value keeps its fields loop-invariant values.
        let op = op.clone();
        Ok(Forward::output(inputs[0].map(
            #[inline(always)]
            move |x| op.f(x),
        )))
    }

    fn backward(op: &P, args: BackwardArgs<'_>) -> Result<Backward> {
        let v = match op.derivative_of() {
            DerivativeOf::Output => &args.forward.output,
            DerivativeOf::Input => {
                check_arity(P::OP, Self::arity(op), args.inputs.len())?;
                args.inputs[0]
            }
        };
        let op = op.clone();
        let dx = args.grad_output.zip_map(
            v,
            P::OP,
            #[inline(always)]
            move |g, v| op.grad(g, v),
        )?;
        Ok(Backward::input(dx))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::ops::testing::*;

    /// `layer` on these inputs matches `want` within `tol`.
    pub(crate) fn assert_forward(layer: &dyn Layer, xs: &[f32], want: &[f32], tol: f32) {
        let x = Tensor::new(&[xs.len()], xs.to_vec()).unwrap();
        let y = layer.forward(&Ctx::eval(), &[&x], &[]).unwrap().output;
        for ((a, b), x) in y.data().iter().zip(want).zip(xs) {
            assert!((a - b).abs() < tol, "f({x}) = {a} vs {b}");
        }
    }

    /// A backward fed a gradient of the wrong shape fails naming the op and both shapes.
    pub(crate) fn assert_grad_shape_error(layer: &dyn Layer, op: &str, grad: &[usize]) {
        let x = Tensor::zeros(&[2, 3]);
        let fwd = layer.forward(&Ctx::train(0), &[&x], &[]).unwrap();
        let err = layer
            .backward(&Ctx::train(0), &[&x], &[], &fwd, &Tensor::zeros(grad))
            .unwrap_err()
            .to_string();
        let g = crate::error::ShapeDisplay(grad.to_vec()).to_string();
        assert!(
            err.contains(op) && err.contains("[2, 3]") && err.contains(&g),
            "{err}"
        );
        assert!(layer.output_shape(&[]).is_err());
    }
}
