//! GELU: `x·Φ(x)` with `Φ` the standard normal CDF (`approximate = "none"`, PyTorch's
//! default), or PyTorch's tanh approximation `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`
//! (`approximate = "tanh"`). The exact form is evaluated in f64 through the support
//! module's `erfc` (|erf error| ≤ 5e-11, far inside f32 rounding), so no maths crate is
//! needed.

use super::{DerivativeOf, Pointwise};
use crate::ops::support::erf::normal_cdf_and_gauss;
use crate::ops::support::maths::tanh_f32;
use serde::{Deserialize, Serialize};

/// Which GELU formula; serialised as PyTorch's `approximate` strings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GeluApproximate {
    /// Exact, via the error function.
    #[default]
    None,
    /// The tanh approximation (GPT-2/BERT style).
    Tanh,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gelu {
    #[serde(default)]
    pub approximate: GeluApproximate,
}

/// `1/√(2π)`
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
/// `√(2/π)`
const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const KAPPA: f32 = 0.044715;

#[inline(always)]
fn gelu_exact(x: f32) -> f32 {
    let x = x as f64;
    (x * normal_cdf_and_gauss(x).0) as f32
}

/// `Φ(x) + x·φ(x)`; past |x| ≈ 37 the density term is a harmless ~1e-292, not 0.
#[inline(always)]
fn gelu_exact_grad(x: f32) -> f32 {
    let x = x as f64;
    let (cdf, g) = normal_cdf_and_gauss(x);
    (cdf + x * INV_SQRT_2PI * g) as f32
}

#[inline(always)]
fn gelu_tanh(x: f32) -> f32 {
    let inner = SQRT_2_OVER_PI * (x + KAPPA * x * x * x);
    0.5 * x * (1.0 + tanh_f32(inner))
}

#[inline(always)]
fn gelu_tanh_grad(x: f32) -> f32 {
    let x2 = x * x;
    let t = tanh_f32(SQRT_2_OVER_PI * (x + KAPPA * x * x2));
    let d_inner = SQRT_2_OVER_PI * (1.0 + 3.0 * KAPPA * x2);
    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner
}

impl Pointwise for Gelu {
    const OP: &'static str = "GELU";
    fn flops_per_element(&self) -> u64 {
        match self.approximate {
            GeluApproximate::None => 30,
            GeluApproximate::Tanh => 10,
        }
    }

    fn derivative_of(&self) -> DerivativeOf {
        DerivativeOf::Input
    }

    #[inline(always)]
    fn f(&self, x: f32) -> f32 {
        match self.approximate {
            GeluApproximate::None => gelu_exact(x),
            GeluApproximate::Tanh => gelu_tanh(x),
        }
    }

    #[inline(always)]
    fn df(&self, x: f32) -> f32 {
        match self.approximate {
            GeluApproximate::None => gelu_exact_grad(x),
            GeluApproximate::Tanh => gelu_tanh_grad(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::tests::assert_grad_shape_error;
    use crate::ops::testing::*;
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error as DeError, MapDeserializer};

    const XS: [f32; 13] = [
        -6., -4., -2.5, -1., -0.5, -0.1, 0., 0.1, 0.5, 1., 2.5, 4., 6.,
    ];

    fn gelu(approximate: GeluApproximate, xs: &[f32]) -> Vec<f32> {
        let x = Tensor::new(&[xs.len()], xs.to_vec()).unwrap();
        Gelu { approximate }
            .forward(&Ctx::eval(), &[&x], &[])
            .unwrap()
            .output
            .into_vec()
    }

    #[test]
    fn forward_matches_pytorch() {
        // import torch
        // x = torch.tensor([-6., -4., -2.5, -1., -0.5, -0.1, 0., 0.1, 0.5, 1., 2.5, 4., 6.])
        // for a in ['none', 'tanh']:
        //     print(a, torch.nn.functional.gelu(x, approximate=a).tolist())
        let none: [f64; 13] = [
            -0.0,
            -0.0001264810562133789,
            -0.015524178743362427,
            -0.15865525603294373,
            -0.1542687714099884,
            -0.04601721838116646,
            0.0,
            0.05398278310894966,
            0.3457312285900116,
            0.8413447141647339,
            2.48447585105896,
            3.999873638153076,
            6.0,
        ];
        let tanh: [f64; 13] = [
            -0.0,
            -7.021427154541016e-05,
            -0.015084296464920044,
            -0.15880799293518066,
            -0.1542859971523285,
            -0.046017248183488846,
            0.0,
            0.053982753306627274,
            0.3457140028476715,
            0.8411920070648193,
            2.4849157333374023,
            3.999929904937744,
            6.0,
        ];
        // PyTorch's f32 `1 + erf` loses ~2e-7 absolute in the left tail (we are closer
        // to the exact -4·Φ(-4) = -1.2668e-4 there), hence 1e-6.
        for (approx, want) in [(GeluApproximate::None, none), (GeluApproximate::Tanh, tanh)] {
            for ((a, b), x) in gelu(approx, &XS).iter().zip(want).zip(XS) {
                assert!(
                    (*a as f64 - b).abs() < 1e-6,
                    "{approx:?} gelu({x}) = {a} vs {b}"
                );
            }
        }
        // the exact form keeps relative accuracy deep in the tail: -10·Φ(-10)
        let y = gelu(GeluApproximate::None, &[-10.0])[0];
        assert!((y / -7.619853e-23 - 1.0).abs() < 1e-5, "{y}");
    }

    #[test]
    fn gradients() {
        for approximate in [GeluApproximate::None, GeluApproximate::Tanh] {
            let x = randn(&[5, 6], 3).scale(2.0);
            check_case(
                &format!("{approximate:?}"),
                &Gelu { approximate },
                &Ctx::train(0),
                &[x],
                &[],
            );
        }
    }

    #[test]
    fn errors_name_op_and_shapes() {
        assert_grad_shape_error(&Gelu::default(), "GELU", &[2]);
    }

    #[test]
    fn config_strings() {
        let empty = MapDeserializer::<_, DeError>::new(std::iter::empty::<(&str, &str)>());
        assert_eq!(Gelu::deserialize(empty).unwrap(), Gelu::default());
        let map = MapDeserializer::<_, DeError>::new([("approximate", "tanh")].into_iter());
        assert_eq!(
            Gelu::deserialize(map).unwrap().approximate,
            GeluApproximate::Tanh
        );
        let none = GeluApproximate::deserialize("none".into_deserializer());
        assert_eq!(none, Ok::<_, DeError>(GeluApproximate::None));
        let bad: Result<_, DeError> = GeluApproximate::deserialize("erf".into_deserializer());
        assert!(bad.is_err());
    }
}
