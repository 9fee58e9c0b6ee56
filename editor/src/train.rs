//! Live training: a background thread that owns the engine's `Trainer` and steps it batch by
//! batch, and the UI-side state that collects what it reports.
//!
//! The thread checks a command channel between steps (pause, resume, single step, stop, a
//! new learning rate, evaluate, save/load weights) and sends [`Msg`]s back over a crossbeam
//! channel. The UI drains that channel with `try_recv` once per frame, so no frame ever waits
//! on the trainer.

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use hyphae::Tensor;
use hyphae::data::{self, Loader, LoaderOptions};
use hyphae::ecs::{ParamStats, TensorStats, TrainEvent};
use hyphae::graph::{Source, ValidGraph};
use hyphae::train::trainer::{EvalReport, TrainOptions, Trainer};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

/// ReLU outputs that are zero more often than this are flagged as mostly dead.
pub const DEAD_FRACTION: f32 = 0.9;
/// Gradient norms below this are flagged as vanishing.
pub const VANISHING_NORM: f64 = 1e-6;
/// Gradient norms above this are flagged as exploding.
pub const EXPLODING_NORM: f64 = 1e3;
/// Weight of the newest loss in the smoothed curve (exponential moving average).
const SMOOTHING: f64 = 0.1;

/// What the UI asks the trainer thread to do; handled between steps.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Pause,
    Resume,
    /// Run exactly one batch, then pause.
    Step,
    Stop,
    /// New base learning rate, used from the next step on.
    SetLr(f32),
    /// Take layer statistics every this many steps (0: never), from the next step on.
    SetStatsEvery(usize),
    Evaluate,
    SaveWeights(PathBuf),
    SaveCheckpoint,
    LoadWeights(PathBuf),
}

/// What the trainer thread reports.
#[derive(Clone, Debug)]
pub enum Msg {
    /// Data loaded and the runtime built.
    Ready {
        batches_per_epoch: usize,
        epochs: usize,
        train_samples: usize,
        valid_samples: usize,
    },
    Step {
        step: u64,
        epoch: u64,
        batch: usize,
        loss: f64,
        lr: f32,
        samples_per_sec: f64,
    },
    /// Validation at the end of an epoch.
    Epoch {
        epoch: u64,
        step: u64,
        valid: EvalReport,
    },
    /// Activation and gradient statistics from the runtime.
    Stats {
        step: u64,
        nodes: Vec<(String, TensorStats)>,
        params: Vec<(String, ParamStats)>,
    },
    Running,
    Paused {
        step: u64,
    },
    /// A node produced NaN/Inf (the first one in topological order); training paused.
    NonFinite {
        step: u64,
        node: String,
    },
    /// Every epoch done; the thread still answers evaluate/save/load.
    Finished {
        step: u64,
    },
    Evaluated(EvalReport),
    Info(String),
    Error(String),
}

/// How to start a session.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    pub dataset: String,
    /// Start paused (for Step, or to load weights and evaluate without training).
    pub paused: bool,
    /// Folder for checkpoints.
    pub out_dir: PathBuf,
}

/// A running trainer thread and its two channels.
pub struct Session {
    commands: Sender<Command>,
    pub messages: Receiver<Msg>,
    thread: Option<JoinHandle<()>>,
}

impl Session {
    /// Starts the thread. `wake` is asked to repaint whenever a message is sent, so an idle
    /// window still updates.
    pub fn spawn(graph: ValidGraph, cfg: SessionConfig, wake: Option<egui::Context>) -> Session {
        let (cmd_tx, cmd_rx) = crossbeam_channel::unbounded();
        let (msg_tx, msg_rx) = crossbeam_channel::unbounded();
        let thread = std::thread::Builder::new()
            .name("hyphae-trainer".into())
            .spawn(move || {
                let out = Out { tx: msg_tx, wake };
                if let Err(e) = worker(graph, cfg, &cmd_rx, &out) {
                    out.send(Msg::Error(e));
                }
            })
            .ok();
        Session {
            commands: cmd_tx,
            messages: msg_rx,
            thread,
        }
    }

