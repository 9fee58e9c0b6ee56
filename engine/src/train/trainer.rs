//! The training loop shared by the command line and the editor: epochs over a dataset,
//! validation, metrics, checkpoints and resume.
//!
//! Resume reproduces the uninterrupted run exactly: a checkpoint holds weights, buffers,
//! optimizer state, the step counter (LR schedule and dropout seeds derive from it) and
//! the position in the epoch (the shuffle order derives from (seed, epoch)).

use super::checkpoint::{Checkpoint, graph_hash};
use crate::data::{Dataset, Loader, LoaderOptions, Preprocessing, Split};
use crate::ecs::{Runtime, StepOutcome};
use crate::error::{Error, Result};
use crate::graph::{Ref, Source, ValidGraph};
use crate::ops::Op;
use crate::tensor::Tensor;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Where a run writes and how long it goes.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    pub epochs: usize,
    /// Stop after this many optimizer steps in total (across resumes).
    pub max_steps: Option<u64>,
    /// Run folder: `metrics.jsonl`, `checkpoints/`, `best.safetensors`.
    pub out_dir: Option<PathBuf>,
    /// Checkpoints kept in `checkpoints/` (the newest ones).
    pub keep_last: usize,
    /// At an epoch's end, save a checkpoint if this long has passed since the last one
    /// (the last epoch and an interrupt always save). Tiny epochs (XOR) would otherwise
    /// spend their time writing files.
    pub checkpoint_every_secs: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 10,
            max_steps: None,
            out_dir: None,
            keep_last: 3,
            checkpoint_every_secs: 30.0,
        }
    }
}

/// Loss, accuracy and confusion matrix over a dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalReport {
    pub loss: f64,
    /// Classifiers only.
    pub accuracy: Option<f64>,
    /// `confusion[true][predicted]`, classifiers only.
    pub confusion: Option<Vec<Vec<u64>>>,
    pub samples: usize,
}

/// What happened during one step, for progress displays.
#[derive(Clone, Debug)]
pub struct StepReport {
    pub outcome: StepOutcome,
    pub epoch: u64,
    pub batch: usize,
    pub batches: usize,
    /// Accuracy on this batch (classifiers).
    pub accuracy: Option<f64>,
    pub samples_per_sec: f64,
}

/// End of an epoch.
#[derive(Clone, Debug)]
pub struct EpochReport {
    pub epoch: u64,
    pub train_loss: f64,
    pub train_accuracy: Option<f64>,
    pub valid: EvalReport,
    pub seconds: f64,
}

/// Why `run` returned.
#[derive(Clone, Debug, PartialEq)]
pub enum Finish {
    Completed,
    MaxSteps,
    Interrupted,
    /// A node produced NaN/Inf; training stopped there.
    NonFinite(String),
}

/// Callbacks for progress displays (the CLI's bar, the editor's plots).
pub trait Observer {
    fn epoch_start(&mut self, _epoch: u64, _batches: usize) {}
    fn step(&mut self, _report: &StepReport) {}
    fn epoch_end(&mut self, _report: &EpochReport) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}

pub struct Trainer {
    pub runtime: Runtime,
    train: Arc<Dataset>,
    valid: Arc<Dataset>,
    loader: Loader,
    opts: TrainOptions,
    /// Current epoch (0-based) and batches already done in it.
    pub epoch: u64,
    pub batch_in_epoch: usize,
    features_input: usize,
    labels_input: Option<usize>,
    /// The node whose output is the class scores, for classifiers.
    logits_node: Option<String>,
    best_valid: Option<f64>,
    /// Running sums of the current epoch (saved in checkpoints so a resumed epoch reports
    /// the same training loss and accuracy as an uninterrupted one).
    acc: EpochSums,
    graph_hash: String,
    started: Instant,
    wall_offset: f64,
    last_checkpoint: Instant,
    /// Weights of the best validation loss not yet written to `best.safetensors`.
    best_weights: Option<Vec<(String, Tensor)>>,
    /// The data's provenance and preprocessing, written into every weights file.
    preprocessing: Preprocessing,
}

