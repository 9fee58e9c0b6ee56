//! Tanh. Backward needs only the output: `tanh' = 1 - y²`.
//! Forward uses [`tanh_f32`], which vectorizes (libm's `tanhf` is a slow call per element).

use super::sigmoid::exp_f32;
use super::{Backward, Ctx, Forward, Layer, check_arity};
use crate::error::Result;
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tanh {}

const OP: &str = "Tanh";

/// `tanh(x)` in f32 without branches or calls: `x + x³·P(x²)` for `|x| < 0.625` (P a
/// weighted least-squares fit at Chebyshev nodes, ~1 ulp), else `±(1 - 2/(e^(2|x|) + 1))`,
/// which no longer cancels there. Within ~2 ulp of the exact value.
#[inline(always)]
pub(crate) fn tanh_f32(x: f32) -> f32 {
    let u = x * x;
    let p = -0.333_333_3
        + u * (0.133_332_06
            + u * (-0.053_946_704
                + u * (0.021_700_501 + u * (-0.008_177_093 + u * 0.002_142_803_7))));
    let small = x + x * u * p;
    let big = (1.0 - 2.0 / (exp_f32(2.0 * x.abs()) + 1.0)).copysign(x);
    if x.abs() < 0.625 { small } else { big }
}

impl Layer for Tanh {
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        Ok(inputs[0].to_vec())
    }

    fn flops(&self, _inputs: &[&[usize]], output: &[usize]) -> u64 {
        3 * output.iter().product::<usize>() as u64
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        let shapes: Vec<&[usize]> = inputs.iter().map(|t| t.shape()).collect();
        self.output_shape(&shapes)?;
        Ok(Forward::output(inputs[0].map(tanh_f32)))
    }

    fn backward(
        &self,
        _ctx: &Ctx,
        _inputs: &[&Tensor],
        _params: &[&Tensor],
        forward: &Forward,
        grad_output: &Tensor,
    ) -> Result<Backward> {
        let dx = grad_output.zip_map(&forward.output, OP, |g, y| g * (1.0 - y * y))?;
        Ok(Backward {
            inputs: vec![Some(dx)],
            params: vec![],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{GradCheck, randn};

    #[test]
    fn forward_values() {
        // torch.tanh(torch.tensor([-20., -1., 0., 0.5, 3.]))
        let x = Tensor::new(&[5], vec![-20., -1., 0., 0.5, 3.]).unwrap();
        let y = Tanh {}.forward(&Ctx::eval(), &[&x], &[]).unwrap().output;
        let want = [-1.0, -0.7615942, 0.0, 0.46211717, 0.9950548];
        for (a, b) in y.data().iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn tanh_f32_is_accurate() {
        let mut worst = 0.0f64;
        for i in -100_000..=100_000 {
            let x = i as f32 * 1e-4; // [-10, 10]
            let want = (x as f64).tanh();
            let got = tanh_f32(x) as f64;
            if want != 0.0 {
                worst = worst.max((got - want).abs() / want.abs());
            }
        }
        assert!(worst < 2.5e-7, "max relative error {worst}");
        assert_eq!(tanh_f32(0.0), 0.0);
        assert_eq!(tanh_f32(1e-30), 1e-30);
        assert_eq!(tanh_f32(100.0), 1.0);
        assert_eq!(tanh_f32(f32::NEG_INFINITY), -1.0);
        assert!(tanh_f32(f32::NAN).is_nan());
    }

    #[test]
    fn gradients() {
        let x = randn(&[4, 6], 3).scale(1.5);
        GradCheck::default()
            .check(&Tanh {}, &Ctx::train(0), &[x], &[], &[true])
            .unwrap();
    }

    #[test]
    fn errors_name_op_and_shapes() {
        let x = Tensor::zeros(&[2, 3]);
        let fwd = Tanh {}.forward(&Ctx::train(0), &[&x], &[]).unwrap();
        let err = Tanh {}
            .backward(&Ctx::train(0), &[&x], &[], &fwd, &Tensor::zeros(&[3]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Tanh") && err.contains("[2, 3]") && err.contains("[3]"),
            "{err}"
        );
    }
}
