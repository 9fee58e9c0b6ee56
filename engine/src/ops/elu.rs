//! ELU: `x` for `x > 0`, else `alpha·(eˣ - 1)`. For `alpha ≥ 0` the output alone gives
//! the gradient (`y > 0` exactly where `x > 0`, and `alpha·eˣ = y + alpha` elsewhere), so
//! backward needs no exponential; a negative alpha falls back to the input.

use super::sigmoid::exp_f32;
use super::{Backward, Ctx, Forward, Layer, check_arity};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Elu {
    /// Scale of the negative branch (PyTorch default 1.0).
    #[serde(default = "one")]
    pub alpha: f32,
}

fn one() -> f32 {
    1.0
}

impl Default for Elu {
    fn default() -> Self {
        Elu { alpha: 1.0 }
    }
}

const OP: &str = "ELU";

/// `eˣ - 1` without branches or calls (so the forward loop vectorizes), keeping relative
/// accuracy near 0 where `eˣ - 1` cancels: a degree-7 Taylor polynomial for `|x| < 0.35`
/// (truncation < 2e-8 relative), [`exp_f32`] minus 1 elsewhere.
#[inline(always)]
fn expm1_f32(x: f32) -> f32 {
    let small = x + x
        * x
        * (0.5
            + x * (1.0 / 6.0
                + x * (1.0 / 24.0 + x * (1.0 / 120.0 + x * (1.0 / 720.0 + x * (1.0 / 5040.0))))));
    let big = exp_f32(x) - 1.0;
    if x.abs() < 0.35 { small } else { big }
}

impl Layer for Elu {
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        if !self.alpha.is_finite() {
            return Err(Error::config(OP, "alpha must be finite"));
        }
        Ok(inputs[0].to_vec())
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        let shapes: Vec<&[usize]> = inputs.iter().map(|t| t.shape()).collect();
        self.output_shape(&shapes)?;
        let a = self.alpha;
        Ok(Forward::output(
            inputs[0].map(move |x| if x > 0.0 { x } else { a * expm1_f32(x) }),
        ))
    }

    fn backward(
        &self,
        _ctx: &Ctx,
        inputs: &[&Tensor],
        _params: &[&Tensor],
        forward: &Forward,
        grad_output: &Tensor,
    ) -> Result<Backward> {
        let a = self.alpha;
        let dx = if a >= 0.0 {
            grad_output.zip_map(
                &forward.output,
                OP,
                move |g, y| {
                    if y > 0.0 { g } else { g * (y + a) }
                },
            )?
        } else {
            check_arity(OP, self.arity(), inputs.len())?;
            grad_output.zip_map(
                inputs[0],
                OP,
                move |g, x| {
                    if x > 0.0 { g } else { g * a * exp_f32(x) }
                },
            )?
        };
        Ok(Backward {
            inputs: vec![Some(dx)],
            params: vec![],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{GradCheck, randn_away_from_zero};

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
    fn expm1_is_accurate() {
        for i in -100_000..=1000 {
            let x = i as f32 * 1e-3;
            let want = (x as f64).exp_m1();
            let err = (expm1_f32(x) as f64 - want).abs();
            assert!(err <= 2.5e-7 * want.abs().max(1e-30), "expm1({x}): {err}");
        }
        assert_eq!(expm1_f32(0.0), 0.0);
        assert_eq!(expm1_f32(f32::NEG_INFINITY), -1.0);
    }

    #[test]
    fn gradients() {
        for alpha in [1.0, 0.3, 0.0, -0.7] {
            let x = randn_away_from_zero(&[3, 7], 4, 0.05);
            GradCheck::default()
                .check(&Elu { alpha }, &Ctx::train(0), &[x], &[], &[true])
                .unwrap_or_else(|e| panic!("alpha {alpha}: {e}"));
        }
    }

    #[test]
    fn errors_name_op_and_shapes() {
        let l = Elu::default();
        let x = Tensor::zeros(&[2, 3]);
        let fwd = l.forward(&Ctx::train(0), &[&x], &[]).unwrap();
        let err = l
            .backward(&Ctx::train(0), &[&x], &[], &fwd, &Tensor::zeros(&[6]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ELU") && err.contains("[2, 3]") && err.contains("[6]"),
            "{err}"
        );
        assert!(Elu { alpha: f32::NAN }.output_shape(&[&[2]]).is_err());
    }
}
