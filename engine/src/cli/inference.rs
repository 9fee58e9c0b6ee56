//! `hyphae eval` and `hyphae predict`: running trained weights on data, treated the way
//! the training run treated it (its split, its standardisation, its class names), which
//! the weights file records (see `data::preprocess`).

use super::commands::{data_spec, print_eval};
use crate::data::{self, Part, Preprocessing, Split};
use crate::ecs::Runtime;
use crate::error::{Error, Result};
use crate::graph::{Source, ValidGraph};
use crate::tensor::Tensor;
use crate::train::checkpoint::Checkpoint;
use crate::train::trainer::{TrainOptions, Trainer};
use crate::train::weights::model_tensors;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    #[arg(value_parser = super::args::readable_file)]
    graph: PathBuf,
    #[arg(long, value_parser = super::args::readable_file)]
    weights: PathBuf,
    /// Another dataset (e.g. a separate test file, scored whole with the training
    /// statistics); default: the one the weights were trained on.
    #[arg(long, value_parser = super::args::data_spec)]
    data: Option<String>,
    /// Which samples: valid (default for the run's own data), train, or all (default for
    /// another dataset).
    #[arg(long, value_parser = parse_part)]
    split: Option<Part>,
    /// Seed of the train/validation split (default: the run's, from the weights file).
    #[arg(long)]
    split_seed: Option<u64>,
    /// Ignore tensors in the weights file that are not the graph's (an error otherwise).
    #[arg(long)]
    allow_extra_weights: bool,
    /// Worker threads for the kernels (default: all cores).
    #[arg(long, value_parser = super::args::threads)]
    pub threads: Option<usize>,
}

fn parse_part(s: &str) -> std::result::Result<Part, String> {
    match s {
        "valid" | "validation" => Ok(Part::Valid),
        "train" | "training" => Ok(Part::Train),
        "all" => Ok(Part::All),
        _ => Err(format!("`{s}`: use valid, train or all")),
    }
}

/// Loads a weights file into `rt` (strictly: see `train::weights`); returns the data
/// preprocessing it records, if any.
pub(super) fn load_weights(
    rt: &mut Runtime,
    path: &Path,
    allow_extra: bool,
) -> Result<Option<Preprocessing>> {
    let origin = path.display().to_string();
    let ck = Checkpoint::load(path)?;
    let stored = Preprocessing::from_metadata(&ck.metadata, &origin)?;
    let expected: Vec<String> = rt.state_dict().into_iter().map(|(n, _)| n).collect();
    rt.load_state_dict(
        &model_tensors(ck, &expected, &origin, allow_extra)?,
        &origin,
    )?;
    Ok(stored)
}

fn part_name(p: Part) -> &'static str {
    match p {
        Part::Train => "training split",
        Part::Valid => "validation split",
        Part::All => "whole dataset",
    }
}

