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
    use crate::ops::activation::softmax::tests::assert_matches_reference;
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
        let cases = [(vec![2, 3, 4], 0i64), (vec![2, 3, 4], 1), (vec![5, 7], -1)];
        assert_matches_reference(|dim| Box::new(LogSoftmax { dim }), true, &cases, 1e-5);
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
