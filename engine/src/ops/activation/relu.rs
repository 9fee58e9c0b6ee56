//! ReLU: `max(x, 0)`. Backward only needs the output (positive where the input was).

use super::{DerivativeOf, Pointwise};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Relu {}

impl Pointwise for Relu {
    const OP: &'static str = "ReLU";

    fn derivative_of(&self) -> DerivativeOf {
        DerivativeOf::Output
    }

    #[inline(always)]
    fn f(&self, x: f32) -> f32 {
        x.max(0.0)
    }

    #[inline(always)]
    fn df(&self, y: f32) -> f32 {
        if y > 0.0 { 1.0 } else { 0.0 }
    }

    #[inline(always)]
    fn grad(&self, g: f32, y: f32) -> f32 {
        if y > 0.0 { g } else { 0.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    #[test]
    fn forward_values() {
        let x = Tensor::new(&[4], vec![-1., 0., 2., -0.5]).unwrap();
        let y = Relu {}.forward(&Ctx::eval(), &[&x], &[]).unwrap().output;
        assert_eq!(y.data(), &[0., 0., 2., 0.]);
    }

    #[test]
    fn gradients() {
        let x = randn_away_from_zero(&[3, 7], 4, 0.05);
        check_all_inputs(&Relu {}, &Ctx::train(0), &[x], &[]);
    }
}
