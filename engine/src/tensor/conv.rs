//! 2-D convolution kernels over flat NCHW buffers.
//!
//! A convolution is lowered per batch sample to matrix products: `im2col` unfolds one
//! sample's receptive fields into a `[C/groups·kh·kw, OH·OW]` column matrix, and the conv
//! is `W_g · cols` per group. In the terms of [`ConvGeom`] (image side = Conv2d's input,
//! column side = Conv2d's output):
//!
//! * [`conv_forward`]: `C_s = W · im2col(I_s)` — Conv2d's forward, ConvTranspose2d's dX;
//! * [`conv_input_grad`]: `I_s = col2im(Wᵀ · C_s)` — Conv2d's dX, ConvTranspose2d's forward;
//! * [`conv_backward`]: `dW = Σ_s C_s · im2col(I_s)ᵀ`, together with the other side's
//!   gradient and the bias gradient, in one pass over the samples (ConvTranspose2d's dX
//!   reuses the same `im2col(I_s)` as its dW).
//!
//! Large batches run one sample per rayon task with single-threaded matmuls (a per-sample
//! matmul is too small to split well, and nesting gemm's own rayon split inside a task
//! only adds scheduling). Column buffers are per thread and reused across samples and
//! calls, so steady-state training allocates none.

use super::{Layout, PARALLEL_MIN_MACS, matmul_with, parallelism_for};
use crate::error::{Error, Result};
use gemm::Parallelism;
use rayon::prelude::*;
use std::cell::RefCell;

/// The geometry of one convolution. "Image side" is Conv2d's input (ConvTranspose2d's
/// output); "column side" is Conv2d's output (ConvTranspose2d's input).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    pub batch: usize,
    /// Image-side channels and spatial size.
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    /// Column-side channels and spatial size.
    pub c_out: usize,
    pub oh: usize,
    pub ow: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub ph: usize,
    pub pw: usize,
    pub dh: usize,
    pub dw: usize,
    pub groups: usize,
}

impl ConvGeom {
    /// Elements of one image-side sample.
    pub fn image_len(&self) -> usize {
        self.c_in * self.h * self.w
    }

    /// Elements of one column-side sample.
    pub fn out_len(&self) -> usize {
        self.c_out * self.oh * self.ow
    }

    /// Elements of the weight `[c_out, c_in/groups, kh, kw]`.
    pub fn weight_len(&self) -> usize {
        self.c_out * self.k_group()
    }

    /// Multiply-adds of one of the three products over the whole batch.
    pub fn macs(&self) -> u64 {
        self.batch as u64 * self.out_len() as u64 * self.k_group() as u64
    }

    fn cin_group(&self) -> usize {
        self.c_in / self.groups
    }

    fn cout_group(&self) -> usize {
        self.c_out / self.groups
    }

    /// Rows of the column matrix: one per (channel in group, ki, kj).
    fn k_group(&self) -> usize {
        self.cin_group() * self.kh * self.kw
    }

    /// Columns of the column matrix: one per output position.
    fn positions(&self) -> usize {
        self.oh * self.ow
    }

    /// 1×1, stride 1, no padding, same size: the column matrix is the input itself.
    fn pointwise(&self) -> bool {
        self.kh == 1
            && self.kw == 1
            && self.sh == 1
            && self.sw == 1
            && self.ph == 0
            && self.pw == 0
            && self.oh == self.h
            && self.ow == self.w
    }

    fn cols_len(&self) -> usize {
        if self.pointwise() {
            0
        } else {
            self.k_group() * self.positions()
        }
    }

    /// One sample per task when the batch is big enough to keep every thread busy.
    fn batch_parallel(&self) -> bool {
        self.batch > 1
            && rayon::current_num_threads() > 1
            && self.macs() >= PARALLEL_MIN_MACS as u64
    }

    /// Parallelism for each per-sample matmul on the serial path.
    fn serial_parallelism(&self) -> Parallelism {
        parallelism_for(self.cout_group(), self.k_group(), self.positions())
    }