pub fn eval(a: EvalArgs) -> Result<i32> {
    let g = ValidGraph::load(&a.graph)?;
    let stored = {
        let origin = a.weights.display().to_string();
        Preprocessing::from_metadata(&Checkpoint::load(&a.weights)?.metadata, &origin)?
    };
    let given = a.data.is_some();
    let (spec, spec_from) = match (&a.data, &stored) {
        (Some(_), _) => (data_spec(&g, &a.graph, a.data.clone())?, "--data"),
        (None, Some(s)) if !s.spec.is_empty() => (s.spec.clone(), "the weights file"),
        _ => (data_spec(&g, &a.graph, None)?, "the graph file"),
    };
    let (seed, seed_from) = match (a.split_seed, &stored) {
        (Some(s), _) => (s, "--split-seed"),
        (None, Some(s)) => (s.split_seed, "the weights file"),
        (None, None) => (g.file.training.split_seed(), "the graph file"),
    };
    // Another dataset than the run's (a separate test file) is scored whole.
    let separate = given && stored.as_ref().is_some_and(|s| s.spec != spec);
    let part = a
        .split
        .unwrap_or(if separate { Part::All } else { Part::Valid });
    let split = data::load_fitted(&spec, seed, stored.as_ref())?;
    for n in &split.notes {
        eprintln!("note: {n}");
    }
    let dataset = split.part(part)?;
    eprintln!(
        "evaluating on the {} of `{spec}` ({} samples; data from {spec_from}, split seed {seed} from {seed_from}{})",
        part_name(part),
        dataset.len(),
        if stored.is_some() {
            ", standardised with the training statistics"
        } else {
            "; the weights file records no preprocessing, so the data is prepared afresh"
        }
    );
    let class_names = split.preprocessing.class_names.clone();
    let mut t = Trainer::new(
        g.clone(),
        Split::new(dataset.clone(), dataset.clone()),
        TrainOptions::default(),
    )?;
    load_weights(t.runtime_mut(), &a.weights, a.allow_extra_weights)?;
    let dataset = Arc::new(dataset);
    let r = t.evaluate(&dataset)?;
    print_eval(
        match part {
            Part::Train => "training",
            Part::Valid => "validation",
            Part::All => "all",
        },
        &r,
    );
    super::sequence_eval::report(
        &spec,
        seed,
        stored
            .as_ref()
            .map_or(&split.preprocessing.class_names, |s| &s.class_names),
        t.runtime_mut(),
        &dataset,
    )?;
    super::image_eval::print_psnr(&g, &t.runtime_mut().model(), &dataset)?;
    if let Some(conf) = &r.confusion {
        let name = |i: usize| class_names.get(i).cloned().unwrap_or_else(|| i.to_string());
        let width = (0..conf.len())
            .map(|i| name(i).chars().count())
            .max()
            .unwrap_or(1)
            .max(6);
        println!("confusion matrix (rows: true class, columns: predicted class index):");
        print!("{:>width$}", "");
        for j in 0..conf.len() {
            print!("{j:>6}");
        }
        println!();
        for (i, row) in conf.iter().enumerate() {
            print!("{:>width$}", name(i));
            for v in row {
                print!("{v:>6}");
            }
            println!();
        }
        if !class_names.is_empty() {
            let legend: Vec<String> = (0..conf.len())
                .map(|i| format!("{i} {}", name(i)))
                .collect();
            println!("classes: {}", legend.join(", "));
        }
    }
    Ok(0)
}

/// The noise stream of `predict` and `grads` (noise inputs a batch file leaves out): fixed,
/// so a prediction repeats.
const PREDICT_NOISE: u64 = 1 << 62;

/// Whether `path` holds CSV rows rather than safetensors.
fn is_csv(path: &Path) -> bool {
    let name = path.to_string_lossy().to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    [".csv", ".tsv", ".txt", ".data"]
        .iter()
        .any(|e| name.ends_with(e))
}

/// Loads the graph's inputs by name from a safetensors file (absent label inputs are empty
/// unless `need_labels`). Every input needs at least one sample.
pub(super) fn inputs_from(
    graph: &ValidGraph,
    path: &Path,
    need_labels: bool,
) -> Result<Vec<Tensor>> {
    let ck = Checkpoint::load(path)?;
    let file_err = |why: String| Error::File {
        path: path.display().to_string(),
        why,
    };
    // Noise inputs absent from the file are drawn, as many samples as the data has.
    let batch = graph
        .file
        .inputs
        .iter()
        .filter(|d| !d.source.is_noise())
        .find_map(|d| ck.get(&d.name).and_then(|t| t.shape().first().copied()))
        .unwrap_or(1);
    let seed = graph.file.training.seed;
    graph
        .file
        .inputs
        .iter()
        .map(|decl| match ck.get(&decl.name) {
            Some(t) if t.shape().first().is_none_or(|&n| n == 0) => Err(file_err(format!(
                "tensor `{}` has shape {:?}: it needs a batch dimension with at least one sample",
                decl.name,
                t.shape()
            ))),
            Some(t) => Ok(t.clone()),
            None if decl.source == Source::Labels && !need_labels => Ok(Tensor::zeros(&[0])),
            None if decl.source.is_noise() => Ok(decl
                .source
                .draw(batch, &decl.shape, seed, PREDICT_NOISE)
                .unwrap_or_else(|| Tensor::zeros(&[0]))),
            None => Err(file_err(format!(
                "no tensor named `{}` (the graph's input)",
                decl.name
            ))),
        })
        .collect()
}

