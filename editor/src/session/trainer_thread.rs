//! The trainer thread: the one place that drives the engine's `Trainer`. Its interface is
//! narrow: [`Session::spawn`] with a graph, [`TrainerCommand`]s in, [`Msg`]s out.
//!
//! The thread checks its command channel between steps (pause, resume, single step, halt, a
//! new learning rate, evaluate, save/load weights, continue on an edited graph) and sends
//! [`Msg`]s back over a crossbeam channel. The UI drains that channel with `try_recv` once per
//! frame, so no frame ever waits on the trainer. After the last epoch, or a [`TrainerCommand::Halt`], the thread keeps the
//! trained model (weights and optimizer state) and still answers evaluate and save until the
//! session is dropped.

use super::fork::EditedGraph;
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use hyphae::data;
use hyphae::ecs::{Model, ParamStats, TensorStats, TrainEvent};
use hyphae::graph::{GraphFile, ValidGraph};
use hyphae::train::boundary::Classifier;
use hyphae::train::eval_report::Predictions;
use hyphae::train::run_dir;
use hyphae::train::trainer::{EvalReport, Event, Finish, Fork, TrainOptions, Trainer};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

/// What the UI asks the trainer thread to do; handled between steps.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainerCommand {
    Pause,
    Resume,
    /// Run exactly one batch, then pause.
    Step,
    /// End the run but keep the model, for evaluate and save.
    Halt,
    /// End the thread.
    Stop,
    /// New base learning rate, used from the next step on.
    SetLr(f32),
    /// Take layer statistics every this many steps (0: never), from the next step on.
    SetStatsEvery(usize),
    Evaluate,
    /// Send the current model as a [`Msg::Classifier`] (decision-boundary view).
    Snapshot,
    /// Send the current model as a [`Msg::Model`] (the nodes' outputs windows).
    SnapshotModel,
    SaveWeights(PathBuf),
    SaveCheckpoint,
    LoadWeights(PathBuf),
    /// Continue the paused run on this edited graph (see `super::fork`), then resume
    /// (or run one batch, `step`). Refused with a message, staying paused, if it cannot.
    Fork {
        graph: EditedGraph,
        step: bool,
    },
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
        /// Graphs with training phases: each phase run this step, with its loss.
        phase_losses: Vec<(String, f64)>,
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
    /// Halted before the last epoch; the model is kept as for `Finished`.
    Halted {
        step: u64,
    },
    Evaluated(EvalReport),
    /// The run continues on an edited graph: what was carried, and the graph it trains now.
    Forked {
        fork: Box<Fork>,
        graph: Box<GraphFile>,
    },
    /// The edited graph could not continue the run; it goes on paused on the old one.
    ForkFailed(String),
    /// Per-sample predictions of the evaluation that follows (classifiers).
    Predictions(Arc<Predictions>),
    /// A snapshot of the model for views that run it (answer to `Snapshot`).
    Classifier(Arc<Classifier>),
    /// The forward-only model and the step its parameters are from (answer to
    /// `SnapshotModel`).
    Model(Arc<(Model, u64)>),
    Info(String),
    Error(String),
}

/// How to start a session.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    pub dataset: String,
    /// Start paused (for Step, or to load weights and evaluate without training).
    pub paused: bool,
    /// Parent of this graph's run folders (`runs/<graph>`); each start makes a new one.
    pub out_dir: PathBuf,
}

/// A running trainer thread and its two channels.
pub struct Session {
    commands: Sender<TrainerCommand>,
    pub messages: Receiver<Msg>,
    thread: Option<JoinHandle<()>>,
}

