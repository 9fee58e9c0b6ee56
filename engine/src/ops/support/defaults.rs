//! Serde defaults for op configs, one function per value (serde's `default = "path"`
//! takes a function), shared so each default is written once and matches PyTorch's.

use super::size2::Size2;

pub fn yes() -> bool {
    true
}

pub fn one() -> usize {
    1
}

pub fn one_f32() -> f32 {
    1.0
}

pub fn size_one() -> Size2 {
    Size2::Square(1)
}

pub fn size_zero() -> Size2 {
    Size2::Square(0)
}

/// Dimension 1, the first after the batch.
pub fn dim_one() -> i64 {
    1
}

/// The last dimension (`dim=-1`).
pub fn last_dim() -> i64 {
    -1
}

/// LeakyReLU's `negative_slope`.
pub fn negative_slope() -> f32 {
    0.01
}

/// Normalisation layers' `eps`.
pub fn eps() -> f32 {
    1e-5
}

/// BatchNorm's `momentum`.
pub fn momentum() -> f32 {
    0.1
}