    pub fn send(&self, c: Command) {
        // The thread gone means the session ended; the UI already shows why.
        let _ = self.commands.send(c);
    }

    /// Whether the thread has exited.
    pub fn is_done(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Not joined: a long step must not freeze the window; the thread exits after it.
        let _ = self.commands.send(Command::Stop);
    }
}

/// Longest wait before a step's news is painted (≈ 4 frames/s while training).
const STEP_REPAINT: std::time::Duration = std::time::Duration::from_millis(250);

struct Out {
    tx: Sender<Msg>,
    wake: Option<egui::Context>,
}

impl Out {
    fn send(&self, m: Msg) {
        // Per-step news (loss points, statistics) waits for a repaint at most
        // `STEP_REPAINT` away: painting every step cost the trainer a third of its speed on
        // 2 cores with software GL. State changes (pause, NaN, done) show at once.
        let routine = matches!(m, Msg::Step { .. } | Msg::Stats { .. });
        let _ = self.tx.send(m);
        if let Some(ctx) = &self.wake {
            if routine {
                ctx.request_repaint_after(STEP_REPAINT);
            } else {
                ctx.request_repaint();
            }
        }
    }
}

/// Trainer-thread state that commands change.
struct Control {
    paused: bool,
    /// Batches left before pausing again (a Step command).
    budget: Option<usize>,
    stop: bool,
}

