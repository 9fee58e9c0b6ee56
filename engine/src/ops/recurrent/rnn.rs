//! Elman RNN (PyTorch's `nn.RNN`, batch first): `h = act(x·W_ihᵀ + b_ih + h_prev·W_hhᵀ + b_hh)`
//! with `act` tanh (the default) or relu.

use super::bptt::{BackwardRow, Cell, ForwardRow};
use crate::ops::support::maths::tanh_f32;
use serde::{Deserialize, Serialize};

/// The RNN's activation; serialised as PyTorch's `nonlinearity` strings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Nonlinearity {
    #[default]
    Tanh,
    Relu,
}

super::recurrent_op! {
    /// PyTorch's `nn.RNN(batch_first=True)` config.
    Rnn = "RNN", Nonlinearity,
    {
        /// The activation: tanh (default) or relu.
        nonlinearity: Nonlinearity = Nonlinearity::Tanh,
    },
    |op| op.nonlinearity
}

/// The plain cell: one gate, the activation's derivative read from `h` (no cache).
impl Cell for Nonlinearity {
    const GATES: usize = 1;
    const SHARED_PROJECTION_GRAD: bool = true;
    const CARRIES_STATE: bool = false;

    fn cache_width(_hidden: usize) -> usize {
        0
    }

    #[inline(always)]
    fn forward(&self, r: ForwardRow<'_>) {
        for ((h, &x), &hp) in r.h.iter_mut().zip(r.xp).zip(r.hp) {
            *h = match self {
                Nonlinearity::Tanh => tanh_f32(x + hp),
                Nonlinearity::Relu => (x + hp).max(0.0),
            };
        }
    }

    #[inline(always)]
    fn backward(&self, r: BackwardRow<'_>) {
        for (j, (&dh, &h)) in r.dh.iter().zip(r.h).enumerate() {
            let d = match self {
                Nonlinearity::Tanh => dh * (1.0 - h * h),
                Nonlinearity::Relu => dh * (h > 0.0) as u8 as f32,
            };
            r.d_xp[j] = d;
            r.dh_prev[j] = 0.0;
        }
    }
}
