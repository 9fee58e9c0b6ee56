//! The training loop shared by every front end: [`Trainer::step`] advances one batch (or
//! closes an epoch with validation, or finishes) and says what happened as an [`Event`];
//! [`Trainer::run`] is a loop over it. The run folder (metrics, checkpoints, best and final
//! weights) is written from inside `step` and `finish`, so a front end that steps gets the
//! same folder as `hyphae train`.
//!
//! Resume reproduces the uninterrupted run exactly: a checkpoint holds weights, buffers,
//! optimizer state, the step counter (LR schedule and dropout seeds derive from it) and
//! the position in the epoch (the shuffle order derives from (seed, epoch)).

mod carry;
mod phases;

pub use carry::{CarryReport, FORKS_FILE, Fork, GRAPHS_DIR, GraphDiff, read_forks, version_name};

use super::boundary::{Classifier, Scores, value_node};
use super::checkpoint::{Checkpoint, graph_hash};
use super::eval_report::Predictions;
use super::metrics::MetricsLog;
use super::run_dir;
use crate::data::{Dataset, Epoch, Loader, LoaderOptions, Preprocessing, Split};
use crate::ecs::{Runtime, StepOutcome};
use crate::error::{Error, Result};
use crate::graph::{GraphFile, Optimizer, Ref, Source, ValidGraph};
use crate::ops::Op;
use crate::tensor::Tensor;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Noise streams of evaluation batches (`EVAL_NOISE | batch`): apart from every training
/// step's stream, and the same each time a set is evaluated.
const EVAL_NOISE: u64 = 1 << 63;

/// Where a run writes and how long it goes.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    pub epochs: usize,
    /// Stop after this many optimizer steps in total (across resumes).
    pub max_steps: Option<u64>,
    /// Run folder: `metrics.jsonl`, `checkpoints/`, `best.safetensors`, `weights.safetensors`.
    pub out_dir: Option<PathBuf>,
    /// Checkpoints kept in `checkpoints/` (the newest ones by recorded step).
    pub keep_last: usize,
    /// Save a checkpoint when this long has passed since the last one: after any step, and
    /// at an epoch's end (an epoch of a second or more, the last epoch and every finish
    /// always save). Tiny epochs (XOR) would otherwise spend their time writing files.
    pub checkpoint_every_secs: f64,
    /// Also save a checkpoint every this many optimizer steps.
    pub checkpoint_every_steps: Option<u64>,
    /// Also write the curves and per-layer statistics as TensorBoard events.
    pub tensorboard: bool,
}

/// Default checkpoint interval: a kill loses at most this much training.
pub const CHECKPOINT_EVERY_SECS: f64 = 300.0;

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 10,
            max_steps: None,
            out_dir: None,
            keep_last: 3,
            checkpoint_every_secs: CHECKPOINT_EVERY_SECS,
            checkpoint_every_steps: None,
            tensorboard: false,
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
    /// Batches done in this epoch, this one included (1-based).
    pub batch: usize,
    pub batches: usize,
    /// Accuracy on this batch (classifiers).
    pub accuracy: Option<f64>,
    pub samples_per_sec: f64,
    /// Graphs with training phases: each phase run on this batch, with its loss (the
    /// outcome's loss is their sum).
    pub phase_losses: Vec<(String, f64)>,
}

/// End of an epoch.
#[derive(Clone, Debug)]
pub struct EpochReport {
    pub epoch: u64,
    /// Optimizer steps taken when the epoch ended.
    pub step: u64,
    pub train_loss: f64,
    pub train_accuracy: Option<f64>,
    pub valid: EvalReport,
    pub seconds: f64,
}

/// Why a run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Finish {
    Completed,
    MaxSteps,
    Interrupted,
    /// A node produced NaN/Inf; training stopped there.
    NonFinite(String),
}

