//! The batch-norm core BatchNorm1d and BatchNorm2d share, and the f32/f64 pair sum
//! LayerNorm uses too.
//!
//! Both ops view their input as `(outer N, channels C, inner L)` (L = H·W for images, L = 1
//! or the sequence length for BatchNorm1d) and normalise each channel over all N·L values.
//! Forward keeps only the per-channel mean and 1/σ; backward recomputes x̂ from the input
//! (which the runtime keeps anyway) instead of storing a second activation-sized tensor.

use crate::error::{Error, Result};
use crate::ops::{Backward, Ctx, Forward, Init, ParamSpec, Saved, check_params};
use crate::tensor::{PARALLEL_MIN_ELEMS, Tensor};
use rayon::prelude::*;

/// Rough forward cost per element: statistics (sub, square, 2 adds) plus one FMA.
pub(crate) const BN_FLOPS_PER_ELEM: u64 = 6;

/// An input seen as `[n, c, l]`: per-channel statistics run over the n·l values.
#[derive(Clone, Copy, Debug)]
pub struct BnView {
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
pub struct BnCore {
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
        if !(self.eps > 0.0 && self.eps.is_finite()) {
            return Err(Error::config(
                self.op,
                format!("eps must be finite and > 0, got {}", self.eps),
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
            step_grad_norms: None,
        })
    }
}

/// Elements summed in f32 before a partial sum is added to the f64 total: f32 lanes
/// vectorise, and with ≤ SPAN/LANES terms per lane their rounding stays negligible.
const SPAN: usize = 256;
const LANES: usize = 8;

/// `Σ f(aᵢ, bᵢ)` for a two-component `f` (shared with LayerNorm): f32 lanes over short
/// spans, f64 across spans.
#[inline(always)]
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