fn worker(
    graph: ValidGraph,
    cfg: SessionConfig,
    cmds: &Receiver<Command>,
    out: &Out,
) -> Result<(), String> {
    let training = graph.file.training.clone();
    let inputs = graph.file.inputs.clone();
    let features = inputs
        .iter()
        .position(|i| i.source == Source::Features)
        .ok_or("the graph has no Features input")?;
    let labels = inputs.iter().position(|i| i.source == Source::Labels);
    let split = data::load(&cfg.dataset, training.split_seed()).map_err(|e| e.to_string())?;
    let mut trainer = Trainer::new(
        graph,
        split,
        TrainOptions {
            epochs: training.epochs,
            out_dir: Some(cfg.out_dir.clone()),
            ..TrainOptions::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let (ev_tx, ev_rx) = crossbeam_channel::unbounded();
    trainer.runtime_mut().set_events(Some(ev_tx));
    // Tensors share storage, so this copy of the training set is cheap.
    let train = Arc::new(trainer.train_set().clone());
    let loader =
        Loader::new(train, LoaderOptions::training(&training)).map_err(|e| e.to_string())?;
    out.send(Msg::Ready {
        batches_per_epoch: loader.batches_per_epoch(),
        epochs: training.epochs,
        train_samples: trainer.train_set().len(),
        valid_samples: trainer.valid_set().len(),
    });
    let mut ctl = Control {
        paused: cfg.paused,
        budget: None,
        stop: false,
    };
    out.send(if ctl.paused {
        Msg::Paused { step: 0 }
    } else {
        Msg::Running
    });
    let n_inputs = inputs.len();
    'epochs: for epoch in 0..training.epochs as u64 {
        trainer.set_position(epoch, 0);
        let mut batches = loader.epoch(epoch);
        loop {
            commands(cmds, &mut trainer, &mut ctl, out);
            if ctl.stop {
                return Ok(());
            }
            let Some((x, y)) = batches.next() else {
                break;
            };
            let n = x.dim(0);
            let mut batch = vec![Tensor::zeros(&[0]); n_inputs];
            if let Some(li) = labels {
                batch[li] = y;
            }
            batch[features] = x;
            let t0 = Instant::now();
            let outcome = trainer
                .runtime_mut()
                .train_step(batch)
                .map_err(|e| e.to_string())?;
            let secs = t0.elapsed().as_secs_f64().max(1e-9);
            let batch_in_epoch = trainer.position().1 + 1;
            trainer.set_position(epoch, batch_in_epoch);
            forward_events(&ev_rx, out);
            if let Some(node) = outcome.non_finite_node {
                ctl.paused = true;
                ctl.budget = None;
                out.send(Msg::NonFinite {
                    step: outcome.step,
                    node,
                });
                continue;
            }
            out.send(Msg::Step {
                step: outcome.step,
                epoch,
                batch: batch_in_epoch,
                loss: outcome.loss,
                lr: outcome.lr,
                samples_per_sec: n as f64 / secs,
            });
            if let Some(b) = ctl.budget.as_mut() {
                *b = b.saturating_sub(1);
                if *b == 0 {
                    ctl.budget = None;
                    ctl.paused = true;
                    out.send(Msg::Paused {
                        step: trainer.runtime().step(),
                    });
                }
            }
        }
        let valid = trainer.evaluate_valid().map_err(|e| e.to_string())?;
        out.send(Msg::Epoch {
            epoch,
            step: trainer.runtime().step(),
            valid,
        });
        if ctl.stop {
            break 'epochs;
        }
    }
    trainer.set_position(training.epochs as u64, 0);
    out.send(Msg::Finished {
        step: trainer.runtime().step(),
    });
    // Still answers evaluate, save and load until stopped or dropped.
    ctl.paused = true;
    while !ctl.stop {
        // Nothing left to step: a Step command must not turn this into a busy loop.
        ctl.budget = None;
        commands(cmds, &mut trainer, &mut ctl, out);
    }
    Ok(())
}

/// Forwards the runtime's statistics and NaN events (steps are reported by the loop itself).
fn forward_events(ev: &Receiver<TrainEvent>, out: &Out) {
    while let Ok(e) = ev.try_recv() {
        if let TrainEvent::Stats {
            step,
            nodes,
            params,
        } = e
        {
            out.send(Msg::Stats {
                step,
                nodes,
                params,
            });
        }
    }
}

/// Handles pending commands; while paused, waits for the next one.
fn commands(cmds: &Receiver<Command>, trainer: &mut Trainer, ctl: &mut Control, out: &Out) {
    loop {
        let c = if ctl.paused && ctl.budget.is_none() {
            match cmds.recv() {
                Ok(c) => c,
                Err(_) => {
                    ctl.stop = true;
                    return;
                }
            }
        } else {
            match cmds.try_recv() {
                Ok(c) => c,
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    ctl.stop = true;
                    return;
                }
            }
        };
        match c {
            Command::Pause => {
                ctl.paused = true;
                ctl.budget = None;
                out.send(Msg::Paused {
                    step: trainer.runtime().step(),
                });
            }
            Command::Resume => {
                ctl.paused = false;
                ctl.budget = None;
                out.send(Msg::Running);
            }
            Command::Step => {
                ctl.budget = Some(1);
                out.send(Msg::Running);
            }
            Command::Stop => {
                ctl.stop = true;
                return;
            }
            Command::SetLr(lr) => {
                trainer.runtime_mut().set_lr(lr);
                out.send(Msg::Info(format!("learning rate {lr} from the next step")));
            }
            Command::SetStatsEvery(n) => {
                trainer.runtime_mut().hyper_mut().stats_every = n;
                out.send(Msg::Info(match n {
                    0 => "statistics off".to_string(),
                    n => format!("statistics every {n} steps"),
                }));
            }
            Command::Evaluate => match trainer.evaluate_valid() {
                Ok(r) => out.send(Msg::Evaluated(r)),
                Err(e) => out.send(Msg::Error(format!("evaluate: {e}"))),
            },
            Command::SaveWeights(p) => match trainer.save_weights_to(&p) {
                Ok(()) => out.send(Msg::Info(format!("saved weights to {}", p.display()))),
                Err(e) => out.send(Msg::Error(format!("save: {e}"))),
            },
            Command::SaveCheckpoint => match trainer.save_checkpoint() {
                Ok(p) => out.send(Msg::Info(format!("saved checkpoint {}", p.display()))),
                Err(e) => out.send(Msg::Error(format!("checkpoint: {e}"))),
            },
            Command::LoadWeights(p) => match trainer.load_weights(&p) {
                Ok(()) => out.send(Msg::Info(format!("loaded weights from {}", p.display()))),
                Err(e) => out.send(Msg::Error(format!("load: {e}"))),
            },
        }
        if ctl.stop {
            return;
        }
    }
}

// ----- UI-side state -----

