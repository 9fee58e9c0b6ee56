//! ELU: `x` for `x > 0`, else `alpha·(eˣ - 1)`. For `alpha ≥ 0` the output alone gives
//! the gradient (`y > 0` exactly where `x > 0`, and `alpha·eˣ = y + alpha` elsewhere), so
//! backward needs no exponential; a negative alpha falls back to the input.

use super::{DerivativeOf, Pointwise};
use crate::error::{Error, Result};
use crate::ops::support::defaults;
use crate::ops::support::maths::{exp_f32, expm1_f32};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Elu {
    /// Scale of the negative branch (PyTorch default 1.0).
    #[serde(default = "defaults::one_f32")]
    pub alpha: f32,
}

impl Default for Elu {
    fn default() -> Self {
        Elu { alpha: 1.0 }
    }
}

impl Pointwise for Elu {
    const OP: &'static str = "ELU";

    fn check(&self) -> Result<()> {
        if !self.alpha.is_finite() {
            return Err(Error::config(Self::OP, "alpha must be finite"));
        }
        Ok(())
    }

    fn derivative_of(&self) -> DerivativeOf {
        if self.alpha >= 0.0 {
            DerivativeOf::Output
        } else {
            DerivativeOf::Input
        }
    }

    #[inline(always)]
    fn f(&self, x: f32) -> f32 {
        if x > 0.0 {
            x
        } else {
            self.alpha * expm1_f32(x)
        }
    }

    #[inline(always)]
    fn df(&self, v: f32) -> f32 {
        let a = self.alpha;
        match (v > 0.0, a >= 0.0) {
            (true, _) => 1.0,
            (false, true) => v + a,
            (false, false) => a * exp_f32(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::tests::assert_grad_shape_error;
    use crate::ops::testing::*;

    #[test]
    fn forward_values() {
        let x = Tensor::new(&[4], vec![-1., 0., 2., -0.5]).unwrap();
        let y = Elu::default()
            .forward(&Ctx::eval(), &[&x], &[])
            .unwrap()
            .output;
        let want = [(-1f32).exp_m1(), 0., 2., (-0.5f32).exp_m1()];
        assert!(y.data().iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-7));
        let y = Elu { alpha: 0.5 }
            .forward(&Ctx::eval(), &[&x], &[])
            .unwrap()
            .output;
        assert!((y.data()[0] - 0.5 * (-1f32).exp_m1()).abs() < 1e-7);
    }

    #[test]
    fn gradients() {
        for alpha in [1.0, 0.3, 0.0, -0.7] {
            let x = randn_away_from_zero(&[3, 7], 4, 0.05);
            check_case(
                &format!("alpha {alpha}"),
                &Elu { alpha },
                &Ctx::train(0),
                &[x],
                &[],
            );
        }
    }

    #[test]
    fn errors_name_op_and_shapes() {
        assert_grad_shape_error(&Elu::default(), "ELU", &[6]);
        assert!(Elu { alpha: f32::NAN }.output_shape(&[&[2]]).is_err());
    }
}
