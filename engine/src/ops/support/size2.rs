//! Spatial sizes for 2-D ops.

use serde::{Deserialize, Serialize};

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
