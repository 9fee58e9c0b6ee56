//! The subcommands other than `bench`.

use super::progress::Progress;
use crate::data;
use crate::ecs::Runtime;
use crate::error::{Error, Result};
use crate::graph::{GraphFile, ValidGraph};
use crate::ops::Op;
use crate::tensor::Tensor;
use crate::train::checkpoint::Checkpoint;
use crate::train::trainer::{EvalReport, Finish, TrainOptions, Trainer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct TrainArgs {
    pub graph: PathBuf,
    pub data: Option<String>,
    pub epochs: Option<usize>,
    pub batch_size: Option<usize>,
    pub lr: Option<f32>,
    pub seed: Option<u64>,
    pub split_seed: Option<u64>,
    pub max_steps: Option<u64>,
    pub out: Option<PathBuf>,
    pub resume: Option<PathBuf>,
}

/// The dataset spec: `--data` (paths from the working directory) wins over the graph's
/// `training.dataset` (paths from the graph file's folder); paths are made absolute.
pub(super) fn data_spec(graph: &ValidGraph, path: &Path, cli: Option<String>) -> Result<String> {
    if let Some(spec) = cli {
        return Ok(data::resolve_spec(&spec, Path::new(".")));
    }
    let spec = graph.file.training.dataset.clone().ok_or_else(|| {
        Error::Other(format!(
            "{}: no dataset: pass --data (e.g. --data shapes) or set training.dataset in the file",
            graph.origin
        ))
    })?;
    let folder = path.parent().unwrap_or(Path::new("."));
    Ok(data::resolve_spec(&spec, folder))
}

pub fn train(a: TrainArgs) -> Result<i32> {
    let mut graph = ValidGraph::load(&a.graph)?;
    let t = &mut graph.file.training;
    if let Some(e) = a.epochs {
        t.epochs = e;
    }
    if let Some(b) = a.batch_size {
        t.batch_size = b.max(1);
    }
    if let Some(lr) = a.lr {
        t.optimizer.set_lr(lr);
    }
    if let Some(s) = a.seed {
        t.seed = s;
    }
    if let Some(s) = a.split_seed {
        t.data_seed = Some(s);
    }
    let spec = data_spec(&graph, &a.graph, a.data)?;
    let (epochs, split_seed) = (graph.file.training.epochs, graph.file.training.split_seed());
    eprintln!("loading data `{spec}` ...");
    let split = data::load(&spec, split_seed)?;
    for n in &split.notes {
        eprintln!("note: {n}");
    }
    eprintln!(
        "{}: {} training and {} validation samples of shape {:?}",
        split.train.name,
        split.train.len(),
        split.valid.len(),
        split.train.sample_shape()
    );
    let stem = a
        .graph
        .file_stem()
        .map_or("run".to_string(), |s| s.to_string_lossy().to_string());
    let out = a
        .out
        .or_else(|| a.resume.clone().filter(|r| r.is_dir()))
        .unwrap_or_else(|| PathBuf::from("runs").join(stem));
    let mut trainer = Trainer::new(
        graph,
        split,
        TrainOptions {
            epochs,
            max_steps: a.max_steps,
            out_dir: Some(out.clone()),
            ..TrainOptions::default()
        },
    )?;
    if let Some(r) = &a.resume {
        trainer.resume(r)?;
        eprintln!(
            "resumed from {} at step {} (epoch {}, batch {})",
            r.display(),
            trainer.runtime.step(),
            trainer.epoch + 1,
            trainer.batch_in_epoch
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // Ctrl-C: finish the current step, save a checkpoint, exit.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    let started = std::time::Instant::now();
    let finish = trainer.run(&mut Progress::new(epochs), &stop)?;
    trainer.save_weights_to(&out.join("weights.safetensors"))?;
    let secs = started.elapsed().as_secs_f64();
    let valid = trainer.evaluate_valid()?;
    println!(
        "finished: {} after {} steps in {secs:.1} s",
        describe(&finish),
        trainer.runtime.step()
    );
    print_eval("validation", &valid);
    println!(
        "run folder: {} (metrics.jsonl, checkpoints/, best.safetensors, weights.safetensors)",
        out.display()
    );
    Ok(match finish {
        Finish::Completed | Finish::MaxSteps => 0,
        Finish::Interrupted => 130,
        Finish::NonFinite(_) => 1,
    })
}

fn describe(f: &Finish) -> String {
    match f {
        Finish::Completed => "all epochs done".into(),
        Finish::MaxSteps => "reached --max-steps".into(),
        Finish::Interrupted => "interrupted; checkpoint saved (continue with --resume)".into(),
        Finish::NonFinite(n) => format!("stopped: node `{n}` produced NaN/Inf"),
    }
}

/// `what: loss L, accuracy A% (N samples)`.
pub(super) fn print_eval(what: &str, r: &EvalReport) {
    print!("{what}: loss {:.4}", r.loss);
    if let Some(a) = r.accuracy {
        print!(", accuracy {:.2}%", a * 100.0);
    }
    println!(" ({} samples)", r.samples);
}

pub fn check(path: &Path) -> Result<i32> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::File {
        path: path.display().to_string(),
        why: format!("cannot read graph file: {e}"),
    })?;
    let origin = path.display().to_string();
    let file = GraphFile::from_ron(&text, &origin)?;
    match ValidGraph::validate(file, &origin, Some(&text)) {
        Ok(g) => {
            println!(
                "{origin}: ok ({} nodes, {} parameters)",
                g.nodes.len(),
                crate::graph::summary::group_thousands(g.param_count() as u64)
            );
            Ok(0)
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!("{} problem(s) found", errors.len());
            Ok(1)
        }
    }
}

pub fn summary(path: &Path) -> Result<i32> {
    let g = ValidGraph::load(path)?;
    print!("{}", g.summary_table());
    Ok(0)
}

pub fn ops() -> Result<i32> {
    let mut ops = Op::all_defaults();
    ops.sort_by_key(|o| o.category());
    let mut current = None;
    for op in ops {
        if current != Some(op.category()) {
            current = Some(op.category());
            println!("\n{}:", op.category().label());
        }
        // The default config in graph-file syntax shows every field and its default.
        let config = ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES)
            .to_string(&op)
            .unwrap_or_else(|_| op.kind().to_string());
        println!(
            "  {:<18} {config}  inputs: {}",
            op.kind(),
            op.layer().arity()
        );
    }
    Ok(0)
}

