//! The recurrence every cell shares: one direction of one layer run over a whole batch of
//! sequences, forward and backpropagation through time.
//!
//! Data is time-major here (`[T, N, ·]`), so each step's rows are contiguous. The input
//! projection `x·W_ihᵀ + b_ih` of all steps is one GEMM before the loop; each step then
//! does one GEMM `h·W_hhᵀ + b_hh` over the batch and hands both projections, row by row,
//! to the [`Cell`] for its gate maths. Backward mirrors it: per step the cell turns `dh`
//! into the projections' gradients, one GEMM carries `dh` to the previous step, and the
//! weight gradients of all steps are one GEMM each after the loop.
//!
//! Within a step the hidden units are split into blocks (`blocks.rs`): a block's share
//! of the step GEMM and its gate maths need only its own gate columns, so the blocks of a
//! step run on several threads at once (`phased.rs`), meeting once per step.

use super::blocks::GateBlocks;
use super::phased::{Shared, run_phased};
use crate::tensor::{Layout, matmul_into, matmul_with, vectorized};
use gemm::Parallelism;
use std::sync::{Mutex, PoisonError};

/// The gate maths of one recurrent cell, per sample row; [`run_forward`] and
/// [`run_backward`] do the rest. PyTorch's gate order: `pre = x·W_ihᵀ + b_ih` and
/// `hp = h·W_hhᵀ + b_hh` are `[GATES·H]` rows, gate `k` in columns `k·H..(k+1)·H`.
pub trait Cell: Sync {
    /// Gate blocks per hidden unit: RNN 1, GRU 3 (r, z, n), LSTM 4 (i, f, g, o).
    const GATES: usize;
    /// Whether state other than `h` runs through time (LSTM's cell state `c`, `H` wide);
    /// its gradient is then carried back through [`BackwardRow::carry`].
    const CARRIES_STATE: bool;

