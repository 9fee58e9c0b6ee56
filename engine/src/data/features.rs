//! A dataset's samples: all in memory (generated sets, MNIST, CSV), or image files read on
//! demand, so a folder bigger than memory still trains.

use super::augment::Draw;
use super::images::ImageList;
use crate::error::{Error, Result};
use crate::tensor::{Tensor, numel};

#[derive(Clone, Debug, PartialEq)]
pub enum Features {
    /// Every sample, `[N, ...per-sample shape]`.
    Memory(Tensor),
    /// Image files decoded (and cached) when a batch asks for them, `[N, C, H, W]`.
    Images(ImageList),
}

impl Features {
    /// `[N, ...per-sample shape]`.
    pub fn shape(&self) -> &[usize] {
        match self {
            Features::Memory(t) => t.shape(),
            Features::Images(l) => l.shape(),
        }
    }

    /// The samples as one tensor, when they are in memory.
    pub fn tensor(&self) -> Result<&Tensor> {
        match self {
            Features::Memory(t) => Ok(t),
            Features::Images(_) => Err(not_in_memory()),
        }
    }

    /// The in-memory tensor, to change in place (standardising).
    pub fn tensor_mut(&mut self) -> Result<&mut Tensor> {
        match self {
            Features::Memory(t) => Ok(t),
            Features::Images(_) => Err(not_in_memory()),
        }
    }

    /// The samples at `idx`, in that order, as `[B, ...]`; image files are decoded, and
    /// augmented with `draw` (training batches; in-memory samples take no augmentation).
    pub fn take(&self, idx: &[usize], draw: Option<&Draw>) -> Result<Tensor> {
        match (self, draw) {
            (Features::Memory(t), None) => take(t, idx),
            (Features::Memory(_), Some(_)) => Err(Error::config(
                "training.augment",
                "augmentation applies to image folders (`images:DIR`) only",
            )),
            (Features::Images(l), _) => l.batch(idx, draw),
        }
    }

    /// The samples at `idx`, in that order, without reading any image.
    pub fn subset(&self, idx: &[usize]) -> Result<Features> {
        match self {
            Features::Memory(t) => take(t, idx).map(Features::Memory),
            Features::Images(l) => l.subset(idx).map(Features::Images),
        }
    }

    /// These samples followed by `other`'s.
    pub fn concat(&self, other: &Features) -> Result<Features> {
        match (self, other) {
            (Features::Memory(a), Features::Memory(b)) => {
                let mut shape = a.shape().to_vec();
                if let Some(n) = shape.first_mut() {
                    *n += b.shape().first().copied().unwrap_or(0);
                }
                Tensor::new(&shape, [a.data(), b.data()].concat()).map(Features::Memory)
            }
            (Features::Images(a), Features::Images(b)) => a.concat(b).map(Features::Images),
            _ => Err(Error::Other(
                "cannot join samples held in memory with image files".into(),
            )),
        }
    }
}

fn not_in_memory() -> Error {
    Error::Other("the samples are image files read on demand, not a tensor in memory".into())
}

/// Rows `idx` of `t` along its first dimension. Errors (rather than panics) on an index out
/// of range, since indices may come from user-built datasets.
pub(crate) fn take(t: &Tensor, idx: &[usize]) -> Result<Tensor> {
    let shape = t.shape();
    let n = shape.first().copied().unwrap_or(0);
    let row = numel(shape.get(1..).unwrap_or(&[]));
    let data = t.data();
    let mut out = Vec::with_capacity(idx.len() * row);
    for &i in idx {
        // Bounds-check the index before multiplying, so a huge index can't overflow.
        let src = (i < n)
            .then(|| data.get(i * row..(i + 1) * row))
            .flatten()
            .ok_or_else(|| {
                Error::bad_shape(
                    "take",
                    shape,
                    format!("sample index {i} out of range 0..{n}"),
                )
            })?;
        out.extend_from_slice(src);
    }
    let mut out_shape = shape.to_vec();
    if let Some(first) = out_shape.first_mut() {
        *first = idx.len();
    }
    Tensor::new(&out_shape, out)
}
