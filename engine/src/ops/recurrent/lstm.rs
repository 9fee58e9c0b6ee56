//! LSTM (PyTorch's `nn.LSTM`, batch first), gates i, f, g, o in that order:
//! `i = σ(·)`, `f = σ(·)`, `g = tanh(·)`, `o = σ(·)` of `x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh`;
//! `c = f⊙c_prev + i⊙g`, `h = o⊙tanh(c)`.

use super::bptt::{BackwardRow, Cell, ForwardRow};
use crate::ops::support::maths::{sigmoid, tanh_f32};

super::recurrent_op! {
    /// PyTorch's `nn.LSTM(batch_first=True)` config.
    Lstm = "LSTM", LstmCell,
    {},
    |_| LstmCell
}

/// The LSTM gates. Cache per step: the activated gates i, f, g, o, then c and tanh(c).
pub struct LstmCell;

impl Cell for LstmCell {
    const GATES: usize = 4;
    const SHARED_PROJECTION_GRAD: bool = true;
    const CARRIES_STATE: bool = true;

    fn cache_width(hidden: usize) -> usize {
        6 * hidden
    }

    #[inline(always)]
    fn forward(&self, r: ForwardRow<'_>) {
        let h = r.h.len();
        let (gates, cells) = r.cache.split_at_mut(4 * h);
        let (xp, hp) = (&r.xp[..4 * h], &r.hp[..4 * h]);
        // indexed loops with inlined maths: they vectorize inside `vectorized`'s copies
        for j in 0..2 * h {
            gates[j] = sigmoid(xp[j] + hp[j]);
        }
        for j in 2 * h..3 * h {
            gates[j] = tanh_f32(xp[j] + hp[j]);
        }
        for j in 3 * h..4 * h {
            gates[j] = sigmoid(xp[j] + hp[j]);
        }
        let (i, rest) = gates.split_at(h);
        let (f, rest) = rest.split_at(h);
        let (g, o) = rest.split_at(h);
        let (c, tanh_c) = cells.split_at_mut(h);
        let (c_prev, h_out) = (&r.prev_cache[4 * h..5 * h], &mut r.h[..h]);
        let (tanh_c, o) = (&mut tanh_c[..h], &o[..h]);
        for j in 0..h {
            c[j] = f[j] * c_prev[j] + i[j] * g[j];
            tanh_c[j] = tanh_f32(c[j]);
            h_out[j] = o[j] * tanh_c[j];
        }
    }

    #[inline(always)]
    fn backward(&self, r: BackwardRow<'_>) {
        let h = r.dh.len();
        let gate = |k: usize| &r.cache[k * h..(k + 1) * h];
        let (i, f, g, o, tanh_c) = (gate(0), gate(1), gate(2), gate(3), gate(5));
        let c_prev = &r.prev_cache[4 * h..5 * h];
        let (d_i, rest) = r.d_xp.split_at_mut(h);
        let (d_f, rest) = rest.split_at_mut(h);
        let (d_g, d_o) = rest.split_at_mut(h);
        let (dh, carry, d_o) = (&r.dh[..h], &mut r.carry[..h], &mut d_o[..h]);
        for j in 0..h {
            let dc = carry[j] + dh[j] * o[j] * (1.0 - tanh_c[j] * tanh_c[j]);
            d_o[j] = dh[j] * tanh_c[j] * o[j] * (1.0 - o[j]);
            d_i[j] = dc * g[j] * i[j] * (1.0 - i[j]);
            d_g[j] = dc * i[j] * (1.0 - g[j] * g[j]);
            d_f[j] = dc * c_prev[j] * f[j] * (1.0 - f[j]);
            carry[j] = dc * f[j];
        }
        r.dh_prev.fill(0.0);
    }
}
