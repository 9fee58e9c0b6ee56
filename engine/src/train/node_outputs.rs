//! A node's outputs for one fixed batch, from the forward-only [`Model`]: what the editor's
//! "Show outputs" view draws (generated or reconstructed images, a conv's feature maps).
//! The batch is fixed (the first validation samples, seeded noise) so that successive
//! snapshots of a training run are comparable.

use crate::ecs::Model;
use crate::error::{Error, Result};
use crate::graph::{Source, ValidGraph};
use crate::tensor::Tensor;

/// Feature maps shown at most (one tile per channel).
pub const MAX_MAPS: usize = 32;

/// How a node's per-sample output reads as pictures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputView {
    /// `[1|3, H, W]`: one image per sample.
    Images,
    /// `[C, H, W]`, another `C`: sample 0's channels, one grey tile each.
    FeatureMaps,
}

/// The view a per-sample output shape allows, if any.
pub fn view_of(per_sample: &[usize]) -> Option<OutputView> {
    match *per_sample {
        [1 | 3, h, w] if h > 0 && w > 0 => Some(OutputView::Images),
        [c, h, w] if c > 0 && h > 0 && w > 0 => Some(OutputView::FeatureMaps),
        _ => None,
    }
}

/// One tensor per graph input for a batch of `n`: `features`/`labels` (already cut to the
/// batch) for data inputs, noise inputs drawn from `seed`, empty where data is missing.
pub fn fixed_inputs(
    g: &ValidGraph,
    features: Option<&Tensor>,
    labels: Option<&Tensor>,
    n: usize,
    seed: u64,
) -> Vec<Tensor> {
    g.file
        .inputs
        .iter()
        .map(|d| match d.source {
            Source::Features => features.cloned(),
            Source::Labels => labels.cloned(),
            noise => noise.draw(n, &d.shape, seed, 0),
        })
        .map(|t| t.unwrap_or_else(|| Tensor::zeros(&[0])))
        .collect()
}

/// The output `[N, ...]` of node `node` for `inputs`, as the training runtime computes it
/// in eval mode.
pub fn node_output(model: &Model, inputs: &[Tensor], node: usize, seed: u64) -> Result<Tensor> {
    let name = model
        .graph()
        .file
        .nodes
        .get(node)
        .map(|d| d.name.clone())
        .ok_or_else(|| Error::Other(format!("no node {node}")))?;
    model
        .forward_with(inputs, seed, &[])?
        .swap_remove(node)
        .ok_or_else(|| Error::Other(format!("node `{name}` cannot be computed from the batch")))
}

/// Tiles to draw, `[T, C·H·W]` with values in 0..1, and the tile shape: the samples
/// (mapped from 0..1, or -1..1 when any value is below -0.01, e.g. after Tanh), or sample
/// 0's first [`MAX_MAPS`] channels, each stretched over its own min..max.
pub fn tiles(out: &Tensor, view: OutputView) -> Result<(Tensor, [usize; 3])> {
    let per = out.shape().get(1..).unwrap_or(&[]).to_vec();
    let [c, h, w] = per[..] else {
        return Err(Error::Other(format!(
            "output {:?} is not [N, C, H, W]",
            out.shape()
        )));
    };
    let n = out.dim(0);
    match view {
        OutputView::Images => {
            let low = if out.data().iter().any(|&v| v < -0.01) {
                -1.0
            } else {
                0.0
            };
            let data = out
                .data()
                .iter()
                .map(|&v| ((v - low) / (1.0 - low)).clamp(0.0, 1.0));
            Ok((Tensor::new(&[n, c * h * w], data.collect())?, [c, h, w]))
        }
        OutputView::FeatureMaps => {
            let maps = c.min(MAX_MAPS);
            let first = out.data().get(..maps * h * w).unwrap_or(&[]);
            let mut data = Vec::with_capacity(first.len());
            for m in first.chunks(h * w) {
                let lo = m.iter().copied().fold(f32::INFINITY, f32::min);
                let hi = m.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let span = (hi - lo).max(1e-12);
                data.extend(m.iter().map(|&v| ((v - lo) / span).clamp(0.0, 1.0)));
            }
            let t = data.len() / (h * w).max(1);
            Ok((Tensor::new(&[t, h * w], data)?, [1, h, w]))
        }
    }
}
