//! LogSoftmax along `dim` (default -1): `x - max - log Σ exp(x - max)`, stable for any
//! logits. Backward from the output: `dx = g - exp(y)·Σ g`.

use super::softmax::{last, softmax_backward, softmax_forward, split_dim};
use super::{Backward, Ctx, Forward, Layer, check_arity};
use crate::error::Result;
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSoftmax {
    /// The dimension normalised over; negative counts from the end.
    #[serde(default = "last")]
    pub dim: i64,
}

impl Default for LogSoftmax {
    fn default() -> Self {
        LogSoftmax { dim: -1 }
    }
}

const OP: &str = "LogSoftmax";

impl Layer for LogSoftmax {
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        split_dim(OP, inputs[0], self.dim)?;
        Ok(inputs[0].to_vec())
    }

    fn flops(&self, _inputs: &[&[usize]], output: &[usize]) -> u64 {
        5 * output.iter().product::<usize>() as u64
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        softmax_forward(OP, self.dim, inputs, true)
    }

    fn backward(
        &self,
        _ctx: &Ctx,
        _inputs: &[&Tensor],
        _params: &[&Tensor],
        forward: &Forward,
        grad_output: &Tensor,
    ) -> Result<Backward> {
        let dx = softmax_backward(OP, self.dim, &forward.output, grad_output, true)?;
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
    use crate::ops::softmax::tests::reference;

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
        let err = LogSoftmax { dim: -4 }
            .output_shape(&[&[2, 3, 4]])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("LogSoftmax") && err.contains("[2, 3, 4]"),
            "{err}"
        );
        let x = Tensor::zeros(&[2, 3]);
        let fwd = LogSoftmax::default()
            .forward(&Ctx::train(0), &[&x], &[])
            .unwrap();
        let err = LogSoftmax::default()
            .backward(&Ctx::train(0), &[&x], &[], &fwd, &Tensor::zeros(&[6]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("LogSoftmax") && err.contains("[6]") && err.contains("[2, 3]"));
    }
}
