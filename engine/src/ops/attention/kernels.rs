//! Scaled dot-product attention over `[T, dh]` blocks, one block per (sample, head): the
//! maths `MultiheadAttention` runs between its input and output projections.
//!
//! Every product is one GEMM per block (`q·kᵀ`, `p·v` and their gradients), blocks run in
//! parallel when there is enough work, each GEMM on its own thread. Softmax and its
//! gradient are the `Softmax` op's row kernels; a causal row is the softmax of its first
//! `i + 1` scores, zero beyond.

use crate::ops::activation::softmax::{softmax_backward_block, softmax_block};
use crate::tensor::{Layout, PARALLEL_MIN_MACS, matmul_with};
use gemm::Parallelism;
use rayon::prelude::*;

/// The sizes of one attention call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heads {
    pub batch: usize,
    pub steps: usize,
    pub heads: usize,
    pub head_dim: usize,
}

impl Heads {
    /// (sample, head) blocks.
    pub fn blocks(&self) -> usize {
        self.batch * self.heads
    }

    /// Elements of one `[T, dh]` block.
    fn block(&self) -> usize {
        self.steps * self.head_dim
    }

    /// Elements of one `[T, T]` probability block.
    fn square(&self) -> usize {
        self.steps * self.steps
    }

    /// Blocks per parallel task: enough multiply-adds to be worth a task.
    fn min_blocks(&self) -> usize {
        PARALLEL_MIN_MACS
            .div_ceil((self.square() * self.head_dim).max(1))
            .max(1)
    }

    fn scale(&self) -> f32 {
        1.0 / (self.head_dim as f32).sqrt()
    }
}

/// Regroups `[N, T, P, H, dh]` (rows of `P` parts of `H` heads, as projections lay them out)
/// into `[P, N, H, T, dh]` (one contiguous `[T, dh]` block per part, sample and head) when
/// `to_blocks`, and back otherwise.
pub fn regroup(src: &[f32], h: Heads, parts: usize, to_blocks: bool) -> Vec<f32> {
    let (n, t, nh, dh) = (h.batch, h.steps, h.heads, h.head_dim);
    let mut out = vec![0.0; src.len()];
    for s in 0..n {
        for step in 0..t {
            for p in 0..parts {
                for head in 0..nh {
                    let row = (((s * t + step) * parts + p) * nh + head) * dh;
                    let block = (((p * n + s) * nh + head) * t + step) * dh;
                    let (from, to) = if to_blocks {
                        (row, block)
                    } else {
                        (block, row)
                    };
                    out[to..to + dh].copy_from_slice(&src[from..from + dh]);
                }
            }
        }
    }
    out
}

/// One GEMM of a block, on the calling thread.
#[allow(clippy::too_many_arguments)]
fn gemm(
    dst: &mut [f32],
    a: &[f32],
    a_layout: Layout,
    b: &[f32],
    b_layout: Layout,
    (m, k, n): (usize, usize, usize),
    accumulate: bool,
) {
    matmul_with(
        Parallelism::None,
        dst,
        a,
        a_layout,
        b,
        b_layout,
        m,
        k,
        n,
        accumulate,
    );
}

/// The softmax of row `i`'s visible scores, in place (causal: the first `i + 1`).
fn softmax_rows(p: &mut [f32], t: usize, causal: bool, scratch: &mut [f32]) {
    for (i, row) in p.chunks_exact_mut(t).enumerate() {
        let len = if causal { i + 1 } else { t };
        scratch[..len].copy_from_slice(&row[..len]);
        softmax_block(&scratch[..len], &mut row[..len], &mut [0.0], 1, false);
        row[len..].fill(0.0);
    }
}

/// Attention probabilities `softmax(q·kᵀ/√dh)` per block, `[N·H, T, T]`, from the
/// regrouped `[3, N, H, T, dh]` projections.
pub fn probabilities(qkv: &[f32], h: Heads, causal: bool) -> Vec<f32> {
    let (t, dh, bl) = (h.steps, h.head_dim, h.block());
    let (q, k) = (&qkv[..h.blocks() * bl], &qkv[h.blocks() * bl..]);
    let mut probs = vec![0.0; h.blocks() * h.square()];
    let scale = h.scale();
    probs
        .par_chunks_mut(h.square().max(1))
        .enumerate()
        .with_min_len(h.min_blocks())
        .for_each_init(
            || vec![0.0; t],
            |scratch, (b, p)| {
                let (qb, kb) = (&q[b * bl..][..bl], &k[b * bl..][..bl]);
                gemm(
                    p,
                    qb,
                    Layout::Normal,
                    kb,
                    Layout::Transposed,
                    (t, dh, t),
                    false,
                );
                p.iter_mut().for_each(|v| *v *= scale);
                softmax_rows(p, t, causal, scratch);
            },
        );
    probs
}