/// Curves of one training run, kept for overlaying later runs.
#[derive(Clone, Debug, Default)]
pub struct RunHistory {
    pub label: String,
    /// (step, loss) per step.
    pub loss: Vec<[f64; 2]>,
    /// Exponential moving average of the loss.
    pub smoothed: Vec<[f64; 2]>,
    /// (epoch + 1, value) per epoch.
    pub valid_loss: Vec<[f64; 2]>,
    pub valid_acc: Vec<[f64; 2]>,
    /// (step, lr) per step.
    pub lr: Vec<[f64; 2]>,
}

/// One node's activation statistics over time.
#[derive(Clone, Debug, Default)]
pub struct NodeHistory {
    /// (step, mean, std, zero fraction).
    pub series: Vec<(u64, f32, f32, f32)>,
    pub latest: TensorStats,
}

/// One parameter's gradient and update statistics over time.
#[derive(Clone, Debug, Default)]
pub struct ParamHistory {
    /// (step, grad norm, weight norm, update ratio).
    pub series: Vec<(u64, f64, f64, f64)>,
    pub latest: ParamStats,
}

/// Where the session is.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    Idle,
    Loading,
    Running,
    Paused,
    /// Paused at the node whose output went NaN/Inf.
    NonFinite(String),
    Finished,
    Failed(String),
}

/// A problem the canvas shows on a node.
#[derive(Clone, Debug, PartialEq)]
pub enum Badge {
    /// ReLU output zero this often.
    Dead(f32),
    Vanishing(f64),
    Exploding(f64),
    NonFinite,
}

impl Badge {
    pub fn text(&self) -> String {
        match self {
            Badge::Dead(z) => format!("dead units {:.0}%", z * 100.0),
            Badge::Vanishing(g) if *g == 0.0 => "vanishing grad 0".into(),
            Badge::Vanishing(g) => format!("vanishing grad {g:.1e}"),
            Badge::Exploding(g) => format!("exploding grad {g:.1e}"),
            Badge::NonFinite => "NaN/Inf first here".into(),
        }
    }
}

/// The badges of one node from its latest statistics: `act` is its output's (only ReLUs are
/// checked for dead units), `params` its parameters'. At most one badge of each kind.
pub fn node_badges(is_relu: bool, act: Option<&TensorStats>, params: &[&ParamStats]) -> Vec<Badge> {
    let mut out = Vec::new();
    if let Some(a) = act
        && is_relu
        && a.zero_fraction > DEAD_FRACTION
    {
        out.push(Badge::Dead(a.zero_fraction));
    }
    let mut exploding = None;
    let mut vanishing = None;
    for p in params {
        let g = p.grad_norm;
        // All zero: nothing measured yet (a zero-initialised bias before its first update).
        if g == 0.0 && p.weight_norm == 0.0 {
            continue;
        }
        if !g.is_finite() || g > EXPLODING_NORM {
            exploding.get_or_insert(g);
        } else if g < VANISHING_NORM {
            // Exactly zero counts: the layer before a dead ReLU gets no gradient at all.
            vanishing.get_or_insert(g);
        }
    }
    out.extend(vanishing.map(Badge::Vanishing));
    out.extend(exploding.map(Badge::Exploding));
    out
}

/// Everything the training panel shows.
pub struct TrainState {
    pub session: Option<Session>,
    pub phase: Phase,
    pub run: RunHistory,
    /// Earlier runs of this editor session, overlaid on the plots.
    pub past: Vec<RunHistory>,
    pub step: u64,
    pub epoch: u64,
    pub batch: usize,
    pub batches_per_epoch: usize,
    pub epochs: usize,
    /// Smoothed samples per second.
    pub samples_per_sec: f64,
    pub nodes: HashMap<String, NodeHistory>,
    pub params: HashMap<String, ParamHistory>,
    pub last_eval: Option<EvalReport>,
    /// The dataset spec typed in the panel (empty: the graph's own).
    pub dataset: String,
    /// Base learning rate for live changes.
    pub live_lr: f32,
    /// Steps between statistics, for live changes.
    pub live_stats_every: usize,
    pub weights_path: String,
    pub messages: Vec<(String, bool)>,
    pub show_panel: bool,
    pub show_confusion: bool,
    smooth: Option<f64>,
    runs_started: usize,
}

