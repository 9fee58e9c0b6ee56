//! Spatial sizes for 2-D ops, and the range every kernel, stride, padding or dilation
//! must lie in.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The largest kernel, stride, padding, dilation or factor along one axis: far beyond any
/// real image, and small enough that the window arithmetic can never overflow.
pub const MAX_EXTENT: usize = 1 << 20;

/// Checks that both axes of the setting `name` lie in `[min, MAX_EXTENT]`; the error names
/// the op and the field.
pub fn check_extent(op: &str, name: &str, s: Size2, min: usize) -> Result<()> {
    for v in [s.h(), s.w()] {
        if v < min {
            return Err(Error::config(
                op,
                format!("{name} must be at least {min}, got {}×{}", s.h(), s.w()),
            ));
        }
        if v > MAX_EXTENT {
            return Err(Error::config(
                op,
                format!("{name} {v} is too large (at most {MAX_EXTENT})"),
            ));
        }
    }
    Ok(())
}

/// A kernel size, stride, padding or dilation: one number for both axes, or `(h, w)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Size2 {
    Square(usize),
    Rect(usize, usize),
}

impl Size2 {
    pub fn h(self) -> usize {
        match self {
            Size2::Square(s) | Size2::Rect(s, _) => s,
        }
    }

    pub fn w(self) -> usize {
        match self {
            Size2::Square(s) | Size2::Rect(_, s) => s,
        }
    }
}

impl Default for Size2 {
    fn default() -> Self {
        Size2::Square(1)
    }
}
