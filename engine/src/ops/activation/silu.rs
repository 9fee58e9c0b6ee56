//! SiLU (swish): `x·σ(x)`. Backward recomputes `σ(x)` from the input rather than keeping a
//! second activation-sized tensor alive between forward and backward.

use super::{DerivativeOf, Pointwise};
use crate::ops::support::maths::sigmoid;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Silu {}

impl Pointwise for Silu {
    const OP: &'static str = "SiLU";

    fn flops_per_element(&self) -> u64 {
        4
    }

    fn derivative_of(&self) -> DerivativeOf {
        DerivativeOf::Input
    }

    #[inline(always)]
    fn f(&self, x: f32) -> f32 {
        x * sigmoid(x)
    }

    #[inline(always)]
    fn df(&self, x: f32) -> f32 {
        let s = sigmoid(x);
        s * (1.0 + x * (1.0 - s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::tests::{assert_forward, assert_grad_shape_error};
    use crate::ops::testing::*;

    #[test]
    fn forward_values() {
        // torch.nn.functional.silu(torch.tensor([-100., -2., 0., 1., 3.]))
        let want = [-0.0, -0.23840584, 0.0, 0.7310586, 2.8577225];
        assert_forward(&Silu {}, &[-100., -2., 0., 1., 3.], &want, 1e-6);
    }

    #[test]
    fn gradients() {
        let x = randn(&[4, 6], 3).scale(2.0);
        check_all_inputs(&Silu {}, &Ctx::train(0), &[x], &[]);
    }

    #[test]
    fn errors_name_op_and_shapes() {
        assert_grad_shape_error(&Silu {}, "SiLU", &[3]);
        assert!(Silu {}.output_shape(&[&[1], &[1]]).is_err());
    }
}
