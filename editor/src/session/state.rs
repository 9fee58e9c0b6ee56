//! What the UI knows about the training session: curves, per-layer statistics, the phase.
//! Folded from the trainer thread's messages once per frame; the command handler starts,
//! halts and discards sessions.

use super::fork::ForkMark;
use super::trainer_thread::{Msg, Session, SessionConfig, TrainerCommand, Wake};
use hyphae::ecs::{ParamStats, TensorStats};
use hyphae::graph::ValidGraph;
use hyphae::train::boundary::Classifier;
use hyphae::train::eval_report::Predictions;
use hyphae::train::trainer::EvalReport;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Weight of the newest loss in the smoothed curve (exponential moving average).
const SMOOTHING: f64 = 0.1;
/// Most points kept per node or parameter statistics series, and per loss curve: a long
/// run thins its older points instead of growing without bound (500 nodes × 10,000
/// reports would hold ~250 MB). The run folder's metrics.jsonl keeps every value.
const STATS_POINTS: usize = 4096;
const CURVE_POINTS: usize = 32_768;

/// Appends `x`; past `cap` points, drops every other one (the newest stays), so the
/// series keeps spanning the whole run at half the resolution.
fn push_thinned<T>(v: &mut Vec<T>, x: T, cap: usize) {
    v.push(x);
    if v.len() > cap {
        let last = v.len() - 1;
        let mut i = 0;
        v.retain(|_| {
            let keep = i % 2 == 0 || i == last;
            i += 1;
            keep
        });
    }
}

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
    /// Graphs with training phases: (phase, (step, loss) per step it ran), in the order
    /// the phases first reported.
    pub phase_loss: Vec<(String, Vec<[f64; 2]>)>,
    /// Where the graph was edited during the run (hot edits).
    pub forks: Vec<ForkMark>,
}

/// One node's activation statistics over time.
#[derive(Clone, Debug, Default)]
pub struct NodeHistory {
    /// (step, mean, std, zero fraction).
    pub series: Vec<(u64, f32, f32, f32)>,
    pub latest: TensorStats,
    /// The step `latest` is from (its per-time-step norms are that step's).
    pub latest_step: u64,
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
    /// Halted by the user before the last epoch; the model is kept.
    Stopped,
    Failed(String),
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
    /// Per-sample predictions of the last evaluation (classifiers).
    pub last_predictions: Option<Arc<Predictions>>,
    /// The latest model snapshot (decision-boundary view); cleared by a new run.
    pub classifier: Option<Arc<Classifier>>,
    /// The latest model and its step (outputs windows); cleared by a new run.
    pub model: Option<Arc<(hyphae::ecs::Model, u64)>>,
    /// (resolved dataset spec, split seed) of the editor's last run: whose validation
    /// samples the predictions index.
    pub data_key: Option<(String, u64)>,
    /// Base learning rate for live changes.
    pub live_lr: f32,
    /// Steps between statistics, for live changes.
    pub live_stats_every: usize,
    pub messages: Vec<(String, bool)>,
    /// Evaluations received so far: the evaluation window opens when this moves.
    pub evaluations: u64,
    /// Bumped when statistics arrive or are cleared: views that derive from them (the
    /// canvas badges) recompute only then.
    pub stats_version: u64,
    /// The run folder followed (read-only: no model here, nothing to pause).
    pub following: Option<PathBuf>,
    /// The graph the session trains (it differs from the document after a paused edit).
    pub running: Option<hyphae::graph::GraphFile>,
    /// The last hot edit of this run, for the training panel's list.
    pub last_fork: Option<Box<hyphae::train::trainer::Fork>>,
    /// A fork was asked for and has not been answered yet.
    pub fork_in_flight: bool,
    /// A message for the status bar, taken by the app once per frame.
    pub news: Option<(String, bool)>,
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
            last_predictions: None,
            classifier: None,
            model: None,
            data_key: None,
            live_lr: 0.0,
            live_stats_every: 0,
            messages: Vec::new(),
            evaluations: 0,
            stats_version: 0,
            following: None,
            running: None,
            last_fork: None,
            fork_in_flight: false,
            news: None,
            smooth: None,
            runs_started: 0,
        }
    }
}

impl TrainState {
    /// Starts a session on `graph` with the data of `dataset` (a spec of
    /// `hyphae::data::load`); the previous run's curves move to the overlay and its
    /// model, if any, is dropped.
    pub fn start(&mut self, graph: ValidGraph, dataset: String, paused: bool, wake: Option<Wake>) {
        let name = graph
            .origin
            .rsplit('/')
            .next()
            .unwrap_or("graph")
            .trim_end_matches(".ron")
            .to_string();
        // Runs of this graph, each in a new numbered folder (as `hyphae train` makes).
        let out_dir = PathBuf::from("runs").join(&name);
        self.live_lr = graph.file.training.optimizer.lr();
        self.live_stats_every = graph.file.training.stats_every;
        self.data_key = Some((dataset.clone(), graph.file.training.split_seed()));
        self.begin_run(format!("run {}", self.runs_started + 1));
        self.running = Some(graph.file.clone());
        self.session = Some(Session::spawn(
            graph,
            SessionConfig {
                dataset,
                paused,
                out_dir,
            },
            wake,
        ));
    }