    /// Rejects degenerate geometry and buffers that do not match it, so the kernels below
    /// can slice freely.
    fn check(&self, image: usize, out: usize, weight: usize) -> Result<()> {
        let dims = [
            self.c_in,
            self.h,
            self.w,
            self.c_out,
            self.oh,
            self.ow,
            self.kh,
            self.kw,
            self.sh,
            self.sw,
            self.dh,
            self.dw,
            self.groups,
        ];
        if dims.contains(&0)
            || !self.c_in.is_multiple_of(self.groups)
            || !self.c_out.is_multiple_of(self.groups)
        {
            return Err(Error::Other(format!(
                "conv kernel: invalid geometry {self:?}"
            )));
        }
        let want = [
            ("image", self.batch * self.image_len(), image),
            ("output", self.batch * self.out_len(), out),
            ("weight", self.weight_len(), weight),
        ];
        for (what, want, got) in want {
            if want != got {
                return Err(Error::Other(format!(
                    "conv kernel: {what} buffer has {got} elements, geometry needs {want}"
                )));
            }
        }
        Ok(())
    }
}

/// The `o` in `0..n` with `0 ≤ o·stride + offset − pad < size`, as a half-open range.
fn valid_range(n: usize, stride: usize, offset: usize, pad: usize, size: usize) -> (usize, usize) {
    // lowest o with o·stride + offset ≥ pad
    let lo = pad.saturating_sub(offset).div_ceil(stride);
    // o·stride + offset < size + pad
    let hi = size
        .saturating_add(pad)
        .saturating_sub(offset)
        .div_ceil(stride);
    let hi = hi.min(n);
    (lo.min(hi), hi)
}

/// Where one kernel offset `(ki, kj)` reads inside the image: the output rows and
/// columns that land inside it (half-open), and the flat index of the first such read.
struct Window {
    oy: (usize, usize),
    ox: (usize, usize),
    start: usize,
}

impl ConvGeom {
    fn window(&self, ki: usize, kj: usize) -> Option<Window> {
        let oy = valid_range(self.oh, self.sh, ki * self.dh, self.ph, self.h);
        let ox = valid_range(self.ow, self.sw, kj * self.dw, self.pw, self.w);
        if oy.0 >= oy.1 || ox.0 >= ox.1 {
            return None;
        }
        let iy = oy.0 * self.sh + ki * self.dh - self.ph;
        let ix = ox.0 * self.sw + kj * self.dw - self.pw;
        Some(Window {
            oy,
            ox,
            start: iy * self.w + ix,
        })
    }
}

/// Unfolds one group of one sample (`[C_g, H, W]`) into `cols` (`[C_g·kh·kw, OH·OW]`).
pub fn im2col(g: &ConvGeom, x: &[f32], cols: &mut [f32]) {
    let (hw, p, ow, kk) = (g.h * g.w, g.positions(), g.ow, g.kh * g.kw);
    // kernel offsets outermost: each one's window is computed once for all channels
    for ki in 0..g.kh {
        for kj in 0..g.kw {
            let win = g.window(ki, kj);
            let rows = cols.chunks_exact_mut(p).skip(ki * g.kw + kj).step_by(kk);
            for (row, plane) in rows.zip(x.chunks_exact(hw)) {
                let Some(win) = &win else {
                    row.fill(0.0);
                    continue;
                };
                let ((oy_lo, oy_hi), (lo, hi)) = (win.oy, win.ox);
                let (head, rest) = row.split_at_mut(oy_lo * ow);
                let (body, tail) = rest.split_at_mut((oy_hi - oy_lo) * ow);
                head.fill(0.0);
                tail.fill(0.0);
                // each output row reads one input row, `sh` rows below the previous one
                let srcs = plane[win.start..].chunks(g.sh * g.w);
                let n = hi - lo;
                let full = lo == 0 && hi == ow;
                for (dst, src) in body.chunks_exact_mut(ow).zip(srcs) {
                    if !full {
                        dst[..lo].fill(0.0);
                        dst[hi..].fill(0.0);
                    }
                    if g.sw == 1 {
                        copy_short(&mut dst[lo..hi], &src[..n]);
                    } else {
                        let src = src.iter().step_by(g.sw);
                        dst[lo..hi].iter_mut().zip(src).for_each(|(d, &s)| *d = s);
                    }
                }
            }
        }
    }
}