pub fn grads(
    graph: &Path,
    weights: Option<&Path>,
    batch: &Path,
    out: &Path,
    allow_extra: bool,
) -> Result<i32> {
    let g = ValidGraph::load(graph)?;
    let inputs = super::inference::inputs_from(&g, batch, true)?;
    let names: Vec<String> = g.file.nodes.iter().map(|n| n.name.clone()).collect();
    let mut rt = Runtime::new(g)?;
    if let Some(w) = weights {
        super::inference::load_weights(&mut rt, w, allow_extra)?;
    }
    let outcome = rt.compute_grads(inputs)?;
    let mut ck = Checkpoint::default();
    ck.tensors
        .push(("loss".into(), Tensor::scalar(outcome.loss as f32)));
    for name in &names {
        if let Some(t) = rt.output(name) {
            ck.tensors.push((format!("output.{name}"), t));
        }
        if let Some(t) = rt.output_grad(name) {
            ck.tensors.push((format!("output_grad.{name}"), t));
        }
    }
    for (name, g) in rt.grads() {
        if let Some(g) = g {
            ck.tensors.push((format!("grad.{name}"), g));
        }
    }
    ck.metadata
        .insert("loss".into(), format!("{}", outcome.loss));
    ck.save(out)?;
    println!(
        "loss {:.6}; wrote {} tensors to {}",
        outcome.loss,
        ck.tensors.len(),
        out.display()
    );
    Ok(0)
}
