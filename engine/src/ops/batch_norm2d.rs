//! BatchNorm2d over `[N, C, H, W]`, and the batch-norm core shared with BatchNorm1d.
//!
//! Both ops view their input as `(outer N, channels C, inner L)` (L = H·W here, L = 1 or
//! the sequence length for BatchNorm1d) and normalise each channel over all N·L values.
//! Forward keeps only the per-channel mean and 1/σ; backward recomputes x̂ from the input
//! (which the runtime keeps anyway) instead of storing a second activation-sized tensor.

use super::{Backward, Ctx, Forward, Init, Layer, ParamSpec, Saved, check_arity, check_params};
use crate::error::{Error, Result};
use crate::tensor::{PARALLEL_MIN_ELEMS, Tensor};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNorm2d {
    /// Channel count C; inferred from the input when absent, checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_features: Option<usize>,
    #[serde(default = "default_eps")]
    pub eps: f32,
    #[serde(default = "default_momentum")]
    pub momentum: f32,
    #[serde(default = "yes")]
    pub affine: bool,
    #[serde(default = "yes")]
    pub track_running_stats: bool,
}

pub(crate) fn default_eps() -> f32 {
    1e-5
}

pub(crate) fn default_momentum() -> f32 {
    0.1
}

pub(crate) fn yes() -> bool {
    true
}

impl Default for BatchNorm2d {
    fn default() -> Self {
        BatchNorm2d {
            num_features: None,
            eps: default_eps(),
            momentum: default_momentum(),
            affine: true,
            track_running_stats: true,
        }
    }
}

const OP: &str = "BatchNorm2d";

impl BatchNorm2d {
    fn core(&self) -> BnCore {
        BnCore {
            op: OP,
            num_features: self.num_features,
            eps: self.eps,
            momentum: self.momentum,
            affine: self.affine,
            track_running_stats: self.track_running_stats,
        }
    }

    /// The `(N, C, H·W)` view of an `[N, C, H, W]` input, with C checked.
    fn view(&self, shape: &[usize]) -> Result<BnView> {
        let &[n, c, h, w] = shape else {
            return Err(Error::bad_shape(OP, shape, "expected [N, C, H, W]"));
        };
        self.core().view(shape, n, c, h * w)
    }
}

impl Layer for BatchNorm2d {
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        self.view(inputs[0])?;
        Ok(inputs[0].to_vec())
    }

    fn params(&self, inputs: &[&[usize]]) -> Result<Vec<ParamSpec>> {
        check_arity(OP, self.arity(), inputs.len())?;
        Ok(self.core().params(self.view(inputs[0])?.c))
    }

    fn flops(&self, _inputs: &[&[usize]], output: &[usize]) -> u64 {
        BN_FLOPS_PER_ELEM * output.iter().product::<usize>() as u64
    }

    fn forward(&self, ctx: &Ctx, inputs: &[&Tensor], params: &[&Tensor]) -> Result<Forward> {
        check_arity(OP, self.arity(), inputs.len())?;
        let v = self.view(inputs[0].shape())?;
        self.core().forward(ctx, inputs[0], v, params)
    }

    fn backward(
        &self,
        ctx: &Ctx,
        inputs: &[&Tensor],
        params: &[&Tensor],
        forward: &Forward,
        grad_output: &Tensor,
    ) -> Result<Backward> {
        check_arity(OP, self.arity(), inputs.len())?;
        let v = self.view(inputs[0].shape())?;
        self.core()
            .backward(ctx, inputs[0], v, params, forward, grad_output)
    }
}

// ---------------------------------------------------------------------------------------
// Shared batch-norm core (BatchNorm1d and BatchNorm2d).
// ---------------------------------------------------------------------------------------

/// Rough forward cost per element: statistics (sub, square, 2 adds) plus one FMA.
pub(crate) const BN_FLOPS_PER_ELEM: u64 = 6;

