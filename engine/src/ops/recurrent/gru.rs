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
    const SHARED_PROJECTION_GRAD: bool = false;
    const CARRIES_STATE: bool = false;

    fn cache_width(hidden: usize) -> usize {
        4 * hidden
    }

    #[inline(always)]
    fn forward(&self, row: ForwardRow<'_>) {
        let h = row.h.len();
        let (x, hp) = (&row.xp[..3 * h], &row.hp[..3 * h]);
        let (r, rest) = row.cache.split_at_mut(h);
        let (z, rest) = rest.split_at_mut(h);
        let (n, h_n) = rest.split_at_mut(h);
        let h_n = &mut h_n[..h];
        for j in 0..h {
            r[j] = sigmoid(x[j] + hp[j]);
            z[j] = sigmoid(x[h + j] + hp[h + j]);
            h_n[j] = hp[2 * h + j];
            n[j] = tanh_f32(x[2 * h + j] + r[j] * h_n[j]);
        }
        let (out, h_prev) = (&mut row.h[..h], &row.h_prev[..h]);
        for j in 0..h {
            out[j] = (1.0 - z[j]) * n[j] + z[j] * h_prev[j];
        }
    }

    #[inline(always)]
    fn backward(&self, row: BackwardRow<'_>) {
        let h = row.dh.len();
        let part = |k: usize| &row.cache[k * h..(k + 1) * h];
        let (r, z, n, h_n) = (part(0), part(1), part(2), part(3));
        let (dh, h_prev, dh_prev) = (&row.dh[..h], &row.h_prev[..h], &mut row.dh_prev[..h]);
        let (x_r, rest) = row.d_xp.split_at_mut(h);
        let (x_z, x_n) = rest.split_at_mut(h);
        let (h_r, rest) = row.d_hp.split_at_mut(h);
        let (h_z, h_nn) = rest.split_at_mut(h);
        let (x_n, h_nn) = (&mut x_n[..h], &mut h_nn[..h]);
        for j in 0..h {
            let d_n = dh[j] * (1.0 - z[j]) * (1.0 - n[j] * n[j]);
            let d_z = dh[j] * (h_prev[j] - n[j]) * z[j] * (1.0 - z[j]);
            let d_r = d_n * h_n[j] * r[j] * (1.0 - r[j]);
            x_r[j] = d_r;
            h_r[j] = d_r;
            x_z[j] = d_z;
            h_z[j] = d_z;
            x_n[j] = d_n;
            h_nn[j] = d_n * r[j];
            dh_prev[j] = dh[j] * z[j];
        }
    }
}