/// `out = p·v` per block, `[N·H, T, dh]`.
pub fn weighted(probs: &[f32], qkv: &[f32], h: Heads) -> Vec<f32> {
    let (t, dh, bl) = (h.steps, h.head_dim, h.block());
    let v = &qkv[2 * h.blocks() * bl..];
    let mut out = vec![0.0; h.blocks() * bl];
    out.par_chunks_mut(bl.max(1))
        .enumerate()
        .with_min_len(h.min_blocks())
        .for_each(|(b, o)| {
            let pb = &probs[b * h.square()..][..h.square()];
            gemm(
                o,
                pb,
                Layout::Normal,
                &v[b * bl..][..bl],
                Layout::Normal,
                (t, t, dh),
                false,
            );
        });
    out
}

/// First half of backward, from `d_out` `[N·H, T, dh]`: `dv = pᵀ·d_out` into `d_qkv`'s
/// value part, and the gradient of the (dropped-out) probabilities `d_out·vᵀ`, returned.
pub fn backward_values(
    probs: &[f32],
    qkv: &[f32],
    d_out: &[f32],
    d_qkv: &mut [f32],
    h: Heads,
) -> Vec<f32> {
    let (t, dh, bl) = (h.steps, h.head_dim, h.block());
    let v = &qkv[2 * h.blocks() * bl..];
    let dv = &mut d_qkv[2 * h.blocks() * bl..];
    let mut d_probs = vec![0.0; h.blocks() * h.square()];
    d_probs
        .par_chunks_mut(h.square().max(1))
        .zip(dv.par_chunks_mut(bl.max(1)))
        .enumerate()
        .with_min_len(h.min_blocks())
        .for_each(|(b, (dp, dvb))| {
            let (pb, dob) = (
                &probs[b * h.square()..][..h.square()],
                &d_out[b * bl..][..bl],
            );
            gemm(
                dvb,
                pb,
                Layout::Transposed,
                dob,
                Layout::Normal,
                (t, t, dh),
                false,
            );
            gemm(
                dp,
                dob,
                Layout::Normal,
                &v[b * bl..][..bl],
                Layout::Transposed,
                (t, dh, t),
                false,
            );
        });
    d_probs
}

/// Second half of backward: from the probabilities' gradient (before dropout), the
/// scores' gradient through softmax (in place in `d_probs`), then `dq = ds·k/√dh` and
/// `dk = dsᵀ·q/√dh` into `d_qkv`'s query and key parts.
pub fn backward_scores(
    probs: &[f32],
    d_probs: &mut [f32],
    qkv: &[f32],
    d_qkv: &mut [f32],
    h: Heads,
) {
    let (t, dh, bl) = (h.steps, h.head_dim, h.block());
    let (q, k) = (&qkv[..h.blocks() * bl], &qkv[h.blocks() * bl..]);
    let (dq, rest) = d_qkv.split_at_mut(h.blocks() * bl);
    let dk = &mut rest[..h.blocks() * bl];
    let scale = h.scale();
    d_probs
        .par_chunks_mut(h.square().max(1))
        .zip(
            dq.par_chunks_mut(bl.max(1))
                .zip(dk.par_chunks_mut(bl.max(1))),
        )
        .enumerate()
        .with_min_len(h.min_blocks())
        .for_each_init(
            || vec![0.0; t],
            |row_grad, (b, (ds, (dqb, dkb)))| {
                let pb = &probs[b * h.square()..][..h.square()];
                for (dsr, pr) in ds.chunks_exact_mut(t).zip(pb.chunks_exact(t)) {
                    row_grad.copy_from_slice(dsr);
                    softmax_backward_block(pr, row_grad, dsr, 1, false);
                    dsr.iter_mut().for_each(|v| *v *= scale);
                }
                let (qb, kb) = (&q[b * bl..][..bl], &k[b * bl..][..bl]);
                gemm(
                    dqb,
                    ds,
                    Layout::Normal,
                    kb,
                    Layout::Normal,
                    (t, t, dh),
                    false,
                );
                gemm(
                    dkb,
                    ds,
                    Layout::Transposed,
                    qb,
                    Layout::Normal,
                    (t, t, dh),
                    false,
                );
            },
        );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regroup_round_trips_and_places_blocks() {
        let h = Heads {
            batch: 2,
            steps: 3,
            heads: 2,
            head_dim: 2,
        };
        let src: Vec<f32> = (0..2 * 3 * 3 * 2 * 2).map(|v| v as f32).collect();
        let blocks = regroup(&src, h, 3, true);
        assert_eq!(regroup(&blocks, h, 3, false), src);
        // sample 0, step 1, key part (1), head 1: row offset (((0·3+1)·3+1)·2+1)·2 = 18;
        // its block (part 1, sample 0, head 1) starts at ((1·2+0)·2+1)·3·2 = 30, step 1 at 32
        assert_eq!(blocks[32..34], src[18..20]);
    }

    #[test]
    fn causal_rows_see_only_the_past() {
        let h = Heads {
            batch: 1,
            steps: 3,
            heads: 1,
            head_dim: 2,
        };
        let qkv: Vec<f32> = (0..18).map(|v| (v as f32 * 0.37).sin()).collect();
        let p = probabilities(&qkv, h, true);
        assert_eq!(p[0], 1.0);
        assert_eq!(&p[1..3], &[0.0, 0.0]);
        assert_eq!(p[5], 0.0);
        for row in p.chunks(3) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
    }
}
