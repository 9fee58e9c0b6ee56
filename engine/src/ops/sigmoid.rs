//! Sigmoid: `σ(x) = 1/(1+e⁻ˣ)`. Backward needs only the output: `σ' = y·(1-y)`.
//!
//! This file also holds [`exp_f32`], the branch-free exponential the other activations,
//! Softmax and CrossEntropyLoss share: libm's `expf` is an opaque call per element, which
//! keeps every loop that uses it scalar; this one lets LLVM vectorize those loops.

use super::{Backward, Ctx, Forward, Layer, check_arity};
use crate::error::Result;
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sigmoid {}

const OP: &str = "Sigmoid";

/// `eˣ` in f32 without branches or calls, so slice loops using it autovectorize.
/// Cody–Waite reduction `x = k·ln2 + r`, `|r| ≤ ln2/2`, a degree-7 Taylor polynomial
/// (truncation < 6e-9 relative) and `2ᵏ` built in the exponent bits. Within 2 ulp of the
/// exact value; 0 below -87.33 (no subnormals), +∞ above 88.37; NaN stays NaN.
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
    /// 1.5·2²³: adding it rounds an f32 of magnitude < 2²² to an integer, which then
    /// sits in the low mantissa bits.
    const MAGIC: f32 = 12_582_912.0;
    /// ln 2 split so `k·LN2_HI` is exact for |k| < 2⁸.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // `clamp` keeps NaN as NaN.
    let xc = x.clamp(-87.33, 88.37);
    let kf = xc * std::f32::consts::LOG2_E + MAGIC;
    let bits = kf.to_bits();
    let k = kf - MAGIC;
    let r = (xc - k * LN2_HI) - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // The low 9 bits of `bits + 127` are k + 127 ∈ [1, 254]: the biased exponent of 2ᵏ.
    let y = p * f32::from_bits(bits.wrapping_add(127) << 23);
    if x < -87.33 {
        0.0
    } else if x > 88.37 {
        f32::INFINITY
    } else {
        y
    }
}

/// `σ(x)`; `e⁻ˣ` overflowing to +∞ gives exactly 0, never NaN.
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-x))
}

impl Layer for Sigmoid {
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
        Ok(Forward::output(inputs[0].map(sigmoid)))
    }

    fn backward(
        &self,
        _ctx: &Ctx,
        _inputs: &[&Tensor],
        _params: &[&Tensor],
        forward: &Forward,
        grad_output: &Tensor,
    ) -> Result<Backward> {
        let dx = grad_output.zip_map(&forward.output, OP, |g, y| g * y * (1.0 - y))?;
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
        // torch.sigmoid(torch.tensor([-100., -2., 0., 1., 100.]))
        let x = Tensor::new(&[5], vec![-100., -2., 0., 1., 100.]).unwrap();
        let y = Sigmoid {}.forward(&Ctx::eval(), &[&x], &[]).unwrap().output;
        let want = [0.0, 0.11920292, 0.5, 0.7310586, 1.0];
        for (a, b) in y.data().iter().zip(want) {
            assert!((a - b).abs() < 1e-7, "{a} vs {b}");
        }
    }

    #[test]
    fn exp_f32_is_accurate() {
        let mut worst = 0.0f64;
        for i in -200_000..=200_000 {
            let x = i as f32 * 4.365e-4; // [-87.3, 87.3]
            let want = (x as f64).exp();
            let got = exp_f32(x) as f64;
            worst = worst.max((got - want).abs() / want);
        }
        assert!(worst < 2.5e-7, "max relative error {worst}");
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(-100.0), 0.0);
        assert_eq!(exp_f32(100.0), f32::INFINITY);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert!(exp_f32(f32::NAN).is_nan());
    }

    #[test]
    fn gradients() {
        let x = randn(&[4, 6], 3).scale(2.0);
        GradCheck::default()
            .check(&Sigmoid {}, &Ctx::train(0), &[x], &[], &[true])
            .unwrap();
    }

    #[test]
    fn errors_name_op_and_shapes() {
        let x = Tensor::zeros(&[2, 3]);
        let fwd = Sigmoid {}.forward(&Ctx::train(0), &[&x], &[]).unwrap();
        let err = Sigmoid {}
            .backward(&Ctx::train(0), &[&x], &[], &fwd, &Tensor::zeros(&[3]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Sigmoid") && err.contains("[2, 3]") && err.contains("[3]"),
            "{err}"
        );
    }
}
