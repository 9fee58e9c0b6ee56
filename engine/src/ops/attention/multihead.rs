//! MultiheadAttention (PyTorch's `nn.MultiheadAttention(batch_first=True)` used as
//! self-attention, `mha(x, x, x)`): per-sample input `[T, D]`, output `[T, D]`.
//!
//! `q|k|v = x·in_proj_weightᵀ + in_proj_bias` (one `Linear` to 3D features), each split into
//! `num_heads` heads of `D / num_heads`; per head `softmax(q·kᵀ/√dh)` (causal: position i
//! sees positions ≤ i), dropout on those weights in training, times `v`; the heads
//! concatenated go through `out_proj`. Parameters, layouts and initialisation are PyTorch's:
//! `in_proj_weight` [3D, D] Xavier-uniform, `in_proj_bias` zeros, `out_proj.weight` [D, D]
//! U(−1/√D, 1/√D), `out_proj.bias` zeros.

use super::kernels::{self, Heads};
use crate::error::{Error, Result};
use crate::ops::dense::Linear;
use crate::ops::regularization::Dropout;
use crate::ops::same_shape_output;
use crate::ops::support::defaults;
use crate::ops::support::dims::check_given_size;
use crate::ops::{
    Backward, BackwardArgs, Ctx, Forward, Init, Layer, ParamSpec, Saved, check_arity,
    check_grad_output, check_params, shapes,
};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiheadAttention {
    /// Features per step D; inferred from the input when absent, checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed_dim: Option<usize>,
    /// Heads; must divide D.
    #[serde(default = "defaults::one")]
    pub num_heads: usize,
    /// Dropout probability on the attention weights, in training.
    #[serde(default)]
    pub dropout: f32,
    /// Whether position i attends only to positions ≤ i (a language model's mask).
    #[serde(default)]
    pub causal: bool,
}

impl Default for MultiheadAttention {
    fn default() -> Self {
        MultiheadAttention {
            embed_dim: None,
            num_heads: 1,
            dropout: 0.0,
            causal: false,
        }
    }
}

const OP: &str = "MultiheadAttention";

impl MultiheadAttention {
    /// The checked sizes of this op on `input`.
    pub(crate) fn heads(&self, input: &[usize]) -> Result<Heads> {
        let &[batch, steps, d] = input else {
            return Err(Error::bad_shape(
                OP,
                input,
                "expected [N, T, embed_dim] (batch first: T steps of embed_dim features)",
            ));
        };
        check_given_size(OP, "embed_dim", self.embed_dim, d, input)?;
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::config(
                OP,
                format!("dropout must be in [0, 1), got {}", self.dropout),
            ));
        }
        if self.num_heads == 0 || d % self.num_heads != 0 {
            return Err(Error::config(
                OP,
                format!(
                    "num_heads {} must be at least 1 and divide embed_dim {d}",
                    self.num_heads
                ),
            ));
        }
        if d == 0 || steps == 0 {
            return Err(Error::bad_shape(
                OP,
                input,
                "needs at least one step of at least one feature",
            ));
        }
        // the largest buffers: the [N·H, T, T] weights and the [N, T, 3D] projections
        let fits = |dims: &[usize]| {
            dims.iter()
                .try_fold(1usize, |a, &v| a.checked_mul(v))
                .is_some_and(|v| v <= isize::MAX as usize / 4)
        };
        if !fits(&[batch.max(1), self.num_heads, steps, steps])
            || !fits(&[batch.max(1), steps, 3, d])
        {
            return Err(Error::bad_shape(
                OP,
                input,
                "too long: the attention weights would have more elements than can be addressed",
            ));
        }
        Ok(Heads {
            batch,
            steps,
            heads: self.num_heads,
            head_dim: d / self.num_heads,
        })
    }

    fn in_proj(d: usize) -> Linear {
        Linear {
            out_features: 3 * d,
            in_features: Some(d),
            bias: true,
        }
    }

    fn out_proj(d: usize) -> Linear {
        Linear {
            out_features: d,
            in_features: Some(d),
            bias: true,
        }
    }

    fn attention_dropout(&self) -> Dropout {
        Dropout { p: self.dropout }
    }
}

/// A forward record holding only a dropout mask (or a `Linear`'s nothing): what those ops'
/// backward reads.
fn mask_record(indices: Vec<u32>) -> Forward {
    Forward::new(
        Tensor::zeros(&[0]),
        Saved {
            tensors: Vec::new(),
            indices,
        },
    )
}

/// The input gradient of a one-input sub-op's backward.
fn input_grad(b: &Backward) -> Result<Tensor> {
    b.inputs
        .first()
        .cloned()
        .flatten()
        .ok_or_else(|| Error::Other(format!("{OP}: a sub-op returned no input gradient")))
}

impl Layer for MultiheadAttention {
    fn uses_seed(&self) -> bool {
        self.dropout > 0.0
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        same_shape_output(OP, self.arity(), inputs, |x| self.heads(x))
    }

