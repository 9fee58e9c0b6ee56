//! `hyphae eval`'s image-to-image score: the PSNR of the node a loss compares with an
//! image target (`Labels` input of shape `[C, H, W]`), and, when the input is the target
//! shrunk by a whole factor (`superres:` data), the PSNR of bicubic upsampling of the same
//! inputs, the baseline a super-resolution network has to beat.

use crate::data::Dataset;
use crate::data::superres::{PsnrSum, bicubic_upsample};
use crate::ecs::Model;
use crate::error::Result;
use crate::graph::{Ref, Source, ValidGraph};
use crate::tensor::Tensor;

/// Samples per forward pass.
const BATCH: usize = 256;
/// Noise stream of the inputs drawn for the PSNR passes.
const EVAL_NOISE: u64 = 0x5053_4E52;

/// The node a loss compares with the image-shaped `Labels` input, if any.
fn image_prediction(g: &ValidGraph) -> Option<(usize, usize)> {
    let labels = g
        .file
        .inputs
        .iter()
        .position(|d| d.source == Source::Labels && d.shape.len() == 3)?;
    g.nodes.iter().filter(|n| n.is_loss).find_map(|n| {
        let has_target = n.sources.contains(&Ref::Input(labels));
        let pred = n.sources.iter().find_map(|r| match *r {
            Ref::Node(k) => Some(k),
            Ref::Input(_) => None,
        });
        pred.filter(|_| has_target).map(|p| (p, labels))
    })
}

/// The whole factor by which `target` is `input` enlarged (`[C, h, w]` → `[C, s·h, s·w]`).
fn upscale_factor(input: &[usize], target: &[usize]) -> Option<usize> {
    match (input, target) {
        ([c, h, w], [tc, th, tw]) if c == tc && *h > 0 && *w > 0 => {
            let s = th / h;
            (s >= 2 && th == &(s * h) && tw == &(s * w)).then_some(s)
        }
        _ => None,
    }
}

/// Prints the PSNR lines for graphs with an image target; nothing for the others.
pub(super) fn print_psnr(g: &ValidGraph, model: &Model, data: &Dataset) -> Result<()> {
    let Some((pred_node, labels_input)) = image_prediction(g) else {
        return Ok(());
    };
    let scale = upscale_factor(data.sample_shape(), data.label_shape());
    let (mut net, mut bicubic) = (PsnrSum::default(), PsnrSum::default());
    let idx: Vec<usize> = (0..data.len()).collect();
    for (b, chunk) in idx.chunks(BATCH).enumerate() {
        let (x, y) = data.gather(chunk)?;
        let inputs: Vec<Tensor> = g
            .file
            .inputs
            .iter()
            .enumerate()
            .map(|(i, d)| match d.source {
                Source::Features => x.clone(),
                Source::Labels if i == labels_input => y.clone(),
                s => s
                    .draw(
                        chunk.len(),
                        &d.shape,
                        g.file.training.seed ^ b as u64,
                        EVAL_NOISE,
                    )
                    .unwrap_or_else(|| Tensor::zeros(&[0])),
            })
            .collect();
        if let Some(p) = model.forward_with(&inputs, 0, &[])?.swap_remove(pred_node) {
            net.add(&p, &y)?;
        }
        if let Some(s) = scale {
            bicubic.add(&bicubic_upsample(&x, s)?, &y)?;
        }
    }
    let name = &g.file.nodes[pred_node].name;
    let Some(db) = net.db() else {
        return Ok(());
    };
    println!(
        "PSNR of `{name}` against the targets: {db:.2} dB (peak = the targets' range, {:.4})",
        net.range()
    );
    if let (Some(s), Some(base)) = (scale, bicubic.db()) {
        println!(
            "PSNR of bicubic ×{s} upsampling of the same inputs: {base:.2} dB ({:+.2} dB for the network)",
            db - base
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upscale_factors() {
        assert_eq!(upscale_factor(&[1, 14, 14], &[1, 28, 28]), Some(2));
        assert_eq!(upscale_factor(&[3, 8, 10], &[3, 24, 30]), Some(3));
        assert_eq!(upscale_factor(&[1, 28, 28], &[1, 28, 28]), None);
        assert_eq!(upscale_factor(&[1, 14, 14], &[3, 28, 28]), None);
        assert_eq!(upscale_factor(&[1, 14, 14], &[1, 28, 29]), None);
        assert_eq!(upscale_factor(&[196], &[1, 28, 28]), None);
    }
}
