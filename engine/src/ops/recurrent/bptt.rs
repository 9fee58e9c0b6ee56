//! The recurrence every cell shares: one direction of one layer run over a whole batch of
//! sequences, forward and backpropagation through time.
//!
//! Data is time-major here (`[T, N, ·]`), so each step's rows are contiguous. The input
//! projection `x·W_ihᵀ + b_ih` of all steps is one GEMM before the loop; each step then
//! does one GEMM `h·W_hhᵀ + b_hh` over the batch and hands both projections, row by row,
//! to the [`Cell`] for its gate maths. Backward mirrors it: per step the cell turns `dh`
//! into the projections' gradients, one GEMM carries `dh` to the previous step, and the
//! weight gradients of all steps are one GEMM each after the loop.

use crate::tensor::{Layout, matmul_into, vectorized};
use rayon::prelude::*;

/// The gate maths of one recurrent cell, per sample row; [`run_forward`] and
/// [`run_backward`] do the rest. PyTorch's gate order: `pre = x·W_ihᵀ + b_ih` and
/// `hp = h·W_hhᵀ + b_hh` are `[GATES·H]` rows, gate `k` in columns `k·H..(k+1)·H`.
pub trait Cell: Sync {
    /// Gate blocks per hidden unit: RNN 1, GRU 3 (r, z, n), LSTM 4 (i, f, g, o).
    const GATES: usize;
    /// Whether state other than `h` runs through time (LSTM's cell state `c`, `H` wide);
    /// its gradient is then carried back through [`BackwardRow::carry`].
    const CARRIES_STATE: bool;

    /// Floats per sample and step that forward keeps for backward (besides `h`).
    fn cache_width(hidden: usize) -> usize;

    /// One step of one sample: `h` (and `cache`) from the two projections and the
    /// previous step (before the first step, state and cache are zero).
    fn forward(&self, row: ForwardRow<'_>);

    /// One step of one sample backwards: from `dh` (and the carried state gradient) to
    /// the projections' gradients and the part of `dh_prev` that does not go through
    /// `W_hh` (written, not added).
    fn backward(&self, row: BackwardRow<'_>);
}

/// What [`Cell::forward`] reads and writes for one sample at one step.
pub struct ForwardRow<'a> {
    /// The input projection `x·W_ihᵀ + b_ih`, `[GATES·H]`.
    pub xp: &'a [f32],
    /// The hidden projection `h_prev·W_hhᵀ + b_hh`, `[GATES·H]`.
    pub hp: &'a [f32],
    pub h_prev: &'a [f32],
    /// The previous step's cache (zeros before the first step).
    pub prev_cache: &'a [f32],
    pub h: &'a mut [f32],
    pub cache: &'a mut [f32],
}

/// What [`Cell::backward`] reads and writes for one sample at one step.
pub struct BackwardRow<'a> {
    /// dLoss/dh at this step: from the output and from the next step.
    pub dh: &'a [f32],
    pub h: &'a [f32],
    pub h_prev: &'a [f32],
    pub cache: &'a [f32],
    /// The previous step's cache (zeros before the first step).
    pub prev_cache: &'a [f32],
    /// The carried state's gradient: in from the next step, out to the previous one
    /// (empty unless [`Cell::CARRIES_STATE`]).
    pub carry: &'a mut [f32],
    /// Gradient of the input projection (written).
    pub d_xp: &'a mut [f32],
    /// Gradient of the hidden projection (written).
    pub d_hp: &'a mut [f32],
    /// The direct part of dLoss/dh_prev (written).
    pub dh_prev: &'a mut [f32],
}

/// Sizes of one direction of one layer.
#[derive(Clone, Copy, Debug)]
pub struct Dims {
    pub steps: usize,
    pub batch: usize,
    /// Input features per step.
    pub input: usize,
    pub hidden: usize,
    /// Directions of the layer (the output row holds `dirs·hidden` features).
    pub dirs: usize,
}