/// Folds `cols` (`[C_g·kh·kw, OH·OW]`) back onto one group of one sample, adding into `x`
/// (`[C_g, H, W]`): the adjoint of [`im2col`].
pub fn col2im(g: &ConvGeom, cols: &[f32], x: &mut [f32]) {
    let (hw, p, ow, kk) = (g.h * g.w, g.positions(), g.ow, g.kh * g.kw);
    for ki in 0..g.kh {
        for kj in 0..g.kw {
            let Some(win) = g.window(ki, kj) else {
                continue;
            };
            let ((oy_lo, oy_hi), (lo, hi)) = (win.oy, win.ox);
            let n = hi - lo;
            let rows = cols.chunks_exact(p).skip(ki * g.kw + kj).step_by(kk);
            for (row, plane) in rows.zip(x.chunks_exact_mut(hw)) {
                let body = &row[oy_lo * ow..oy_hi * ow];
                let dsts = plane[win.start..].chunks_mut(g.sh * g.w);
                for (src, dst) in body.chunks_exact(ow).zip(dsts) {
                    let src = &src[lo..hi];
                    if g.sw == 1 {
                        dst[..n].iter_mut().zip(src).for_each(|(d, &s)| *d += s);
                    } else {
                        let dst = dst.iter_mut().step_by(g.sw);
                        dst.zip(src).for_each(|(d, &s)| *d += s);
                    }
                }
            }
        }
    }
}

/// `dst.copy_from_slice(src)` for the short rows im2col copies (one output row each),
/// inlined in 8-wide blocks instead of a `memcpy` call per row (~5% faster im2col for
/// 24-wide rows).
#[inline]
fn copy_short(dst: &mut [f32], src: &[f32]) {
    let (d8, d_tail) = dst.as_chunks_mut::<8>();
    let (s8, s_tail) = src.as_chunks::<8>();
    for (d, s) in d8.iter_mut().zip(s8) {
        *d = *s;
    }
    for (d, &s) in d_tail.iter_mut().zip(s_tail) {
        *d = s;
    }
}

thread_local! {
    /// This thread's column buffer: one sample's im2col can be megabytes, so it is kept
    /// (at its high-water mark) rather than allocated and zeroed per sample or call.
    static COLS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with a `len`-element scratch buffer (contents unspecified): this thread's
/// cached one, or a fresh one if it is in use (a nested conv run on this thread while it
/// waits inside a parallel matmul).
fn with_cols<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    COLS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < len {
                buf.resize(len, 0.0);
            }
            f(&mut buf[..len])
        }
        Err(_) => f(&mut vec![0.0; len]),
    })
}

/// A zero-filled vector, filled in parallel when large (output buffers of a batch are
/// megabytes, and a serial memset would be the one single-threaded step of a conv).
pub fn zeroed(len: usize) -> Vec<f32> {
    if len < super::PARALLEL_MIN_ELEMS {
        return vec![0.0; len];
    }
    let mut v = Vec::with_capacity(len);
    v.par_extend(rayon::iter::repeat_n(0.0f32, len));
    v
}

/// Fills each `len`-long row of `dst` with the matching value of `values`.
fn fill_rows(dst: &mut [f32], len: usize, values: &[f32]) {
    dst.chunks_exact_mut(len)
        .zip(values)
        .for_each(|(row, &b)| row.fill(b));
}

/// Adds the sum of each `len`-long row of `t` to the matching accumulator.
fn add_row_sums(acc: &mut [f64], t: &[f32], len: usize) {
    for (a, row) in acc.iter_mut().zip(t.chunks_exact(len)) {
        // eight independent f32 lanes vectorise; a row is one channel of one sample
        let mut lanes = [0.0f32; 8];
        let (blocks, tail) = row.as_chunks::<8>();
        for b in blocks {
            for i in 0..8 {
                lanes[i] += b[i];
            }
        }
        let tail: f32 = tail.iter().sum();
        *a += lanes.iter().map(|&l| l as f64).sum::<f64>() + tail as f64;
    }
}