impl Default for TrainState {
    fn default() -> Self {
        TrainState {
            session: None,
            phase: Phase::Idle,
            run: RunHistory::default(),
            past: Vec::new(),
            step: 0,
            epoch: 0,
            batch: 0,
            batches_per_epoch: 0,
            epochs: 0,
            samples_per_sec: 0.0,
            nodes: HashMap::new(),
            params: HashMap::new(),
            last_eval: None,
            dataset: String::new(),
            live_lr: 0.0,
            live_stats_every: 0,
            weights_path: "runs/editor/weights.safetensors".into(),
            messages: Vec::new(),
            show_panel: false,
            show_confusion: false,
            smooth: None,
            runs_started: 0,
        }
    }
}

impl TrainState {
    /// Starts a session on `graph`; the previous run's curves move to the overlay.
    pub fn start(&mut self, graph: ValidGraph, paused: bool, ctx: Option<egui::Context>) {
        let dataset = if self.dataset.trim().is_empty() {
            graph
                .file
                .training
                .dataset
                .clone()
                .unwrap_or_else(|| "shapes".into())
        } else {
            self.dataset.trim().to_string()
        };
        let name = graph
            .origin
            .rsplit('/')
            .next()
            .unwrap_or("graph")
            .trim_end_matches(".ron")
            .to_string();
        let out_dir = PathBuf::from("runs").join(format!("editor-{name}"));
        self.live_lr = graph.file.training.optimizer.lr();
        self.live_stats_every = graph.file.training.stats_every;
        if !self.run.loss.is_empty() {
            self.past.push(std::mem::take(&mut self.run));
        }
        self.runs_started += 1;
        self.run = RunHistory {
            label: format!("run {}", self.runs_started),
            ..RunHistory::default()
        };
        self.nodes.clear();
        self.params.clear();
        self.step = 0;
        self.epoch = 0;
        self.batch = 0;
        self.samples_per_sec = 0.0;
        self.smooth = None;
        self.phase = Phase::Loading;
        self.session = Some(Session::spawn(
            graph,
            SessionConfig {
                dataset,
                paused,
                out_dir,
            },
            ctx,
        ));
    }

    pub fn send(&mut self, c: Command) {
        if let Some(s) = &self.session {
            s.send(c);
        }
    }

    pub fn stop(&mut self) {
        self.session = None;
        if !matches!(self.phase, Phase::Failed(_)) {
            self.phase = Phase::Idle;
        }
    }

    pub fn is_active(&self) -> bool {
        self.session.is_some()
    }

    /// Drains the channel without blocking; returns whether anything arrived.
    pub fn poll(&mut self) -> bool {
        let Some(s) = &self.session else {
            return false;
        };
        let mut msgs = Vec::new();
        while let Ok(m) = s.messages.try_recv() {
            msgs.push(m);
        }
        let done = s.is_done() && s.messages.is_empty();
        let any = !msgs.is_empty();
        for m in msgs {
            self.apply(m);
        }
        if done {
            self.session = None;
            if !matches!(self.phase, Phase::Failed(_) | Phase::Finished) {
                self.phase = Phase::Idle;
            }
        }
        any
    }

    fn note(&mut self, text: String, bad: bool) {
        self.messages.push((text, bad));
        if self.messages.len() > 50 {
            self.messages.remove(0);
        }
    }