    /// Whether the hidden projection's gradient is the input projection's (both enter
    /// the gates as one sum, as in LSTM and RNN; not in GRU, whose `r` scales part of
    /// `hp`). Backward then leaves [`BackwardRow::d_hp`] empty and uses `d_xp` for both.
    const SHARED_PROJECTION_GRAD: bool;

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
    /// Gradient of the hidden projection (written; empty when
    /// [`Cell::SHARED_PROJECTION_GRAD`]).
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

/// Below this many multiply-adds per step (the hidden product) a direction runs on the
/// calling thread: a hand-off between threads would cost more than the step saves.
const PARALLEL_MIN_STEP_MACS: usize = 1 << 17;

/// Threads for the steps of one direction: up to the pool's and the blocks' number.
fn workers_for(d: &Dims, gates: usize, blocks: usize) -> usize {
    let step_macs = [d.batch, d.hidden, gates, d.hidden]
        .into_iter()
        .fold(1usize, usize::saturating_mul);
    if step_macs >= PARALLEL_MIN_STEP_MACS {
        rayon::current_num_threads().min(blocks)
    } else {
        1
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
    let blocks = GateBlocks::new(C::GATES, h);
    // the input projection of every step at once, its columns in blocked order
    let b_ih = w.b_ih.map(|b| blocks.to_blocked(b, 1));
    let mut xp = broadcast_rows(b_ih.as_deref(), t_len * n, gh);
    matmul_into(
        &mut xp,
        x,
        Layout::Normal,
        &blocks.to_blocked(w.w_ih, d.input),
        Layout::Transposed,
        t_len * n,
        d.input,
        gh,
        true,
    );
    let b_hh = w.b_hh.map(|b| blocks.to_blocked(b, 1));
    let w_hh_t: Vec<_> = (0..blocks.len())
        .map(|b| blocks.hidden_weights_t(w.w_hh, b))
        .collect();
    let mut hs = vec![0.0; (t_len + 1) * n * h];
    let mut cache = vec![0.0; t_len * n * cw];
    let zero_cache = vec![0.0; cw];
    let workers = workers_for(&d, C::GATES, blocks.len());
    let (hs_all, cache_all, y_all) = (
        Shared::new(&mut hs),
        Shared::new(&mut cache),
        Shared::new(y),
    );
    run_phased(t_len, blocks.len(), workers, |s, b| {
        let t = d.time(s, reverse);
        let units = blocks.units(b);
        let (u0, bw) = (units.start, units.len());
        let (gw, cwb) = (C::GATES * bw, C::cache_width(bw));
        let (g0, c0) = (C::GATES * u0, C::cache_width(u0));
        // SAFETY (every `read`/`part` below): the job of step s and block b reads h of
        // step s and the cache of step s − 1 (both written in phase s − 1) and writes only
        // block b's units of h at s + 1, of the cache at s and of y at t, which no other
        // job of phase s touches.
        let h_prev = unsafe { hs_all.read(s * n * h, n * h) };
        let mut hp = broadcast_rows(b_hh.as_ref().map(|b| &b[g0..g0 + gw]), n, gw);
        if s > 0 {
            matmul_with(
                Parallelism::None,
                &mut hp,
                h_prev,
                Layout::Normal,
                &w_hh_t[b],
                Layout::Normal,
                n,
                h,
                gw,
                true,
            );
        }
        vectorized(
            #[inline(always)]
            || {
                for i in 0..n {
                    let prev_cache = if s > 0 {
                        unsafe { cache_all.read(((s - 1) * n + i) * cw + c0, cwb) }
                    } else {
                        &zero_cache[..cwb]
                    };
                    let h_row = unsafe { hs_all.part(((s + 1) * n + i) * h + u0, bw) };
                    cell.forward(ForwardRow {
                        xp: &xp[(t * n + i) * gh + g0..][..gw],
                        hp: &hp[i * gw..][..gw],
                        h_prev: &h_prev[i * h + u0..][..bw],
                        prev_cache,
                        h: h_row,
                        cache: unsafe { cache_all.part((s * n + i) * cw + c0, cwb) },
                    });
                    let out = (t * n + i) * d.dirs * h + dir * h + u0;
                    unsafe { y_all.part(out, bw) }.copy_from_slice(h_row);
                }
            },
        );
    });
    Trace { hs, cache }
}

/// Rows summed in f32 before their sum joins the f64 total in [`column_sums`]: f32 runs
/// vectorize at full width, and 64 terms keep the rounding error near f32's epsilon.
const SUM_RUN: usize = 64;

/// Column sums of a `[rows, width]` matrix (a bias gradient).
fn column_sums(m: &[f32], width: usize) -> Vec<f32> {
    let mut acc = vec![0.0f64; width];
    let mut run = vec![0.0f32; width];
    let rows = m.len() / width.max(1);
    // row by row in order, each row one vector pass
    vectorized(
        #[inline(always)]
        || {
            let (acc, run) = (&mut acc[..width], &mut run[..width]);
            for r0 in (0..rows).step_by(SUM_RUN) {
                run.fill(0.0);
                for r in r0..(r0 + SUM_RUN).min(rows) {
                    let row = &m[r * width..][..width];
                    for j in 0..width {
                        run[j] += row[j];
                    }
                }
                for j in 0..width {
                    acc[j] += run[j] as f64;
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
    step_sq: Option<&mut [f32]>,
) -> WeightGrads {
    let (t_len, n, h) = (d.steps, d.batch, d.hidden);
    let gh = C::GATES * h;
    let cw = C::cache_width(h);
    let reverse = dir == 1;
    let blocks = GateBlocks::new(C::GATES, h);
    // d_xp in time order (it pairs with x), d_hp in processing order (it pairs with hs),
    // both with their columns in blocked order, as forward's projections. Where the two
    // are equal and the orders agree (a forward direction), d_xp serves as both.
    let separate_d_hp = !C::SHARED_PROJECTION_GRAD || reverse;
    let mut d_xp = vec![0.0; t_len * n * gh];
    let mut d_hp = vec![0.0; if separate_d_hp { t_len * n * gh } else { 0 }];
    let w_hh_cols: Vec<_> = (0..blocks.len())
        .map(|b| blocks.hidden_weights_cols(w.w_hh, b))
        .collect();
    // per block: dL/dh_prev of its units ([N, w]), the carried state's gradient, and the
    // squared step norms of its units (added up after the loop)
    let mut block_state: Vec<_> = (0..blocks.len())
        .map(|b| {
            let bw = blocks.units(b).len();
            let carry = if C::CARRIES_STATE { bw } else { 0 };
            BlockGrads {
                dh_next: vec![0.0; n * bw],
                carry: vec![0.0; n * carry],
                step_sq: vec![0.0; if step_sq.is_some() { t_len * n } else { 0 }],
            }
        })
        .collect();
    let zero_cache = vec![0.0; cw];
    let workers = workers_for(&d, C::GATES, blocks.len());
    let state: Vec<_> = block_state.iter_mut().map(Mutex::new).collect();
    let d_xp_all = Shared::new(&mut d_xp);
    let d_hp_all = Shared::new(&mut d_hp);
    // d_hp by processing step: its own buffer, or d_xp (then steps are times)
    let d_hp_src = if separate_d_hp { &d_hp_all } else { &d_xp_all };
    // phase q handles step s = T − 1 − q; a job first finishes dh_prev of step s + 1 for
    // its units (the product with W_hh needs every block's d_hp of s + 1), then runs the
    // cell backwards for its units at step s
    run_phased(t_len, blocks.len(), workers, |q, b| {
        let s = t_len - 1 - q;
        let t = d.time(s, reverse);
        let units = blocks.units(b);
        let (u0, bw) = (units.start, units.len());
        let (gw, cwb) = (C::GATES * bw, C::cache_width(bw));
        let (g0, c0) = (C::GATES * u0, C::cache_width(u0));
        let carry_w = if C::CARRIES_STATE { bw } else { 0 };
        let mut guard = state[b].lock().unwrap_or_else(PoisonError::into_inner);
        let st = &mut **guard;
        if q > 0 {
            // SAFETY: d_hp of step s + 1 was written in phase q − 1; phase q writes only
            // step s
            let d_hp_next = unsafe { d_hp_src.read((s + 1) * n * gh, n * gh) };
            // dh_prev += d_hp (N×GH) · W_hh (GH×H), this block's columns
            matmul_with(
                Parallelism::None,
                &mut st.dh_next,
                d_hp_next,
                Layout::Normal,
                &w_hh_cols[b],
                Layout::Normal,
                n,
                gh,
                bw,
                true,
            );
        }
        let hs_prev = &trace.hs[s * n * h..][..n * h];
        let hs_now = &trace.hs[(s + 1) * n * h..][..n * h];
        vectorized(
            #[inline(always)]
            || {
                let mut dh = vec![0.0; bw];
                for i in 0..n {
                    let out = (t * n + i) * d.dirs * h + dir * h + u0;
                    let dh_next = &mut st.dh_next[i * bw..][..bw];
                    for ((g, &a), &b) in dh.iter_mut().zip(&dy[out..out + bw]).zip(&*dh_next) {
                        *g = a + b;
                    }
                    if !st.step_sq.is_empty() {
                        st.step_sq[t * n + i] += dh.iter().map(|g| g * g).sum::<f32>();
                    }
                    let row = (s * n + i) * cw + c0;
                    let prev_cache = if s > 0 {
                        &trace.cache[row - n * cw..][..cwb]
                    } else {
                        &zero_cache[..cwb]
                    };
                    // SAFETY: block b's columns of step s (time t for d_xp): this job's own
                    let d_xp = unsafe { d_xp_all.part((t * n + i) * gh + g0, gw) };
                    let d_hp = if separate_d_hp {
                        unsafe { d_hp_all.part((s * n + i) * gh + g0, gw) }
                    } else {
                        &mut []
                    };
                    let own_d_hp = !C::SHARED_PROJECTION_GRAD;
                    cell.backward(BackwardRow {
                        dh: &dh,
                        h: &hs_now[i * h + u0..][..bw],
                        h_prev: &hs_prev[i * h + u0..][..bw],
                        cache: &trace.cache[row..][..cwb],
                        prev_cache,
                        carry: &mut st.carry[i * carry_w..][..carry_w],
                        d_xp: &mut *d_xp,
                        d_hp: if own_d_hp { &mut *d_hp } else { &mut [] },
                        dh_prev: dh_next,
                    });
                    if !own_d_hp && separate_d_hp {
                        d_hp.copy_from_slice(d_xp);
                    }
                }
            },
        );
    });
    drop(state);
    if let Some(acc) = step_sq {
        for part in &block_state {
            for (a, &v) in acc.iter_mut().zip(&part.step_sq) {
                *a += v;
            }
        }
    }
    // dW_hh = d_hpᵀ (GH × TN) · h_prev (TN × H): the first T states of hs are the h_prev
    // of each step. The first step's h_prev is zero, so it adds nothing.
    let d_hp = if separate_d_hp { &d_hp } else { &d_xp };
    let mut dw_hh = vec![0.0; gh * h];
    matmul_into(
        &mut dw_hh,
        d_hp,
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
        // dx += d_xp (TN × GH) · W_ih (GH × F), both in blocked order
        matmul_into(
            dx,
            &d_xp,
            Layout::Normal,
            &blocks.to_blocked(w.w_ih, d.input),
            Layout::Normal,
            t_len * n,
            gh,
            d.input,
            true,
        );
    }
    let (b_ih, b_hh) = if w.b_ih.is_some() {
        let b_ih = blocks.to_pytorch(&column_sums(&d_xp, gh), 1);
        let b_hh = if C::SHARED_PROJECTION_GRAD {
            b_ih.clone()
        } else {
            blocks.to_pytorch(&column_sums(d_hp, gh), 1)
        };
        (b_ih, b_hh)
    } else {
        (Vec::new(), Vec::new())
    };
    WeightGrads {
        w_ih: blocks.to_pytorch(&dw_ih, d.input),
        w_hh: blocks.to_pytorch(&dw_hh, h),
        b_ih,
        b_hh,
    }
}

/// What one block of units carries from step to step in [`run_backward`].
struct BlockGrads {
    dh_next: Vec<f32>,
    carry: Vec<f32>,
    step_sq: Vec<f32>,
}