/// The column matrix of one group of one image-side sample: the sample itself when the
/// conv is pointwise, else its im2col in `cols`.
fn columns_of<'a>(g: &ConvGeom, image_group: &'a [f32], cols: &'a mut [f32]) -> &'a [f32] {
    if g.pointwise() {
        image_group
    } else {
        im2col(g, image_group, cols);
        cols
    }
}

/// Per-group slices: image side `[C_g, H·W]`, column side `[Cout_g, OH·OW]`, weight
/// `[Cout_g, K_g]`.
struct GroupLens {
    image: usize,
    columns: usize,
    weight: usize,
}

impl ConvGeom {
    fn group_lens(&self) -> GroupLens {
        GroupLens {
            image: self.cin_group() * self.h * self.w,
            columns: self.cout_group() * self.positions(),
            weight: self.cout_group() * self.k_group(),
        }
    }
}

/// Forward of one sample: `cs = W · im2col(is) [+ bias]`.
fn forward_sample(
    g: &ConvGeom,
    is: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    cs: &mut [f32],
    par: Parallelism,
) {
    let (cout_g, kg, p) = (g.cout_group(), g.k_group(), g.positions());
    let l = g.group_lens();
    with_cols(g.cols_len(), |cols| {
        let groups = is
            .chunks_exact(l.image)
            .zip(cs.chunks_exact_mut(l.columns))
            .zip(w.chunks_exact(l.weight));
        for (gi, ((ig, cg), wg)) in groups.enumerate() {
            let bg = bias.map(|b| &b[gi * cout_g..(gi + 1) * cout_g]);
            if let Some(bg) = bg {
                fill_rows(cg, p, bg);
            }
            let src = columns_of(g, ig, cols);
            let (a, b) = (Layout::Normal, Layout::Normal);
            matmul_with(par, cg, wg, a, src, b, cout_g, kg, p, bg.is_some());
        }
    });
}

/// Image-side gradient of one sample: `is = col2im(Wᵀ · cs) [+ bias]` (overwrites `is`).
fn input_grad_sample(
    g: &ConvGeom,
    cs: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    is: &mut [f32],
    par: Parallelism,
) {
    let (cin_g, cout_g, kg, p, hw) = (
        g.cin_group(),
        g.cout_group(),
        g.k_group(),
        g.positions(),
        g.h * g.w,
    );
    let l = g.group_lens();
    with_cols(g.cols_len(), |cols| {
        let groups = is
            .chunks_exact_mut(l.image)
            .zip(cs.chunks_exact(l.columns))
            .zip(w.chunks_exact(l.weight));
        for (gi, ((ig, cg), wg)) in groups.enumerate() {
            match bias {
                Some(b) => fill_rows(ig, hw, &b[gi * cin_g..(gi + 1) * cin_g]),
                None if g.pointwise() => {}
                None => ig.fill(0.0),
            }
            let (a, b) = (Layout::Transposed, Layout::Normal);
            if g.pointwise() {
                matmul_with(par, ig, wg, a, cg, b, kg, cout_g, p, bias.is_some());
            } else {
                matmul_with(par, cols, wg, a, cg, b, kg, cout_g, p, false);
                col2im(g, cols, ig);
            }
        }
    });
}

/// A side of the convolution (see [`ConvGeom`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Image,
    Columns,
}

/// The outputs of [`conv_backward`].
pub struct BackwardOut<'a> {
    /// Which side `grad` is the gradient of: the image side for Conv2d (its dX), the
    /// column side for ConvTranspose2d (its dX).
    pub grad_side: Side,
    pub grad: &'a mut [f32],
    /// `[c_out, c_in/groups, kh, kw]`, overwritten.
    pub dw: &'a mut [f32],
    /// Per-channel sums of the given side's input tensor (the bias gradient: Conv2d's
    /// bias is on the column side, ConvTranspose2d's on the image side), overwritten.
    pub db: Option<(Side, &'a mut [f32])>,
}

/// Per-task partial sums of the weight gradient (per group transposed, `[K_g, Cout_g]`)
/// and of the bias gradient.
struct Partial {
    dwt: Vec<f32>,
    db: Vec<f64>,
}