    fn params(&self, inputs: &[&[usize]]) -> Result<Vec<ParamSpec>> {
        check_arity(OP, self.arity(), inputs.len())?;
        let h = self.heads(inputs[0])?;
        let d = h.heads * h.head_dim;
        let xavier = Init::XavierUniform { gain: 1.0 };
        Ok(vec![
            ParamSpec::trainable("in_proj_weight", vec![3 * d, d], xavier, (d, 3 * d)),
            ParamSpec::trainable("in_proj_bias", vec![3 * d], Init::Zeros, (d, 3 * d)),
            ParamSpec::trainable("out_proj.weight", vec![d, d], Init::FanInUniform, (d, d)),
            ParamSpec::trainable("out_proj.bias", vec![d], Init::Zeros, (d, d)),
        ])
    }

    fn saved_numel(&self, inputs: &[&[usize]]) -> Option<u128> {
        let h = self.heads(inputs.first()?).ok()?;
        let rows = (h.batch * h.steps) as u128;
        let d = (h.heads * h.head_dim) as u128;
        Some(rows * 4 * d + h.blocks() as u128 * (h.steps as u128).pow(2))
    }

    fn flops(&self, inputs: &[&[usize]], _output: &[usize]) -> u64 {
        let Some(h) = inputs.first().and_then(|s| self.heads(s).ok()) else {
            return 0;
        };
        let (rows, d, t) = (
            (h.batch * h.steps) as u64,
            (h.heads * h.head_dim) as u64,
            h.steps as u64,
        );
        // projections (4·D² per row) and the two attention products (2·T·D per row)
        [2 * rows, 4 * d * d + 2 * t * d]
            .into_iter()
            .fold(1u64, u64::saturating_mul)
    }

    fn forward(&self, ctx: &Ctx, inputs: &[&Tensor], params: &[&Tensor]) -> Result<Forward> {
        let in_shapes = shapes(inputs);
        check_arity(OP, self.arity(), inputs.len())?;
        let h = self.heads(in_shapes[0])?;
        check_params(OP, &self.params(&in_shapes)?, params)?;
        let d = h.heads * h.head_dim;
        let qkv = Self::in_proj(d).forward(ctx, inputs, &params[..2])?.output;
        let qkv = kernels::regroup(qkv.data(), h, 3, true);
        let probs = kernels::probabilities(&qkv, h, self.causal);
        let probs = Tensor::new(&[h.blocks(), h.steps, h.steps], probs)?;
        let dropped = self.attention_dropout().forward(ctx, &[&probs], &[])?;
        let heads_out = kernels::weighted(dropped.output.data(), &qkv, h);
        let merged = kernels::regroup(&heads_out, h, 1, false);
        let merged = Tensor::new(&[h.batch, h.steps, d], merged)?;
        let out = Self::out_proj(d)
            .forward(ctx, &[&merged], &params[2..])?
            .output;
        let saved = Saved {
            tensors: vec![Tensor::new(&[qkv.len()], qkv)?, probs, merged],
            indices: dropped.saved.indices,
        };
        Ok(Forward::new(out, saved))
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        let in_shapes = shapes(args.inputs);
        check_arity(OP, self.arity(), args.inputs.len())?;
        let h = self.heads(in_shapes[0])?;
        check_params(OP, &self.params(&in_shapes)?, args.params)?;
        check_grad_output(OP, args.grad_output, in_shapes[0])?;
        let d = h.heads * h.head_dim;
        let saved = &args.forward.saved;
        let (qkv, probs, merged) = (
            saved.tensor(OP, 0)?,
            saved.tensor(OP, 1)?,
            saved.tensor(OP, 2)?,
        );
        let all = Ctx {
            input_grads: u64::MAX,
            ..*args.ctx
        };
        let none = Forward::output(Tensor::zeros(&[0]));
        let out_b = Self::out_proj(d).backward(
            &all,
            &[merged],
            &args.params[2..],
            &none,
            args.grad_output,
        )?;
        let d_heads = kernels::regroup(input_grad(&out_b)?.data(), h, 1, true);
        // the dropped-out weights forward multiplied v by: the mask applied to the weights
        let drop = self.attention_dropout();
        let mask = mask_record(saved.indices.clone());
        let dropped = input_grad(&drop.backward(&all, &[probs], &[], &mask, probs)?)?;
        let mut d_qkv = vec![0.0; qkv.numel()];
        let d_dropped =
            kernels::backward_values(dropped.data(), qkv.data(), &d_heads, &mut d_qkv, h);
        let d_dropped = Tensor::new(probs.shape(), d_dropped)?;
        let d_probs = input_grad(&drop.backward(&all, &[probs], &[], &mask, &d_dropped)?)?;
        let mut d_probs = d_probs.into_vec();
        kernels::backward_scores(probs.data(), &mut d_probs, qkv.data(), &mut d_qkv, h);
        let d_qkv = kernels::regroup(&d_qkv, h, 3, false);
        let d_qkv = Tensor::new(&[h.batch, h.steps, 3 * d], d_qkv)?;
        let in_b =
            Self::in_proj(d).backward(args.ctx, args.inputs, &args.params[..2], &none, &d_qkv)?;
        Ok(Backward {
            inputs: in_b.inputs,
            params: in_b.params.into_iter().chain(out_b.params).collect(),
            step_grad_norms: None,
        })
    }
}