/// What one call of [`Trainer::step`] did.
#[derive(Clone, Debug)]
pub enum Event {
    /// One batch trained.
    Step(StepReport),
    /// The epoch's batches are done and validated (metrics written, best weights noted,
    /// a checkpoint saved if due).
    Epoch(EpochReport),
    /// The batch made node `node` produce NaN/Inf: the optimizer skipped it. Stepping on
    /// continues with the next batch; [`Trainer::finish`] ends the run here.
    NonFinite { step: u64, node: String },
    /// The run is over (the run folder is complete); further calls return this again.
    Finished(Finish),
}

pub struct Trainer {
    runtime: Runtime,
    train: Arc<Dataset>,
    valid: Arc<Dataset>,
    loader: Loader,
    opts: TrainOptions,
    /// Current epoch (0-based) and batches already done in it.
    epoch: u64,
    batch_in_epoch: usize,
    /// The current epoch's remaining batches (None between epochs) and when it started.
    batches: Option<Epoch>,
    epoch_started: Instant,
    features_input: usize,
    labels_input: Option<usize>,
    /// The node whose output is the class scores, for classifiers.
    logits_node: Option<String>,
    best_valid: Option<f64>,
    /// Running sums of the current epoch (saved in checkpoints so a resumed epoch reports
    /// the same training loss and accuracy as an uninterrupted one).
    acc: EpochSums,
    /// Loss nodes reduced by `sum` (see [`Trainer::samples_loss`]).
    sum_losses: Vec<String>,
    /// The graph's training phases; empty: one step on all losses and parameters.
    phases: Vec<phases::PhasePlan>,
    graph_hash: String,
    started: Instant,
    wall_offset: f64,
    last_checkpoint: Instant,
    /// Optimizer step of the last checkpoint saved or resumed from.
    last_checkpoint_step: Option<u64>,
    /// Weights of the best validation loss not yet written to `best.safetensors` (moving
    /// averages in place of the parameters that keep one), and those parameters' names.
    best_weights: Option<(NamedTensors, Vec<String>)>,
    /// Opened at the first step; `resumed` says whether it continues an earlier log.
    metrics: Option<MetricsLog>,
    /// The runtime's statistics, for the TensorBoard histograms, when nobody else
    /// (the editor) takes its events.
    stats_tap: Option<crossbeam_channel::Receiver<crate::ecs::TrainEvent>>,
    resumed: bool,
    finished: Option<Finish>,
    /// The data's provenance and preprocessing, written into every weights file.
    preprocessing: Preprocessing,
}

impl Trainer {
    /// Checks that the data fits the graph (shapes, labels), then builds the runtime.
    pub fn new(graph: ValidGraph, split: Split, opts: TrainOptions) -> Result<Trainer> {
        let (train, valid) = (Arc::new(split.train), Arc::new(split.valid));
        Self::with_data(graph, train, valid, split.preprocessing, opts)
    }

