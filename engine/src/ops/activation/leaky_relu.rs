//! LeakyReLU: `x` for `x > 0`, else `negative_slope·x`. Backward uses the input's sign
//! (the output's sign would do only for a positive slope).

use super::{DerivativeOf, Pointwise};
use crate::error::{Error, Result};
use crate::ops::support::defaults;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeakyRelu {
    /// Slope for negative inputs (PyTorch default 0.01).
    #[serde(default = "defaults::negative_slope")]
    pub negative_slope: f32,
}

impl Default for LeakyRelu {
    fn default() -> Self {
        LeakyRelu {
            negative_slope: defaults::negative_slope(),
        }
    }
}

impl Pointwise for LeakyRelu {
    const OP: &'static str = "LeakyReLU";

    fn check(&self) -> Result<()> {
        if !self.negative_slope.is_finite() {
            return Err(Error::config(Self::OP, "negative_slope must be finite"));
        }
        Ok(())
    }

    fn derivative_of(&self) -> DerivativeOf {
        DerivativeOf::Input
    }

    #[inline(always)]
    fn f(&self, x: f32) -> f32 {
        if x > 0.0 { x } else { x * self.negative_slope }
    }

    #[inline(always)]
    fn df(&self, x: f32) -> f32 {
        if x > 0.0 { 1.0 } else { self.negative_slope }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::tests::assert_grad_shape_error;
    use crate::ops::testing::*;
    use serde::de::value::{Error as DeError, MapDeserializer};

    #[test]
    fn forward_values() {
        let x = Tensor::new(&[4], vec![-1., 0., 2., -0.5]).unwrap();
        let y = LeakyRelu::default()
            .forward(&Ctx::eval(), &[&x], &[])
            .unwrap()
            .output;
        assert_eq!(y.data(), &[-0.01, 0., 2., -0.005]);
        let slope = LeakyRelu {
            negative_slope: -0.5,
        };
        let y = slope.forward(&Ctx::eval(), &[&x], &[]).unwrap().output;
        assert_eq!(y.data(), &[0.5, 0., 2., 0.25]);
    }

    #[test]
    fn gradients() {
        for negative_slope in [0.01, 0.2, -0.5, 0.0] {
            let x = randn_away_from_zero(&[3, 7], 4, 0.05);
            let op = LeakyRelu { negative_slope };
            check_all_inputs(&op, &Ctx::train(0), &[x], &[]);
        }
    }

    #[test]
    fn errors_name_op_and_shapes() {
        let l = LeakyRelu::default();
        assert_grad_shape_error(&l, "LeakyReLU", &[3, 2]);
        let empty = MapDeserializer::<_, DeError>::new(std::iter::empty::<(&str, &str)>());
        assert_eq!(LeakyRelu::deserialize(empty).unwrap(), l);
        let nan = LeakyRelu {
            negative_slope: f32::NAN,
        };
        assert!(nan.output_shape(&[&[2]]).is_err());
    }
}