impl Dims {
    /// The time index processed at step `s` (reverse directions run backwards).
    fn time(&self, s: usize, reverse: bool) -> usize {
        if reverse { self.steps - 1 - s } else { s }
    }
}

/// One direction's weights: `w_ih [G·H, F]`, `w_hh [G·H, H]`, biases `[G·H]`.
#[derive(Clone, Copy)]
pub struct Weights<'a> {
    pub w_ih: &'a [f32],
    pub w_hh: &'a [f32],
    pub b_ih: Option<&'a [f32]>,
    pub b_hh: Option<&'a [f32]>,
}

/// One direction's weight gradients, same layout as [`Weights`].
pub struct WeightGrads {
    pub w_ih: Vec<f32>,
    pub w_hh: Vec<f32>,
    pub b_ih: Vec<f32>,
    pub b_hh: Vec<f32>,
}

/// What forward keeps of one direction: `h` of every step in processing order after the
/// zero initial state (`[(T+1), N, H]`), and the cell's cache (`[T, N, cache_width]`).
/// Forward returns it owned; backward borrows it from the saved tensors.
pub struct Trace<T> {
    pub hs: T,
    pub cache: T,
}

/// Below this many gate values per step the rows run on the calling thread: waking the
/// pool would cost more than the gate maths.
const PARALLEL_MIN_GATES: usize = 1 << 13;

/// `buf` as `n` rows of `width` (`n` empty rows when `width` is 0).
fn rows_mut(buf: &mut [f32], n: usize, width: usize) -> Vec<&mut [f32]> {
    if width == 0 {
        (0..n).map(|_| <&mut [f32]>::default()).collect()
    } else {
        buf[..n * width].chunks_mut(width).collect()
    }
}

/// Runs `f` on every row's job, over the rayon pool when `parallel`.
fn for_each_row<T: Send>(jobs: Vec<T>, parallel: bool, f: impl Fn(T) + Sync + Send) {
    if parallel {
        jobs.into_par_iter().for_each(f);
    } else {
        jobs.into_iter().for_each(f);
    }
}

/// `rows` copies of `bias` (or zeros) as the start of a GEMM that accumulates onto them.
fn broadcast_rows(bias: Option<&[f32]>, rows: usize, width: usize) -> Vec<f32> {
    match bias {
        Some(b) => b.repeat(rows),
        None => vec![0.0; rows * width],
    }
}

/// Runs one direction over `x` (`[T, N, F]`), writing `h` of each step into its columns
/// `dir·H..` of `y` (`[T, N, dirs·H]`).
pub fn run_forward<C: Cell>(
    cell: &C,
    d: Dims,
    x: &[f32],
    w: Weights<'_>,
    dir: usize,
    y: &mut [f32],
) -> Trace<Vec<f32>> {
    let (t_len, n, h) = (d.steps, d.batch, d.hidden);
    let gh = C::GATES * h;
    let cw = C::cache_width(h);
    let reverse = dir == 1;
    let parallel = n * (gh + cw) >= PARALLEL_MIN_GATES;
    let mut xp = broadcast_rows(w.b_ih, t_len * n, gh);
    matmul_into(
        &mut xp,
        x,
        Layout::Normal,
        w.w_ih,
        Layout::Transposed,
        t_len * n,
        d.input,
        gh,
        true,
    );
    // W_hhᵀ stored [H, G·H] once: as gemm's operand in this layout it is read in place,
    // where W_hh itself would be repacked by every one of the T step products
    let w_hh_t = transposed(w.w_hh, gh, h);
    let mut hs = vec![0.0; (t_len + 1) * n * h];
    let mut cache = vec![0.0; t_len * n * cw];
    let zero_cache = vec![0.0; n * cw];
    for s in 0..t_len {
        let t = d.time(s, reverse);
        let mut hp = broadcast_rows(w.b_hh, n, gh);
        let (done, rest) = hs.split_at_mut((s + 1) * n * h);
        let h_prev = &done[s * n * h..];
        if s > 0 {
            matmul_into(
                &mut hp,
                h_prev,
                Layout::Normal,
                &w_hh_t,
                Layout::Normal,
                n,
                h,
                gh,
                true,
            );
        }
        let h_now = &mut rest[..n * h];
        let (cache_done, cache_rest) = cache.split_at_mut(s * n * cw);
        let prev_cache = if s > 0 {
            &cache_done[(s - 1) * n * cw..]
        } else {
            &zero_cache
        };
        let xp_t = &xp[t * n * gh..][..n * gh];
        let jobs: Vec<_> = rows_mut(h_now, n, h)
            .into_iter()
            .zip(rows_mut(cache_rest, n, cw))
            .enumerate()
            .collect();
        for_each_row(jobs, parallel, |(i, (h_row, cache_row))| {
            vectorized(
                #[inline(always)]
                || {
                    cell.forward(ForwardRow {
                        xp: &xp_t[i * gh..][..gh],
                        hp: &hp[i * gh..][..gh],
                        h_prev: &h_prev[i * h..][..h],
                        prev_cache: &prev_cache[i * cw..][..cw],
                        h: h_row,
                        cache: cache_row,
                    })
                },
            )
        });
        for i in 0..n {
            let row = (t * n + i) * d.dirs * h + dir * h;
            y[row..row + h].copy_from_slice(&h_now[i * h..][..h]);
        }
    }
    Trace { hs, cache }
}

