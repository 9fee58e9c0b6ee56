//! The blocked gate layout that lets one recurrent step run on several threads.
//!
//! PyTorch stores a cell's weights gate-major: row `k·H + j` of `W_ih` and `W_hh` is gate
//! `k` of hidden unit `j`. The gate maths of unit `j` needs all of its gates, so inside the
//! recurrence the hidden units are split into blocks of consecutive units and the gate rows
//! are reordered block by block: block `b` (units `u0..u0 + w`) owns the `G·w` columns from
//! `G·u0`, gate `k` of unit `u0 + j` at column `G·u0 + k·w + j`. Each block is then a cell
//! of hidden size `w` whose projections, cache and weights are contiguous, and one thread
//! steps it alone: the step's hidden product and gate maths split with one hand-off per
//! step instead of two. The blocks depend only on the sizes, never on the thread count,
//! so a step's sums are the same however many threads share it.

use std::ops::Range;

/// Hidden units per block aimed at: a block's step product (batch × H × G·64) is large
/// enough for an efficient GEMM, and a 256-unit layer still splits four ways.
const UNITS_PER_BLOCK: usize = 64;

/// At most this many blocks (threads that can share one step).
const MAX_BLOCKS: usize = 16;

/// How one direction's hidden units are split, and the gate-row order that follows.
pub struct GateBlocks {
    gates: usize,
    hidden: usize,
    /// Block `b` holds units `bounds[b]..bounds[b + 1]`.
    bounds: Vec<usize>,
    /// `order[c]` is the PyTorch row of blocked row `c`.
    order: Vec<usize>,
}

impl GateBlocks {
    pub fn new(gates: usize, hidden: usize) -> Self {
        let count = (hidden / UNITS_PER_BLOCK).clamp(1, MAX_BLOCKS);
        // whole 16-float vectors per block where the size allows
        let width = hidden
            .div_ceil(count)
            .next_multiple_of(16)
            .clamp(1, hidden.max(1));
        let mut bounds: Vec<usize> = (0..hidden).step_by(width).collect();
        bounds.push(hidden);
        let mut order = Vec::with_capacity(gates * hidden);
        for units in bounds.windows(2) {
            for k in 0..gates {
                order.extend((units[0]..units[1]).map(|j| k * hidden + j));
            }
        }
        GateBlocks {
            gates,
            hidden,
            bounds,
            order,
        }
    }

    /// Number of blocks.
    pub fn len(&self) -> usize {
        self.bounds.len() - 1
    }

    /// The hidden units of block `b`.
    pub fn units(&self, b: usize) -> Range<usize> {
        self.bounds[b]..self.bounds[b + 1]
    }

    /// The rows of a PyTorch-ordered `[G·H, cols]` matrix (or `[G·H]` bias) in blocked order.
    pub fn to_blocked(&self, m: &[f32], cols: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(m.len());
        for &row in &self.order {
            out.extend_from_slice(&m[row * cols..][..cols]);
        }
        out
    }

    /// The rows of a blocked `[G·H, cols]` matrix back in PyTorch's order.
    pub fn to_pytorch(&self, m: &[f32], cols: usize) -> Vec<f32> {
        let mut out = vec![0.0; m.len()];
        for (c, &row) in self.order.iter().enumerate() {
            out[row * cols..][..cols].copy_from_slice(&m[c * cols..][..cols]);
        }
        out
    }

    /// Block `b`'s part of `W_hhᵀ` (PyTorch's `W_hh` is `[G·H, H]`) as a `[H, G·w]` matrix,
    /// so the block's hidden projection is `h_prev (N×H) · this`, read by gemm in place.
    pub fn hidden_weights_t(&self, w_hh: &[f32], b: usize) -> Vec<f32> {
        let h = self.hidden;
        let rows = &self.order[self.gates * self.bounds[b]..self.gates * self.bounds[b + 1]];
        let mut t = vec![0.0; h * rows.len()];
        let width = rows.len();
        // 16 columns at a time: each write is one cache line, the 16 rows read stream
        for c0 in (0..width).step_by(16) {
            let cols = c0..(c0 + 16).min(width);
            for k in 0..h {
                for c in cols.clone() {
                    t[k * width + c] = w_hh[rows[c] * h + k];
                }
            }
        }
        t
    }

    /// Columns of block `b`'s units of `W_hh` with the rows in blocked order, `[G·H, w]`:
    /// the block's part of `dh_prev` is `d_hp (N×G·H, blocked) · this`.
    pub fn hidden_weights_cols(&self, w_hh: &[f32], b: usize) -> Vec<f32> {
        let (h, units) = (self.hidden, self.units(b));
        let mut out = Vec::with_capacity(self.order.len() * units.len());
        for &row in &self.order {
            out.extend_from_slice(&w_hh[row * h..][units.clone()]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_the_units_in_vector_widths() {
        let b = GateBlocks::new(4, 200);
        assert_eq!(b.bounds, vec![0, 80, 160, 200]);
        assert_eq!(GateBlocks::new(4, 256).bounds, vec![0, 64, 128, 192, 256]);
        assert_eq!(GateBlocks::new(3, 20).bounds, vec![0, 20]);
        assert_eq!(GateBlocks::new(1, 1).bounds, vec![0, 1]);
    }

    #[test]
    fn blocked_order_round_trips_and_groups_each_units_gates() {
        let (g, h) = (4, 130);
        let blocks = GateBlocks::new(g, h);
        assert_eq!(blocks.len(), 2);
        let m: Vec<f32> = (0..g * h * 3).map(|v| v as f32).collect();
        let blocked = blocks.to_blocked(&m, 3);
        assert_eq!(blocks.to_pytorch(&blocked, 3), m);
        // block 1 holds units 80..130: its gate 2 of unit 81 sits at G·80 + 2·50 + 1
        let c = g * 80 + 2 * 50 + 1;
        assert_eq!(blocked[c * 3], m[(2 * h + 81) * 3]);
        // the hidden weights of block 1, both ways, agree with W_hh entry for entry
        let w_hh: Vec<f32> = (0..g * h * h).map(|v| v as f32).collect();
        let t = blocks.hidden_weights_t(&w_hh, 1);
        let cols = blocks.hidden_weights_cols(&w_hh, 1);
        let row = 2 * h + 81;
        let local = 2 * 50 + 1;
        assert_eq!(t[7 * (g * 50) + local], w_hh[row * h + 7]);
        // cols: blocked row c, unit 81 - 80 = 1 of the block
        assert_eq!(cols[c * 50 + 1], w_hh[row * h + 81]);
    }
}
