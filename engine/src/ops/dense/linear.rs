//! Linear (fully connected): `y = x·Wᵀ + b`, weight `[out, in]` as in PyTorch.
//! Accepts `[N, in]` or `[N, ..., in]` (applied to the last dimension).

use crate::error::{Error, Result};
use crate::ops::support::defaults;
use crate::ops::support::dims::check_given_size;
use crate::ops::{
    Arity, Backward, BackwardArgs, Ctx, Forward, Init, Layer, ParamSpec, Saved, check_arity,
    check_params,
};
use crate::tensor::{Layout, Tensor, matmul_into};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Linear {
    pub out_features: usize,
    /// Inferred from the input when absent; checked against it when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_features: Option<usize>,
    #[serde(default = "defaults::yes")]
    pub bias: bool,
}

impl Default for Linear {
    fn default() -> Self {
        Linear {
            out_features: 10,
            in_features: None,
            bias: true,
        }
    }
}

const OP: &str = "Linear";

impl Linear {
    fn in_features(&self, input: &[usize]) -> Result<usize> {
        if input.len() < 2 {
            return Err(Error::bad_shape(
                OP,
                input,
                "expected [N, in_features] or [N, ..., in_features]",
            ));
        }
        let got = input[input.len() - 1];
        check_given_size(OP, "in_features", self.in_features, got, input)?;
        if self.out_features == 0 {
            return Err(Error::config(OP, "out_features must be at least 1"));
        }
        if self.out_features.checked_mul(got.max(1)).is_none() {
            return Err(Error::config(
                OP,
                format!(
                    "out_features {} is too large: the weight would have more elements than \
                     can be addressed",
                    self.out_features
                ),
            ));
        }
        Ok(got)
    }
}

impl Layer for Linear {
    fn arity(&self) -> Arity {
        Arity::Exactly(1)
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        self.in_features(inputs[0])?;
        let mut out = inputs[0].to_vec();
        *out.last_mut().unwrap_or(&mut 0) = self.out_features;
        Ok(out)
    }

    fn params(&self, inputs: &[&[usize]]) -> Result<Vec<ParamSpec>> {
        check_arity(OP, self.arity(), inputs.len())?;
        let fan_in = self.in_features(inputs[0])?;
        let fans = (fan_in, self.out_features);
        let mut specs = vec![ParamSpec::trainable(
            "weight",
            vec![self.out_features, fan_in],
            Init::FanInUniform,
            fans,
        )];
        if self.bias {
            specs.push(ParamSpec::trainable(
                "bias",
                vec![self.out_features],
                Init::FanInUniform,
                fans,
            ));
        }
        Ok(specs)
    }

