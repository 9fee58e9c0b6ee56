//! A node's outputs for one fixed batch, from the forward-only [`Model`]: what the editor's
//! "Show outputs" view draws (generated or reconstructed images, a conv's feature maps).
//! The batch is fixed (the first validation samples, seeded noise) so that successive
//! snapshots of a training run are comparable.

use crate::ecs::Model;
use crate::error::{Error, Result};
use crate::graph::{InputDecl, Source, ValidGraph};
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

/// How a node's per-sample output is drawn, and the `[C, H, W]` its values are cut into:
/// [`view_of`] the output itself, else (a flat output as large as one of the graph's image
/// data inputs, e.g. a VAE decoder's 784 values for a `[1, 28, 28]` input) images of that
/// input's shape.
pub fn drawn_as(per_sample: &[usize], inputs: &[InputDecl]) -> Option<(OutputView, [usize; 3])> {
    if let (Some(view), &[c, h, w]) = (view_of(per_sample), per_sample) {
        return Some((view, [c, h, w]));
    }
    let [n] = *per_sample else { return None };
    inputs
        .iter()
        .filter(|d| d.source == Source::Features)
        .find_map(|d| match d.shape[..] {
            [c @ (1 | 3), h, w] if c * h * w == n && n > 0 => Some((OutputView::Images, [c, h, w])),
            _ => None,
        })
}

/// Whether image values are in -1..1 (a Tanh generator) rather than 0..1: at least 1% of
/// them below -0.1. A single slightly negative value (a linear decoder's undershoot on a
/// black background) must not turn every black pixel mid-grey.
pub fn signed_range(values: &[f32]) -> bool {
    let below = values.iter().filter(|&&v| v < -0.1).count();
    below > 0 && below * 100 >= values.len()
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
/// (mapped from 0..1, or -1..1 when [`signed_range`] says so, e.g. after Tanh), or sample
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
            let low = if signed_range(out.data()) { -1.0 } else { 0.0 };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(shape: &[usize], source: Source) -> InputDecl {
        InputDecl {
            name: "x".into(),
            shape: shape.to_vec(),
            source,
        }
    }

    /// A 0..1 image with a little undershoot stays 0..1 (black stays black); a Tanh
    /// image, mostly -1, is read as -1..1 (its -1 is black, not clamped mid-grey).
    #[test]
    fn only_clearly_signed_images_are_read_as_minus_one_to_one() {
        let mut undershoot = vec![0.0f32; 400];
        undershoot[0] = -0.05;
        undershoot[1] = -0.3; // one stray value in 400: under 1%
        undershoot[2] = 1.0;
        let t = Tensor::new(&[1, 1, 20, 20], undershoot).unwrap();
        let (tiles_, _) = tiles(&t, OutputView::Images).unwrap();
        assert_eq!(tiles_.data()[3], 0.0, "0 is black");
        assert_eq!(tiles_.data()[2], 1.0, "1 is white");
        let mut tanh = vec![-1.0f32; 400];
        tanh[5] = 1.0;
        tanh[6] = 0.0;
        let t = Tensor::new(&[1, 1, 20, 20], tanh).unwrap();
        let (tiles_, _) = tiles(&t, OutputView::Images).unwrap();
        assert_eq!(tiles_.data()[0], 0.0, "-1 is black");
        assert_eq!(tiles_.data()[5], 1.0, "1 is white");
        assert_eq!(tiles_.data()[6], 0.5, "0 is mid-grey");
        assert!(!signed_range(&[]));
        assert!(signed_range(&[-0.5; 3]));
    }

    /// Image-shaped outputs keep their shape; a flat one as large as the image input is
    /// drawn in that input's shape; anything else is not drawn.
    #[test]
    fn flat_outputs_take_the_image_inputs_shape() {
        let inputs = [
            decl(&[], Source::Labels),
            decl(&[1, 28, 28], Source::Features),
        ];
        assert_eq!(
            drawn_as(&[784], &inputs),
            Some((OutputView::Images, [1, 28, 28]))
        );
        assert_eq!(
            drawn_as(&[16, 7, 7], &inputs),
            Some((OutputView::FeatureMaps, [16, 7, 7]))
        );
        assert_eq!(
            drawn_as(&[3, 4, 4], &inputs),
            Some((OutputView::Images, [3, 4, 4]))
        );
        assert_eq!(drawn_as(&[783], &inputs), None);
        assert_eq!(drawn_as(&[10], &inputs), None);
        assert_eq!(drawn_as(&[784], &[decl(&[784], Source::Noise)]), None);
        assert_eq!(drawn_as(&[], &inputs), None);
    }
}
