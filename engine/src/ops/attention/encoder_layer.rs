//! TransformerEncoderLayer (PyTorch's `nn.TransformerEncoderLayer(batch_first=True)`):
//! self-attention then a feed-forward block, each with a residual connection and a
//! LayerNorm, per-sample `[T, d_model]` in and out.
//!
//! Post-norm (`norm_first: false`, PyTorch's default):
//! `x = norm1(x + drop(attn(x)))`, `x = norm2(x + drop(linear2(drop(act(linear1(x))))))`;
//! pre-norm: `x = x + drop(attn(norm1(x)))`, `x = x + drop(linear2(drop(act(linear1(norm2(x))))))`.
//! Built from the ops it names ([`chain`] runs them), with PyTorch's parameter
//! names (`self_attn.in_proj_weight`, …, `norm2.bias`) in its state_dict order.

use super::MultiheadAttention;
use super::chain::{self, Record, Stage};
use crate::error::{Error, Result};
use crate::ops::activation::{Gelu, Relu};
use crate::ops::dense::Linear;
use crate::ops::norm::LayerNorm;
use crate::ops::regularization::Dropout;
use crate::ops::same_shape_output;
use crate::ops::support::defaults;
use crate::ops::support::dims::check_given_size;
use crate::ops::{
    Backward, BackwardArgs, Ctx, Forward, Layer, ParamSpec, check_arity, check_grad_output,
    check_params, shapes,
};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// The feed-forward block's activation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedForwardActivation {
    #[default]
    Relu,
    Gelu,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformerEncoderLayer {
    /// Features per step; inferred from the input when absent, checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d_model: Option<usize>,
    /// Attention heads; must divide d_model.
    #[serde(default = "defaults::one")]
    pub nhead: usize,
    #[serde(default = "default_feedforward")]
    pub dim_feedforward: usize,
    /// Dropout probability after attention, inside and after the feed-forward block.
    #[serde(default = "default_dropout")]
    pub dropout: f32,
    #[serde(default)]
    pub activation: FeedForwardActivation,
    #[serde(default = "defaults::eps")]
    pub layer_norm_eps: f32,
    /// LayerNorm before each block (pre-norm) instead of after the residual sum.
    #[serde(default)]
    pub norm_first: bool,
    /// Causal self-attention: position i attends only to positions ≤ i.
    #[serde(default)]
    pub causal: bool,
}

fn default_feedforward() -> usize {
    2048
}

fn default_dropout() -> f32 {
    0.1
}

impl Default for TransformerEncoderLayer {
    fn default() -> Self {
        TransformerEncoderLayer {
            d_model: None,
            nhead: 1,
            dim_feedforward: default_feedforward(),
            dropout: default_dropout(),
            activation: FeedForwardActivation::Relu,
            layer_norm_eps: defaults::eps(),
            norm_first: false,
            causal: false,
        }
    }
}

const OP: &str = "TransformerEncoderLayer";

/// PyTorch's names, in its state_dict order; the sub-ops' parameters are these ranges.
const NAMES: [&str; 12] = [
    "self_attn.in_proj_weight",
    "self_attn.in_proj_bias",
    "self_attn.out_proj.weight",
    "self_attn.out_proj.bias",
    "linear1.weight",
    "linear1.bias",
    "linear2.weight",
    "linear2.bias",
    "norm1.weight",
    "norm1.bias",
    "norm2.weight",
    "norm2.bias",
];

/// The sub-ops of one layer at one width.
struct Parts {
    attn: MultiheadAttention,
    linear1: Linear,
    linear2: Linear,
    norm: LayerNorm,
    drop: Dropout,
    relu: Relu,
    gelu: Gelu,
}

impl TransformerEncoderLayer {
    fn parts(&self, input: &[usize]) -> Result<Parts> {
        let d = *input.last().unwrap_or(&0);
        check_given_size(OP, "d_model", self.d_model, d, input)?;
        if self.dim_feedforward == 0 {
            return Err(Error::config(OP, "dim_feedforward must be at least 1"));
        }
        let attn = MultiheadAttention {
            embed_dim: Some(d),
            num_heads: self.nhead,
            dropout: self.dropout,
            causal: self.causal,
        };
        // the attention op checks the shape, nhead and dropout; its errors name this op
        attn.heads(input)
            .map_err(|e| Error::config(OP, e.to_string().replace("num_heads", "nhead")))?;
        let linear = |out, inp| Linear {
            out_features: out,
            in_features: Some(inp),
            bias: true,
        };
        Ok(Parts {
            attn,
            linear1: linear(self.dim_feedforward, d),
            linear2: linear(d, self.dim_feedforward),
            norm: LayerNorm {
                normalized_shape: None,
                eps: self.layer_norm_eps,
                elementwise_affine: true,
            },
            drop: Dropout { p: self.dropout },
            relu: Relu {},
            gelu: Gelu::default(),
        })
    }
}

/// A stage of this layer: `op` with the parameters `params` and seed stream `site`.
fn stage(op: &dyn Layer, params: Range<usize>, site: u64) -> Stage<'_> {
    Stage { op, params, site }
}