    /// [`Trainer::new`] on data already loaded (shared with another trainer: a fork).
    fn with_data(
        graph: ValidGraph,
        train: Arc<Dataset>,
        valid: Arc<Dataset>,
        preprocessing: Preprocessing,
        opts: TrainOptions,
    ) -> Result<Trainer> {
        let origin = graph.origin.clone();
        let hash = network_hash(&graph.file)?;
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
        let data = &*train;
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
        let loader = Loader::new(train.clone(), LoaderOptions::training(&training))?;
        let sum_losses = graph
            .file
            .nodes
            .iter()
            .filter(|n| n.op.sums_over_batch())
            .map(|n| n.name.clone())
            .collect();
        let phases = phases::plans(&graph)?;
        Ok(Trainer {
            phases,
            runtime: Runtime::new(graph)?,
            train,
            valid,
            loader,
            opts,
            epoch: 0,
            batch_in_epoch: 0,
            batches: None,
            epoch_started: Instant::now(),
            features_input: fi,
            labels_input: labels.first().copied(),
            logits_node,
            best_valid: None,
            acc: EpochSums::default(),
            sum_losses,
            graph_hash: hash,
            started: Instant::now(),
            wall_offset: 0.0,
            last_checkpoint: Instant::now(),
            last_checkpoint_step: None,
            best_weights: None,
            metrics: None,
            stats_tap: None,
            resumed: false,
            finished: None,
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

    /// The runtime: step counter, learning rate, outputs, state dict.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The runtime, to change settings between steps (learning rate, statistics, events).
    pub fn runtime_mut(&mut self) -> &mut Runtime {
        &mut self.runtime
    }

    /// Current epoch (0-based) and batches already done in it.
    pub fn position(&self) -> (u64, usize) {
        (self.epoch, self.batch_in_epoch)
    }

    /// Sets the position recorded in checkpoints, for a front end that feeds the runtime
    /// batches itself instead of calling [`Trainer::step`].
    pub fn set_position(&mut self, epoch: u64, batch_in_epoch: usize) {
        self.epoch = epoch;
        self.batch_in_epoch = batch_in_epoch;
    }

    /// Why the run ended, once it has.
    pub fn finished(&self) -> Option<&Finish> {
        self.finished.as_ref()
    }

    /// The graph's inputs for a batch: features and labels where the graph wants them,
    /// and noise inputs drawn from the run's seed and `stream` (the step when training, a
    /// fixed stream per batch when evaluating, so validation is repeatable).
    fn batch(&self, x: Tensor, y: Tensor, stream: u64) -> Result<Vec<Tensor>> {
        let file = &self.runtime.graph().file;
        let n = x.dim(0);
        let seed = file.training.seed;
        let mut out: Vec<Tensor> = file
            .inputs
            .iter()
            .map(|i| {
                i.source
                    .draw(n, &i.shape, seed, stream)
                    .unwrap_or_else(|| Tensor::zeros(&[0]))
            })
            .collect();
        if let Some(li) = self.labels_input {
            out[li] = y;
        }
        out[self.features_input] = x;
        Ok(out)
    }

    /// The loss of the last batch summed over its `n` samples, from its value `total`:
    /// mean-reduced losses count `n` times, sum-reduced ones (already a sum over the
    /// batch) once. Divided by the samples seen, that gives the per-sample loss PyTorch's
    /// examples report (e.g. the VAE's `test_loss / len(dataset)`) for either reduction.
    fn samples_loss(&mut self, total: f64, n: usize) -> f64 {
        let all = self.sum_losses.clone();
        self.samples_loss_of(total, n, &all)
    }

    /// [`Trainer::samples_loss`] of a step that minimised only the loss nodes `losses`.
    fn samples_loss_of(&mut self, total: f64, n: usize, losses: &[String]) -> f64 {
        let summed: f64 = self
            .sum_losses
            .clone()
            .iter()
            .filter(|node| losses.contains(node))
            .filter_map(|node| self.runtime.output(node).and_then(|v| v.item().ok()))
            .map(f64::from)
            .sum();
        (total - summed) * n as f64 + summed
    }

    fn batch_accuracy(&mut self, y: &Tensor) -> Option<(usize, usize)> {
        let node = self.logits_node.clone()?;
        let logits = self.runtime.output(&node)?;
        let n = y.numel();
        if logits.rank() > 2 {
            return Some((per_position_correct(&logits, y)?, n));
        }
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

    /// Advances the run by one batch, or closes the epoch (validation, metrics, best
    /// weights, checkpoint when due), or finishes it (`epochs` or `max_steps` reached).
    pub fn step(&mut self) -> Result<Event> {
        if let Some(f) = &self.finished {
            return Ok(Event::Finished(f.clone()));
        }
        if self.metrics.is_none() {
            self.open_run_folder()?;
        }
        if self.epoch as usize >= self.opts.epochs {
            return self.finish(Finish::Completed).map(Event::Finished);
        }
        if self.batches.is_none() {
            if self.batch_in_epoch == 0 {
                self.acc = EpochSums::default();
            }
            self.batches = Some(self.loader.epoch_from(self.epoch, self.batch_in_epoch));
            self.epoch_started = Instant::now();
        }
        let next = self.batches.as_mut().and_then(Iterator::next);
        let Some(batch) = next else {
            return self.end_epoch().map(Event::Epoch);
        };
        let (x, y) = match batch {
            Ok(b) => b,
            Err(e) => {
                // A later step starts this epoch's remaining batches afresh.
                self.batches = None;
                return Err(e);
            }
        };
        if self
            .opts
            .max_steps
            .is_some_and(|m| self.runtime.step() >= m)
        {
            return self.finish(Finish::MaxSteps).map(Event::Finished);
        }
        let t0 = Instant::now();
        let n = x.dim(0);
        let (outcome, phase_losses, samples_loss) = if self.phases.is_empty() {
            let outcome =
                self.runtime
                    .train_step(self.batch(x, y.clone(), self.runtime.step())?)?;
            let samples_loss = self.samples_loss(outcome.loss, n);
            (outcome, Vec::new(), samples_loss)
        } else {
            let batch_index =
                self.epoch * self.batches_per_epoch() as u64 + self.batch_in_epoch as u64;
            let p = self.train_phases(&x, &y, batch_index)?;
            (p.outcome, p.losses, p.samples_loss)
        };
        self.batch_in_epoch += 1;
        if let Some(node) = outcome.non_finite_node.clone() {
            return Ok(Event::NonFinite {
                step: outcome.step,
                node,
            });
        }
        let acc = self.batch_accuracy(&y);
        if let Some((c, k)) = acc {
            self.acc.correct += c as u64;
            self.acc.counted += k as u64;
        }
        self.acc.loss_sum += samples_loss;
        self.acc.seen += n as u64;
        let report = StepReport {
            accuracy: acc.map(|(c, k)| c as f64 / k.max(1) as f64),
            epoch: self.epoch,
            batch: self.batch_in_epoch,
            batches: self.batches_per_epoch(),
            samples_per_sec: n as f64 / t0.elapsed().as_secs_f64().max(1e-9),
            outcome,
            phase_losses,
        };
        let wall = self.wall();
        if let Some(m) = self.metrics.as_mut() {
            m.step(&report, wall)?;
            for e in self.stats_tap.iter().flat_map(|rx| rx.try_iter()) {
                if let crate::ecs::TrainEvent::Stats {
                    step,
                    nodes,
                    params,
                } = e
                {
                    m.stats(step, &nodes, &params)?;
                }
            }
        }
        if self.checkpoint_due() {
            self.save_checkpoint()?;
        }
        Ok(Event::Step(report))
    }

    fn end_epoch(&mut self) -> Result<EpochReport> {
        self.batches = None;
        let valid = self.evaluate_valid()?;
        let report = EpochReport {
            epoch: self.epoch,
            step: self.runtime.step(),
            train_loss: self.acc.loss_sum / self.acc.seen.max(1) as f64,
            train_accuracy: (self.acc.counted > 0)
                .then(|| self.acc.correct as f64 / self.acc.counted as f64),
            valid,
            seconds: self.epoch_started.elapsed().as_secs_f64(),
        };
        let wall = self.wall();
        if let Some(m) = self.metrics.as_mut() {
            m.epoch(&report, wall)?;
        }
        self.epoch += 1;
        self.batch_in_epoch = 0;
        if self.best_valid.is_none_or(|b| report.valid.loss < b) {
            self.best_valid = Some(report.valid.loss);
            self.best_weights = Some(self.runtime.averaged_state_dict());
        }
        let last = self.epoch as usize >= self.opts.epochs;
        if self.opts.out_dir.is_some() && (last || report.seconds >= 1.0 || self.checkpoint_due()) {
            self.save_checkpoint()?;
        }
        Ok(report)
    }

    /// Whether the time or step interval since the last checkpoint has passed.
    fn checkpoint_due(&self) -> bool {
        if self.opts.out_dir.is_none() {
            return false;
        }
        let step = self.runtime.step();
        let by_steps = self.opts.checkpoint_every_steps.is_some_and(|n| {
            n > 0 && step.is_multiple_of(n) && self.last_checkpoint_step != Some(step)
        });
        by_steps || self.last_checkpoint.elapsed().as_secs_f64() >= self.opts.checkpoint_every_secs
    }

    /// Ends the run: a checkpoint (unless a NaN stopped it: resuming would only repeat it),
    /// the best weights if any epoch was validated, and the final weights. Stepping after
    /// this returns `Finished` again.
    pub fn finish(&mut self, why: Finish) -> Result<Finish> {
        if let Some(f) = &self.finished {
            return Ok(f.clone());
        }
        self.batches = None;
        if self.opts.out_dir.is_some() {
            if self.metrics.is_none() {
                self.open_run_folder()?;
            }
            let step = self.runtime.step();
            if !matches!(why, Finish::NonFinite(_)) && self.last_checkpoint_step != Some(step) {
                self.save_checkpoint()?;
            }
            self.write_best()?;
            let path = self.run_path("weights.safetensors")?;
            self.save_weights_to(&path)?;
        }
        self.finished = Some(why.clone());
        Ok(why)
    }

    /// Stops the run as an interrupt (Ctrl-C, SIGTERM, a front end's Stop): saves as
    /// [`Trainer::finish`] does.
    pub fn interrupt(&mut self) -> Result<Finish> {
        self.finish(Finish::Interrupted)
    }

    /// Steps until the run finishes, `stop` is set (interrupt) or a NaN appears; `on_event`
    /// sees every event.
    pub fn run(&mut self, on_event: &mut dyn FnMut(&Event), stop: &AtomicBool) -> Result<Finish> {
        loop {
            if stop.load(Ordering::Relaxed) {
                return self.interrupt();
            }
            let event = self.step()?;
            on_event(&event);
            match event {
                Event::Finished(f) => return Ok(f),
                Event::NonFinite { node, .. } => return self.finish(Finish::NonFinite(node)),
                Event::Step(_) | Event::Epoch(_) => {}
            }
        }
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
        self.evaluate_keeping(data, None)
    }

    /// [`Trainer::evaluate`] on the validation split, also keeping each sample's predicted
    /// class and probabilities (classifiers with `[N, C]` scores; bounded, see
    /// [`MAX_KEPT_PROBS`](super::eval_report::MAX_KEPT_PROBS)).
    pub fn evaluate_valid_with_predictions(&mut self) -> Result<(EvalReport, Option<Predictions>)> {
        let data = self.valid.clone();
        let mut preds = data
            .num_classes
            .filter(|_| self.logits_node.is_some())
            .map(Predictions::new);
        let r = self.evaluate_keeping(&data, preds.as_mut())?;
        Ok((r, preds.filter(|p| !p.is_empty())))
    }

    /// The forward-only model and the step its parameters are from (views that run any
    /// node, such as the editor's outputs grid, on their own thread).
    pub fn snapshot(&mut self) -> (crate::ecs::Model, u64) {
        (self.runtime.model(), self.runtime.step())
    }

    /// The current model as a forward-only [`Classifier`] snapshot (parameters shared
    /// copy-on-write), for views that run it on another thread; `None` if not a classifier.
    pub fn classifier(&mut self) -> Option<Classifier> {
        let (logits, classes, scores) = match (&self.logits_node, self.valid.num_classes) {
            (Some(node), Some(classes)) => (node.clone(), classes, Scores::Logits),
            _ => {
                let labels = self.labels_input?;
                let node = value_node(self.runtime.graph(), self.features_input, labels)?;
                (node, 2, Scores::Value)
            }
        };
        Some(Classifier {
            model: self.runtime.model(),
            logits,
            features_input: self.features_input,
            classes,
            scores,
            step: self.runtime.step(),
        })
    }

    fn evaluate_keeping(
        &mut self,
        data: &Arc<Dataset>,
        mut keep: Option<&mut Predictions>,
    ) -> Result<EvalReport> {
        let loader = Loader::new(
            data.clone(),
            LoaderOptions::evaluation(self.loader.options().batch_size.max(256)),
        )?;
        let classes = data.num_classes.filter(|_| self.logits_node.is_some());
        let mut confusion = classes.map(|c| vec![vec![0u64; c]; c]);
        let (mut loss_sum, mut seen) = (0.0f64, 0usize);
        for (k, batch) in loader.epoch(0).enumerate() {
            let (x, y) = batch?;
            let n = x.dim(0);
            let stream = EVAL_NOISE | k as u64;
            let out = self.runtime.eval_batch(self.batch(x, y.clone(), stream)?)?;
            loss_sum += self.samples_loss(out.loss, n);
            seen += n;
            if let (Some(conf), Some(node)) = (confusion.as_mut(), self.logits_node.clone())
                && let Some(logits) = self.runtime.output(&node)
            {
                let per = logits.numel() / n.max(1);
                let rows = logits.reshape(&[n, per])?;
                if let Some(p) = keep.as_deref_mut()
                    && logits.shape().len() == 2
                {
                    p.record(&rows, &y)?;
                }
                let preds = rows.argmax_rows();
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

    /// A file in the run folder (created if needed).
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

    /// Opens `metrics.jsonl`: a fresh log for a new run (a folder that already holds one is
    /// refused, never appended to), the resumed run's own log otherwise.
    fn open_run_folder(&mut self) -> Result<()> {
        if self.opts.out_dir.is_none() {
            return Ok(());
        }
        let path = self.run_path("metrics.jsonl")?;
        if let Some(out) = &self.opts.out_dir {
            run_dir::remove_stray_temp_files(out);
            run_dir::remove_stray_temp_files(&out.join("checkpoints"));
        }
        let mut log = if self.resumed {
            MetricsLog::append(&path)?
        } else {
            MetricsLog::create(&path)?
        };
        // The graph and settings this run trains, for the runs list and for comparing runs.
        if !self.resumed
            && let Some(out) = &self.opts.out_dir
        {
            let text = self.runtime.graph().file.to_ron()?;
            crate::util::write_atomic(&out.join(super::runs::GRAPH_FILE), text.as_bytes())?;
        }
        if self.opts.tensorboard
            && let Some(out) = &self.opts.out_dir
        {
            log.add_tensorboard(out)?;
        }
        // Statistics go to stats.jsonl (and TensorBoard) unless the editor takes them.
        if !self.runtime.has_events() {
            let (tx, rx) = crossbeam_channel::unbounded();
            self.runtime.set_events(Some(tx));
            self.stats_tap = Some(rx);
        }
        self.metrics = Some(log);
        Ok(())
    }

    /// Weights and buffers only, PyTorch names: for `eval`, `predict` and PyTorch. A
    /// parameter whose optimizer keeps a moving average (`ema_momentum`) is written as that
    /// average; the file's metadata `averaged` lists them.
    pub fn save_weights_to(&mut self, path: &Path) -> Result<()> {
        let (tensors, averaged) = self.runtime.averaged_state_dict();
        self.save_tensors(tensors, &averaged, path)
    }

    /// The parameters whose moving average the weights files hold instead of their value.
    pub fn averaged_params(&mut self) -> Vec<String> {
        self.runtime
            .ema_state()
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    }

    fn save_tensors(
        &mut self,
        tensors: Vec<(String, Tensor)>,
        averaged: &[String],
        path: &Path,
    ) -> Result<()> {
        let mut ck = Checkpoint {
            tensors,
            ..Checkpoint::default()
        };
        if !averaged.is_empty() {
            ck.metadata.insert("averaged".into(), averaged.join(","));
        }
        ck.metadata
            .insert("graph_hash".into(), self.graph_hash.clone());
        ck.metadata
            .insert("step".into(), self.runtime.step().to_string());
        self.preprocessing.store(&mut ck.metadata)?;
        ck.save(path)
    }

    /// Writes the best weights not yet written to `best.safetensors`.
    fn write_best(&mut self) -> Result<()> {
        if let Some((best, averaged)) = self.best_weights.take() {
            let path = self.run_path("best.safetensors")?;
            self.save_tensors(best, &averaged, &path)?;
        }
        Ok(())
    }

    /// A full checkpoint in `OUT/checkpoints/step-NNNNNNNN.safetensors` (and the best
    /// weights, if new ones are waiting); older ones beyond `keep_last` are removed.
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
        for (name, avg) in self.runtime.ema_state() {
            ck.tensors.push((format!("optim.{name}.ema"), avg));
        }
        let meta = [
            ("graph_hash", self.graph_hash.clone()),
            ("step", step.to_string()),
            ("epoch", self.epoch.to_string()),
            ("batch_in_epoch", self.batch_in_epoch.to_string()),
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
        // The settings in force too, so a resume can start from them and log changes.
        for (k, v) in meta.into_iter().chain(self.settings()) {
            ck.metadata.insert(k.into(), v);
        }
        self.preprocessing.store(&mut ck.metadata)?;
        let path = dir.join(format!("step-{step:08}.safetensors"));
        ck.save(&path)?;
        self.last_checkpoint = Instant::now();
        self.last_checkpoint_step = Some(step);
        let existing = run_dir::checkpoints(&dir);
        let excess = existing.len().saturating_sub(self.opts.keep_last.max(1));
        for (_, old) in &existing[..excess] {
            let _ = std::fs::remove_file(old);
        }
        self.write_best()?;
        Ok(path)
    }

    /// Continues the run saved in `dir` (a run folder: its newest checkpoint by recorded
    /// step; or a checkpoint file). Training settings may differ from the run's (more
    /// epochs, another learning rate): the differences are returned for the log. A batch
    /// size change is refused mid-epoch, where the position counts batches.
    pub fn resume(&mut self, dir: &Path) -> Result<Resumed> {
        let path = if dir.is_file() {
            dir.to_path_buf()
        } else {
            run_dir::checkpoints(&dir.join("checkpoints"))
                .pop()
                .map(|(_, path)| path)
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
        let averages: Vec<(String, Tensor)> = (self.runtime.state_dict().into_iter())
            .filter_map(|(name, _)| {
                Some((name.clone(), ck.get(&format!("optim.{name}.ema"))?.clone()))
            })
            .collect();
        self.runtime.load_ema_state(&averages)?;
        let step = ck.meta_u64("step", &path)?;
        let batch_in_epoch = ck.meta_u64("batch_in_epoch", &path)? as usize;
        let changes = self.setting_changes(&ck);
        if batch_in_epoch > 0
            && let Some(b) = ck.meta("batch_size")
            && *b != self.loader.options().batch_size.to_string()
        {
            return Err(Error::File {
                path: origin,
                why: format!(
                    "the run stopped {batch_in_epoch} batches into an epoch at batch size {b}; \
                     resume it with batch size {b}"
                ),
            });
        }
        self.runtime.set_step(step);
        self.epoch = ck.meta_u64("epoch", &path)?;
        self.batch_in_epoch = batch_in_epoch;
        self.batches = None;
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
        self.last_checkpoint = Instant::now();
        self.last_checkpoint_step = Some(step);
        self.finished = None;
        if let Some(out) = &self.opts.out_dir {
            super::metrics::truncate(&out.join("metrics.jsonl"), step)?;
            super::metrics::truncate(&out.join(super::metrics::STATS_FILE), step)?;
            super::metrics::truncate(&out.join(carry::FORKS_FILE), step)?;
        }
        self.resumed = true;
        self.metrics = None;
        Ok(Resumed {
            checkpoint: path,
            step,
            changes,
        })
    }

    /// The training settings a checkpoint records (metadata key, value): those a resume
    /// keeps unless a flag changes them, and those it takes from the graph file (the LR
    /// schedule, warm-up, clipping, phases, the optimizer's other hyper-parameters), so a
    /// change of either kind is reported.
    fn settings(&self) -> [(&'static str, String); 11] {
        let training = &self.runtime.graph().file.training;
        [
            ("epochs", self.opts.epochs.to_string()),
            (
                "max_steps",
                self.opts.max_steps.map_or("none".into(), |m| m.to_string()),
            ),
            ("lr", self.runtime.base_lr().to_string()),
            ("batch_size", training.batch_size.to_string()),
            ("seed", training.seed.to_string()),
            ("split_seed", training.split_seed().to_string()),
            ("schedule", ron_text(&training.schedule)),
            ("warmup_steps", training.warmup_steps.to_string()),
            ("clip", ron_text(&training.clip)),
            ("phases", ron_text(&training.phases)),
            ("optimizer", ron_text(&training.optimizer)),
        ]
    }

    /// Settings that differ from those the checkpoint recorded, as `epochs 3 → 5`.
    fn setting_changes(&self, ck: &Checkpoint) -> Vec<String> {
        self.settings()
            .into_iter()
            .filter_map(|(key, value)| {
                let was = ck.meta(key)?;
                let changed = match key {
                    // Its LR has its own line; the rest (kind, betas, decay) is this one's.
                    "optimizer" => !same_but_lr(was, &self.runtime.graph().file.training.optimizer),
                    _ => was != value,
                };
                changed.then(|| format!("{key} {was} → {value}"))
            })
            .collect()
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
}

/// A training setting as compact RON text, as a graph file spells it.
fn ron_text<T: serde::Serialize>(value: &T) -> String {
    ron::to_string(value).unwrap_or_default()
}

/// Whether a recorded optimizer (RON text) equals `now` apart from its learning rate.
fn same_but_lr(was: &str, now: &Optimizer) -> bool {
    ron::from_str::<Optimizer>(was).is_ok_and(|mut was| {
        was.set_lr(now.lr());
        was == *now
    })
}

/// Tensors by PyTorch-style name.
type NamedTensors = Vec<(String, Tensor)>;

/// The hash that ties a checkpoint to its network: the graph's text form without what
/// does not change the network (training settings, layout, description), so a run can be
/// resumed with more epochs or another learning rate.
fn network_hash(file: &GraphFile) -> Result<String> {
    let mut network = file.clone();
    network.training = Default::default();
    network.layout = Default::default();
    network.description = Default::default();
    Ok(graph_hash(&network.to_ron()?))
}

/// Where a resumed run continues from.
#[derive(Clone, Debug)]
pub struct Resumed {
    pub checkpoint: PathBuf,
    pub step: u64,
    /// Training settings that differ from the run's, as `epochs 3 → 5`.
    pub changes: Vec<String>,
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
/// Correct predictions of `[N, C, d1, …]` class scores (class dimension 1, as
/// CrossEntropyLoss reads them: one prediction per position) against `[N, d1, …]` labels.
fn per_position_correct(logits: &Tensor, y: &Tensor) -> Option<usize> {
    let classes = *logits.shape().get(1)?;
    let inner: usize = logits.shape()[2..].iter().product();
    if logits.numel() != y.numel() * classes {
        return None;
    }
    let x = logits.data();
    let correct = y.data().iter().enumerate().filter(|&(i, &t)| {
        let base = (i / inner) * classes * inner + i % inner;
        let score = |c: usize| x[base + c * inner];
        let best = (1..classes).fold(0, |b, c| if score(c) > score(b) { c } else { b });
        best as f32 == t
    });
    Some(correct.count())
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Scores `[N, C, T]` (classes along dim 1, as CrossEntropyLoss reads them) are judged
    /// per position: reading them as rows of C values paired the wrong scores and labels.
    #[test]
    fn per_position_accuracy_reads_the_class_dimension() {
        // one sample, 3 classes, 2 positions: position 0 → class 2, position 1 → class 0
        let logits = Tensor::new(&[1, 3, 2], vec![0.1, 0.9, 0.2, 0.5, 0.7, 0.3]).unwrap();
        let right = Tensor::new(&[1, 2], vec![2.0, 0.0]).unwrap();
        assert_eq!(per_position_correct(&logits, &right), Some(2));
        let wrong = Tensor::new(&[1, 2], vec![0.0, 2.0]).unwrap();
        assert_eq!(per_position_correct(&logits, &wrong), Some(0));
        assert_eq!(per_position_correct(&logits, &Tensor::zeros(&[1, 3])), None);
    }
}