impl Trainer {
    /// Checks that the data fits the graph (shapes, labels), then builds the runtime.
    pub fn new(graph: ValidGraph, split: Split, opts: TrainOptions) -> Result<Trainer> {
        let origin = graph.origin.clone();
        let hash = graph_hash(&graph.file.to_ron()?);
        let inputs = &graph.file.inputs;
        let features: Vec<usize> = (0..inputs.len())
            .filter(|&i| inputs[i].source == Source::Features)
            .collect();
        let labels: Vec<usize> = (0..inputs.len())
            .filter(|&i| inputs[i].source == Source::Labels)
            .collect();
        if features.len() != 1 || labels.len() > 1 {
            return Err(Error::Other(format!(
                "{origin}: training from a dataset needs exactly one input with source Features (has {}) and at most one with source Labels (has {})",
                features.len(),
                labels.len()
            )));
        }
        let fi = features[0];
        let data = &split.train;
        if data.sample_shape() != inputs[fi].shape.as_slice() {
            return Err(Error::shape_mismatch(
                format!("{origin}: input `{}`", inputs[fi].name),
                format!("dataset `{}` samples vs the graph's input", data.name),
                data.sample_shape(),
                &inputs[fi].shape,
            ));
        }
        if let Some(&li) = labels.first()
            && data.label_shape() != inputs[li].shape.as_slice()
        {
            return Err(Error::shape_mismatch(
                format!("{origin}: input `{}`", inputs[li].name),
                format!("dataset `{}` labels vs the graph's input", data.name),
                data.label_shape(),
                &inputs[li].shape,
            ));
        }
        let logits_node = labels.first().and_then(|&li| classifier_logits(&graph, li));
        if let (Some(node), Some(classes)) = (&logits_node, data.num_classes)
            && let Some(idx) = graph.node_index(node)
        {
            let c = graph.nodes[idx].shape.get(1).copied().unwrap_or(0);
            if c < classes {
                return Err(Error::Other(format!(
                    "{origin}: node `{node}` outputs {c} class scores but dataset `{}` has {classes} classes",
                    data.name
                )));
            }
        }
        let training = graph.file.training.clone();
        let preprocessing = split.preprocessing;
        let train = Arc::new(split.train);
        let valid = Arc::new(split.valid);
        let loader = Loader::new(train.clone(), LoaderOptions::training(&training))?;
        Ok(Trainer {
            runtime: Runtime::new(graph)?,
            train,
            valid,
            loader,
            opts,
            epoch: 0,
            batch_in_epoch: 0,
            features_input: fi,
            labels_input: labels.first().copied(),
            logits_node,
            best_valid: None,
            acc: EpochSums::default(),
            graph_hash: hash,
            started: Instant::now(),
            wall_offset: 0.0,
            last_checkpoint: Instant::now(),
            best_weights: None,
            preprocessing,
        })
    }

    pub fn batches_per_epoch(&self) -> usize {
        self.loader.batches_per_epoch()
    }

    pub fn options(&self) -> &TrainOptions {
        &self.opts
    }

    pub fn train_set(&self) -> &Dataset {
        &self.train
    }

    pub fn valid_set(&self) -> &Dataset {
        &self.valid
    }

    pub fn is_classifier(&self) -> bool {
        self.logits_node.is_some()
    }

    /// The graph's inputs for a batch: features and labels where the graph wants them.
    fn batch(&self, x: Tensor, y: Tensor) -> Vec<Tensor> {
        let n = self.runtime.graph().file.inputs.len();
        let mut out = vec![Tensor::zeros(&[0]); n];
        if let Some(li) = self.labels_input {
            out[li] = y;
        }
        out[self.features_input] = x;
        out
    }

