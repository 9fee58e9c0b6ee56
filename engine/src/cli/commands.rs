//! The subcommands other than `train` and `bench`.

use crate::data;
use crate::ecs::Runtime;
use crate::error::{Error, Result};
use crate::graph::{GraphFile, ValidGraph};
use crate::ops::Op;
use crate::tensor::Tensor;
use crate::train::checkpoint::Checkpoint;
use crate::train::trainer::EvalReport;
use std::path::Path;

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

/// `hyphae runs`: one line per run, best evaluation first among the metrics shown.
pub fn runs(root: &std::path::Path, all: bool) -> Result<i32> {
    let runs = crate::train::runs::list(root)?;
    let shown: Vec<_> = runs.iter().filter(|r| all || !r.labels.hidden).collect();
    if shown.is_empty() {
        println!("no runs under {}", root.display());
        return Ok(0);
    }
    let metric = |e: &crate::train::runs::Evaluation| match (e.val_accuracy, e.val_loss) {
        (Some(a), _) => format!("{:.2}% (epoch {})", 100.0 * a, e.epoch + 1),
        (None, Some(l)) => format!("loss {l:.4} (epoch {})", e.epoch + 1),
        (None, None) => "-".to_string(),
    };
    for r in shown {
        let tags = if r.labels.tags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", r.labels.tags.join(", "))
        };
        let hidden = if r.labels.hidden { " (hidden)" } else { "" };
        println!("{}{tags}{hidden}  {}", r.title(), r.dir.display());
        let best = r.best.as_ref().map_or_else(|| "-".to_string(), metric);
        let last = r.last().map_or_else(|| "-".to_string(), metric);
        println!("    {} steps · best {best} · last {last}", r.steps);
        if let Some(s) = &r.settings {
            println!("    {s}");
        }
        if let Some(p) = &r.problem {
            println!("    ! {p}");
        }
    }
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
