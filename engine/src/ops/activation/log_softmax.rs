//! LogSoftmax along `dim` (default -1): `x - max - log Σ exp(x - max)`, stable for any
//! logits. Backward from the output: `dx = g - exp(y)·Σ g`.

use super::softmax::SoftmaxKind;
use crate::ops::support::defaults;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSoftmax {
    /// The dimension normalised over; negative counts from the end.
    #[serde(default = "defaults::last_dim")]
    pub dim: i64,
}

impl Default for LogSoftmax {
    fn default() -> Self {
        LogSoftmax { dim: -1 }
    }
}

impl SoftmaxKind for LogSoftmax {
    const OP: &'static str = "LogSoftmax";
    const LOG: bool = true;

    fn dim(&self) -> i64 {
        self.dim
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::softmax::tests::reference;
    use crate::ops::testing::*;

    #[test]
    fn forward_values() {
        // torch.log_softmax(torch.tensor([[1., 2., 3.], [-1000., 0., 1000.]]), -1)
        let x = Tensor::new(&[2, 3], vec![1., 2., 3., -1000., 0., 1000.]).unwrap();
        let y = LogSoftmax::default()
            .forward(&Ctx::eval(), &[&x], &[])
            .unwrap()
            .output;
        let want: [f64; 6] = [-2.4076059, -1.4076059, -0.40760595, -2000., -1000., 0.];
        for (a, b) in y.data().iter().zip(want) {
            assert!((*a as f64 - b).abs() < 1e-5, "{a} vs {b}");
        }
        for (shape, dim) in [(vec![2, 3, 4], 0i64), (vec![2, 3, 4], 1), (vec![5, 7], -1)] {
            let x = randn(&shape, 7).scale(3.0);
            let y = LogSoftmax { dim }
                .forward(&Ctx::eval(), &[&x], &[])
                .unwrap()
                .output;
            let d = (dim + shape.len() as i64) as usize % shape.len();
            let want = reference(&x, d, true);
            for (a, b) in y.data().iter().zip(&want) {
                assert!((a - b).abs() < 1e-5, "dim {dim}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn gradients() {
        for (shape, dim) in [(vec![3, 5], -1i64), (vec![3, 5], 0), (vec![2, 3, 2, 2], 1)] {
            let x = randn(&shape, 3).scale(1.5);
            GradCheck::default()
                .check(&LogSoftmax { dim }, &Ctx::train(0), &[x], &[], &[true])
                .unwrap_or_else(|e| panic!("dim {dim}: {e}"));
        }
    }

    #[test]
    fn errors_name_op_and_shapes() {
        let err = shape_error(&LogSoftmax { dim: -4 }, &[&[2, 3, 4]]);
        assert_mentions(&err, &["LogSoftmax", "[2, 3, 4]"]);
        let x = Tensor::zeros(&[2, 3]);
        let fwd = LogSoftmax::default()
            .forward(&Ctx::train(0), &[&x], &[])
            .unwrap();
        let err = LogSoftmax::default()
            .backward(&Ctx::train(0), &[&x], &[], &fwd, &Tensor::zeros(&[6]))
            .unwrap_err()
            .to_string();
        assert_mentions(&err, &["LogSoftmax", "[6]", "[2, 3]"]);
    }
}