/// An input seen as `[n, c, l]`: per-channel statistics run over the n·l values.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BnView {
    pub n: usize,
    pub c: usize,
    pub l: usize,
}

impl BnView {
    /// Values per channel.
    fn m(self) -> usize {
        self.n * self.l
    }

    fn numel(self) -> usize {
        self.n * self.c * self.l
    }
}

/// The config of a batch-norm op, borrowed by the shared math.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BnCore {
    pub op: &'static str,
    pub num_features: Option<usize>,
    pub eps: f32,
    pub momentum: f32,
    pub affine: bool,
    pub track_running_stats: bool,
}

impl BnCore {
    /// Validates the config and the channel count of `shape` (seen as `[n, c, l]`).
    pub(crate) fn view(&self, shape: &[usize], n: usize, c: usize, l: usize) -> Result<BnView> {
        if !(self.eps >= 0.0 && self.eps.is_finite()) {
            return Err(Error::config(
                self.op,
                format!("eps must be finite and ≥ 0, got {}", self.eps),
            ));
        }
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(Error::config(
                self.op,
                format!("momentum must be in [0, 1], got {}", self.momentum),
            ));
        }
        if let Some(want) = self.num_features
            && want != c
        {
            return Err(Error::shape_mismatch(
                self.op,
                format!("num_features is {want} but the input has {c} channels (dim 1)"),
                &[want],
                shape,
            ));
        }
        if c == 0 {
            return Err(Error::bad_shape(
                self.op,
                shape,
                "needs at least one channel",
            ));
        }
        Ok(BnView { n, c, l })
    }

    /// weight, bias (if affine); running_mean, running_var buffers (if tracked).
    pub(crate) fn params(&self, c: usize) -> Vec<ParamSpec> {
        let mut specs = Vec::with_capacity(4);
        if self.affine {
            specs.push(ParamSpec::trainable("weight", vec![c], Init::Ones, (c, c)));
            specs.push(ParamSpec::trainable("bias", vec![c], Init::Zeros, (c, c)));
        }
        if self.track_running_stats {
            specs.push(ParamSpec::buffer("running_mean", vec![c], Init::Zeros));
            specs.push(ParamSpec::buffer("running_var", vec![c], Init::Ones));
        }
        specs
    }

    /// Index of running_mean in the parameter list (running_var follows it).
    fn running_index(&self) -> usize {
        if self.affine { 2 } else { 0 }
    }

    /// Batch statistics are used in train mode, and in eval mode without running stats
    /// (as in PyTorch).
    fn uses_batch_stats(&self, ctx: &Ctx) -> bool {
        ctx.training || !self.track_running_stats
    }

    pub(crate) fn forward(
        &self,
        ctx: &Ctx,
        x: &Tensor,
        v: BnView,
        params: &[&Tensor],
    ) -> Result<Forward> {
        check_params(self.op, &self.params(v.c), params)?;
        let c = v.c;
        let m = v.m();
        let (mean, inv_std, var) = if self.uses_batch_stats(ctx) {
            if m <= 1 {
                return Err(Error::bad_shape(
                    self.op,
                    x.shape(),
                    format!(
                        "expected more than 1 value per channel when using batch statistics, got {m}"
                    ),
                ));
            }
            let xd = x.data();
            // Shifted sums (shift = the channel's first value) stay accurate even when
            // |mean| ≫ σ, and need a single pass.
            let shift: Vec<f32> = (0..c).map(|ch| xd[ch * v.l]).collect();
            let sums = reduce_per_channel(xd, xd, v, &shift, |s, a, _| {
                let d = a - s;
                (d, d * d)
            });
            let mut mean = Vec::with_capacity(c);
            let mut inv_std = Vec::with_capacity(c);
            let mut var = Vec::with_capacity(c);
            for (ch, &[s1, s2]) in sums.iter().enumerate() {
                let d = s1 / m as f64;
                let var_b = ((s2 - s1 * d) / m as f64).max(0.0);
                mean.push((shift[ch] as f64 + d) as f32);
                inv_std.push((1.0 / (var_b + self.eps as f64).sqrt()) as f32);
                var.push(var_b);
            }
            (mean, inv_std, Some(var))
        } else {
            let ri = self.running_index();
            let mean = params[ri].data().to_vec();
            let inv_std = params[ri + 1]
                .data()
                .iter()
                .map(|&rv| (1.0 / (rv as f64 + self.eps as f64).sqrt()) as f32)
                .collect();
            (mean, inv_std, None)
        };

        // y = x̂·w + b = x·scale + offset: one multiply-add per element.
        let coefs: Vec<[f32; 4]> = (0..c)
            .map(|ch| {
                let (w, b) = if self.affine {
                    (params[0].data()[ch], params[1].data()[ch])
                } else {
                    (1.0, 0.0)
                };
                let s = w * inv_std[ch];
                [s, b - mean[ch] * s, 0.0, 0.0]
            })
            .collect();
        let mut y = vec![0.0; v.numel()];
        // Plain mul + add: `mul_add` is a libm call unless the build enables FMA.
        map_per_channel(&mut y, x.data(), x.data(), v, &coefs, |k, a, _| {
            a * k[0] + k[1]
        });

        let mut buffer_updates = Vec::new();
        if let Some(var) = var
            && ctx.training
            && self.track_running_stats
        {
            let ri = self.running_index();
            let mom = self.momentum;
            let unbias = m as f64 / (m - 1) as f64;
            let rm = params[ri]
                .data()
                .iter()
                .zip(&mean)
                .map(|(&old, &b)| (1.0 - mom) * old + mom * b)
                .collect();
            let rv = params[ri + 1]
                .data()
                .iter()
                .zip(&var)
                .map(|(&old, &b)| (1.0 - mom) * old + mom * (b * unbias) as f32)
                .collect();
            buffer_updates.push((ri, Tensor::new(&[c], rm)?));
            buffer_updates.push((ri + 1, Tensor::new(&[c], rv)?));
        }

        let saved = Saved::tensors(vec![Tensor::new(&[c], mean)?, Tensor::new(&[c], inv_std)?]);
        Ok(Forward {
            output: Tensor::new(x.shape(), y)?,
            saved,
            buffer_updates,
        })
    }

    pub(crate) fn backward(
        &self,
        ctx: &Ctx,
        x: &Tensor,
        v: BnView,
        params: &[&Tensor],
        forward: &Forward,
        grad_output: &Tensor,
    ) -> Result<Backward> {
        check_params(self.op, &self.params(v.c), params)?;
        if grad_output.shape() != x.shape() {
            return Err(Error::shape_mismatch(
                self.op,
                "grad_output vs input",
                grad_output.shape(),
                x.shape(),
            ));
        }
        let mean = forward.saved.tensor(self.op, 0)?.data();
        let inv_std = forward.saved.tensor(self.op, 1)?.data();
        let c = v.c;
        if mean.len() != c || inv_std.len() != c {
            return Err(Error::Other(format!(
                "{}: saved statistics do not match the input's {c} channels",
                self.op
            )));
        }
        let dy = grad_output.data();
        // Σ dy and Σ dy·(x − μ) per channel; the latter times 1/σ is Σ dy·x̂.
        let sums = reduce_per_channel(dy, x.data(), v, mean, |mu, g, a| (g, g * (a - mu)));
        let sum_dy: Vec<f64> = sums.iter().map(|s| s[0]).collect();
        let sum_dy_xhat: Vec<f64> = sums
            .iter()
            .zip(inv_std)
            .map(|(s, &is)| s[1] * is as f64)
            .collect();
        let weight = |ch: usize| {
            if self.affine {
                params[0].data()[ch]
            } else {
                1.0
            }
        };

        let mut dx = vec![0.0; v.numel()];
        if self.uses_batch_stats(ctx) {
            // dx = w/σ · (dy − mean(dy) − x̂·mean(dy·x̂)), mean and σ depending on the batch;
            // per channel [w/σ, mean(dy), μ, w/σ² · mean(dy·x̂)].
            let m = v.m() as f64;
            let coefs: Vec<[f32; 4]> = (0..c)
                .map(|ch| {
                    let k = weight(ch) * inv_std[ch];
                    let mean_dy = (sum_dy[ch] / m) as f32;
                    let cx = (k as f64 * inv_std[ch] as f64 * sum_dy_xhat[ch] / m) as f32;
                    [k, mean_dy, mean[ch], cx]
                })
                .collect();
            map_per_channel(&mut dx, dy, x.data(), v, &coefs, |k, g, a| {
                k[0] * (g - k[1]) - (a - k[2]) * k[3]
            });
        } else {
            // Running statistics are constants: the op is affine in x.
            let coefs: Vec<[f32; 4]> = (0..c)
                .map(|ch| [weight(ch) * inv_std[ch], 0.0, 0.0, 0.0])
                .collect();
            map_per_channel(&mut dx, dy, dy, v, &coefs, |k, g, _| g * k[0]);
        }

        let mut grads = Vec::with_capacity(4);
        if self.affine {
            let to_f32 = |s: &[f64]| s.iter().map(|&s| s as f32).collect::<Vec<f32>>();
            grads.push(Some(Tensor::new(&[c], to_f32(&sum_dy_xhat))?));
            grads.push(Some(Tensor::new(&[c], to_f32(&sum_dy))?));
        }
        if self.track_running_stats {
            grads.push(None);
            grads.push(None);
        }
        Ok(Backward {
            inputs: vec![Some(Tensor::new(x.shape(), dx)?)],
            params: grads,
        })
    }
}

