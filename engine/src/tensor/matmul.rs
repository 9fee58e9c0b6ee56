//! Matrix multiply on raw row-major buffers, backed by the `gemm` crate.
//!
//! Transposed operands are expressed through strides, never copied: backward passes need
//! `Aᵀ·B` and `A·Bᵀ` as often as `A·B`, and a copy would cost as much as a small matmul.

use gemm::Parallelism;
use rayon::prelude::*;

/// Below this many multiply-adds a matmul runs on the calling thread: waking the pool
/// costs more than it saves (measured with `cargo bench --bench kernels`).
pub const PARALLEL_MIN_MACS: usize = 96 * 96 * 96;

/// How an operand is stored relative to its logical (rows × cols) shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Stored as rows × cols, row-major.
    Normal,
    /// Stored as cols × rows, row-major (the logical matrix is its transpose).
    Transposed,
}

/// Row/column strides of a logical rows × cols matrix stored with `layout`.
fn strides(layout: Layout, rows: usize, cols: usize) -> (isize, isize) {
    match layout {
        Layout::Normal => (cols as isize, 1),
        Layout::Transposed => (1, rows as isize),
    }
}

/// The parallelism to use for an m×k·k×n product.
pub fn parallelism_for(m: usize, k: usize, n: usize) -> Parallelism {
    let threads = rayon::current_num_threads();
    if threads > 1 && m.saturating_mul(k).saturating_mul(n) >= PARALLEL_MIN_MACS {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    }
}

/// `dst (m×n) = [dst +] A (m×k) · B (k×n)`, with A and B possibly stored transposed.
///
/// `accumulate` adds into `dst` instead of overwriting it (gradient accumulation).
/// Lengths are checked by the caller-facing `Tensor` API; here they are asserted because a
/// wrong length would be an engine bug, and gemm reads raw pointers.
#[allow(clippy::too_many_arguments)]
pub fn matmul_into(
    dst: &mut [f32],
    a: &[f32],
    a_layout: Layout,
    b: &[f32],
    b_layout: Layout,
    m: usize,
    k: usize,
    n: usize,
    accumulate: bool,
) {
    let par = parallelism_for(m, k, n);
    matmul_with(par, dst, a, a_layout, b, b_layout, m, k, n, accumulate);
}

/// [`matmul_into`] with explicit gemm parallelism, so a matmul inside a rayon task (a conv
/// sample) can stay on its thread; `matmul_into` decides from the size alone.
#[allow(clippy::too_many_arguments)]
pub fn matmul_with(
    parallelism: Parallelism,
    dst: &mut [f32],
    a: &[f32],
    a_layout: Layout,
    b: &[f32],
    b_layout: Layout,
    m: usize,
    k: usize,
    n: usize,
    accumulate: bool,
) {
    assert!(
        dst.len() >= m * n && a.len() >= m * k && b.len() >= k * n,
        "matmul_with: buffer too small for {m}x{k}x{n}"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    let (a_rs, a_cs) = strides(a_layout, m, k);
    let (b_rs, b_cs) = strides(b_layout, k, n);
    let parts = match parallelism {
        Parallelism::Rayon(t) if t > 1 => t,
        _ => 1,
    };
    // Split the output into `parts` blocks of whole rows (or columns, whichever is longer),
    // each multiplied by a single-threaded gemm on its own rayon task: one fork/join per
    // product, where gemm's own threading synchronises once per cache block.
    let split_rows = m >= n;
    let len = if split_rows { m } else { n };
    let block = len.div_ceil(parts).next_multiple_of(16).max(16);
    let dst_ptr = SendPtr(dst.as_mut_ptr());
    let (a_ptr, b_ptr) = (
        SendPtr(a.as_ptr().cast_mut()),
        SendPtr(b.as_ptr().cast_mut()),
    );
    let run = |start: usize| {
        let count = block.min(len - start);
        // SAFETY: the asserts above guarantee every index gemm touches is in bounds for
        // the given strides (A is m×k, B is k×n, dst is m×n, each exactly as laid out);
        // the blocks cover disjoint rows/columns of dst, so no two tasks write the same
        // element, and A and B are only read.
        unsafe {
            let (dst, a, b, rows, cols) = if split_rows {
                let dst = dst_ptr.get().add(start * n);
                let a = a_ptr.get().offset(start as isize * a_rs);
                (dst, a.cast_const(), b_ptr.get().cast_const(), count, n)
            } else {
                let dst = dst_ptr.get().add(start);
                let b = b_ptr.get().offset(start as isize * b_cs);
                (dst, a_ptr.get().cast_const(), b.cast_const(), m, count)
            };
            gemm::gemm(
                rows,
                cols,
                k,
                dst,
                1,
                n as isize,
                accumulate,
                a,
                a_cs,
                a_rs,
                b,
                b_cs,
                b_rs,
                1.0,
                1.0,
                false,
                false,
                false,
                Parallelism::None,
            );
        }
    };
    if parts == 1 || len <= block {
        run(0);
    } else {
        (0..len).into_par_iter().step_by(block).for_each(run);
    }
}

/// A raw pointer that may cross to a rayon task; see the SAFETY note where it is used.
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);

// SAFETY: only used for the disjoint output blocks and read-only operands of one matmul,
// which outlive the fork/join that uses them.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// A method, not a field access, so closures capture the whole `SendPtr`.
    fn get(self) -> *mut f32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0f64;
                for p in 0..k {
                    s += a[i * k + p] as f64 * b[p * n + j] as f64;
                }
                c[i * n + j] = s as f32;
            }
        }
        c
    }

    fn transpose(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        let mut t = vec![0.0; rows * cols];
        for r in 0..rows {
            for c in 0..cols {
                t[c * rows + r] = x[r * cols + c];
            }
        }
        t
    }

    #[test]
    fn all_layouts_match_naive() {
        let mut rng = crate::tensor::Rng::seed(0);
        // the last two are big enough to be split by rows, then by columns, across threads
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 5, 7),
            (17, 33, 9),
            (130, 70, 120),
            (50, 300, 211),
        ] {
            let a: Vec<f32> = (0..m * k).map(|_| rng.normal()).collect();
            let b: Vec<f32> = (0..k * n).map(|_| rng.normal()).collect();
            let want = naive(&a, &b, m, k, n);
            let at = transpose(&a, m, k);
            let bt = transpose(&b, k, n);
            for (aa, al) in [(&a, Layout::Normal), (&at, Layout::Transposed)] {
                for (bb, bl) in [(&b, Layout::Normal), (&bt, Layout::Transposed)] {
                    let mut c = vec![0.0; m * n];
                    matmul_into(&mut c, aa, al, bb, bl, m, k, n, false);
                    for (x, y) in c.iter().zip(&want) {
                        assert!((x - y).abs() < 1e-3 * (1.0 + y.abs()), "{x} vs {y}");
                    }
                    // accumulate adds on top
                    matmul_into(&mut c, aa, al, bb, bl, m, k, n, true);
                    for (x, y) in c.iter().zip(&want) {
                        assert!((x - 2.0 * y).abs() < 2e-3 * (1.0 + y.abs()));
                    }
                }
            }
        }
    }
}
