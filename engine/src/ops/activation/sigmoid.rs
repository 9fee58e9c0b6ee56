//! Sigmoid: `σ(x) = 1/(1+e⁻ˣ)`. Backward needs only the output: `σ' = y·(1-y)`.

use super::{DerivativeOf, Pointwise};
use crate::ops::support::maths::sigmoid;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sigmoid {}

impl Pointwise for Sigmoid {
    const OP: &'static str = "Sigmoid";

    fn flops_per_element(&self) -> u64 {
        3
    }

    fn derivative_of(&self) -> DerivativeOf {
        DerivativeOf::Output
    }

    #[inline(always)]
    fn f(&self, x: f32) -> f32 {
        sigmoid(x)
    }

    #[inline(always)]
    fn df(&self, y: f32) -> f32 {
        y * (1.0 - y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::tests::{assert_forward, assert_grad_shape_error};
    use crate::ops::testing::*;

    #[test]
    fn forward_values() {
        // torch.sigmoid(torch.tensor([-100., -2., 0., 1., 100.]))
        let want = [0.0, 0.11920292, 0.5, 0.7310586, 1.0];
        assert_forward(&Sigmoid {}, &[-100., -2., 0., 1., 100.], &want, 1e-7);
    }

    #[test]
    fn gradients() {
        let x = randn(&[4, 6], 3).scale(2.0);
        check_all_inputs(&Sigmoid {}, &Ctx::train(0), &[x], &[]);
    }

    #[test]
    fn errors_name_op_and_shapes() {
        assert_grad_shape_error(&Sigmoid {}, "Sigmoid", &[3]);
    }
}
