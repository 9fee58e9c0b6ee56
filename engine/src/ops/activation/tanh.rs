//! Tanh. Backward needs only the output: `tanh' = 1 - y²`. Forward uses
//! [`tanh_f32`], which vectorizes (libm's `tanhf` is a slow call per element).

use super::{DerivativeOf, Pointwise};
use crate::ops::support::maths::tanh_f32;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tanh {}

impl Pointwise for Tanh {
    const OP: &'static str = "Tanh";

    fn flops_per_element(&self) -> u64 {
        3
    }

    fn derivative_of(&self) -> DerivativeOf {
        DerivativeOf::Output
    }

    #[inline(always)]
    fn f(&self, x: f32) -> f32 {
        tanh_f32(x)
    }

    #[inline(always)]
    fn df(&self, y: f32) -> f32 {
        1.0 - y * y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::tests::{assert_forward, assert_grad_shape_error};
    use crate::ops::testing::*;

    #[test]
    fn forward_values() {
        // torch.tanh(torch.tensor([-20., -1., 0., 0.5, 3.]))
        let want = [-1.0, -0.7615942, 0.0, 0.46211717, 0.9950548];
        assert_forward(&Tanh {}, &[-20., -1., 0., 0.5, 3.], &want, 1e-6);
    }

    #[test]
    fn gradients() {
        let x = randn(&[4, 6], 3).scale(1.5);
        check_all_inputs(&Tanh {}, &Ctx::train(0), &[x], &[]);
    }

    #[test]
    fn errors_name_op_and_shapes() {
        assert_grad_shape_error(&Tanh {}, "Tanh", &[3]);
    }
}