/// Backward of one sample: `dwᵀ += im2col(is) · csᵀ`, the other gradient, bias sums.
#[allow(clippy::too_many_arguments)]
fn backward_sample(
    g: &ConvGeom,
    is: &[f32],
    cs: &[f32],
    w: &[f32],
    side: Side,
    grad: &mut [f32],
    acc: &mut Partial,
    db_side: Option<Side>,
    par: Parallelism,
) {
    let (cout_g, kg, p, hw) = (g.cout_group(), g.k_group(), g.positions(), g.h * g.w);
    let l = g.group_lens();
    let grad_len = match side {
        Side::Image => l.image,
        Side::Columns => l.columns,
    };
    with_cols(g.cols_len(), |cols| {
        let groups = is
            .chunks_exact(l.image)
            .zip(cs.chunks_exact(l.columns))
            .zip(w.chunks_exact(l.weight))
            .zip(acc.dwt.chunks_exact_mut(l.weight))
            .zip(grad.chunks_exact_mut(grad_len));
        for ((((ig, cg), wg), dwtg), gg) in groups {
            let (n, t) = (Layout::Normal, Layout::Transposed);
            let src = columns_of(g, ig, cols);
            // dWᵀ = cols · C_sᵀ: in this orientation gemm needs no strided packing
            // (measured ~25% faster than dW = C_s · colsᵀ for the reference shapes)
            matmul_with(par, dwtg, src, n, cg, t, kg, p, cout_g, true);
            match side {
                // the column side's gradient reuses this im2col: gg = W · im2col(is)
                Side::Columns => matmul_with(par, gg, wg, n, src, n, cout_g, kg, p, false),
                Side::Image if g.pointwise() => {
                    matmul_with(par, gg, wg, t, cg, n, kg, cout_g, p, false)
                }
                Side::Image => {
                    matmul_with(par, cols, wg, t, cg, n, kg, cout_g, p, false);
                    gg.fill(0.0);
                    col2im(g, cols, gg);
                }
            }
        }
    });
    match db_side {
        Some(Side::Image) => add_row_sums(&mut acc.db, is, hw),
        Some(Side::Columns) => add_row_sums(&mut acc.db, cs, p),
        None => {}
    }
}

/// One image-side sample (`image`, column-side `columns`) at a time, over the batch:
/// one rayon task per sample for large batches, else serially with parallel matmuls.
/// Conv2d's forward (`C = W · im2col(I)`, plus `bias` on the column side), and
/// ConvTranspose2d's input gradient (with `bias` None).
pub fn conv_forward(
    g: &ConvGeom,
    image: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    columns: &mut [f32],
) -> Result<()> {
    g.check(image.len(), columns.len(), w.len())?;
    if bias.is_some_and(|b| b.len() != g.c_out) {
        return Err(Error::Other(
            "conv kernel: bias length differs from c_out".into(),
        ));
    }
    let (il, ol) = (g.image_len(), g.out_len());
    if g.batch_parallel() {
        columns
            .par_chunks_mut(ol)
            .zip(image.par_chunks(il))
            .for_each(|(cs, is)| forward_sample(g, is, w, bias, cs, Parallelism::None));
    } else {
        let par = g.serial_parallelism();
        for (cs, is) in columns.chunks_exact_mut(ol).zip(image.chunks_exact(il)) {
            forward_sample(g, is, w, bias, cs, par);
        }
    }
    Ok(())
}

/// `image` (overwritten) `= col2im(Wᵀ · columns)`, plus `bias` per image channel when
/// given: Conv2d's input gradient, and ConvTranspose2d's forward.
pub fn conv_input_grad(
    g: &ConvGeom,
    columns: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    image: &mut [f32],
) -> Result<()> {
    g.check(image.len(), columns.len(), w.len())?;
    if bias.is_some_and(|b| b.len() != g.c_in) {
        return Err(Error::Other(
            "conv kernel: bias length differs from c_in".into(),
        ));
    }
    let (il, ol) = (g.image_len(), g.out_len());
    if g.batch_parallel() {
        image
            .par_chunks_mut(il)
            .zip(columns.par_chunks(ol))
            .for_each(|(is, cs)| input_grad_sample(g, cs, w, bias, is, Parallelism::None));
    } else {
        let par = g.serial_parallelism();
        for (is, cs) in image.chunks_exact_mut(il).zip(columns.chunks_exact(ol)) {
            input_grad_sample(g, cs, w, bias, is, par);
        }
    }
    Ok(())
}