    fn batch_accuracy(&mut self, y: &Tensor) -> Option<(usize, usize)> {
        let node = self.logits_node.clone()?;
        let logits = self.runtime.output(&node)?;
        let n = y.numel();
        let per = logits.numel().checked_div(n)?;
        let logits = logits.reshape(&[n, per]).ok()?;
        let correct = logits
            .argmax_rows()
            .iter()
            .zip(y.data())
            .filter(|(p, t)| **p as f32 == **t)
            .count();
        Some((correct, n))
    }

    /// Trains until the epochs (or `max_steps`) are done, `stop` is set, or a NaN appears.
    pub fn run(&mut self, observer: &mut dyn Observer, stop: &AtomicBool) -> Result<Finish> {
        let mut metrics = self.open_metrics()?;
        while (self.epoch as usize) < self.opts.epochs {
            let batches = self.batches_per_epoch();
            observer.epoch_start(self.epoch, batches);
            let epoch_start = Instant::now();
            if self.batch_in_epoch == 0 {
                self.acc = EpochSums::default();
            }
            let skip = self.batch_in_epoch;
            for (x, y) in self.loader.epoch(self.epoch).skip(skip) {
                if stop.load(Ordering::Relaxed) {
                    return self.interrupt();
                }
                if self
                    .opts
                    .max_steps
                    .is_some_and(|m| self.runtime.step() >= m)
                {
                    self.save_checkpoint()?;
                    return Ok(Finish::MaxSteps);
                }
                let t0 = Instant::now();
                let n = x.dim(0);
                let outcome = self.runtime.train_step(self.batch(x, y.clone()))?;
                if let Some(node) = outcome.non_finite_node.clone() {
                    return Ok(Finish::NonFinite(node));
                }
                let acc = self.batch_accuracy(&y);
                if let Some((c, k)) = acc {
                    self.acc.correct += c as u64;
                    self.acc.counted += k as u64;
                }
                self.acc.loss_sum += outcome.loss * n as f64;
                self.acc.seen += n as u64;
                self.batch_in_epoch += 1;
                let report = StepReport {
                    accuracy: acc.map(|(c, k)| c as f64 / k.max(1) as f64),
                    epoch: self.epoch,
                    batch: self.batch_in_epoch,
                    batches,
                    samples_per_sec: n as f64 / t0.elapsed().as_secs_f64().max(1e-9),
                    outcome,
                };
                if let Some(m) = metrics.as_mut() {
                    m.step(&report, self.wall())?;
                }
                observer.step(&report);
            }
            let valid = self.evaluate_valid()?;
            let report = EpochReport {
                epoch: self.epoch,
                train_loss: self.acc.loss_sum / self.acc.seen.max(1) as f64,
                train_accuracy: (self.acc.counted > 0)
                    .then(|| self.acc.correct as f64 / self.acc.counted as f64),
                valid,
                seconds: epoch_start.elapsed().as_secs_f64(),
            };
            if let Some(m) = metrics.as_mut() {
                m.epoch(&report, self.runtime.step(), self.wall())?;
            }
            self.epoch += 1;
            self.batch_in_epoch = 0;
            if self.best_valid.is_none_or(|b| report.valid.loss < b) {
                self.best_valid = Some(report.valid.loss);
                self.best_weights = Some(self.runtime.state_dict());
            }
            let last = self.epoch as usize >= self.opts.epochs;
            let due =
                self.last_checkpoint.elapsed().as_secs_f64() >= self.opts.checkpoint_every_secs;
            if self.opts.out_dir.is_some() && (last || due || report.seconds >= 1.0) {
                self.save_checkpoint()?;
                self.last_checkpoint = Instant::now();
                if let Some(best) = self.best_weights.take() {
                    self.save_tensors(best, &self.run_path("best.safetensors")?)?;
                }
            }
            observer.epoch_end(&report);
        }
        Ok(Finish::Completed)
    }

    fn interrupt(&mut self) -> Result<Finish> {
        if self.opts.out_dir.is_some() {
            self.save_checkpoint()?;
        }
        Ok(Finish::Interrupted)
    }

