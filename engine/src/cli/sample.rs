//! `hyphae sample`: a PNG grid of one node's per-sample outputs (a generator's samples, a
//! VAE's decodings of prior draws, reconstructions, super-resolved images).
//!
//! The graph runs forward in eval mode on `n` samples: noise inputs and `--noise` nodes
//! are drawn from `--seed` (normal draws scaled by `--temperature`); data inputs, only where the node depends on them, are the
//! first `n` samples of the run's validation split (the data spec and split seed recorded
//! in the weights file, as `eval` uses them).

use super::commands::data_spec;
use super::inference::load_weights;
use crate::data::images::grid::{PixelRange, grid_png, image_shape};
use crate::data::{self, Preprocessing};
use crate::ecs::Runtime;
use crate::error::{Error, Result};
use crate::graph::{Ref, Source, ValidGraph};
use crate::tensor::{Rng, Tensor};
use std::path::PathBuf;

/// Most samples one grid may hold.
const MAX_SAMPLES: usize = 4096;
/// Stream of the `--noise` node draws, apart from the noise inputs' stream.
const NODE_NOISE_STREAM: u64 = 0x5A4D_504C;

#[derive(clap::Args, Debug)]
pub struct SampleArgs {
    /// The graph file (.ron).
    #[arg(value_parser = super::args::readable_file)]
    graph: PathBuf,
    #[arg(long, value_parser = super::args::readable_file)]
    weights: PathBuf,
    /// The node whose outputs to draw: per sample `[1|3, H, W]`, or flat (see --image-shape).
    #[arg(long)]
    node: String,
    /// How many samples (1 to 4096).
    #[arg(long, default_value_t = 64, value_parser = sample_count)]
    n: usize,
    /// Seeds the noise inputs, the --noise draws and sampling ops (Reparameterize).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Replace this node's output by standard-normal draws of its shape (repeatable): a
    /// VAE's code node, to decode samples from the prior.
    #[arg(long = "noise")]
    noise_nodes: Vec<String>,
    /// Scales the standard-normal draws (`Noise` inputs and --noise nodes): below 1 trades
    /// variety for likelier samples (BigGAN's truncation, Glow's temperature); 0 draws
    /// every sample at the distribution's mean.
    #[arg(long, default_value_t = 1.0, value_parser = temperature, allow_hyphen_values = true)]
    temperature: f32,
    /// Per-sample image shape CxHxW (C = 1 or 3) of a flat output; default: the output's
    /// own `[C, H, W]`, or a square `1xSxS` for a flat output of S² values.
    #[arg(long, value_parser = parse_image_shape)]
    image_shape: Option<[usize; 3]>,
    /// Values mapped to black and white, LOW,HIGH (outside: clamped); `-1,1` for Tanh.
    #[arg(long, default_value = "0,1", value_parser = PixelRange::parse, allow_hyphen_values = true)]
    range: PixelRange,
    /// Images per grid row (default: ⌈√n⌉).
    #[arg(long, default_value_t = 0)]
    columns: usize,
    /// Dataset for data inputs (default: the one the weights were trained on).
    #[arg(long, value_parser = super::args::data_spec)]
    data: Option<String>,
    /// Ignore tensors in the weights file that are not the graph's (an error otherwise).
    #[arg(long)]
    allow_extra_weights: bool,
    /// The PNG to write (atomically).
    #[arg(long, value_parser = super::args::output_file)]
    out: PathBuf,
}

fn sample_count(s: &str) -> std::result::Result<usize, String> {
    let n = super::args::positive_count(s)?;
    if n > MAX_SAMPLES {
        return Err(format!("must be at most {MAX_SAMPLES}"));
    }
    Ok(n)
}

fn temperature(s: &str) -> std::result::Result<f32, String> {
    match s.parse::<f32>() {
        Ok(t) if t.is_finite() && (0.0..=10.0).contains(&t) => Ok(t),
        _ => Err(format!("`{s}`: expected a number from 0 to 10")),
    }
}

/// `CxHxW`, each at least 1.
fn parse_image_shape(s: &str) -> std::result::Result<[usize; 3], String> {
    let dims: Vec<usize> = s
        .split(['x', 'X', '×'])
        .map(|d| d.trim().parse().ok().filter(|&v: &usize| v > 0))
        .collect::<Option<_>>()
        .ok_or_else(|| format!("`{s}`: expected CxHxW with whole numbers ≥ 1, e.g. 1x28x28"))?;
    dims.try_into()
        .map_err(|_| format!("`{s}`: expected three sizes CxHxW, e.g. 1x28x28"))
}

/// The index of node `name`, or an error listing the nodes.
fn node_index(g: &ValidGraph, name: &str) -> Result<usize> {
    g.node_index(name).ok_or_else(|| {
        let names: Vec<&str> = g.file.nodes.iter().map(|n| n.name.as_str()).collect();
        Error::Other(format!(
            "{}: no node named `{name}` (nodes: {})",
            g.origin,
            names.join(", ")
        ))
    })
}