/// Elements summed in f32 before a partial sum is added to the f64 total: f32 lanes
/// vectorise, and with ≤ SPAN/LANES terms per lane their rounding stays negligible.
const SPAN: usize = 256;
const LANES: usize = 8;

/// `Σ f(aᵢ, bᵢ)` for a two-component `f` (shared with LayerNorm): f32 lanes over short
/// spans, f64 across spans.
#[inline]
pub(crate) fn sum2<F>(a: &[f32], b: &[f32], f: F) -> (f64, f64)
where
    F: Fn(f32, f32) -> (f32, f32),
{
    let (mut tp, mut tq) = (0.0f64, 0.0f64);
    for (sa, sb) in a.chunks(SPAN).zip(b.chunks(SPAN)) {
        let mut p = [0.0f32; LANES];
        let mut q = [0.0f32; LANES];
        let mut ca = sa.chunks_exact(LANES);
        let mut cb = sb.chunks_exact(LANES);
        for (xa, xb) in ca.by_ref().zip(cb.by_ref()) {
            for i in 0..LANES {
                let (pp, qq) = f(xa[i], xb[i]);
                p[i] += pp;
                q[i] += qq;
            }
        }
        for (&x, &y) in ca.remainder().iter().zip(cb.remainder()) {
            let (pp, qq) = f(x, y);
            p[0] += pp;
            q[0] += qq;
        }
        tp += p.iter().map(|&v| v as f64).sum::<f64>();
        tq += q.iter().map(|&v| v as f64).sum::<f64>();
    }
    (tp, tq)
}