    /// Folds one message into the state.
    pub fn apply(&mut self, m: Msg) {
        match m {
            Msg::Ready {
                batches_per_epoch,
                epochs,
                train_samples,
                valid_samples,
            } => {
                self.batches_per_epoch = batches_per_epoch;
                self.epochs = epochs;
                self.note(
                    format!("data: {train_samples} training, {valid_samples} validation samples"),
                    false,
                );
            }
            Msg::Step {
                step,
                epoch,
                batch,
                loss,
                lr,
                samples_per_sec,
            } => {
                self.step = step;
                self.epoch = epoch;
                self.batch = batch;
                let x = step as f64;
                self.run.loss.push([x, loss]);
                let s = match self.smooth {
                    Some(s) if s.is_finite() => s + SMOOTHING * (loss - s),
                    _ => loss,
                };
                self.smooth = Some(s);
                self.run.smoothed.push([x, s]);
                self.run.lr.push([x, lr as f64]);
                self.samples_per_sec = if self.samples_per_sec > 0.0 {
                    0.9 * self.samples_per_sec + 0.1 * samples_per_sec
                } else {
                    samples_per_sec
                };
            }
            Msg::Epoch { epoch, valid, .. } => {
                let x = epoch as f64 + 1.0;
                self.run.valid_loss.push([x, valid.loss]);
                if let Some(a) = valid.accuracy {
                    self.run.valid_acc.push([x, a]);
                }
                self.note(
                    format!(
                        "epoch {}: validation loss {:.4}{}",
                        epoch + 1,
                        valid.loss,
                        valid
                            .accuracy
                            .map_or(String::new(), |a| format!(", accuracy {:.1}%", a * 100.0))
                    ),
                    false,
                );
                self.last_eval = Some(valid);
            }
            Msg::Stats {
                step,
                nodes,
                params,
            } => {
                for (name, st) in nodes {
                    let h = self.nodes.entry(name).or_default();
                    h.series.push((step, st.mean, st.std, st.zero_fraction));
                    h.latest = st;
                }
                for (name, st) in params {
                    let h = self.params.entry(name).or_default();
                    h.series
                        .push((step, st.grad_norm, st.weight_norm, st.update_ratio));
                    h.latest = st;
                }
            }
            Msg::Running => {
                if !matches!(self.phase, Phase::Finished) {
                    self.phase = Phase::Running;
                }
            }
            Msg::Paused { .. } => {
                if !matches!(self.phase, Phase::NonFinite(_) | Phase::Finished) {
                    self.phase = Phase::Paused;
                }
            }
            Msg::NonFinite { step, node } => {
                self.note(
                    format!("step {step}: NaN/Inf first appeared in `{node}`; training paused"),
                    true,
                );
                self.phase = Phase::NonFinite(node);
            }
            Msg::Finished { step } => {
                self.phase = Phase::Finished;
                self.note(format!("finished after {step} steps"), false);
            }
            Msg::Evaluated(r) => {
                self.note(
                    format!(
                        "evaluation: loss {:.4}{} on {} samples",
                        r.loss,
                        r.accuracy
                            .map_or(String::new(), |a| format!(", accuracy {:.1}%", a * 100.0)),
                        r.samples
                    ),
                    false,
                );
                self.show_confusion = r.confusion.is_some();
                self.last_eval = Some(r);
            }
            Msg::Info(t) => self.note(t, false),
            Msg::Error(e) => {
                self.note(e.clone(), true);
                if matches!(self.phase, Phase::Loading) {
                    self.phase = Phase::Failed(e);
                }
            }
        }
    }

    /// The node where NaN/Inf appeared, if training is paused there.
    pub fn non_finite_node(&self) -> Option<&str> {
        match &self.phase {
            Phase::NonFinite(n) => Some(n),
            _ => None,
        }
    }

    /// Badges per node from the latest statistics. `is_relu` says which nodes are ReLUs.
    pub fn badges(&self, is_relu: impl Fn(&str) -> bool) -> HashMap<String, Vec<Badge>> {
        // Parameter names are `node.param`.
        let mut params: HashMap<&str, Vec<&ParamStats>> = HashMap::new();
        for (name, h) in &self.params {
            if let Some((node, _)) = name.rsplit_once('.')
                && !h.series.is_empty()
            {
                params.entry(node).or_default().push(&h.latest);
            }
        }
        let names: std::collections::BTreeSet<&str> = self
            .nodes
            .keys()
            .map(String::as_str)
            .chain(params.keys().copied())
            .collect();
        let mut out: HashMap<String, Vec<Badge>> = HashMap::new();
        for name in names {
            let act = self.nodes.get(name).map(|h| &h.latest);
            let ps = params.get(name).map_or(&[][..], Vec::as_slice);
            let b = node_badges(is_relu(name), act, ps);
            if !b.is_empty() {
                out.insert(name.to_string(), b);
            }
        }
        if let Some(n) = self.non_finite_node() {
            out.entry(n.to_string()).or_default().push(Badge::NonFinite);
        }
        out
    }

