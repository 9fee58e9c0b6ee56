//! L1Loss: `mean(|input - target|)` (or the sum). Differentiable in both operands; the
//! gradient at an exact tie is 0, as PyTorch's `sgn`.

use super::PairLoss;
use super::reduction::Reduction;
use crate::ops::support::maths::sign;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L1Loss {
    #[serde(default)]
    pub reduction: Reduction,
}

impl PairLoss for L1Loss {
    const OP: &'static str = "L1Loss";
    const FLOPS: u64 = 3;

    fn divisor(&self, shape: &[usize]) -> f64 {
        self.reduction.divisor(shape.iter().product())
    }

    #[inline(always)]
    fn term(&self, x: f32, t: f32) -> f64 {
        (x as f64 - t as f64).abs()
    }

    #[inline(always)]
    fn grads(&self, k: f32, x: f32, t: f32) -> (f32, f32) {
        let g = k * sign(x - t);
        (g, -g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    #[test]
    fn forward_values() {
        let x = Tensor::new(&[2, 2], vec![1., 2., 3., 4.]).unwrap();
        let t = Tensor::new(&[2, 2], vec![0., 2., 5., 3.5]).unwrap();
        // |differences| 1, 0, 2, 0.5
        let mean = L1Loss::default().forward(&Ctx::eval(), &[&x, &t], &[]);
        assert!((mean.unwrap().output.item().unwrap() - 0.875).abs() < 1e-6);
        let sum = L1Loss {
            reduction: Reduction::Sum,
        }
        .forward(&Ctx::eval(), &[&x, &t], &[])
        .unwrap()
        .output;
        assert!((sum.item().unwrap() - 3.5).abs() < 1e-6);
    }

    #[test]
    fn gradients() {
        for reduction in [Reduction::Mean, Reduction::Sum] {
            let loss = L1Loss { reduction };
            // target = input - d with |d| ≥ 0.05: no finite difference straddles the kink.
            let x = randn(&[4, 5], 1);
            let d = randn_away_from_zero(&[4, 5], 2, 0.05);
            let t = x.sub(&d).unwrap();
            check_all_inputs(&loss, &Ctx::train(0), &[x, t], &[]);
        }
    }

    #[test]
    fn tie_has_zero_gradient() {
        let x = Tensor::new(&[2], vec![1., 2.]).unwrap();
        let t = Tensor::new(&[2], vec![1., 3.]).unwrap();
        let loss = L1Loss::default();
        let fwd = loss.forward(&Ctx::train(0), &[&x, &t], &[]).unwrap();
        let bwd = loss
            .backward(&Ctx::train(0), &[&x, &t], &[], &fwd, &Tensor::scalar(1.0))
            .unwrap();
        assert_eq!(bwd.inputs[0].as_ref().unwrap().data(), &[0.0, -0.5]);
        assert_eq!(bwd.inputs[1].as_ref().unwrap().data(), &[0.0, 0.5]);
    }

    #[test]
    fn shape_errors_name_op_and_shapes() {
        let err = shape_error(&L1Loss::default(), &[&[2, 3], &[3, 2]]);
        assert_mentions(&err, &["L1Loss", "[2, 3]", "[3, 2]"]);
    }
}