/// Channel slices (of length l) per parallel task: enough work to amortise scheduling.
/// For l = 1 groups hold whole rows of c, so the kernels can run across channels.
fn group_slices(v: BnView) -> usize {
    let slices = v.n * v.c;
    if v.numel() < PARALLEL_MIN_ELEMS {
        return slices.max(1);
    }
    let target = (PARALLEL_MIN_ELEMS / 4).div_ceil(v.l.max(1)).max(1);
    if v.l == 1 {
        target.div_ceil(v.c) * v.c
    } else {
        target
    }
}

/// Per-channel sums `Σ f(cp[ch], a, b)` (two components, accumulated as in [`sum2`]) over
/// an `[n, c, l]` pair of same-shaped arrays, `cp` holding one constant per channel;
/// parallel over groups of channel slices for large inputs.
fn reduce_per_channel<F>(a: &[f32], b: &[f32], v: BnView, cp: &[f32], f: F) -> Vec<[f64; 2]>
where
    F: Fn(f32, f32, f32) -> (f32, f32) + Sync,
{
    let c = v.c;
    let group = group_slices(v);
    let kernel = |first: usize, a: &[f32], b: &[f32], acc: &mut Vec<[f64; 2]>| {
        if v.l == 1 {
            // Groups start on a row boundary: element j of a row is channel j. Rows are
            // summed in f32 in batches of SPAN / LANES, then flushed to f64.
            let mut part = vec![[0.0f32; 2]; c];
            let rows = SPAN / LANES;
            for (ba, bb) in a.chunks(rows * c).zip(b.chunks(rows * c)) {
                for (ra, rb) in ba.chunks_exact(c).zip(bb.chunks_exact(c)) {
                    for (((pt, &x), &y), &k) in part.iter_mut().zip(ra).zip(rb).zip(cp) {
                        let (p, q) = f(k, x, y);
                        pt[0] += p;
                        pt[1] += q;
                    }
                }
                for (acc, pt) in acc.iter_mut().zip(part.iter_mut()) {
                    acc[0] += pt[0] as f64;
                    acc[1] += pt[1] as f64;
                    *pt = [0.0; 2];
                }
            }
        } else {
            for (j, (sa, sb)) in a.chunks_exact(v.l).zip(b.chunks_exact(v.l)).enumerate() {
                let ch = (first + j) % c;
                let k = cp.get(ch).copied().unwrap_or(0.0);
                let (p, q) = sum2(sa, sb, |x, y| f(k, x, y));
                acc[ch][0] += p;
                acc[ch][1] += q;
            }
        }
    };
    let total = v.n * c;
    if group >= total || v.l == 0 {
        let mut acc = vec![[0.0; 2]; c];
        if v.l > 0 {
            kernel(0, a, b, &mut acc);
        }
        return acc;
    }
    let len = group * v.l;
    // One partial per chunk, added in chunk order: bit-identical for a given thread count.
    let partials: Vec<Vec<[f64; 2]>> = a
        .par_chunks(len)
        .zip(b.par_chunks(len))
        .enumerate()
        .map(|(gi, (ga, gb))| {
            let mut acc = vec![[0.0; 2]; c];
            kernel(gi * group, ga, gb, &mut acc);
            acc
        })
        .collect();
    let mut total = vec![[0.0; 2]; c];
    for part in &partials {
        for (x, y) in total.iter_mut().zip(part) {
            x[0] += y[0];
            x[1] += y[1];
        }
    }
    total
}

