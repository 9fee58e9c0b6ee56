//! PositionalEmbedding: a learned vector per position added to a sequence, `[T, D]` in and
//! out; `weight [max_len, D]` (or `[T, D]` when `max_len` is absent) initialised N(0, 1)
//! like PyTorch's `nn.Embedding`, so `x + pos(arange(T))` of a PyTorch model loads as is.

use crate::error::{Error, Result};
use crate::ops::same_shape_output;
use crate::ops::{
    Backward, BackwardArgs, Ctx, Forward, Init, Layer, ParamSpec, Saved, check_arity,
    check_grad_output, check_params, shapes,
};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionalEmbedding {
    /// Positions the weight holds (sequences may be shorter); the input's length when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<usize>,
}

const OP: &str = "PositionalEmbedding";

impl PositionalEmbedding {
    /// (steps, features, positions held) for this input.
    fn sizes(&self, input: &[usize]) -> Result<(usize, usize, usize)> {
        let &[_, t, d] = input else {
            return Err(Error::bad_shape(
                OP,
                input,
                "expected [N, T, D] (batch first: T steps of D features)",
            ));
        };
        let len = self.max_len.unwrap_or(t);
        if t > len {
            return Err(Error::shape_mismatch(
                OP,
                format!("max_len is {len} but the input has {t} steps (dim 1)"),
                &[len],
                input,
            ));
        }
        if len == 0 || d == 0 {
            return Err(Error::bad_shape(
                OP,
                input,
                "needs at least one step and feature",
            ));
        }
        if len
            .checked_mul(d)
            .is_none_or(|v| v > isize::MAX as usize / 4)
        {
            return Err(Error::config(OP, format!("max_len {len} is too large")));
        }
        Ok((t, d, len))
    }
}

impl Layer for PositionalEmbedding {
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        same_shape_output(OP, self.arity(), inputs, |x| self.sizes(x))
    }

    fn params(&self, inputs: &[&[usize]]) -> Result<Vec<ParamSpec>> {
        check_arity(OP, self.arity(), inputs.len())?;
        let (_, d, len) = self.sizes(inputs[0])?;
        let normal = Init::Normal {
            mean: 0.0,
            std: 1.0,
        };
        Ok(vec![ParamSpec::trainable(
            "weight",
            vec![len, d],
            normal,
            (d, len),
        )])
    }

    fn saved_numel(&self, _inputs: &[&[usize]]) -> Option<u128> {
        Some(0)
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], params: &[&Tensor]) -> Result<Forward> {
        let in_shapes = shapes(inputs);
        check_arity(OP, self.arity(), inputs.len())?;
        let (t, d, _) = self.sizes(in_shapes[0])?;
        check_params(OP, &self.params(&in_shapes)?, params)?;
        let w = &params[0].data()[..t * d];
        let mut y = inputs[0].data().to_vec();
        for sample in y.chunks_exact_mut(t * d) {
            sample.iter_mut().zip(w).for_each(|(v, &p)| *v += p);
        }
        Ok(Forward::new(
            Tensor::new(inputs[0].shape(), y)?,
            Saved::none(),
        ))
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        let in_shapes = shapes(args.inputs);
        check_arity(OP, self.arity(), args.inputs.len())?;
        let (t, d, len) = self.sizes(in_shapes[0])?;
        check_grad_output(OP, args.grad_output, in_shapes[0])?;
        let mut dw = vec![0.0; len * d];
        for sample in args.grad_output.data().chunks_exact(t * d) {
            dw.iter_mut().zip(sample).for_each(|(w, &g)| *w += g);
        }
        Ok(Backward {
            inputs: vec![Some(args.grad_output.clone())],
            params: vec![Some(Tensor::new(&[len, d], dw)?)],
            step_grad_norms: None,
        })
    }
}