/// The backward pass in one sweep over the samples: `dw = Σ_s C_s · im2col(I_s)ᵀ`, the
/// gradient of the other side (`col2im(Wᵀ·C_s)` for the image side, `W·im2col(I_s)` for
/// the column side) and optionally per-channel sums. For Conv2d, `image` is X and
/// `columns` dY; for ConvTranspose2d, `image` is dY and `columns` X. Each rayon task
/// accumulates its own partial dW and db; the partials are added at the end.
pub fn conv_backward(
    g: &ConvGeom,
    image: &[f32],
    columns: &[f32],
    w: &[f32],
    out: BackwardOut<'_>,
) -> Result<()> {
    g.check(image.len(), columns.len(), w.len())?;
    let (il, ol) = (g.image_len(), g.out_len());
    let (side, grad_len) = match out.grad_side {
        Side::Image => (Side::Image, il),
        Side::Columns => (Side::Columns, ol),
    };
    if out.grad.len() != g.batch * grad_len || out.dw.len() != g.weight_len() {
        return Err(Error::Other(
            "conv kernel: gradient buffers do not match the geometry".into(),
        ));
    }
    let (db_side, db) = match out.db {
        Some((s, db)) => (Some(s), Some(db)),
        None => (None, None),
    };
    let db_len = match db_side {
        Some(Side::Image) => g.c_in,
        Some(Side::Columns) => g.c_out,
        None => 0,
    };
    if db.as_ref().is_some_and(|db| db.len() != db_len) {
        return Err(Error::Other(
            "conv kernel: bias gradient length mismatch".into(),
        ));
    }
    let fresh = || Partial {
        dwt: vec![0.0; g.weight_len()],
        db: vec![0.0; db_len],
    };
    let total = if g.batch_parallel() {
        // Fixed contiguous chunks of samples, one partial sum each, added in chunk order:
        // the same thread count always gives bit-identical gradients (rayon's fold/reduce
        // would split the batch differently from run to run).
        let chunks = rayon::current_num_threads().max(1);
        let per_chunk = g.batch.div_ceil(chunks).max(1);
        let partials: Vec<Partial> = out
            .grad
            .par_chunks_mut(grad_len * per_chunk)
            .zip(image.par_chunks(il * per_chunk))
            .zip(columns.par_chunks(ol * per_chunk))
            .map(|((gc, ic), cc)| {
                let mut acc = fresh();
                let samples = gc
                    .chunks_exact_mut(grad_len)
                    .zip(ic.chunks_exact(il))
                    .zip(cc.chunks_exact(ol));
                for ((gs, is), cs) in samples {
                    backward_sample(g, is, cs, w, side, gs, &mut acc, db_side, Parallelism::None);
                }
                acc
            })
            .collect();
        let mut parts = partials.into_iter();
        let mut total = parts.next().unwrap_or_else(fresh);
        for b in parts {
            total.dwt.iter_mut().zip(&b.dwt).for_each(|(a, b)| *a += b);
            total.db.iter_mut().zip(&b.db).for_each(|(a, b)| *a += b);
        }
        total
    } else {
        let par = g.serial_parallelism();
        let mut acc = fresh();
        let samples = out
            .grad
            .chunks_exact_mut(grad_len)
            .zip(image.chunks_exact(il))
            .zip(columns.chunks_exact(ol));
        for ((gs, is), cs) in samples {
            backward_sample(g, is, cs, w, side, gs, &mut acc, db_side, par);
        }
        acc
    };
    // back from [K_g, Cout_g] to PyTorch's [Cout_g, K_g] per group
    let (kg, cout_g) = (g.k_group(), g.cout_group());
    for (dw, dwt) in out
        .dw
        .chunks_exact_mut(kg * cout_g)
        .zip(total.dwt.chunks_exact(kg * cout_g))
    {
        for (k, row) in dwt.chunks_exact(cout_g).enumerate() {
            for (o, &v) in row.iter().enumerate() {
                dw[o * kg + k] = v;
            }
        }
    }
    if let Some(db) = db {
        db.iter_mut()
            .zip(&total.db)
            .for_each(|(d, &s)| *d = s as f32);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geom(h: usize, w: usize, k: (usize, usize), s: usize, p: usize, d: usize) -> ConvGeom {
        let oh = (h + 2 * p - d * (k.0 - 1) - 1) / s + 1;
        let ow = (w + 2 * p - d * (k.1 - 1) - 1) / s + 1;
        ConvGeom {
            batch: 1,
            c_in: 2,
            h,
            w,
            c_out: 1,
            oh,
            ow,
            kh: k.0,
            kw: k.1,
            sh: s,
            sw: s,
            ph: p,
            pw: p,
            dh: d,
            dw: d,
            groups: 1,
        }
    }

    /// im2col by the definition, one element at a time.
    fn naive_im2col(g: &ConvGeom, x: &[f32]) -> Vec<f32> {
        let mut cols = vec![0.0; g.k_group() * g.positions()];
        for c in 0..g.c_in {
            for ki in 0..g.kh {
                for kj in 0..g.kw {
                    let r = (c * g.kh + ki) * g.kw + kj;
                    for oy in 0..g.oh {
                        for ox in 0..g.ow {
                            let iy = (oy * g.sh + ki * g.dh) as isize - g.ph as isize;
                            let ix = (ox * g.sw + kj * g.dw) as isize - g.pw as isize;
                            if iy >= 0 && ix >= 0 && (iy as usize) < g.h && (ix as usize) < g.w {
                                cols[r * g.positions() + oy * g.ow + ox] =
                                    x[(c * g.h + iy as usize) * g.w + ix as usize];
                            }
                        }
                    }
                }
            }
        }
        cols
    }

    #[test]
    fn im2col_matches_definition_and_col2im_is_its_adjoint() {
        for (h, w, k, s, p, d) in [
            (5, 6, (3, 3), 1, 0, 1),
            (5, 6, (3, 2), 2, 1, 1),
            (7, 5, (3, 3), 1, 2, 2),
            (4, 4, (2, 3), 3, 1, 1),
            (6, 7, (1, 1), 2, 0, 1),
        ] {
            let g = geom(h, w, k, s, p, d);
            let x: Vec<f32> = (0..2 * h * w).map(|i| i as f32 * 0.5 - 3.0).collect();
            let mut cols = vec![f32::NAN; g.k_group() * g.positions()];
            im2col(&g, &x, &mut cols);
            assert_eq!(cols, naive_im2col(&g, &x), "{g:?}");
            // <im2col(x), c> == <x, col2im(c)>
            let c: Vec<f32> = (0..cols.len()).map(|i| (i % 7) as f32 - 3.0).collect();
            let mut back = vec![0.0; x.len()];
            col2im(&g, &c, &mut back);
            let lhs: f64 = cols.iter().zip(&c).map(|(a, b)| (a * b) as f64).sum();
            let rhs: f64 = x.iter().zip(&back).map(|(a, b)| (a * b) as f64).sum();
            assert!(
                (lhs - rhs).abs() < 1e-6 * (1.0 + lhs.abs()),
                "{lhs} vs {rhs}"
            );
        }
    }

    #[test]
    fn row_sums_add_over_samples() {
        let t: Vec<f32> = (0..2 * 3 * 10).map(|i| i as f32).collect();
        let mut acc = vec![0.0; 3];
        for sample in t.chunks_exact(30) {
            add_row_sums(&mut acc, sample, 10);
        }
        // channel 0: 0..10 and 30..40
        assert_eq!(acc, vec![45.0 + 345.0, 145.0 + 445.0, 245.0 + 545.0]);
    }

    #[test]
    fn zeroed_is_zero() {
        let n = crate::tensor::PARALLEL_MIN_ELEMS + 3;
        let z = zeroed(n);
        assert_eq!(z.len(), n);
        assert!(z.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn bad_buffers_are_errors() {
        let g = geom(5, 5, (3, 3), 1, 0, 1);
        let mut y = vec![0.0; 9];
        assert!(conv_forward(&g, &[0.0; 49], &[0.0; 18], None, &mut y).is_err());
        assert!(conv_forward(&g, &[0.0; 50], &[0.0; 18], None, &mut y).is_ok());
    }
}