    fn wall(&self) -> f64 {
        self.wall_offset + self.started.elapsed().as_secs_f64()
    }

    /// Evaluates on the validation split.
    pub fn evaluate_valid(&mut self) -> Result<EvalReport> {
        let data = self.valid.clone();
        self.evaluate(&data)
    }

    /// Loss (mean over samples), accuracy and confusion matrix on a dataset, eval mode.
    pub fn evaluate(&mut self, data: &Arc<Dataset>) -> Result<EvalReport> {
        let loader = Loader::new(
            data.clone(),
            LoaderOptions {
                batch_size: self.loader.options().batch_size.max(256),
                shuffle: false,
                drop_last: false,
                seed: 0,
                prefetch: 2,
            },
        )?;
        let classes = data.num_classes.filter(|_| self.logits_node.is_some());
        let mut confusion = classes.map(|c| vec![vec![0u64; c]; c]);
        let (mut loss_sum, mut seen) = (0.0f64, 0usize);
        for (x, y) in loader.epoch(0) {
            let n = x.dim(0);
            let out = self.runtime.eval_batch(self.batch(x, y.clone()))?;
            loss_sum += out.loss * n as f64;
            seen += n;
            if let (Some(conf), Some(node)) = (confusion.as_mut(), self.logits_node.clone())
                && let Some(logits) = self.runtime.output(&node)
            {
                let per = logits.numel() / n.max(1);
                let preds = logits.reshape(&[n, per])?.argmax_rows();
                for (p, &t) in preds.iter().zip(y.data()) {
                    if let Some(row) = conf.get_mut(t as usize)
                        && let Some(cell) = row.get_mut(*p)
                    {
                        *cell += 1;
                    }
                }
            }
        }
        let accuracy = confusion.as_ref().map(|c| {
            let right: u64 = (0..c.len()).map(|i| c[i][i]).sum();
            right as f64 / seen.max(1) as f64
        });
        Ok(EvalReport {
            loss: loss_sum / seen.max(1) as f64,
            accuracy,
            confusion,
            samples: seen,
        })
    }

    fn run_path(&self, file: &str) -> Result<PathBuf> {
        let dir = self
            .opts
            .out_dir
            .as_ref()
            .ok_or_else(|| Error::Other("no output folder given (--out)".into()))?;
        std::fs::create_dir_all(dir).map_err(|e| Error::File {
            path: dir.display().to_string(),
            why: format!("cannot create folder: {e}"),
        })?;
        Ok(dir.join(file))
    }

    /// Weights and buffers only, PyTorch names: for `eval`, `predict` and PyTorch.
    pub fn save_weights_to(&mut self, path: &Path) -> Result<()> {
        let tensors = self.runtime.state_dict();
        self.save_tensors(tensors, path)
    }

    fn save_tensors(&mut self, tensors: Vec<(String, Tensor)>, path: &Path) -> Result<()> {
        let mut ck = Checkpoint {
            tensors,
            ..Checkpoint::default()
        };
        ck.metadata
            .insert("graph_hash".into(), self.graph_hash.clone());
        ck.metadata
            .insert("step".into(), self.runtime.step().to_string());
        self.preprocessing.store(&mut ck.metadata)?;
        ck.save(path)
    }

