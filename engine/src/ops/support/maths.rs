//! Branch-free scalar maths for the elementwise loops: libm's `expf`/`tanhf` are opaque
//! calls per element, which keep every loop that uses them scalar; these let LLVM
//! vectorize those loops. Accuracy is tested against f64 below.

/// `eˣ` in f32 without branches or calls, so slice loops using it autovectorize.
/// Cody–Waite reduction `x = k·ln2 + r`, `|r| ≤ ln2/2`, a degree-7 Taylor polynomial
/// (truncation < 6e-9 relative) and `2ᵏ` built in the exponent bits. Within 2 ulp of the
/// exact value; 0 below -87.33 (no subnormals), +∞ above 88.37; NaN stays NaN.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
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
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-x))
}

/// `eˣ - 1` without branches or calls (so the forward loop vectorizes), keeping relative
/// accuracy near 0 where `eˣ - 1` cancels: a degree-7 Taylor polynomial for `|x| < 0.35`
/// (truncation < 2e-8 relative), [`exp_f32`] minus 1 elsewhere.
#[inline(always)]
pub fn expm1_f32(x: f32) -> f32 {
    let small = x + x
        * x
        * (0.5
            + x * (1.0 / 6.0
                + x * (1.0 / 24.0 + x * (1.0 / 120.0 + x * (1.0 / 720.0 + x * (1.0 / 5040.0))))));
    let big = exp_f32(x) - 1.0;
    if x.abs() < 0.35 { small } else { big }
}

/// `tanh(x)` in f32 without branches or calls: `x + x³·P(x²)` for `|x| < 0.625` (P a
/// weighted least-squares fit at Chebyshev nodes, ~1 ulp), else `±(1 - 2/(e^(2|x|) + 1))`,
/// which no longer cancels there. Within ~2 ulp of the exact value.
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let u = x * x;
    let p = -0.333_333_3
        + u * (0.133_332_06
            + u * (-0.053_946_704
                + u * (0.021_700_501 + u * (-0.008_177_093 + u * 0.002_142_803_7))));
    let small = x + x * u * p;
    let big = (1.0 - 2.0 / (exp_f32(2.0 * x.abs()) + 1.0)).copysign(x);
    if x.abs() < 0.625 { small } else { big }
}

/// Sign with `sign(0) = 0` (`f32::signum(0.0)` is 1).
pub fn sign(d: f32) -> f32 {
    if d > 0.0 {
        1.0
    } else if d < 0.0 {
        -1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The largest relative error of `f` against the f64 `reference` at `x = i·step`.
    fn worst_relative_error(
        f: fn(f32) -> f32,
        reference: fn(f64) -> f64,
        range: std::ops::RangeInclusive<i32>,
        step: f32,
    ) -> f64 {
        range
            .map(|i| i as f32 * step)
            .map(|x| (f(x) as f64, reference(x as f64)))
            .filter(|&(_, want)| want != 0.0)
            .map(|(got, want)| (got - want).abs() / want.abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn exp_f32_is_accurate() {
        // x in [-87.3, 87.3]
        let worst = worst_relative_error(exp_f32, f64::exp, -200_000..=200_000, 4.365e-4);
        assert!(worst < 2.5e-7, "max relative error {worst}");
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(-100.0), 0.0);
        assert_eq!(exp_f32(100.0), f32::INFINITY);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert!(exp_f32(f32::NAN).is_nan());
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
    fn tanh_f32_is_accurate() {
        // x in [-10, 10]
        let worst = worst_relative_error(tanh_f32, f64::tanh, -100_000..=100_000, 1e-4);
        assert!(worst < 2.5e-7, "max relative error {worst}");
        assert_eq!(tanh_f32(0.0), 0.0);
        assert_eq!(tanh_f32(1e-30), 1e-30);
        assert_eq!(tanh_f32(100.0), 1.0);
        assert_eq!(tanh_f32(f32::NEG_INFINITY), -1.0);
        assert!(tanh_f32(f32::NAN).is_nan());
    }
}
