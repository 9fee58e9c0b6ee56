//! Recurrent layers (`LSTM`, `GRU`, `RNN`), batch first: per-sample input `[T, F]`, output
//! `[T, H·dirs]` (every step's hidden state; take one step with `Select`). PyTorch's config
//! names, parameter names (`weight_ih_l0`, `bias_hh_l1_reverse`, …), gate order and default
//! initialisation U(−1/√H, 1/√H), so a PyTorch `state_dict` loads as is.
//!
//! The three share everything but the gate maths: each implements [`Recurrent`] (its
//! config) and [`Cell`] (its gates); [`RecurrentFamily`] stacks the layers and directions,
//! applies dropout between layers and runs [`bptt`]'s recurrence.

mod blocks;
pub mod bptt;
pub mod gru;
pub mod lstm;
pub mod names;
mod phased;
pub mod rnn;

pub use bptt::Cell;
pub use gru::Gru;
pub use lstm::Lstm;
pub use rnn::{Nonlinearity, Rnn};

use crate::error::{Error, Result};
use crate::ops::regularization::Dropout;
use crate::ops::{
    Backward, BackwardArgs, Ctx, FamilyLayer, Forward, Init, Layer, ParamSpec, Saved, check_arity,
    check_grad_output, check_params, shapes,
};
use crate::tensor::{Rng, Tensor};
use bptt::{Dims, Trace, Weights, run_backward, run_forward};

crate::family!(RecurrentFamily: Lstm, Gru, Rnn);

/// The settings every recurrent op has (PyTorch's names).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    pub input_size: Option<usize>,
    pub hidden_size: usize,
    pub num_layers: usize,
    pub bias: bool,
    pub bidirectional: bool,
    pub dropout: f32,
}