/// `out = f(k[ch], a, b)` elementwise over `[n, c, l]` arrays, `k` holding up to four
/// constants per channel; parallel for large inputs.
fn map_per_channel<F>(out: &mut [f32], a: &[f32], b: &[f32], v: BnView, k: &[[f32; 4]], f: F)
where
    F: Fn(&[f32; 4], f32, f32) -> f32 + Sync,
{
    let c = v.c;
    let group = group_slices(v);
    let kernel = |first: usize, out: &mut [f32], a: &[f32], b: &[f32]| {
        if v.l == 1 {
            for ((ro, ra), rb) in out
                .chunks_exact_mut(c)
                .zip(a.chunks_exact(c))
                .zip(b.chunks_exact(c))
            {
                for (((o, &x), &y), kc) in ro.iter_mut().zip(ra).zip(rb).zip(k) {
                    *o = f(kc, x, y);
                }
            }
        } else {
            for (j, ((so, sa), sb)) in out
                .chunks_exact_mut(v.l)
                .zip(a.chunks_exact(v.l))
                .zip(b.chunks_exact(v.l))
                .enumerate()
            {
                let kc = k.get((first + j) % c).copied().unwrap_or_default();
                for ((o, &x), &y) in so.iter_mut().zip(sa).zip(sb) {
                    *o = f(&kc, x, y);
                }
            }
        }
    };
    if v.l == 0 {
        return;
    }
    if group >= v.n * c {
        kernel(0, out, a, b);
        return;
    }
    let len = group * v.l;
    out.par_chunks_mut(len)
        .zip(a.par_chunks(len).zip(b.par_chunks(len)))
        .enumerate()
        .for_each(|(gi, (go, (ga, gb)))| kernel(gi * group, go, ga, gb));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{GradCheck, default_params, randn};

    fn assert_close(got: &[f32], want: &[f32], tol: f32) {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= tol, "element {i}: got {g}, want {w}");
        }
    }

    fn bn_and_params() -> (BatchNorm2d, Vec<Tensor>) {
        let t = |v: &[f32]| Tensor::new(&[3], v.to_vec()).unwrap();
        let params = vec![
            t(&[1.5, -0.5, 2.0]),
            t(&[0.1, 0.2, -0.3]),
            t(&[0.2, -0.1, 0.5]),
            t(&[1.5, 0.8, 2.0]),
        ];
        (BatchNorm2d::default(), params)
    }

    fn sample_input() -> Tensor {
        #[rustfmt::skip]
        let x = vec![0.5, -1.2, 2.0, 0.3, 1.1, 0.0, -0.7, 2.4, -2.2, 0.8, 1.6, -0.4,
                     1.9, 0.2, -1.5, 0.9, -0.3, 1.4, 0.6, -1.1, 3.0, -0.9, 0.1, 1.2];
        Tensor::new(&[2, 3, 2, 2], x).unwrap()
    }

    // PyTorch reference (/tmp/torchref/bin/python):
    //   import torch
    //   x = torch.tensor([0.5, -1.2, 2.0, 0.3, 1.1, 0.0, -0.7, 2.4, -2.2, 0.8, 1.6, -0.4,
    //                     1.9, 0.2, -1.5, 0.9, -0.3, 1.4, 0.6, -1.1, 3.0, -0.9, 0.1, 1.2]
    //                    ).reshape(2, 3, 2, 2)
    //   bn = torch.nn.BatchNorm2d(3)
    //   with torch.no_grad():
    //       bn.weight.copy_(torch.tensor([1.5, -0.5, 2.0]))
    //       bn.bias.copy_(torch.tensor([0.1, 0.2, -0.3]))
    //       bn.running_mean.copy_(torch.tensor([0.2, -0.1, 0.5]))
    //       bn.running_var.copy_(torch.tensor([1.5, 0.8, 2.0]))
    //   bn.eval(); print("eval", *bn(x).detach().numpy().ravel(), sep=", ")
    //   bn.train(); print("train", *bn(x).detach().numpy().ravel(), sep=", ")
    //   print("rm", *bn.running_mean.numpy(), sep=", ")
    //   print("rv", *bn.running_var.numpy(), sep=", ")
    #[rustfmt::skip]
    const TORCH_EVAL: [f32; 24] = [
        0.46742222, -1.6146371, 2.3045332, 0.22247408, -0.4708162, 0.14409865,
        0.5354081, -1.1975337, -4.118367, 0.124262996, 1.255631, -1.572789,
        2.1820593, 0.099999994, -1.9820592, 0.9573185, 0.31180272, -0.63852024,
        -0.19130945, 0.7590135, 3.235525, -2.2798939, -0.865684, 0.689947,
    ];
    #[rustfmt::skip]
    const TORCH_TRAIN: [f32; 24] = [
        0.24205756, -1.9045898, 2.136158, -0.010489163, -0.10753256, 0.3936316,
        0.7125543, -0.6998175, -3.7494547, 0.2306853, 1.292056, -1.3613707,
        2.0098846, -0.13676254, -2.2834098, 0.747151, 0.5303127, -0.24421367,
        0.12026933, 0.8947958, 3.1494546, -2.0247273, -0.698014, 0.76137066,
    ];

    #[test]
    fn forward_matches_pytorch() {
        let (bn, params) = bn_and_params();
        let x = sample_input();
        let p: Vec<&Tensor> = params.iter().collect();

        let f = bn.forward(&Ctx::eval(), &[&x], &p).unwrap();
        assert_eq!(f.output.shape(), &[2, 3, 2, 2]);
        assert_close(f.output.data(), &TORCH_EVAL, 1e-5);
        assert!(f.buffer_updates.is_empty());

        let f = bn.forward(&Ctx::train(0), &[&x], &p).unwrap();
        assert_close(f.output.data(), &TORCH_TRAIN, 1e-5);
        assert_eq!(f.buffer_updates.len(), 2);
        let (ri, rm) = &f.buffer_updates[0];
        let (vi, rv) = &f.buffer_updates[1];
        assert_eq!((*ri, *vi), (2, 3));
        assert_close(rm.data(), &[0.21875, -0.047499996, 0.48999998], 1e-6);
        assert_close(rv.data(), &[1.5112678, 0.8576428, 2.0597143], 1e-5);
    }

    /// Train-mode forward and input gradient of an `[n, c, l]` batch norm, naively in f64.
    fn naive_train(x: &[f32], g: &[f32], v: BnView, w: &[f32], b: &[f32]) -> (Vec<f64>, Vec<f64>) {
        let (n, c, l) = (v.n, v.c, v.l);
        let idx = |i: usize, ch: usize, j: usize| (i * c + ch) * l + j;
        let m = (n * l) as f64;
        let mut y = vec![0.0; x.len()];
        let mut dx = vec![0.0; x.len()];
        for ch in 0..c {
            let all = || (0..n).flat_map(move |i| (0..l).map(move |j| idx(i, ch, j)));
            let mean = all().map(|k| x[k] as f64).sum::<f64>() / m;
            let var = all().map(|k| (x[k] as f64 - mean).powi(2)).sum::<f64>() / m;
            let is = 1.0 / (var + 1e-5).sqrt();
            let xh = |k: usize| (x[k] as f64 - mean) * is;
            let sg = all().map(|k| g[k] as f64).sum::<f64>();
            let sgx = all().map(|k| g[k] as f64 * xh(k)).sum::<f64>();
            for k in all() {
                y[k] = xh(k) * w[ch] as f64 + b[ch] as f64;
                dx[k] = w[ch] as f64 * is * (g[k] as f64 - sg / m - xh(k) * sgx / m);
            }
        }
        (y, dx)
    }

    #[test]
    fn serial_and_parallel_kernels_match_naive_reference() {
        // Views cover the serial path, the parallel l > 1 path and the parallel l = 1 path
        // (rows of channels), including groups that do not start at channel 0.
        for (n, c, l) in [
            (3, 4, 5),
            (6, 5, 1),
            (4, 3, 9216),
            (5000, 16, 1),
            (3000, 7, 5),
        ] {
            let v = BnView { n, c, l };
            let core = BatchNorm2d::default().core();
            let shape = [n, c, l];
            let x = randn(&shape, 11).map(|t| 2.0 * t + 5.0);
            let g = randn(&shape, 12);
            let mut rng = crate::tensor::Rng::seed(13);
            let w = Tensor::uniform(&[c], 0.5, 1.5, &mut rng);
            let b = Tensor::uniform(&[c], -1.0, 1.0, &mut rng);
            let (rm, rv) = (Tensor::zeros(&[c]), Tensor::ones(&[c]));
            let p = [&w, &b, &rm, &rv];
            let f = core.forward(&Ctx::train(0), &x, v, &p).unwrap();
            let bw = core.backward(&Ctx::train(0), &x, v, &p, &f, &g).unwrap();
            let dx = bw.inputs[0].as_ref().unwrap();
            let (y_ref, dx_ref) = naive_train(x.data(), g.data(), v, w.data(), b.data());
            for k in 0..x.numel() {
                assert!(
                    (f.output.data()[k] as f64 - y_ref[k]).abs() < 1e-4,
                    "{v:?} y[{k}]"
                );
                assert!(
                    (dx.data()[k] as f64 - dx_ref[k]).abs() < 1e-4,
                    "{v:?} dx[{k}]"
                );
            }
        }
    }

    #[test]
    fn gradients_train_and_eval() {
        let shape = [4, 3, 2, 3];
        let x = randn(&shape, 5);
        for (affine, track) in [(true, true), (false, true), (true, false), (false, false)] {
            let bn = BatchNorm2d {
                affine,
                track_running_stats: track,
                ..BatchNorm2d::default()
            };
            let (_, all) = bn_and_params();
            let params: Vec<Tensor> = match (affine, track) {
                (true, true) => all,
                (false, true) => all[2..].to_vec(),
                (true, false) => all[..2].to_vec(),
                (false, false) => vec![],
            };
            for ctx in [Ctx::train(0), Ctx::eval()] {
                GradCheck::default()
                    .check(&bn, &ctx, std::slice::from_ref(&x), &params, &[true])
                    .unwrap_or_else(|e| panic!("affine={affine} track={track} {ctx:?}: {e}"));
            }
        }
    }

    #[test]
    fn params_follow_pytorch() {
        let bn = BatchNorm2d::default();
        let specs = bn.params(&[&[2, 5, 4, 4]]).unwrap();
        let names: Vec<_> = specs
            .iter()
            .map(|s| (s.name, s.kind, s.init.clone()))
            .collect();
        use crate::ops::ParamKind::{Buffer, Trainable};
        assert_eq!(
            names,
            vec![
                ("weight", Trainable, Init::Ones),
                ("bias", Trainable, Init::Zeros),
                ("running_mean", Buffer, Init::Zeros),
                ("running_var", Buffer, Init::Ones),
            ]
        );
        assert!(specs.iter().all(|s| s.shape == [5]));
    }

    #[test]
    fn shape_and_config_errors() {
        let bn = BatchNorm2d {
            num_features: Some(3),
            ..BatchNorm2d::default()
        };
        let err = bn.output_shape(&[&[2, 4, 5, 5]]).unwrap_err().to_string();
        assert!(
            err.contains("BatchNorm2d") && err.contains("[2, 4, 5, 5]") && err.contains("[3]"),
            "{err}"
        );
        let err = bn.output_shape(&[&[2, 3, 5]]).unwrap_err().to_string();
        assert!(
            err.contains("BatchNorm2d") && err.contains("[2, 3, 5]"),
            "{err}"
        );
        let bad = BatchNorm2d {
            momentum: 1.5,
            ..BatchNorm2d::default()
        };
        let err = bad.output_shape(&[&[2, 3, 5, 5]]).unwrap_err().to_string();
        assert!(
            err.contains("BatchNorm2d") && err.contains("momentum"),
            "{err}"
        );
        // [1, C, 1, 1] in train mode: one value per channel.
        let x = Tensor::zeros(&[1, 3, 1, 1]);
        let params = default_params(&bn, &[&[1, 3, 1, 1]], 0);
        let p: Vec<&Tensor> = params.iter().collect();
        let err = bn
            .forward(&Ctx::train(0), &[&x], &p)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("BatchNorm2d") && err.contains("[1, 3, 1, 1]"),
            "{err}"
        );
    }
}