/// Which graph inputs `node`'s output depends on, not looking past `cut` nodes.
fn needed_inputs(g: &ValidGraph, node: usize, cut: &[usize]) -> Vec<bool> {
    let mut needed = vec![false; g.file.inputs.len()];
    let mut seen = vec![false; g.nodes.len()];
    let mut stack = vec![node];
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) || cut.contains(&i) {
            continue;
        }
        for r in &g.nodes[i].sources {
            match *r {
                Ref::Input(k) => needed[k] = true,
                Ref::Node(k) => stack.push(k),
            }
        }
    }
    needed
}

/// The first `n` validation samples' features and labels (fewer if the split is smaller).
fn validation_data(
    g: &ValidGraph,
    a: &SampleArgs,
    stored: Option<&Preprocessing>,
) -> Result<(Tensor, Tensor)> {
    let spec = match (&a.data, stored) {
        (None, Some(s)) if !s.spec.is_empty() => s.spec.clone(),
        _ => data_spec(g, &a.graph, a.data.clone())?,
    };
    let seed = stored.map_or(g.file.training.split_seed(), |s| s.split_seed);
    let valid = data::load_fitted(&spec, seed, stored)?.valid;
    let idx: Vec<usize> = (0..a.n.min(valid.len())).collect();
    eprintln!(
        "data inputs: the first {} samples of the validation split of `{spec}` (split seed {seed})",
        idx.len()
    );
    let labels = valid.subset(&idx)?.labels;
    Ok((valid.features.take(&idx, None)?, labels))
}

pub fn sample(a: SampleArgs) -> Result<i32> {
    let g = ValidGraph::load(&a.graph)?;
    let target = node_index(&g, &a.node)?;
    let mut rt = Runtime::new(g.clone())?;
    let stored = load_weights(&mut rt, &a.weights, a.allow_extra_weights)?;
    let cut: Vec<usize> = a
        .noise_nodes
        .iter()
        .map(|name| node_index(&g, name))
        .collect::<Result<_>>()?;
    let needed = needed_inputs(&g, target, &cut);
    let wants_data = g
        .file
        .inputs
        .iter()
        .zip(&needed)
        .any(|(d, &need)| need && !d.source.is_noise());
    let (features, labels) = if wants_data {
        let (f, l) = validation_data(&g, &a, stored.as_ref())?;
        (Some(f), Some(l))
    } else {
        (None, None)
    };
    let n = features.as_ref().map_or(a.n, |f| f.dim(0));
    let normal_drawn = cut.len()
        + g.file
            .inputs
            .iter()
            .zip(&needed)
            .filter(|(d, need)| **need && d.source == Source::Noise)
            .count();
    if a.temperature != 1.0 && normal_drawn == 0 {
        return Err(Error::Other(format!(
            "--temperature {} scales standard-normal draws, and node `{}` depends on none \
             (no `Noise` input feeds it and no --noise node is given)",
            a.temperature, a.node
        )));
    }
    let scaled = |t: Tensor| {
        if a.temperature == 1.0 {
            t
        } else {
            t.map(|v| v * a.temperature)
        }
    };
    let inputs: Vec<Tensor> = g
        .file
        .inputs
        .iter()
        .map(|decl| match decl.source {
            Source::Features => features.clone(),
            Source::Labels => labels.clone(),
            Source::Noise => Source::Noise.draw(n, &decl.shape, a.seed, 0).map(&scaled),
            noise => noise.draw(n, &decl.shape, a.seed, 0),
        })
        .map(|t| t.unwrap_or_else(|| Tensor::zeros(&[0])))
        .collect();
    let mut rng = Rng::derived(a.seed, NODE_NOISE_STREAM);
    let overrides: Vec<(usize, Tensor)> = cut
        .iter()
        .map(|&i| {
            let mut shape = g.nodes[i].shape.clone();
            if let Some(b) = shape.first_mut() {
                *b = n;
            }
            (i, scaled(Tensor::normal(&shape, 0.0, 1.0, &mut rng)))
        })
        .collect();
    let model = rt.model();
    let out = model
        .forward_with(&inputs, a.seed, &overrides)?
        .swap_remove(target)
        .ok_or_else(|| {
            Error::Other(format!(
                "node `{}` could not be computed from the inputs given",
                a.node
            ))
        })?;
    let shape = image_shape(out.shape().get(1..).unwrap_or(&[]), a.image_shape)
        .map_err(|e| Error::Other(format!("node `{}`: {e}", a.node)))?;
    let png = grid_png(&out, shape, a.columns, a.range)?;
    crate::util::write_atomic(&a.out, &png)?;
    let clamped = out
        .data()
        .iter()
        .filter(|v| !(a.range.low..=a.range.high).contains(*v))
        .count();
    println!(
        "wrote {}: {n} samples of node `{}` as {}x{}x{} images{}",
        a.out.display(),
        a.node,
        shape[0],
        shape[1],
        shape[2],
        if clamped > 0 {
            format!(
                " ({:.1}% of values outside --range {},{} were clamped)",
                100.0 * clamped as f64 / out.numel().max(1) as f64,
                a.range.low,
                a.range.high
            )
        } else {
            String::new()
        }
    );
    Ok(0)
}