    /// Estimated seconds left, from the smoothed throughput.
    pub fn eta_secs(&self, batch_size: usize) -> Option<f64> {
        if self.samples_per_sec <= 0.0 || self.batches_per_epoch == 0 {
            return None;
        }
        let total = (self.epochs * self.batches_per_epoch) as f64;
        let done = (self.epoch as usize * self.batches_per_epoch + self.batch) as f64;
        Some((total - done).max(0.0) * batch_size as f64 / self.samples_per_sec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(zero_fraction: f32) -> TensorStats {
        TensorStats {
            zero_fraction,
            ..TensorStats::default()
        }
    }

    fn param(grad_norm: f64) -> ParamStats {
        ParamStats {
            grad_norm,
            weight_norm: 1.0,
            ..ParamStats::default()
        }
    }

    #[test]
    fn a_mostly_zero_relu_is_dead_and_other_ops_are_not() {
        assert_eq!(
            node_badges(true, Some(&act(0.95)), &[]),
            vec![Badge::Dead(0.95)]
        );
        assert_eq!(Badge::Dead(0.95).text(), "dead units 95%");
        // At the threshold, or zeros from an op that is not a ReLU: no badge.
        assert!(node_badges(true, Some(&act(DEAD_FRACTION)), &[]).is_empty());
        assert!(node_badges(true, Some(&act(0.5)), &[]).is_empty());
        assert!(node_badges(false, Some(&act(1.0)), &[]).is_empty());
    }

    #[test]
    fn gradient_norms_outside_the_healthy_range_are_flagged() {
        let (tiny, zero, huge, fine) = (param(1e-8), param(0.0), param(5e3), param(0.1));
        assert_eq!(
            node_badges(false, None, &[&fine, &tiny]),
            vec![Badge::Vanishing(1e-8)]
        );
        assert_eq!(Badge::Vanishing(1e-8).text(), "vanishing grad 1.0e-8");
        // No gradient at all (the layer before a dead ReLU) is the extreme of vanishing.
        assert_eq!(
            node_badges(false, None, &[&zero]),
            vec![Badge::Vanishing(0.0)]
        );
        assert_eq!(Badge::Vanishing(0.0).text(), "vanishing grad 0");
        assert_eq!(
            node_badges(false, None, &[&huge]),
            vec![Badge::Exploding(5e3)]
        );
        assert_eq!(Badge::Exploding(5e3).text(), "exploding grad 5.0e3");
        let inf = param(f64::INFINITY);
        assert_eq!(
            node_badges(false, None, &[&inf]),
            vec![Badge::Exploding(f64::INFINITY)]
        );
        assert!(node_badges(false, None, &[&fine, &param(1e2)]).is_empty());
        // One badge per kind, whatever the number of parameters.
        assert_eq!(node_badges(false, None, &[&tiny, &tiny]).len(), 1);
        // Nothing measured yet.
        let blank = ParamStats::default();
        assert!(node_badges(false, None, &[&blank]).is_empty());
    }

    #[test]
    fn badges_are_grouped_by_node_from_parameter_names() {
        let mut st = TrainState::default();
        st.apply(Msg::Stats {
            step: 10,
            nodes: vec![("relu1".into(), act(0.99)), ("tanh".into(), act(0.99))],
            params: vec![
                ("fc1.weight".into(), param(0.0)),
                ("fc1.bias".into(), param(0.0)),
                ("fc2.weight".into(), param(2e3)),
                ("fc3.weight".into(), param(0.3)),
            ],
        });
        let b = st.badges(|n| n.starts_with("relu"));
        assert_eq!(b.get("relu1"), Some(&vec![Badge::Dead(0.99)]));
        assert_eq!(b.get("fc1"), Some(&vec![Badge::Vanishing(0.0)]));
        assert_eq!(b.get("fc2"), Some(&vec![Badge::Exploding(2e3)]));
        assert!(!b.contains_key("tanh") && !b.contains_key("fc3"));
    }
}
