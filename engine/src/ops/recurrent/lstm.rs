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
    const CARRIES_STATE: bool = true;

    fn cache_width(hidden: usize) -> usize {
        6 * hidden
    }

    fn forward(&self, r: ForwardRow<'_>) {
        let h = r.h.len();
        let (gates, cells) = r.cache.split_at_mut(4 * h);
        for (g, (&x, &hp)) in gates.iter_mut().zip(r.xp.iter().zip(r.hp)) {
            *g = x + hp;
        }
        for (k, block) in gates.chunks_mut(h).enumerate() {
            let act: fn(f32) -> f32 = if k == 2 { tanh_f32 } else { sigmoid };
            block.iter_mut().for_each(|v| *v = act(*v));
        }
        let (c, tanh_c) = cells.split_at_mut(h);
        for j in 0..h {
            let c_prev = r.prev_cache.map_or(0.0, |p| p[4 * h + j]);
            c[j] = gates[h + j] * c_prev + gates[j] * gates[2 * h + j];
            tanh_c[j] = tanh_f32(c[j]);
            r.h[j] = gates[3 * h + j] * tanh_c[j];
        }
    }

    fn backward(&self, r: BackwardRow<'_>) {
        let h = r.dh.len();
        let (i, f, g, o) = (
            &r.cache[..h],
            &r.cache[h..2 * h],
            &r.cache[2 * h..3 * h],
            &r.cache[3 * h..4 * h],
        );
        let tanh_c = &r.cache[5 * h..6 * h];
        for j in 0..h {
            let c_prev = r.prev_cache.map_or(0.0, |p| p[4 * h + j]);
            let dc = r.carry[j] + r.dh[j] * o[j] * (1.0 - tanh_c[j] * tanh_c[j]);
            let d_o = r.dh[j] * tanh_c[j] * o[j] * (1.0 - o[j]);
            let d_i = dc * g[j] * i[j] * (1.0 - i[j]);
            let d_g = dc * i[j] * (1.0 - g[j] * g[j]);
            let d_f = dc * c_prev * f[j] * (1.0 - f[j]);
            r.carry[j] = dc * f[j];
            for (k, d) in [d_i, d_f, d_g, d_o].into_iter().enumerate() {
                r.d_xp[k * h + j] = d;
                r.d_hp[k * h + j] = d;
            }
            r.dh_prev[j] = 0.0;
        }
    }
}
