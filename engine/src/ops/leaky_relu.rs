//! LeakyReLU: `x` for `x > 0`, else `negative_slope·x`. Backward uses the input's sign
//! (the output's sign would do only for a positive slope).

use super::{Backward, Ctx, Forward, Layer, check_arity};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeakyRelu {
    /// Slope for negative inputs (PyTorch default 0.01).
    #[serde(default = "default_slope")]
    pub negative_slope: f32,
}

fn default_slope() -> f32 {
    0.01
}

impl Default for LeakyRelu {
    fn default() -> Self {
        LeakyRelu {
            negative_slope: default_slope(),
        }
    }
}

const OP: &str = "LeakyReLU";

impl Layer for LeakyRelu {
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        if !self.negative_slope.is_finite() {
            return Err(Error::config(OP, "negative_slope must be finite"));
        }
        Ok(inputs[0].to_vec())
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        let shapes: Vec<&[usize]> = inputs.iter().map(|t| t.shape()).collect();
        self.output_shape(&shapes)?;
        let s = self.negative_slope;
        Ok(Forward::output(
            inputs[0].map(move |x| if x > 0.0 { x } else { x * s }),
        ))
    }

    fn backward(
        &self,
        _ctx: &Ctx,
        inputs: &[&Tensor],
        _params: &[&Tensor],
        _forward: &Forward,
        grad_output: &Tensor,
    ) -> Result<Backward> {
        check_arity(OP, self.arity(), inputs.len())?;
        let s = self.negative_slope;
        let dx = grad_output.zip_map(inputs[0], OP, move |g, x| if x > 0.0 { g } else { g * s })?;
        Ok(Backward {
            inputs: vec![Some(dx)],
            params: vec![],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{GradCheck, randn_away_from_zero};
    use serde::de::value::{Error as DeError, MapDeserializer};

    #[test]
    fn forward_values() {
        let x = Tensor::new(&[4], vec![-1., 0., 2., -0.5]).unwrap();
        let y = LeakyRelu::default()
            .forward(&Ctx::eval(), &[&x], &[])
            .unwrap()
            .output;
        assert_eq!(y.data(), &[-0.01, 0., 2., -0.005]);
        let y = LeakyRelu {
            negative_slope: -0.5,
        }
        .forward(&Ctx::eval(), &[&x], &[])
        .unwrap()
        .output;
        assert_eq!(y.data(), &[0.5, 0., 2., 0.25]);
    }

    #[test]
    fn gradients() {
        for slope in [0.01, 0.2, -0.5, 0.0] {
            let x = randn_away_from_zero(&[3, 7], 4, 0.05);
            GradCheck::default()
                .check(
                    &LeakyRelu {
                        negative_slope: slope,
                    },
                    &Ctx::train(0),
                    &[x],
                    &[],
                    &[true],
                )
                .unwrap();
        }
    }

    #[test]
    fn errors_name_op_and_shapes() {
        let l = LeakyRelu::default();
        assert!(l.output_shape(&[]).is_err());
        let x = Tensor::zeros(&[2, 3]);
        let g = Tensor::zeros(&[3, 2]);
        let fwd = l.forward(&Ctx::train(0), &[&x], &[]).unwrap();
        let err = l
            .backward(&Ctx::train(0), &[&x], &[], &fwd, &g)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("LeakyReLU") && err.contains("[2, 3]") && err.contains("[3, 2]"),
            "{err}"
        );
        let empty = MapDeserializer::<_, DeError>::new(std::iter::empty::<(&str, &str)>());
        assert_eq!(LeakyRelu::deserialize(empty).unwrap(), l);
    }
}
