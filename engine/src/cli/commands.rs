//! The subcommands other than `train` and `bench`.

use crate::data;
use crate::ecs::Runtime;
use crate::error::{Error, Result};
use crate::graph::{GraphFile, Source, ValidGraph};
use crate::ops::Op;
use crate::tensor::Tensor;
use crate::train::checkpoint::Checkpoint;
use crate::train::trainer::{EvalReport, TrainOptions, Trainer};
use std::path::Path;

/// The dataset spec: `--data` wins over the graph's `training.dataset`.
pub(super) fn data_spec(graph: &ValidGraph, cli: Option<String>) -> Result<String> {
    cli.or_else(|| graph.file.training.dataset.clone()).ok_or_else(|| {
        Error::Other(format!(
            "{}: no dataset: pass --data (e.g. --data shapes) or set training.dataset in the file",
            graph.origin
        ))
    })
}

pub(super) fn print_eval(r: &EvalReport) {
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
