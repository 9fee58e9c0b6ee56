//! GRU (PyTorch's `nn.GRU`, batch first), gates r, z, n in that order:
//! `r = σ(x_r + h_r)`, `z = σ(x_z + h_z)`, `n = tanh(x_n + r⊙h_n)`, `h = (1−z)⊙n + z⊙h_prev`,
//! where `x_· = x·W_iᵀ + b_i·` and `h_· = h_prev·W_hᵀ + b_h·` (so `b_hn` sits inside r⊙·).

use super::bptt::{BackwardRow, Cell, ForwardRow};
use crate::ops::support::maths::{sigmoid, tanh_f32};

super::recurrent_op! {
    /// PyTorch's `nn.GRU(batch_first=True)` config.
    Gru = "GRU", GruCell,
    {},
    |_| GruCell
}

/// The GRU gates. Cache per step: r, z, n and the hidden projection's n part `h_n`.
pub struct GruCell;

impl Cell for GruCell {
    const GATES: usize = 3;
    const CARRIES_STATE: bool = false;

    fn cache_width(hidden: usize) -> usize {
        4 * hidden
    }

    fn forward(&self, row: ForwardRow<'_>) {
        let h = row.h.len();
        let (x, hp, c) = (row.xp, row.hp, row.cache);
        for j in 0..h {
            let r = sigmoid(x[j] + hp[j]);
            let z = sigmoid(x[h + j] + hp[h + j]);
            let h_n = hp[2 * h + j];
            let n = tanh_f32(x[2 * h + j] + r * h_n);
            row.h[j] = (1.0 - z) * n + z * row.h_prev[j];
            c[j] = r;
            c[h + j] = z;
            c[2 * h + j] = n;
            c[3 * h + j] = h_n;
        }
    }

    fn backward(&self, row: BackwardRow<'_>) {
        let h = row.dh.len();
        let c = row.cache;
        for j in 0..h {
            let (r, z, n, h_n) = (c[j], c[h + j], c[2 * h + j], c[3 * h + j]);
            let dh = row.dh[j];
            let d_n = dh * (1.0 - z) * (1.0 - n * n);
            let d_z = dh * (row.h_prev[j] - n) * z * (1.0 - z);
            let d_r = d_n * h_n * r * (1.0 - r);
            row.d_xp[j] = d_r;
            row.d_hp[j] = d_r;
            row.d_xp[h + j] = d_z;
            row.d_hp[h + j] = d_z;
            row.d_xp[2 * h + j] = d_n;
            row.d_hp[2 * h + j] = d_n * r;
            row.dh_prev[j] = dh * z;
        }
    }
}