/// The `[cols, rows]` transpose of a row-major `[rows, cols]` matrix, in 32×32 tiles so
/// both the reads and the writes stay within a few cache lines at a time.
fn transposed(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    const TILE: usize = 32;
    let mut t = vec![0.0; rows * cols];
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    t[c * rows + r] = m[r * cols + c];
                }
            }
        }
    }
    t
}

/// Column sums of a `[rows, width]` matrix (a bias gradient).
fn column_sums(m: &[f32], width: usize) -> Vec<f32> {
    let mut acc = vec![0.0f64; width];
    let rows = m.len() / width.max(1);
    // row by row in order (the same sums as a scalar loop), each row one vector pass
    vectorized(
        #[inline(always)]
        || {
            let acc = &mut acc[..width];
            for r in 0..rows {
                let row = &m[r * width..][..width];
                for j in 0..width {
                    acc[j] += row[j] as f64;
                }
            }
        },
    );
    acc.into_iter().map(|v| v as f32).collect()
}

/// Backpropagates one direction: `dy` is the layer output's gradient (`[T, N, dirs·H]`,
/// this direction's columns are read), `dx` (`[T, N, F]`) gets the input gradient added.
/// With `step_sq` (`[T, N]`, time order), each sample's ‖dL/dh_t‖² — the total gradient
/// reaching `h_t`, from the output and from step t+1 — is added to it (directions add up
/// to the norm of the concatenated state). Returns the weight gradients.
#[allow(clippy::too_many_arguments)]
pub fn run_backward<C: Cell>(
    cell: &C,
    d: Dims,
    x: &[f32],
    w: Weights<'_>,
    dir: usize,
    trace: Trace<&[f32]>,
    dy: &[f32],
    dx: Option<&mut [f32]>,
    mut step_sq: Option<&mut [f32]>,
) -> WeightGrads {
    let (t_len, n, h) = (d.steps, d.batch, d.hidden);
    let gh = C::GATES * h;
    let cw = C::cache_width(h);
    let reverse = dir == 1;
    let carry_w = if C::CARRIES_STATE { h } else { 0 };
    let parallel = n * (gh + cw) >= PARALLEL_MIN_GATES;
    // d_xp in time order (it pairs with x), d_hp in processing order (it pairs with hs)
    let mut d_xp = vec![0.0; t_len * n * gh];
    let mut d_hp = vec![0.0; t_len * n * gh];
    let mut dh_next = vec![0.0; n * h];
    let mut carry = vec![0.0; n * carry_w];
    let zero_cache = vec![0.0; n * cw];
    let mut dh = vec![0.0; n * h];
    for s in (0..t_len).rev() {
        let t = d.time(s, reverse);
        let hs_prev = &trace.hs[s * n * h..][..n * h];
        let hs_now = &trace.hs[(s + 1) * n * h..][..n * h];
        let d_hp_step = &mut d_hp[s * n * gh..][..n * gh];
        for (i, row) in dh.chunks_mut(h).enumerate() {
            let out = (t * n + i) * d.dirs * h + dir * h;
            for ((g, &a), &b) in row.iter_mut().zip(&dy[out..out + h]).zip(&dh_next[i * h..]) {
                *g = a + b;
            }
        }
        if let Some(acc) = step_sq.as_deref_mut() {
            for (i, row) in dh.chunks(h).enumerate() {
                acc[t * n + i] += row.iter().map(|g| g * g).sum::<f32>();
            }
        }
        let cache_prev = if s > 0 {
            &trace.cache[(s - 1) * n * cw..][..n * cw]
        } else {
            &zero_cache
        };
        let cache_now = &trace.cache[s * n * cw..][..n * cw];
        let jobs: Vec<_> = rows_mut(&mut dh_next, n, h)
            .into_iter()
            .zip(rows_mut(&mut carry, n, carry_w))
            .zip(rows_mut(&mut d_xp[t * n * gh..], n, gh))
            .zip(rows_mut(d_hp_step, n, gh))
            .enumerate()
            .collect();
        let dh = &dh;
        for_each_row(jobs, parallel, |(i, (((dh_prev, carry), d_xp), d_hp))| {
            vectorized(
                #[inline(always)]
                || {
                    cell.backward(BackwardRow {
                        dh: &dh[i * h..][..h],
                        h: &hs_now[i * h..][..h],
                        h_prev: &hs_prev[i * h..][..h],
                        cache: &cache_now[i * cw..][..cw],
                        prev_cache: &cache_prev[i * cw..][..cw],
                        carry,
                        d_xp,
                        d_hp,
                        dh_prev,
                    })
                },
            )
        });
        let d_hp_step = &d_hp[s * n * gh..][..n * gh];
        if s > 0 {
            // dh_prev += d_hp (N×GH) · W_hh (GH×H)
            matmul_into(
                &mut dh_next,
                d_hp_step,
                Layout::Normal,
                w.w_hh,
                Layout::Normal,
                n,
                gh,
                h,
                true,
            );
        }
    }
    // dW_hh = d_hpᵀ (GH × TN) · h_prev (TN × H): the first T states of hs are the h_prev
    // of each step. The first step's h_prev is zero, so it adds nothing.
    let mut dw_hh = vec![0.0; gh * h];
    matmul_into(
        &mut dw_hh,
        &d_hp,
        Layout::Transposed,
        &trace.hs[..t_len * n * h],
        Layout::Normal,
        gh,
        t_len * n,
        h,
        false,
    );
    // dW_ih = d_xpᵀ (GH × TN) · x (TN × F)
    let mut dw_ih = vec![0.0; gh * d.input];
    matmul_into(
        &mut dw_ih,
        &d_xp,
        Layout::Transposed,
        x,
        Layout::Normal,
        gh,
        t_len * n,
        d.input,
        false,
    );
    if let Some(dx) = dx {
        // dx += d_xp (TN × GH) · W_ih (GH × F)
        matmul_into(
            dx,
            &d_xp,
            Layout::Normal,
            w.w_ih,
            Layout::Normal,
            t_len * n,
            gh,
            d.input,
            true,
        );
    }
    let (b_ih, b_hh) = if w.b_ih.is_some() {
        (column_sums(&d_xp, gh), column_sums(&d_hp, gh))
    } else {
        (Vec::new(), Vec::new())
    };
    WeightGrads {
        w_ih: dw_ih,
        w_hh: dw_hh,
        b_ih,
        b_hh,
    }
}