/// Whether `path` is image input: an image file, or a folder (of images).
fn is_images(path: &Path) -> bool {
    path.is_dir() || data::images::is_image(path)
}

/// The graph's inputs from image files (one, or every image below a folder), decoded at
/// the graph's input size and normalised with the stored statistics; and the files.
fn inputs_from_images(
    graph: &ValidGraph,
    path: &Path,
    stored: Option<&Preprocessing>,
) -> Result<(Vec<Tensor>, Vec<PathBuf>)> {
    let decl = graph
        .file
        .inputs
        .iter()
        .find(|d| d.source == Source::Features)
        .ok_or_else(|| Error::Other("the graph has no input with source Features".into()))?;
    if stored.is_none_or(|s| s.mean.is_empty()) {
        eprintln!(
            "note: the weights file records no image normalisation: pixels are given in [0, 1]"
        );
    }
    let (features, files) = data::images::read_inputs(path, &decl.shape, stored)?;
    Ok((features_only(graph, features), files))
}

/// The graph's inputs with `features` as the features input, noise inputs drawn and
/// labels empty.
fn features_only(graph: &ValidGraph, features: Tensor) -> Vec<Tensor> {
    graph
        .file
        .inputs
        .iter()
        .map(|decl| match decl.source {
            Source::Features => features.clone(),
            noise => noise
                .draw(
                    features.dim(0),
                    &decl.shape,
                    graph.file.training.seed,
                    PREDICT_NOISE,
                )
                .unwrap_or_else(|| Tensor::zeros(&[0])),
        })
        .collect()
}

/// The graph's inputs from raw CSV rows: the features input standardised with the stored
/// statistics, labels empty.
fn inputs_from_csv(
    graph: &ValidGraph,
    path: &Path,
    stored: Option<&Preprocessing>,
) -> Result<(Vec<Tensor>, Vec<u64>)> {
    let stored = stored.ok_or_else(|| Error::File {
        path: path.display().to_string(),
        why: "CSV rows need the training preprocessing, and the weights file records none \
              (trained by an older hyphae?): retrain, or pass a safetensors input"
            .into(),
    })?;
    let (features, lines) = data::csv::read_features(path, stored)?;
    Ok((features_only(graph, features), lines))
}

pub fn predict(
    graph: &Path,
    weights: &Path,
    input: &Path,
    node: Option<String>,
    allow_extra: bool,
) -> Result<i32> {
    let g = ValidGraph::load(graph)?;
    let mut rt = Runtime::new(g.clone())?;
    let stored = load_weights(&mut rt, weights, allow_extra)?;
    let (inputs, lines) = if is_csv(input) {
        let (i, l) = inputs_from_csv(&g, input, stored.as_ref())?;
        (
            i,
            Some(l.iter().map(|n| format!("line {n}")).collect::<Vec<_>>()),
        )
    } else if is_images(input) {
        let (i, files) = inputs_from_images(&g, input, stored.as_ref())?;
        (
            i,
            Some(files.iter().map(|f| f.display().to_string()).collect()),
        )
    } else {
        (inputs_from(&g, input, false)?, None)
    };
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
    let best = rows.argmax_rows();
    let names = stored.map(|s| s.class_names).unwrap_or_default();
    println!("node `{node}`, output shape {:?}", out.shape());
    for (i, row) in rows.data().chunks(per.max(1)).enumerate() {
        let which = match &lines {
            Some(l) => l.get(i).cloned().unwrap_or_default(),
            None => format!("sample {i}"),
        };
        let b = best.get(i).copied().unwrap_or(0);
        let class = match names.get(b) {
            Some(name) if per > 1 => format!("class {name} (index {b})"),
            _ => format!("argmax {b}"),
        };
        let shown: Vec<String> = row.iter().take(10).map(|v| format!("{v:.4}")).collect();
        let more = if row.len() > 10 { ", …" } else { "" };
        println!("{which}: {class}  [{}{more}]", shown.join(", "));
    }
    Ok(0)
}