impl Session {
    /// Starts the thread. `wake` is asked to repaint whenever a message is sent, so an idle
    /// window still updates.
    pub fn spawn(graph: ValidGraph, cfg: SessionConfig, wake: Option<Wake>) -> Session {
        let (cmd_tx, cmd_rx) = crossbeam_channel::unbounded();
        let (msg_tx, msg_rx) = crossbeam_channel::unbounded();
        let thread = std::thread::Builder::new()
            .name("hyphae-trainer".into())
            .spawn(move || {
                let out = Out {
                    tx: msg_tx,
                    wake,
                    last_routine_wake: std::cell::Cell::new(None),
                };
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

    /// A session around another thread that speaks the same messages (a followed run).
    pub(super) fn from_parts(
        commands: Sender<TrainerCommand>,
        messages: Receiver<Msg>,
        thread: Option<JoinHandle<()>>,
    ) -> Session {
        Session {
            commands,
            messages,
            thread,
        }
    }

    pub fn send(&self, c: TrainerCommand) {
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
        let _ = self.commands.send(TrainerCommand::Stop);
    }
}

/// Asks the UI for a frame: `true` for routine news (a step, statistics) that may wait a
/// little, `false` for a change of state to show at once.
pub type Wake = Box<dyn Fn(bool) + Send>;

struct Out {
    tx: Sender<Msg>,
    wake: Option<Wake>,
    /// When routine news last woke the UI.
    last_routine_wake: std::cell::Cell<Option<std::time::Instant>>,
}

/// Routine news closer together than this share one wake-up: the frame the first one
/// asked for (at most the UI's routine delay later, which is longer) shows them all.
/// Waking the UI's event loop at every step of a fast graph (400 steps/s) took CPU
/// from the trainer.
const ROUTINE_WAKE_GAP: std::time::Duration = std::time::Duration::from_millis(100);

impl Out {
    fn send(&self, m: Msg) {
        // Per-step news (loss points, statistics) may wait for the next frame: painting
        // every step cost the trainer a third of its speed on 2 cores with software GL.
        // State changes (pause, NaN, done) show at once.
        let routine = matches!(m, Msg::Step { .. } | Msg::Stats { .. });
        let _ = self.tx.send(m);
        let Some(wake) = &self.wake else { return };
        if routine {
            let now = std::time::Instant::now();
            let last = self.last_routine_wake.get();
            if last.is_some_and(|t| now.duration_since(t) < ROUTINE_WAKE_GAP) {
                return;
            }
            self.last_routine_wake.set(Some(now));
        }
        wake(routine);
    }
}

/// Statistics at most this often (as well as every `stats_every` steps): the window shows
/// a few a second, and a 500-node graph at 400 steps/s would take them 40 times a second.
/// The run folder's `stats.jsonl` names the step each report is from.
const LIVE_STATS_GAP: std::time::Duration = std::time::Duration::from_millis(100);

/// Trainer-thread state that commands change.
struct Control {
    paused: bool,
    /// Batches left before pausing again (a Step command).
    budget: Option<usize>,
    stop: bool,
    /// The run is over (a Halt): leave the epochs, keep the model.
    halt: bool,
}

fn worker(
    graph: ValidGraph,
    cfg: SessionConfig,
    cmds: &Receiver<TrainerCommand>,
    out: &Out,
) -> Result<(), String> {
    let training = graph.file.training.clone();
    let split = data::load(&cfg.dataset, training.split_seed()).map_err(|e| e.to_string())?;
    // Each Start is a new run folder beside `hyphae train`'s: runs/<graph>/run-NNN.
    let out_dir = run_dir::new_run_dir(&cfg.out_dir).map_err(|e| e.to_string())?;
    let mut trainer = Trainer::new(
        graph,
        split,
        TrainOptions {
            epochs: training.epochs,
            out_dir: Some(out_dir.clone()),
            ..TrainOptions::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let (ev_tx, ev_rx) = crossbeam_channel::unbounded();
    trainer.runtime_mut().set_events(Some(ev_tx));
    trainer
        .runtime_mut()
        .set_stats_min_interval(Some(LIVE_STATS_GAP));
    out.send(Msg::Ready {
        batches_per_epoch: trainer.batches_per_epoch(),
        epochs: training.epochs,
        train_samples: trainer.train_set().len(),
        valid_samples: trainer.valid_set().len(),
    });
    out.send(Msg::Info(format!("run folder: {}", out_dir.display())));
    let mut ctl = Control {
        paused: cfg.paused,
        budget: None,
        stop: false,
        halt: false,
    };
    out.send(if ctl.paused {
        Msg::Paused { step: 0 }
    } else {
        Msg::Running
    });
    // The engine's one training loop: handle commands, then step().
    loop {
        commands(cmds, &mut trainer, &mut ctl, out);
        if ctl.stop {
            return Ok(());
        }
        if ctl.halt {
            // Stop keeps the model; the run folder gets its checkpoint and final weights.
            trainer
                .finish(Finish::Interrupted)
                .map_err(|e| e.to_string())?;
            out.send(Msg::Halted {
                step: trainer.runtime().step(),
            });
            break;
        }
        match trainer.step().map_err(|e| e.to_string())? {
            Event::Step(r) => {
                forward_events(&ev_rx, out);
                out.send(Msg::Step {
                    step: r.outcome.step,
                    epoch: r.epoch,
                    batch: r.batch,
                    loss: r.outcome.loss,
                    lr: r.outcome.lr,
                    samples_per_sec: r.samples_per_sec,
                    phase_losses: r.phase_losses.clone(),
                });
                spend_budget(trainer.runtime().step(), &mut ctl, out);
            }
            Event::NonFinite { step, node } => {
                forward_events(&ev_rx, out);
                ctl.paused = true;
                ctl.budget = None;
                out.send(Msg::NonFinite { step, node });
            }
            Event::Epoch(r) => out.send(Msg::Epoch {
                epoch: r.epoch,
                step: r.step,
                valid: r.valid,
            }),
            Event::Finished(_) => {
                out.send(Msg::Finished {
                    step: trainer.runtime().step(),
                });
                break;
            }
        }
    }
    // Still answers evaluate, save and load until stopped or dropped.
    while !ctl.stop {
        // Nothing left to step: a Step, Resume or Halt must not turn this into a busy loop.
        ctl.budget = None;
        ctl.paused = true;
        commands(cmds, &mut trainer, &mut ctl, out);
    }
    Ok(())
}

/// A Step command's budget: one batch, then pause again.
fn spend_budget(step: u64, ctl: &mut Control, out: &Out) {
    if let Some(b) = ctl.budget.as_mut() {
        *b = b.saturating_sub(1);
        if *b == 0 {
            ctl.budget = None;
            ctl.paused = true;
            out.send(Msg::Paused { step });
        }
    }
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
fn commands(cmds: &Receiver<TrainerCommand>, trainer: &mut Trainer, ctl: &mut Control, out: &Out) {
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
            TrainerCommand::Pause => {
                ctl.paused = true;
                ctl.budget = None;
                out.send(Msg::Paused {
                    step: trainer.runtime().step(),
                });
            }
            TrainerCommand::Resume => {
                ctl.paused = false;
                ctl.budget = None;
                out.send(Msg::Running);
            }
            TrainerCommand::Step => {
                ctl.budget = Some(1);
                out.send(Msg::Running);
            }
            TrainerCommand::Stop => {
                ctl.stop = true;
                return;
            }
            TrainerCommand::Halt => {
                ctl.halt = true;
                ctl.paused = false;
                ctl.budget = None;
                return;
            }
            TrainerCommand::SetLr(lr) => {
                trainer.runtime_mut().set_lr(lr);
                out.send(Msg::Info(format!("learning rate {lr} from the next step")));
            }
            TrainerCommand::SetStatsEvery(n) => {
                trainer.runtime_mut().hyper_mut().stats_every = n;
                out.send(Msg::Info(match n {
                    0 => "statistics off".to_string(),
                    n => format!("statistics every {n} steps"),
                }));
            }
            TrainerCommand::Evaluate => match trainer.evaluate_valid_with_predictions() {
                Ok((r, p)) => {
                    if let Some(p) = p {
                        out.send(Msg::Predictions(Arc::new(p)));
                    }
                    out.send(Msg::Evaluated(r));
                }
                Err(e) => out.send(Msg::Error(format!("evaluate: {e}"))),
            },
            // Not a classifier: no answer (the view says so when none comes).
            TrainerCommand::Snapshot => {
                if let Some(c) = trainer.classifier() {
                    out.send(Msg::Classifier(Arc::new(c)));
                }
            }
            TrainerCommand::SnapshotModel => out.send(Msg::Model(Arc::new(trainer.snapshot()))),
            TrainerCommand::SaveWeights(p) => match trainer.save_weights_to(&p) {
                Ok(()) => out.send(Msg::Info(format!("saved weights to {}", p.display()))),
                Err(e) => out.send(Msg::Error(format!("save: {e}"))),
            },
            TrainerCommand::SaveCheckpoint => match trainer.save_checkpoint() {
                Ok(p) => out.send(Msg::Info(format!("saved checkpoint {}", p.display()))),
                Err(e) => out.send(Msg::Error(format!("checkpoint: {e}"))),
            },
            TrainerCommand::LoadWeights(p) => match trainer.load_weights(&p) {
                Ok(()) => out.send(Msg::Info(format!("loaded weights from {}", p.display()))),
                Err(e) => out.send(Msg::Error(format!("load: {e}"))),
            },
            TrainerCommand::Fork { graph, step } => match Trainer::fork(trainer, *graph.0) {
                Ok((next, fork)) => {
                    *trainer = next;
                    let graph = Box::new(trainer.runtime().graph().file.clone());
                    out.send(Msg::Forked {
                        fork: Box::new(fork),
                        graph,
                    });
                    ctl.paused = false;
                    ctl.budget = step.then_some(1);
                    out.send(Msg::Running);
                }
                Err(e) => out.send(Msg::ForkFailed(format!(
                    "the edited graph cannot continue this run: {e}"
                ))),
            },
        }
        if ctl.stop {
            return;
        }
    }
}
