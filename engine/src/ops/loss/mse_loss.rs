//! MSELoss: `mean((input - target)²)` (or the sum). Differentiable in both operands.

use super::PairLoss;
use super::reduction::Reduction;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MseLoss {
    #[serde(default)]
    pub reduction: Reduction,
}

impl PairLoss for MseLoss {
    const OP: &'static str = "MSELoss";
    const FLOPS: u64 = 3;

    fn divisor(&self, shape: &[usize]) -> f64 {
        self.reduction.divisor(shape.iter().product())
    }

    #[inline(always)]
    fn term(&self, x: f32, t: f32) -> f64 {
        let d = x as f64 - t as f64;
        d * d
    }

    #[inline(always)]
    fn grads(&self, k: f32, x: f32, t: f32) -> (f32, f32) {
        let g = 2.0 * k * (x - t);
        (g, -g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error as DeError, MapDeserializer};

    #[test]
    fn forward_values() {
        let x = Tensor::new(&[2, 2], vec![1., 2., 3., 4.]).unwrap();
        let t = Tensor::new(&[2, 2], vec![0., 2., 5., 3.5]).unwrap();
        // squared differences 1, 0, 4, 0.25
        let mean = MseLoss::default().forward(&Ctx::eval(), &[&x, &t], &[]);
        assert!((mean.unwrap().output.item().unwrap() - 1.3125).abs() < 1e-6);
        let sum = MseLoss {
            reduction: Reduction::Sum,
        }
        .forward(&Ctx::eval(), &[&x, &t], &[])
        .unwrap()
        .output;
        assert_eq!(sum.shape(), &[] as &[usize]);
        assert!((sum.item().unwrap() - 5.25).abs() < 1e-6);
    }

    #[test]
    fn gradients() {
        for reduction in [Reduction::Mean, Reduction::Sum] {
            let loss = MseLoss { reduction };
            let x = randn(&[4, 5], 1);
            let t = randn(&[4, 5], 2);
            check_all_inputs(&loss, &Ctx::train(0), &[x, t], &[]);
        }
    }

    #[test]
    fn large_inputs_match_serial_sum() {
        let x = randn(&[300, 300], 3);
        let t = randn(&[300, 300], 4);
        let y = MseLoss::default()
            .forward(&Ctx::eval(), &[&x, &t], &[])
            .unwrap()
            .output;
        let want: f64 = x
            .data()
            .iter()
            .zip(t.data())
            .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
            .sum::<f64>()
            / 90000.0;
        assert!((y.item().unwrap() as f64 - want).abs() < 1e-5);
    }

    #[test]
    fn shape_errors_name_op_and_shapes() {
        let loss = MseLoss::default();
        let err = shape_error(&loss, &[&[2, 3], &[2, 4]]);
        assert_mentions(&err, &["MSELoss", "[2, 3]", "[2, 4]"]);
        assert!(loss.output_shape(&[&[2, 3]]).is_err());
        let (x, t) = (Tensor::zeros(&[3]), Tensor::zeros(&[4]));
        let err = forward_error(&loss, &[&x, &t], &[]);
        assert_mentions(&err, &["MSELoss", "[3]", "[4]"]);
        assert_eq!(loss.input_name(1), "target");
    }

    #[test]
    fn config_defaults_and_reduction_strings() {
        let empty = MapDeserializer::<_, DeError>::new(std::iter::empty::<(&str, &str)>());
        assert_eq!(MseLoss::deserialize(empty).unwrap(), MseLoss::default());
        let sum = Reduction::deserialize("sum".into_deserializer());
        assert_eq!(sum, Ok::<_, DeError>(Reduction::Sum));
        let mean = Reduction::deserialize("mean".into_deserializer());
        assert_eq!(mean, Ok::<_, DeError>(Reduction::Mean));
        let bad: Result<_, DeError> = Reduction::deserialize("none".into_deserializer());
        assert!(bad.is_err());
    }
}
