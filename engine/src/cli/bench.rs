//! `hyphae bench`: training speed on synthetic batches of the graph's own shapes.

use crate::ecs::{Executor, Runtime};
use crate::error::Result;
use crate::graph::{Ref, Source, ValidGraph};
use crate::ops::Op;
use crate::tensor::{Rng, Tensor};
use std::path::Path;
use std::time::Instant;

/// Synthetic inputs: features N(0,1), or token indices where an Embedding reads them;
/// labels valid for the loss that reads them (class indices for CrossEntropy, \[0, 1\]
/// targets for BCE, N(0,1) otherwise).
pub fn synthetic_batch(g: &ValidGraph, batch: usize, rng: &mut Rng) -> Vec<Tensor> {
    g.file
        .inputs
        .iter()
        .enumerate()
        .map(|(i, decl)| {
            let mut shape = vec![batch];
            shape.extend_from_slice(&decl.shape);
            // noise and constant inputs as training makes them
            if let Some(t) = decl.source.draw(batch, &decl.shape, 7, 0) {
                return t;
            }
            if decl.source == Source::Features {
                let vocabulary =
                    g.file
                        .nodes
                        .iter()
                        .zip(&g.nodes)
                        .find_map(|(d, info)| match &d.op {
                            Op::Embedding(e) if info.sources.first() == Some(&Ref::Input(i)) => {
                                Some(e.num_embeddings)
                            }
                            _ => None,
                        });
                return match vocabulary {
                    Some(v) => Tensor::from_fn(&shape, |_| rng.below(v.max(1)) as f32),
                    // a graph with BCELoss may compare its input with probabilities (a
                    // VAE's reconstruction against the image): pixels in [0, 1) then
                    None if g.file.nodes.iter().any(|n| matches!(n.op, Op::BceLoss(_))) => {
                        Tensor::uniform(&shape, 0.0, 1.0, rng)
                    }
                    None => Tensor::normal(&shape, 0.0, 1.0, rng),
                };
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
                Some((decl, _)) if matches!(decl.op, Op::BceWithLogitsLoss(_) | Op::BceLoss(_)) => {
                    Tensor::uniform(&shape, 0.0, 1.0, rng)
                }
                _ => Tensor::normal(&shape, 0.0, 1.0, rng),
            }
        })
        .collect()
}

pub fn bench(path: &Path, steps: usize, executor: Executor, profile: bool) -> Result<i32> {
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
    if profile {
        // a separate run, so the clock reads do not touch the figures above
        rt.set_profiling(true);
        let t = Instant::now();
        for _ in 0..steps.max(1) {
            rt.train_step(inputs.clone())?;
        }
        let total = t.elapsed().as_secs_f64();
        print_profile(&rt, steps.max(1), total);
    }
    Ok(0)
}

/// Per-step milliseconds by node (largest first), the optimizer, and what is left (the
/// schedule, loading the batch, gradient bookkeeping, statistics).
fn print_profile(rt: &Runtime, steps: usize, total: f64) {
    let p = rt.profile();
    let per_step = |secs: f64| secs * 1e3 / steps as f64;
    let step_ms = per_step(total);
    let share = |ms: f64| 100.0 * ms / step_ms.max(1e-12);
    let mut rows: Vec<(usize, f64, f64)> = p
        .nodes
        .iter()
        .enumerate()
        .map(|(i, &(f, b))| (i, per_step(f), per_step(b)))
        .collect();
    rows.sort_by(|a, b| (b.1 + b.2).total_cmp(&(a.1 + a.2)));
    println!(
        "profile over {steps} steps, {step_ms:.3} ms/step (wall; nodes of one depth may overlap):"
    );
    println!(
        "{:<20} {:<18} {:>10} {:>10} {:>7}",
        "node", "op", "fwd ms", "bwd ms", "share"
    );
    let file = &rt.graph().file;
    let mut accounted = 0.0;
    for (i, f, b) in rows {
        let Some(decl) = file.nodes.get(i) else {
            continue;
        };
        accounted += f + b;
        println!(
            "{:<20} {:<18} {f:>10.3} {b:>10.3} {:>6.1}%",
            decl.name,
            decl.op.kind(),
            share(f + b)
        );
    }
    let opt = per_step(p.optimizer);
    println!(
        "{:<20} {:<18} {:>21.3} {:>6.1}%",
        "(optimizer)",
        "",
        opt,
        share(opt)
    );
    let rest = step_ms - accounted - opt;
    println!(
        "{:<20} {:<18} {:>21.3} {:>6.1}%",
        "(rest)",
        "",
        rest,
        share(rest)
    );
}
