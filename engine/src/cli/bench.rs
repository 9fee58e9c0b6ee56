//! `hyphae bench`: training speed on synthetic batches of the graph's own shapes.

use crate::ecs::{Executor, Runtime};
use crate::error::Result;
use crate::graph::{Ref, Source, ValidGraph};
use crate::ops::Op;
use crate::tensor::{Rng, Tensor};
use std::path::Path;
use std::time::Instant;

/// Synthetic inputs: features N(0,1); labels valid for the loss that reads them (class
/// indices for CrossEntropy, [0,1] targets for BCE, N(0,1) otherwise).
pub fn synthetic_batch(g: &ValidGraph, batch: usize, rng: &mut Rng) -> Vec<Tensor> {
    g.file
        .inputs
        .iter()
        .enumerate()
        .map(|(i, decl)| {
            let mut shape = vec![batch];
            shape.extend_from_slice(&decl.shape);
            if decl.source == Source::Features {
                return Tensor::normal(&shape, 0.0, 1.0, rng);
            }
            let reader = g
                .file
                .nodes
                .iter()
                .zip(&g.nodes)
                .find(|(_, info)| info.sources.get(1) == Some(&Ref::Input(i)));
            match reader {
                Some((decl, info)) if matches!(decl.op, Op::CrossEntropyLoss(_)) => {
                    let classes = match info.sources.first() {
                        Some(Ref::Node(k)) => g.nodes[*k].shape.get(1).copied().unwrap_or(2),
                        _ => 2,
                    };
                    Tensor::from_fn(&shape, |_| rng.below(classes.max(1)) as f32)
                }
                Some((decl, _)) if matches!(decl.op, Op::BceWithLogitsLoss(_)) => {
                    Tensor::uniform(&shape, 0.0, 1.0, rng)
                }
                _ => Tensor::normal(&shape, 0.0, 1.0, rng),
            }
        })
        .collect()
}

pub fn bench(path: &Path, steps: usize, executor: Executor) -> Result<i32> {
    let g = ValidGraph::load(path)?;
    let batch = g.file.training.batch_size;
    let mut rng = Rng::seed(0);
    let inputs = synthetic_batch(&g, batch, &mut rng);
    let executor = executor.resolve(&g);
    let mut rt = Runtime::with_executor(g, executor)?;
    rt.hyper_mut().stats_every = 0;
    let warmup = (steps / 10).max(3);
    for _ in 0..warmup {
        rt.train_step(inputs.clone())?;
    }
    let mut times = Vec::with_capacity(steps);
    for _ in 0..steps.max(1) {
        let t = Instant::now();
        rt.train_step(inputs.clone())?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "{}: batch {batch}, {} threads, {executor:?} executor: median {:.3} ms/step, {:.1} steps/s ({} steps, min {:.3} ms, max {:.3} ms)",
        path.display(),
        rayon::current_num_threads(),
        median * 1e3,
        1.0 / median,
        times.len(),
        times[0] * 1e3,
        times[times.len() - 1] * 1e3
    );
    Ok(0)
}