    /// Follows the run another process writes in `dir` (read-only): its curves and
    /// statistics arrive as a trainer's would; the previous run moves to the overlay.
    pub fn follow(&mut self, dir: PathBuf, wake: Option<Wake>) {
        let name = dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().to_string(),
        );
        self.begin_run(format!("followed {name}"));
        self.following = Some(dir.clone());
        self.session = Some(Session::follow(dir, wake));
    }

    /// A new run's empty history (the previous one moves to the overlay) and counters.
    fn begin_run(&mut self, label: String) {
        if !self.run.loss.is_empty() {
            self.past.push(std::mem::take(&mut self.run));
        }
        self.runs_started += 1;
        self.run = RunHistory {
            label,
            ..RunHistory::default()
        };
        self.clear_statistics();
        self.classifier = None;
        self.model = None;
        self.step = 0;
        self.epoch = 0;
        self.batch = 0;
        self.samples_per_sec = 0.0;
        self.smooth = None;
        self.following = None;
        self.running = None;
        self.last_fork = None;
        self.fork_in_flight = false;
        self.phase = Phase::Loading;
    }

    /// Forgets the per-layer statistics (and so the badges): they describe a graph or a
    /// run that is no longer there.
    pub fn clear_statistics(&mut self) {
        self.nodes.clear();
        self.params.clear();
        self.stats_version += 1;
    }

    pub fn send(&mut self, c: TrainerCommand) {
        if let Some(s) = &self.session {
            s.send(c);
        }
    }

    /// Ends the run; the model stays for evaluate and save until the next start.
    pub fn halt(&mut self) {
        self.send(TrainerCommand::Halt);
    }

    /// Drops the session and its model.
    pub fn discard(&mut self) {
        self.session = None;
        if !matches!(self.phase, Phase::Failed(_)) {
            self.phase = Phase::Idle;
        }
    }

    /// Whether a run is going on (loading, training or paused mid-run): the graph it
    /// trains must not change under it.
    pub fn is_live(&self) -> bool {
        self.session.is_some()
            && matches!(
                self.phase,
                Phase::Loading | Phase::Running | Phase::Paused | Phase::NonFinite(_)
            )
    }

    /// Whether a trained (or loaded) model is held: evaluate and save use it.
    pub fn has_model(&self) -> bool {
        self.session.is_some()
            && self.following.is_none()
            && !matches!(self.phase, Phase::Loading | Phase::Failed(_))
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
            if !matches!(self.phase, Phase::Failed(_)) {
                self.phase = Phase::Idle;
            }
        }
        any
    }

    pub(super) fn note(&mut self, text: String, bad: bool) {
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
                phase_losses,
            } => {
                self.step = step;
                self.epoch = epoch;
                self.batch = batch;
                let x = step as f64;
                push_thinned(&mut self.run.loss, [x, loss], CURVE_POINTS);
                for (name, l) in phase_losses {
                    let series = &mut self.run.phase_loss;
                    let k = match series.iter().position(|(n, _)| *n == name) {
                        Some(k) => k,
                        None => {
                            series.push((name, Vec::new()));
                            series.len() - 1
                        }
                    };
                    push_thinned(&mut series[k].1, [x, l], CURVE_POINTS);
                }
                let s = match self.smooth {
                    Some(s) if s.is_finite() => s + SMOOTHING * (loss - s),
                    _ => loss,
                };
                self.smooth = Some(s);
                push_thinned(&mut self.run.smoothed, [x, s], CURVE_POINTS);
                push_thinned(&mut self.run.lr, [x, lr as f64], CURVE_POINTS);
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
                self.stats_version += 1;
                for (name, st) in nodes {
                    let h = self.nodes.entry(name).or_default();
                    push_thinned(
                        &mut h.series,
                        (step, st.mean, st.std, st.zero_fraction),
                        STATS_POINTS,
                    );
                    h.latest = st;
                    h.latest_step = step;
                }
                for (name, st) in params {
                    let h = self.params.entry(name).or_default();
                    let point = (step, st.grad_norm, st.weight_norm, st.update_ratio);
                    push_thinned(&mut h.series, point, STATS_POINTS);
                    h.latest = st;
                }
            }
            Msg::Running => {
                if !matches!(self.phase, Phase::Finished | Phase::Stopped) {
                    self.phase = Phase::Running;
                }
            }
            Msg::Paused { .. } => {
                if !matches!(
                    self.phase,
                    Phase::NonFinite(_) | Phase::Finished | Phase::Stopped
                ) {
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
            Msg::Halted { step } => {
                self.phase = Phase::Stopped;
                self.note(
                    format!("stopped after {step} steps; the model is kept until the next start"),
                    false,
                );
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
                self.evaluations += 1;
                self.last_eval = Some(r);
            }
            Msg::Forked { fork, graph } => self.forked(*fork, *graph),
            Msg::ForkFailed(e) => self.fork_failed(e),
            Msg::Predictions(p) => self.last_predictions = Some(p),
            Msg::Classifier(c) => self.classifier = Some(c),
            Msg::Model(m) => self.model = Some(m),
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
    use super::push_thinned;

    /// A long series stays under its cap, still starts at the first point and ends at
    /// the newest, in order.
    #[test]
    fn long_series_are_thinned_not_truncated() {
        let mut v = Vec::new();
        for i in 0..100_000u64 {
            push_thinned(&mut v, i, 64);
        }
        assert!(v.len() <= 64 && v.len() > 32, "{}", v.len());
        assert_eq!(v[0], 0);
        assert_eq!(*v.last().unwrap(), 99_999);
        assert!(v.windows(2).all(|w| w[0] < w[1]));
    }
}