/// Defines a recurrent op's config struct with the fields every recurrent op has (PyTorch's
/// names, order and defaults; `$extra` fields after `num_layers`, as in `nn.RNN`), its
/// `Default` (hidden_size 64 as a palette placeholder) and its [`Recurrent`] impl.
macro_rules! recurrent_op {
    (
        $(#[$doc:meta])* $name:ident = $op:literal, $cell:ty,
        { $($(#[$fdoc:meta])* $field:ident: $fty:ty = $fdefault:expr,)* },
        |$me:pat_param| $make_cell:expr
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Features per step; inferred from the input when absent, checked when given.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub input_size: Option<usize>,
            pub hidden_size: usize,
            #[serde(default = "crate::ops::support::defaults::one")]
            pub num_layers: usize,
            $($(#[$fdoc])* #[serde(default)] pub $field: $fty,)*
            #[serde(default = "crate::ops::support::defaults::yes")]
            pub bias: bool,
            /// Dropout probability on every layer's output but the last, in training.
            #[serde(default)]
            pub dropout: f32,
            #[serde(default)]
            pub bidirectional: bool,
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    input_size: None,
                    hidden_size: 64,
                    num_layers: 1,
                    $($field: $fdefault,)*
                    bias: true,
                    dropout: 0.0,
                    bidirectional: false,
                }
            }
        }

        impl $crate::ops::recurrent::Recurrent for $name {
            const OP: &'static str = $op;
            type Cell = $cell;

            fn settings(&self) -> $crate::ops::recurrent::Settings {
                $crate::ops::recurrent::Settings {
                    input_size: self.input_size,
                    hidden_size: self.hidden_size,
                    num_layers: self.num_layers,
                    bias: self.bias,
                    bidirectional: self.bidirectional,
                    dropout: self.dropout,
                }
            }

            fn cell(&self) -> $cell {
                let $me = self;
                $make_cell
            }
        }
    };
}
pub(crate) use recurrent_op;

/// A recurrent op: its name, settings and cell.
pub trait Recurrent {
    const OP: &'static str;
    type Cell: Cell;
    fn settings(&self) -> Settings;
    fn cell(&self) -> Self::Cell;
}

/// Checked sizes of one recurrent op on one input shape.
#[derive(Clone, Copy, Debug)]
struct Plan {
    settings: Settings,
    batch: usize,
    steps: usize,
    features: usize,
    dirs: usize,
}

impl Plan {
    fn new<R: Recurrent>(op: &R, input: &[usize]) -> Result<Plan> {
        let s = op.settings();
        let cfg = |why: String| Error::config(R::OP, why);
        if s.hidden_size == 0 {
            return Err(cfg("hidden_size must be at least 1".into()));
        }
        if s.num_layers == 0 {
            return Err(cfg("num_layers must be at least 1".into()));
        }
        if s.num_layers > names::MAX_LAYERS {
            return Err(cfg(format!(
                "num_layers {} is too large (at most {})",
                s.num_layers,
                names::MAX_LAYERS
            )));
        }
        if !(0.0..1.0).contains(&s.dropout) {
            return Err(cfg(format!("dropout must be in [0, 1), got {}", s.dropout)));
        }
        let &[batch, steps, features] = input else {
            return Err(Error::bad_shape(
                R::OP,
                input,
                "expected [N, T, input_size] (batch first: T steps of input_size features)",
            ));
        };
        if let Some(want) = s.input_size
            && want != features
        {
            return Err(Error::shape_mismatch(
                R::OP,
                format!("input_size is {want} but the input's last dimension is {features}"),
                &[want],
                input,
            ));
        }
        if features == 0 || steps == 0 {
            return Err(Error::bad_shape(
                R::OP,
                input,
                "needs at least one step of at least one feature",
            ));
        }
        let dirs = 1 + s.bidirectional as usize;
        let plan = Plan {
            settings: s,
            batch,
            steps,
            features,
            dirs,
        };
        // every buffer the op allocates must be addressable: the largest is the saved
        // cache or a gate projection, at most (gates + cache) · H · max(F, H·dirs) · N · T
        let gates = <R::Cell as Cell>::GATES + <R::Cell as Cell>::cache_width(1);
        let widest = features.max(dirs.saturating_mul(s.hidden_size));
        [
            gates,
            s.hidden_size,
            widest,
            batch.max(1),
            steps,
            s.num_layers,
            dirs,
        ]
        .iter()
        .try_fold(1usize, |acc, &v| acc.checked_mul(v))
        .filter(|&v| v <= isize::MAX as usize / 4)
        .ok_or_else(|| {
            cfg(format!(
                "hidden_size {} is too large for input {:?}: the layer's buffers would \
                     have more elements than can be addressed",
                s.hidden_size, input
            ))
        })?;
        Ok(plan)
    }

    fn out_features(&self) -> usize {
        self.dirs * self.settings.hidden_size
    }

    /// Input features of layer `l`.
    fn layer_input(&self, l: usize) -> usize {
        if l == 0 {
            self.features
        } else {
            self.out_features()
        }
    }

    fn per_direction(&self) -> usize {
        2 + 2 * self.settings.bias as usize
    }

    fn dims(&self, l: usize) -> Dims {
        Dims {
            steps: self.steps,
            batch: self.batch,
            input: self.layer_input(l),
            hidden: self.settings.hidden_size,
            dirs: self.dirs,
        }
    }

    /// Whether dropout runs on layer `l`'s output (every layer but the last, in training).
    fn drops_after(&self, ctx: &Ctx, l: usize) -> bool {
        ctx.training && self.settings.dropout > 0.0 && l + 1 < self.settings.num_layers
    }

    /// The dropout context of the boundary after layer `l`: its own seed per layer.
    fn dropout_ctx(ctx: &Ctx, l: usize) -> Ctx {
        Ctx {
            seed: Rng::derived(ctx.seed, 0x5EC_0000 + l as u64).next_u64(),
            ..*ctx
        }
    }
}

/// The weights of direction `dir` of layer `l` among `params` (state_dict order).
fn weights<'a>(plan: &Plan, params: &'a [&'a Tensor], l: usize, dir: usize) -> Weights<'a> {
    let base = (l * plan.dirs + dir) * plan.per_direction();
    let bias = |k: usize| plan.settings.bias.then(|| params[base + k].data());
    Weights {
        w_ih: params[base].data(),
        w_hh: params[base + 1].data(),
        b_ih: bias(2),
        b_hh: bias(3),
    }
}

/// `[A, B, C]` → `[B, A, C]`: batch-first to time-major and back.
fn swap_leading(data: &[f32], a: usize, b: usize, c: usize) -> Vec<f32> {
    let mut out = vec![0.0; data.len()];
    for i in 0..a {
        for j in 0..b {
            out[(j * a + i) * c..][..c].copy_from_slice(&data[(i * b + j) * c..][..c]);
        }
    }
    out
}

/// Per row of `[T, N]` squared norms, the mean over the `n` samples of the norm.
fn batch_mean_norms(sq: &[f32], n: usize) -> Vec<f32> {
    sq.chunks(n.max(1))
        .map(|row| row.iter().map(|v| v.sqrt()).sum::<f32>() / n.max(1) as f32)
        .collect()
}

/// The [`FamilyLayer`] of every [`Recurrent`] op.
pub struct RecurrentFamily;

impl<R: Recurrent> FamilyLayer<R> for RecurrentFamily {
    fn uses_seed(op: &R) -> bool {
        let s = op.settings();
        s.dropout > 0.0 && s.num_layers > 1
    }

    fn output_shape(op: &R, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(R::OP, Self::arity(op), inputs.len())?;
        let plan = Plan::new(op, inputs[0])?;
        Ok(vec![plan.batch, plan.steps, plan.out_features()])
    }

    fn params(op: &R, inputs: &[&[usize]]) -> Result<Vec<ParamSpec>> {
        check_arity(R::OP, Self::arity(op), inputs.len())?;
        let plan = Plan::new(op, inputs[0])?;
        let h = plan.settings.hidden_size;
        let gh = <R::Cell as Cell>::GATES * h;
        // PyTorch: every weight and bias U(−1/√H, 1/√H), i.e. fan-in uniform with fan H
        let fans = (h, gh);
        let mut specs = Vec::new();
        for l in 0..plan.settings.num_layers {
            for dir in 0..plan.dirs {
                let [w_ih, w_hh, b_ih, b_hh] = names::of(l, dir == 1)
                    .ok_or_else(|| Error::config(R::OP, "num_layers is too large"))?;
                let spec =
                    |name, shape| ParamSpec::trainable(name, shape, Init::FanInUniform, fans);
                specs.push(spec(w_ih, vec![gh, plan.layer_input(l)]));
                specs.push(spec(w_hh, vec![gh, h]));
                if plan.settings.bias {
                    specs.push(spec(b_ih, vec![gh]));
                    specs.push(spec(b_hh, vec![gh]));
                }
            }
        }
        Ok(specs)
    }

    fn saved_numel(op: &R, inputs: &[&[usize]]) -> Option<u128> {
        let plan = Plan::new(op, inputs.first()?).ok()?;
        let (n, t, h) = (
            plan.batch as u128,
            plan.steps as u128,
            plan.settings.hidden_size,
        );
        let per_dir = (t + 1) * h as u128 + t * <R::Cell as Cell>::cache_width(h) as u128;
        let layers = plan.settings.num_layers as u128;
        let inputs_kept = plan.features as u128 + (layers - 1) * plan.out_features() as u128;
        Some(n * (t * inputs_kept + layers * plan.dirs as u128 * per_dir))
    }

    fn flops(op: &R, inputs: &[&[usize]], _output: &[usize]) -> u64 {
        let Some(plan) = inputs.first().and_then(|s| Plan::new(op, s).ok()) else {
            return 0;
        };
        let h = plan.settings.hidden_size as u64;
        let gh = <R::Cell as Cell>::GATES as u64 * h;
        let rows = (plan.batch * plan.steps) as u64;
        // saturating: an absurd but addressable layer gives a huge count, not an overflow
        (0..plan.settings.num_layers)
            .map(|l| {
                [
                    2,
                    rows,
                    gh,
                    plan.layer_input(l) as u64 + h,
                    plan.dirs as u64,
                ]
                .into_iter()
                .fold(1u64, u64::saturating_mul)
            })
            .fold(0, u64::saturating_add)
    }

    fn forward(op: &R, ctx: &Ctx, inputs: &[&Tensor], params: &[&Tensor]) -> Result<Forward> {
        let in_shapes = shapes(inputs);
        check_arity(R::OP, Self::arity(op), inputs.len())?;
        let plan = Plan::new(op, in_shapes[0])?;
        check_params(R::OP, &Self::params(op, &in_shapes)?, params)?;
        let cell = op.cell();
        let (n, t, out_f) = (plan.batch, plan.steps, plan.out_features());
        let mut layer_in = swap_leading(inputs[0].data(), n, t, plan.features);
        let mut saved = Saved::none();
        for l in 0..plan.settings.num_layers {
            let d = plan.dims(l);
            let mut y = vec![0.0; t * n * out_f];
            let mut traces = Vec::with_capacity(plan.dirs);
            for dir in 0..plan.dirs {
                let w = weights(&plan, params, l, dir);
                traces.push(run_forward(&cell, d, &layer_in, w, dir, &mut y));
            }
            saved.tensors.push(Tensor::new(&[t, n, d.input], layer_in)?);
            for tr in traces {
                saved.tensors.push(Tensor::new(&[tr.hs.len()], tr.hs)?);
                saved
                    .tensors
                    .push(Tensor::new(&[tr.cache.len()], tr.cache)?);
            }
            layer_in = if plan.drops_after(ctx, l) {
                let drop = Dropout {
                    p: plan.settings.dropout,
                };
                let x = Tensor::new(&[t, n, out_f], y)?;
                let f = drop.forward(&Plan::dropout_ctx(ctx, l), &[&x], &[])?;
                saved.indices.extend_from_slice(&f.saved.indices);
                f.output.into_vec()
            } else {
                y
            };
        }
        let out = swap_leading(&layer_in, t, n, out_f);
        Ok(Forward::new(Tensor::new(&[n, t, out_f], out)?, saved))
    }

    fn backward(op: &R, args: BackwardArgs<'_>) -> Result<Backward> {
        let in_shapes = shapes(args.inputs);
        check_arity(R::OP, Self::arity(op), args.inputs.len())?;
        let plan = Plan::new(op, in_shapes[0])?;
        check_params(R::OP, &Self::params(op, &in_shapes)?, args.params)?;
        let (n, t, out_f) = (plan.batch, plan.steps, plan.out_features());
        check_grad_output(R::OP, args.grad_output, &[n, t, out_f])?;
        let cell = op.cell();
        let saved = &args.forward.saved;
        let per_layer = 1 + 2 * plan.dirs;
        let mask_words = (t * n * out_f).div_ceil(32);
        let mut grads: Vec<Option<Tensor>> = vec![None; args.params.len()];
        let mut dy = swap_leading(args.grad_output.data(), n, t, out_f);
        let mut step_grad_norms = None;
        for l in (0..plan.settings.num_layers).rev() {
            if plan.drops_after(args.ctx, l) {
                let mask = saved.indices.get(l * mask_words..(l + 1) * mask_words);
                let fwd = Forward::new(
                    Tensor::zeros(&[0]),
                    Saved {
                        tensors: Vec::new(),
                        indices: mask.map(<[u32]>::to_vec).unwrap_or_default(),
                    },
                );
                let g = Tensor::new(&[t, n, out_f], dy)?;
                let ctx = Plan::dropout_ctx(args.ctx, l);
                let drop = Dropout {
                    p: plan.settings.dropout,
                };
                let b = drop.backward(&ctx, &[&g], &[], &fwd, &g)?;
                dy = b
                    .inputs
                    .into_iter()
                    .flatten()
                    .next()
                    .map_or_else(Vec::new, Tensor::into_vec);
            }
            let d = plan.dims(l);
            let x = saved.tensor(R::OP, l * per_layer)?;
            let wants_dx = l > 0 || args.ctx.wants_input_grad(0);
            let mut dx = wants_dx.then(|| vec![0.0; t * n * d.input]);
            // the top layer's h_t is the output: its per-step gradient norms, if asked
            let top = l + 1 == plan.settings.num_layers;
            let mut step_sq = (top && args.ctx.stats).then(|| vec![0.0; t * n]);
            for dir in 0..plan.dirs {
                let trace = Trace {
                    hs: saved.tensor(R::OP, l * per_layer + 1 + 2 * dir)?.data(),
                    cache: saved.tensor(R::OP, l * per_layer + 2 + 2 * dir)?.data(),
                };
                let w = weights(&plan, args.params, l, dir);
                let g = run_backward(
                    &cell,
                    d,
                    x.data(),
                    w,
                    dir,
                    trace,
                    &dy,
                    dx.as_deref_mut(),
                    step_sq.as_deref_mut(),
                );
                let base = (l * plan.dirs + dir) * plan.per_direction();
                let h = plan.settings.hidden_size;
                let gh = <R::Cell as Cell>::GATES * h;
                grads[base] = Some(Tensor::new(&[gh, d.input], g.w_ih)?);
                grads[base + 1] = Some(Tensor::new(&[gh, h], g.w_hh)?);
                if plan.settings.bias {
                    grads[base + 2] = Some(Tensor::new(&[gh], g.b_ih)?);
                    grads[base + 3] = Some(Tensor::new(&[gh], g.b_hh)?);
                }
            }
            if let Some(sq) = step_sq {
                step_grad_norms = Some(batch_mean_norms(&sq, n));
            }
            dy = dx.unwrap_or_default();
        }
        let dx = if args.ctx.wants_input_grad(0) {
            Some(Tensor::new(
                args.inputs[0].shape(),
                swap_leading(&dy, t, n, plan.features),
            )?)
        } else {
            None
        };
        Ok(Backward {
            inputs: vec![dx],
            params: grads,
            step_grad_norms,
        })
    }
}

#[cfg(test)]
mod tests;