    fn flops(&self, inputs: &[&[usize]], output: &[usize]) -> u64 {
        let in_f = inputs.first().and_then(|s| s.last()).copied().unwrap_or(0);
        2 * output.iter().product::<usize>() as u64 * in_f as u64
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], params: &[&Tensor]) -> Result<Forward> {
        // the common, valid case checked without building the specs (this runs every step)
        let fast_ok = inputs.len() == 1 && {
            let x = inputs[0];
            x.rank() >= 2
                && self.out_features > 0
                && self.in_features.is_none_or(|f| f == x.dim(-1))
                && params.len() == 1 + self.bias as usize
                && params[0].shape() == [self.out_features, x.dim(-1)]
                && params
                    .get(1)
                    .is_none_or(|b| b.shape() == [self.out_features])
        };
        if !fast_ok {
            let shapes: Vec<&[usize]> = inputs.iter().map(|t| t.shape()).collect();
            self.output_shape(&shapes)?;
            check_params(OP, &self.params(&shapes)?, params)?;
        }
        let x = inputs[0];
        let mut out_shape = x.shape().to_vec();
        *out_shape.last_mut().unwrap_or(&mut 0) = self.out_features;
        let (rows, in_f) = x.rows_cols();
        let out_f = self.out_features;
        // with a bias, y starts as the bias in every row (no zero-fill first) and the
        // matmul accumulates onto it
        let mut y = match params.get(1) {
            Some(b) => {
                let mut y = Vec::with_capacity(rows * out_f);
                for _ in 0..rows {
                    y.extend_from_slice(b.data());
                }
                y
            }
            None => vec![0.0; rows * out_f],
        };
        // y (rows×out) [+]= x (rows×in) · Wᵀ, W stored out×in.
        matmul_into(
            &mut y,
            x.data(),
            Layout::Normal,
            params[0].data(),
            Layout::Transposed,
            rows,
            in_f,
            out_f,
            self.bias,
        );
        Ok(Forward::new(Tensor::new(&out_shape, y)?, Saved::none()))
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        let (ctx, inputs, params, grad_output) =
            (args.ctx, args.inputs, args.params, args.grad_output);
        let x = inputs[0];
        let w = params[0];
        let (rows, in_f) = x.rows_cols();
        let out_f = self.out_features;
        if grad_output.numel() != rows * out_f {
            return Err(Error::shape_mismatch(
                OP,
                "grad_output vs input",
                grad_output.shape(),
                x.shape(),
            ));
        }
        // dX = dY (rows×out) · W (out×in), unless nobody reads it (a data input)
        let dx = if ctx.wants_input_grad(0) {
            let mut dx = vec![0.0; rows * in_f];
            matmul_into(
                &mut dx,
                grad_output.data(),
                Layout::Normal,
                w.data(),
                Layout::Normal,
                rows,
                out_f,
                in_f,
                false,
            );
            Some(Tensor::new(x.shape(), dx)?)
        } else {
            None
        };
        // dW = dYᵀ (out×rows) · X (rows×in)
        let mut dw = vec![0.0; out_f * in_f];
        matmul_into(
            &mut dw,
            grad_output.data(),
            Layout::Transposed,
            x.data(),
            Layout::Normal,
            out_f,
            rows,
            in_f,
            false,
        );
        let mut grads = vec![Some(Tensor::new(&[out_f, in_f], dw)?)];
        if self.bias {
            let db = grad_output.reshape(&[rows, out_f])?.sum_rows()?;
            grads.push(Some(db));
        }
        Ok(Backward {
            inputs: vec![dx],
            params: grads,
            step_grad_norms: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    #[test]
    fn forward_matches_hand_computation() {
        let lin = Linear {
            out_features: 2,
            in_features: Some(3),
            bias: true,
        };
        let x = Tensor::new(&[1, 3], vec![1., 2., 3.]).unwrap();
        let w = Tensor::new(&[2, 3], vec![1., 0., -1., 0.5, 0.5, 0.5]).unwrap();
        let b = Tensor::new(&[2], vec![0.1, -0.1]).unwrap();
        let y = lin.forward(&Ctx::eval(), &[&x], &[&w, &b]).unwrap().output;
        assert_eq!(y.shape(), &[1, 2]);
        assert!((y.data()[0] - (-2.0 + 0.1)).abs() < 1e-6);
        assert!((y.data()[1] - (3.0 - 0.1)).abs() < 1e-6);
    }

    #[test]
    fn gradients() {
        for (bias, shape) in [
            (true, vec![4, 5]),
            (false, vec![4, 5]),
            (true, vec![2, 3, 5]),
        ] {
            let lin = Linear {
                out_features: 3,
                in_features: None,
                bias,
            };
            let x = randn(&shape, 1);
            let params = default_params(&lin, &[&shape], 2);
            check_all_inputs(&lin, &Ctx::train(0), &[x], &params);
        }
    }

    #[test]
    fn shape_errors_name_op_and_shapes() {
        let lin = Linear {
            out_features: 3,
            in_features: Some(4),
            bias: true,
        };
        let err = shape_error(&lin, &[&[8, 5]]);
        assert_mentions(&err, &["Linear", "[8, 5]", "[4]"]);
        let x = Tensor::zeros(&[2, 4]);
        let w = Tensor::zeros(&[3, 5]);
        let b = Tensor::zeros(&[3]);
        let err = forward_error(&lin, &[&x], &[&w, &b]);
        assert_mentions(&err, &["weight", "[3, 4]", "[3, 5]"]);
        assert!(lin.output_shape(&[&[5]]).is_err());
    }
}
