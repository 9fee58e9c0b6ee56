//! Parameter initialisation: PyTorch's defaults, plus the common named schemes a user can
//! select per parameter (Xavier/Glorot, He/Kaiming, normal, uniform, constant).

use crate::tensor::{Rng, Tensor};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Init {
    /// U(-1/√fan_in, 1/√fan_in): what PyTorch's Linear/Conv `reset_parameters` produce for
    /// both weights (kaiming_uniform with a=√5) and biases.
    FanInUniform,
    /// Xavier/Glorot uniform: U(-a, a), a = gain·√(6/(fan_in+fan_out)).
    XavierUniform {
        gain: f32,
    },
    /// Xavier/Glorot normal: N(0, gain·√(2/(fan_in+fan_out))).
    XavierNormal {
        gain: f32,
    },
    /// He/Kaiming uniform for ReLU nets: U(-b, b), b = √(6/fan_in).
    HeUniform,
    /// He/Kaiming normal for ReLU nets: N(0, √(2/fan_in)).
    HeNormal,
    Normal {
        mean: f32,
        std: f32,
    },
    Uniform {
        low: f32,
        high: f32,
    },
    Constant(f32),
    Zeros,
    Ones,
}

impl Init {
    /// A tensor of `shape` filled by this scheme, given the fans of the layer it belongs to.
    pub fn tensor(&self, shape: &[usize], fan_in: usize, fan_out: usize, rng: &mut Rng) -> Tensor {
        let fan_in = fan_in.max(1) as f32;
        let fan_out = fan_out.max(1) as f32;
        match *self {
            Init::FanInUniform => {
                let b = 1.0 / fan_in.sqrt();
                Tensor::uniform(shape, -b, b, rng)
            }
            Init::XavierUniform { gain } => {
                let a = gain * (6.0 / (fan_in + fan_out)).sqrt();
                Tensor::uniform(shape, -a, a, rng)
            }
            Init::XavierNormal { gain } => {
                Tensor::normal(shape, 0.0, gain * (2.0 / (fan_in + fan_out)).sqrt(), rng)
            }
            Init::HeUniform => {
                let b = (6.0 / fan_in).sqrt();
                Tensor::uniform(shape, -b, b, rng)
            }
            Init::HeNormal => Tensor::normal(shape, 0.0, (2.0 / fan_in).sqrt(), rng),
            Init::Normal { mean, std } => Tensor::normal(shape, mean, std, rng),
            Init::Uniform { low, high } => Tensor::uniform(shape, low, high, rng),
            Init::Constant(c) => Tensor::full(shape, c),
            Init::Zeros => Tensor::zeros(shape),
            Init::Ones => Tensor::ones(shape),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fan_in_uniform_bounds_and_spread() {
        let mut rng = Rng::seed(0);
        let t = Init::FanInUniform.tensor(&[256, 100], 100, 256, &mut rng);
        assert!(t.max() <= 0.1 && t.min() >= -0.1);
        assert!(t.max() > 0.09 && t.min() < -0.09);
        assert!(t.mean().abs() < 0.005);
    }

    #[test]
    fn he_normal_std() {
        let mut rng = Rng::seed(1);
        let t = Init::HeNormal.tensor(&[512, 200], 200, 512, &mut rng);
        let std = (t.norm_sq() / t.numel() as f64).sqrt();
        assert!((std - 0.1).abs() < 0.002, "{std}");
    }

    #[test]
    fn constants() {
        let mut rng = Rng::seed(1);
        assert_eq!(Init::Ones.tensor(&[3], 1, 1, &mut rng).data(), &[1.0; 3]);
        assert_eq!(
            Init::Constant(0.5).tensor(&[2], 1, 1, &mut rng).data(),
            &[0.5; 2]
        );
    }
}