    /// A full checkpoint in `OUT/checkpoints/step-NNNNNNNN.safetensors`; older ones beyond
    /// `keep_last` are removed.
    pub fn save_checkpoint(&mut self) -> Result<PathBuf> {
        let step = self.runtime.step();
        let dir = self.run_path("checkpoints")?;
        std::fs::create_dir_all(&dir).map_err(|e| Error::File {
            path: dir.display().to_string(),
            why: format!("cannot create folder: {e}"),
        })?;
        let mut ck = Checkpoint {
            tensors: self.runtime.state_dict(),
            ..Checkpoint::default()
        };
        for (name, steps, bufs) in self.runtime.optimizer_state() {
            for (i, b) in bufs.into_iter().enumerate() {
                ck.tensors.push((format!("optim.{name}.buf{}", i + 1), b));
            }
            ck.metadata
                .insert(format!("optim.{name}.steps"), steps.to_string());
        }
        let meta = [
            ("graph_hash", self.graph_hash.clone()),
            ("step", step.to_string()),
            ("epoch", self.epoch.to_string()),
            ("batch_in_epoch", self.batch_in_epoch.to_string()),
            ("seed", self.runtime.graph().file.training.seed.to_string()),
            ("wall", format!("{:.3}", self.wall())),
            (
                "best_valid",
                self.best_valid.map_or("none".into(), |b| b.to_string()),
            ),
            ("hyphae", crate::VERSION.to_string()),
            ("epoch_loss_sum", format!("{:e}", self.acc.loss_sum)),
            ("epoch_seen", self.acc.seen.to_string()),
            ("epoch_correct", self.acc.correct.to_string()),
            ("epoch_counted", self.acc.counted.to_string()),
        ];
        for (k, v) in meta {
            ck.metadata.insert(k.into(), v);
        }
        self.preprocessing.store(&mut ck.metadata)?;
        let path = dir.join(format!("step-{step:08}.safetensors"));
        ck.save(&path)?;
        let mut existing = list_checkpoints(&dir);
        while existing.len() > self.opts.keep_last.max(1) {
            let old = existing.remove(0);
            let _ = std::fs::remove_file(old);
        }
        Ok(path)
    }

    /// Continues the run saved in `dir` (a run folder or a checkpoint file).
    pub fn resume(&mut self, dir: &Path) -> Result<()> {
        let path = if dir.is_file() {
            dir.to_path_buf()
        } else {
            list_checkpoints(&dir.join("checkpoints"))
                .pop()
                .ok_or_else(|| Error::File {
                    path: dir.display().to_string(),
                    why: "no checkpoint found (expected checkpoints/step-*.safetensors)".into(),
                })?
        };
        let ck = Checkpoint::load(&path)?;
        let origin = path.display().to_string();
        if ck.meta("graph_hash") != Some(self.graph_hash.as_str()) {
            return Err(Error::File {
                path: origin,
                why: "checkpoint was saved from a different graph (graph hash differs)".into(),
            });
        }
        let weights: Vec<(String, Tensor)> = ck
            .tensors
            .iter()
            .filter(|(n, _)| !n.starts_with("optim."))
            .cloned()
            .collect();
        self.runtime.load_state_dict(&weights, &origin)?;
        let mut state = Vec::new();
        for (name, _) in self.runtime.state_dict() {
            let Some(steps) = ck.meta(&format!("optim.{name}.steps")) else {
                continue;
            };
            let steps = steps.parse().unwrap_or(0);
            let bufs = (1..=2)
                .filter_map(|i| ck.get(&format!("optim.{name}.buf{i}")).cloned())
                .collect();
            state.push((name, steps, bufs));
        }
        self.runtime.load_optimizer_state(&state)?;
        let step = ck.meta_u64("step", &path)?;
        self.runtime.set_step(step);
        self.epoch = ck.meta_u64("epoch", &path)?;
        self.batch_in_epoch = ck.meta_u64("batch_in_epoch", &path)? as usize;
        self.best_valid = ck.meta("best_valid").and_then(|b| b.parse().ok());
        self.wall_offset = ck.meta("wall").and_then(|w| w.parse().ok()).unwrap_or(0.0);
        let num = |k: &str| ck.meta(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        self.acc = EpochSums {
            loss_sum: ck
                .meta("epoch_loss_sum")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0),
            seen: num("epoch_seen"),
            correct: num("epoch_correct"),
            counted: num("epoch_counted"),
        };
        self.started = Instant::now();
        if let Some(out) = &self.opts.out_dir {
            truncate_metrics(&out.join("metrics.jsonl"), step)?;
        }
        Ok(())
    }

