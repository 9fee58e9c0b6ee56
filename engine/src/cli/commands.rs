//! The subcommands other than `bench`.

use super::progress::Progress;
use crate::data;
use crate::ecs::Runtime;
use crate::error::{Error, Result};
use crate::graph::{GraphFile, Source, ValidGraph};
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
    pub max_steps: Option<u64>,
    pub out: Option<PathBuf>,
    pub resume: Option<PathBuf>,
}

/// The dataset spec: `--data` wins over the graph's `training.dataset`.
fn data_spec(graph: &ValidGraph, cli: Option<String>) -> Result<String> {
    cli.or_else(|| graph.file.training.dataset.clone()).ok_or_else(|| {
        Error::Other(format!(
            "{}: no dataset: pass --data (e.g. --data shapes) or set training.dataset in the file",
            graph.origin
        ))
    })
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
    let spec = data_spec(&graph, a.data)?;
    let (epochs, seed) = (graph.file.training.epochs, graph.file.training.seed);
    eprintln!("loading data `{spec}` ...");
    let split = data::load(&spec, seed)?;
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
    print_eval(&valid);
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

fn print_eval(r: &EvalReport) {
    print!("validation: loss {:.4}", r.loss);
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
    print!("{}", ops_text());
    Ok(0)
}

/// Every op by category, from the registry's schema: its one-line doc, its inputs, then
/// each config field with its type, and its default or `required`.
fn ops_text() -> String {
    use std::fmt::Write;
    let mut ops: Vec<_> = crate::ops::schema()
        .iter()
        .zip(Op::all_defaults())
        .collect();
    ops.sort_by_key(|(s, _)| s.category);
    let mut out = String::new();
    let mut current = None;
    for (schema, op) in ops {
        if current != Some(schema.category) {
            current = Some(schema.category);
            let _ = writeln!(out, "\n{}:", schema.category.label());
        }
        // How to write it: the op with its required fields.
        let required: Vec<String> = (schema.fields.iter())
            .filter(|f| f.is_required())
            .map(|f| format!("{}: {}", f.name, f.ty))
            .collect();
        let usage = format!("{}({})", schema.name, required.join(", "));
        let inputs = op.layer().arity();
        let _ = writeln!(out, "  {usage:<32} inputs: {inputs}  {}", schema.doc);
        for f in schema.fields {
            let default = match f.default {
                None => "required".to_string(),
                Some("None") => "optional, absent by default".to_string(),
                Some(d) => format!("default {d}"),
            };
            let _ = writeln!(
                out,
                "      {:<20} {:<18} {default:<28} {}",
                f.name, f.ty, f.doc
            );
        }
    }
    out
}

/// Builds a trainer for a graph with weights loaded, on the dataset's splits.
fn trainer_with_weights(graph: &Path, weights: &Path, data: Option<String>) -> Result<Trainer> {
    let g = ValidGraph::load(graph)?;
    let spec = data_spec(&g, data)?;
    let split = data::load(&spec, g.file.training.seed)?;
    let mut t = Trainer::new(g, split, TrainOptions::default())?;
    t.load_weights(weights)?;
    Ok(t)
}

pub fn eval(graph: &Path, weights: &Path, data: Option<String>) -> Result<i32> {
    let mut t = trainer_with_weights(graph, weights, data)?;
    let r = t.evaluate_valid()?;
    print_eval(&r);
    if let Some(conf) = &r.confusion {
        println!("confusion matrix (rows: true class, columns: predicted):");
        print!("      ");
        for j in 0..conf.len() {
            print!("{j:>6}");
        }
        println!();
        for (i, row) in conf.iter().enumerate() {
            print!("{i:>6}");
            for v in row {
                print!("{v:>6}");
            }
            println!();
        }
    }
    Ok(0)
}

/// Loads the graph's inputs by name from a safetensors file (absent ones are empty).
fn inputs_from(graph: &ValidGraph, path: &Path, need_labels: bool) -> Result<Vec<Tensor>> {
    let ck = Checkpoint::load(path)?;
    graph
        .file
        .inputs
        .iter()
        .map(|decl| match ck.get(&decl.name) {
            Some(t) => Ok(t.clone()),
            None if decl.source == Source::Labels && !need_labels => Ok(Tensor::zeros(&[0])),
            None => Err(Error::File {
                path: path.display().to_string(),
                why: format!("no tensor named `{}` (the graph's input)", decl.name),
            }),
        })
        .collect()
}

pub fn predict(graph: &Path, weights: &Path, input: &Path, node: Option<String>) -> Result<i32> {
    let g = ValidGraph::load(graph)?;
    let inputs = inputs_from(&g, input, false)?;
    let mut rt = Runtime::new(g)?;
    let ck = Checkpoint::load(weights)?;
    let w: Vec<(String, Tensor)> = ck
        .tensors
        .into_iter()
        .filter(|(n, _)| !n.starts_with("optim."))
        .collect();
    rt.load_state_dict(&w, &weights.display().to_string())?;
    let model = rt.model();
    let graph = model.graph();
    // Default: the last node that is not a loss.
    let node = node
        .or_else(|| {
            graph
                .file
                .nodes
                .iter()
                .zip(&graph.nodes)
                .rev()
                .find(|(_, i)| !i.is_loss)
                .map(|(d, _)| d.name.clone())
        })
        .ok_or_else(|| Error::Other("the graph has no output node".into()))?;
    let out = model.predict(&inputs, &node)?;
    let n = out.shape().first().copied().unwrap_or(1);
    let per = out.numel() / n.max(1);
    let rows = out.reshape(&[n, per])?;
    println!("node `{node}`, output shape {:?}", out.shape());
    for (i, row) in rows.data().chunks(per.max(1)).enumerate() {
        let best = rows.argmax_rows().get(i).copied().unwrap_or(0);
        let shown: Vec<String> = row.iter().take(10).map(|v| format!("{v:.4}")).collect();
        let more = if row.len() > 10 { ", …" } else { "" };
        println!("sample {i}: argmax {best}  [{}{more}]", shown.join(", "));
    }
    Ok(0)
}

pub fn grads(graph: &Path, weights: Option<&Path>, batch: &Path, out: &Path) -> Result<i32> {
    let g = ValidGraph::load(graph)?;
    let inputs = inputs_from(&g, batch, true)?;
    let names: Vec<String> = g.file.nodes.iter().map(|n| n.name.clone()).collect();
    let mut rt = Runtime::new(g)?;
    if let Some(w) = weights {
        let ck = Checkpoint::load(w)?;
        let t: Vec<(String, Tensor)> = ck
            .tensors
            .into_iter()
            .filter(|(n, _)| !n.starts_with("optim."))
            .collect();
        rt.load_state_dict(&t, &w.display().to_string())?;
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