impl Parts {
    fn activation(&self, a: FeedForwardActivation) -> &dyn Layer {
        match a {
            FeedForwardActivation::Relu => &self.relu,
            FeedForwardActivation::Gelu => &self.gelu,
        }
    }

    /// The two blocks as (LayerNorm stage, body stages): attention, then feed-forward.
    fn blocks(&self, act: FeedForwardActivation) -> [(Stage<'_>, Vec<Stage<'_>>); 2] {
        [
            (
                stage(&self.norm, 8..10, 1),
                vec![stage(&self.attn, 0..4, 2), stage(&self.drop, 0..0, 3)],
            ),
            (
                stage(&self.norm, 10..12, 4),
                vec![
                    stage(&self.linear1, 4..6, 5),
                    stage(self.activation(act), 0..0, 6),
                    stage(&self.drop, 0..0, 7),
                    stage(&self.linear2, 6..8, 8),
                    stage(&self.drop, 0..0, 9),
                ],
            ),
        ]
    }
}

impl Layer for TransformerEncoderLayer {
    fn uses_seed(&self) -> bool {
        self.dropout > 0.0
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        same_shape_output(OP, self.arity(), inputs, |x| self.parts(x))
    }

    fn params(&self, inputs: &[&[usize]]) -> Result<Vec<ParamSpec>> {
        check_arity(OP, self.arity(), inputs.len())?;
        let p = self.parts(inputs[0])?;
        let x = inputs[0];
        let hidden = [x[0], x[1], self.dim_feedforward];
        let specs = [
            p.attn.params(&[x])?,
            p.linear1.params(&[x])?,
            p.linear2.params(&[&hidden])?,
            p.norm.params(&[x])?,
            p.norm.params(&[x])?,
        ];
        Ok(specs
            .into_iter()
            .flatten()
            .zip(NAMES)
            .map(|(s, name)| ParamSpec { name, ..s })
            .collect())
    }

    fn saved_numel(&self, inputs: &[&[usize]]) -> Option<u128> {
        let x = *inputs.first()?;
        let p = self.parts(x).ok()?;
        let rows = (x[0] * x[1]) as u128;
        let d = *x.last()? as u128;
        Some(p.attn.saved_numel(inputs)? + rows * (6 * d + 3 * self.dim_feedforward as u128))
    }

    fn flops(&self, inputs: &[&[usize]], output: &[usize]) -> u64 {
        let Some(p) = inputs.first().and_then(|x| self.parts(x).ok()) else {
            return 0;
        };
        let rows = output.iter().rev().skip(1).product::<usize>() as u64;
        let d = output.last().copied().unwrap_or(0) as u64;
        p.attn
            .flops(inputs, output)
            .saturating_add(4 * rows * d * self.dim_feedforward as u64)
    }

    fn forward(&self, ctx: &Ctx, inputs: &[&Tensor], params: &[&Tensor]) -> Result<Forward> {
        let in_shapes = shapes(inputs);
        check_arity(OP, self.arity(), inputs.len())?;
        let parts = self.parts(in_shapes[0])?;
        check_params(OP, &self.params(&in_shapes)?, params)?;
        let mut records: Vec<Record> = Vec::new();
        let mut z = inputs[0].clone();
        for (norm, body) in parts.blocks(self.activation) {
            z = if self.norm_first {
                let mut stages = vec![norm];
                stages.extend(body);
                let y = chain::forward(&stages, ctx, z.clone(), params, &mut records)?;
                z.add(&y)?
            } else {
                let y = chain::forward(&body, ctx, z.clone(), params, &mut records)?;
                chain::forward(&[norm], ctx, z.add(&y)?, params, &mut records)?
            };
        }
        Ok(Forward::new(z, chain::pack(records)))
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        let in_shapes = shapes(args.inputs);
        check_arity(OP, self.arity(), args.inputs.len())?;
        let parts = self.parts(in_shapes[0])?;
        check_params(OP, &self.params(&in_shapes)?, args.params)?;
        check_grad_output(OP, args.grad_output, in_shapes[0])?;
        let mut records = chain::unpack(&args.forward.saved)?;
        let mut grads = vec![None; args.params.len()];
        let (ctx, params) = (args.ctx, args.params);
        let mut g = args.grad_output.clone();
        for (norm, body) in parts.blocks(self.activation).into_iter().rev() {
            g = if self.norm_first {
                let mut stages = vec![norm];
                stages.extend(body);
                let through =
                    chain::backward(&stages, ctx, &mut records, params, &mut grads, g.clone())?;
                g.add(&through)?
            } else {
                let g_sum = chain::backward(&[norm], ctx, &mut records, params, &mut grads, g)?;
                let through =
                    chain::backward(&body, ctx, &mut records, params, &mut grads, g_sum.clone())?;
                g_sum.add(&through)?
            };
        }
        Ok(Backward {
            inputs: vec![Some(g)],
            params: grads,
            step_grad_norms: None,
        })
    }
}