    /// Loads weights (a checkpoint or a PyTorch safetensors state dict) into the graph.
    pub fn load_weights(&mut self, path: &Path) -> Result<()> {
        let origin = path.display().to_string();
        let expected: Vec<String> = self
            .runtime
            .state_dict()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let weights =
            super::weights::model_tensors(Checkpoint::load(path)?, &expected, &origin, false)?;
        self.runtime.load_state_dict(&weights, &origin)
    }

    fn open_metrics(&self) -> Result<Option<MetricsLog>> {
        match &self.opts.out_dir {
            None => Ok(None),
            Some(_) => MetricsLog::open(&self.run_path("metrics.jsonl")?).map(Some),
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct EpochSums {
    loss_sum: f64,
    seen: u64,
    correct: u64,
    counted: u64,
}

/// The logits node of a classifier: the first input of the CrossEntropyLoss node whose
/// target is the labels input.
fn classifier_logits(graph: &ValidGraph, labels_input: usize) -> Option<String> {
    graph
        .file
        .nodes
        .iter()
        .zip(&graph.nodes)
        .find_map(|(decl, info)| {
            let is_ce = matches!(decl.op, Op::CrossEntropyLoss(_));
            match (is_ce, info.sources.first(), info.sources.get(1)) {
                (true, Some(Ref::Node(k)), Some(Ref::Input(t))) if *t == labels_input => {
                    Some(graph.file.nodes[*k].name.clone())
                }
                _ => None,
            }
        })
}

/// Checkpoint files in `dir`, oldest first (names sort by step).
fn list_checkpoints(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("step-") && n.ends_with(".safetensors"))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// `metrics.jsonl`: one JSON object per line, per step and per epoch.
struct MetricsLog {
    file: std::fs::File,
    path: PathBuf,
}

impl MetricsLog {
    fn open(path: &Path) -> Result<MetricsLog> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::File {
                path: path.display().to_string(),
                why: format!("cannot open metrics log: {e}"),
            })?;
        Ok(MetricsLog {
            file,
            path: path.to_path_buf(),
        })
    }

    fn write(&mut self, line: String) -> Result<()> {
        writeln!(self.file, "{line}").map_err(|e| Error::File {
            path: self.path.display().to_string(),
            why: format!("cannot write metrics: {e}"),
        })
    }

    fn step(&mut self, r: &StepReport, wall: f64) -> Result<()> {
        let acc = r.accuracy.map_or("null".to_string(), |a| format!("{a}"));
        self.write(format!(
            "{{\"kind\":\"step\",\"step\":{},\"epoch\":{},\"loss\":{},\"accuracy\":{acc},\"lr\":{},\"wall\":{wall:.4}}}",
            r.outcome.step,
            r.epoch,
            json_num(r.outcome.loss),
            r.outcome.lr
        ))
    }

    fn epoch(&mut self, r: &EpochReport, step: u64, wall: f64) -> Result<()> {
        let opt = |v: Option<f64>| v.map_or("null".to_string(), json_num);
        self.write(format!(
            "{{\"kind\":\"epoch\",\"step\":{step},\"epoch\":{},\"train_loss\":{},\"train_accuracy\":{},\"val_loss\":{},\"val_accuracy\":{},\"wall\":{wall:.4}}}",
            r.epoch,
            json_num(r.train_loss),
            opt(r.train_accuracy),
            json_num(r.valid.loss),
            opt(r.valid.accuracy)
        ))
    }
}

/// JSON has no NaN/Inf: write them as null.
fn json_num(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "null".into()
    }
}

/// Drops metric lines past `step` (they belong to the part of the run being redone).
fn truncate_metrics(path: &Path, step: u64) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let kept: String = text
        .lines()
        .filter(|line| {
            line.split("\"step\":")
                .nth(1)
                .and_then(|rest| rest.split([',', '}']).next())
                .and_then(|n| n.parse::<u64>().ok())
                .is_none_or(|s| s <= step)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    crate::util::write_atomic(path, kept.as_bytes())
}
