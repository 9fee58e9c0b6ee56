//! Hot edits: a trainer for an edited graph that continues another trainer's run.
//!
//! Parameters, buffers and optimizer state whose name and shape are unchanged carry over
//! bit for bit; new or reshaped ones keep their initialisation. The run goes on where it
//! was: step counter (LR schedule, dropout and noise seeds), epoch and batch position
//! (shuffle order), the epoch's running sums, the metrics log. The run folder records each
//! version of the graph (`graphs/step-NNNNNNNN.ron`, from the step it trained on) and one
//! line per fork in `forks.jsonl`, and gets a checkpoint of the new graph at once, so
//! `hyphae train --resume` continues it with the newest graph version.

use super::Trainer;
use crate::ecs::components::Hyper;
use crate::ecs::systems::EventSink;
use crate::error::{Error, Result};
use crate::graph::{GraphFile, ValidGraph};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// One line per fork in the run folder.
pub const FORKS_FILE: &str = "forks.jsonl";
/// Folder of the graph versions a run trained, each named by its first step.
pub const GRAPHS_DIR: &str = "graphs";

/// What happened to each parameter and buffer (by name) in a carry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CarryReport {
    /// Same name and shape in both graphs: values and optimizer state came over.
    pub carried: Vec<String>,
    /// In the new graph only, or with another shape: starts from its initialisation.
    pub reinitialised: Vec<String>,
    /// In the old graph only.
    pub dropped: Vec<String>,
    /// The optimizer's kind changed, so no optimizer state came over.
    pub optimizer_reset: bool,
}

/// Nodes and data inputs that differ between two graph versions, by name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GraphDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Same name, another op, config, wiring or setting.
    pub changed: Vec<String>,
    pub training_changed: bool,
}

impl GraphDiff {
    pub fn between(old: &GraphFile, new: &GraphFile) -> GraphDiff {
        let mut d = GraphDiff {
            training_changed: old.training != new.training,
            ..GraphDiff::default()
        };
        let mut compare = |old: Vec<(&String, String)>, new: Vec<(&String, String)>| {
            for (name, text) in &new {
                match old.iter().find(|(n, _)| n == name) {
                    None => d.added.push((*name).clone()),
                    Some((_, t)) if t != text => d.changed.push((*name).clone()),
                    Some(_) => {}
                }
            }
            for (name, _) in &old {
                if !new.iter().any(|(n, _)| n == name) {
                    d.removed.push((*name).clone());
                }
            }
        };
        fn inputs(f: &GraphFile) -> Vec<(&String, String)> {
            f.inputs
                .iter()
                .map(|i| (&i.name, format!("{i:?}")))
                .collect()
        }
        compare(inputs(old), inputs(new));
        fn nodes(f: &GraphFile) -> Vec<(&String, String)> {
            f.nodes
                .iter()
                .map(|n| (&n.name, format!("{n:?}")))
                .collect()
        }
        compare(nodes(old), nodes(new));
        d
    }
}

/// A fork of a run: where it happened, what changed, what was carried.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Fork {
    pub step: u64,
    pub epoch: u64,
    /// Batches already done in `epoch`.
    pub batch: usize,
    /// The new graph version in the run folder (relative to it), if the run has one.
    pub graph: Option<String>,
    pub diff: GraphDiff,
    pub carry: CarryReport,
    /// Why the run folder could not record the fork (the run goes on regardless).
    pub note: Option<String>,
}

impl Trainer {
    /// A trainer for `graph` (an edited version of `old`'s) that continues `old`'s run on
    /// the same data and run folder; `old` is spent (its pending best weights written).
    /// Refused: another dataset, or another batch size in the middle of an epoch (the
    /// position counts batches).
    pub fn fork(old: &mut Trainer, graph: ValidGraph) -> Result<(Trainer, Fork)> {
        let before = old.runtime.graph().file.clone();
        let after = &graph.file;
        if before.training.dataset != after.training.dataset {
            return Err(Error::Other(
                "the dataset changed: a run continues on its own data; Stop and Start a new run"
                    .into(),
            ));
        }
        if old.batch_in_epoch > 0 && before.training.batch_size != after.training.batch_size {
            return Err(Error::Other(format!(
                "batch size {} → {} in the middle of an epoch ({} batches done): change it at an epoch's end, or Stop and Start a new run",
                before.training.batch_size, after.training.batch_size, old.batch_in_epoch
            )));
        }
        let mut opts = old.opts.clone();
        if before.training.epochs != after.training.epochs {
            opts.epochs = after.training.epochs;
        }
        let diff = GraphDiff::between(&before, after);
        let mut new = Trainer::with_data(
            graph,
            old.train.clone(),
            old.valid.clone(),
            old.preprocessing.clone(),
            opts,
        )?;
        let carry = new.carry_from(old)?;
        let fork = Fork {
            step: new.runtime.step(),
            epoch: new.epoch,
            batch: new.batch_in_epoch,
            graph: None,
            diff,
            carry,
            note: None,
        };
        // `old` is spent now: a folder that cannot be written must not lose the run.
        let fork = match new.record_fork(&before, fork.clone()) {
            Ok(f) => f,
            Err(e) => Fork {
                note: Some(format!("the run folder could not record the fork: {e}")),
                ..fork
            },
        };
        Ok((new, fork))
    }

    /// Writes the graph versions (the one before, if no fork has yet), the fork's line
    /// and a checkpoint of the new graph into the run folder, if the run has one.
    fn record_fork(&mut self, before: &GraphFile, mut fork: Fork) -> Result<Fork> {
        let Some(out) = self.opts.out_dir.clone() else {
            return Ok(fork);
        };
        let dir = out.join(GRAPHS_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| Error::File {
            path: dir.display().to_string(),
            why: format!("cannot create folder: {e}"),
        })?;
        let first = dir.join(version_name(0));
        if !out.join(FORKS_FILE).is_file() && !first.exists() {
            crate::util::write_atomic(&first, before.to_ron()?.as_bytes())?;
        }
        let name = version_name(fork.step);
        let text = self.runtime.graph().file.to_ron()?;
        crate::util::write_atomic(&dir.join(&name), text.as_bytes())?;
        fork.graph = Some(format!("{GRAPHS_DIR}/{name}"));
        append_line(&out.join(FORKS_FILE), &fork)?;
        self.save_checkpoint()?;
        Ok(fork)
    }

    /// Takes over `old`'s run: parameters, buffers and optimizer state of the same name
    /// and shape (bit for bit), the step counter, the position in the data, the epoch's
    /// running sums, the live learning rate and statistics interval (unless the graph
    /// changed them), the metrics log and the event channel. The best validation loss
    /// starts afresh: `best.safetensors` must load into the graph that trains now.
    pub fn carry_from(&mut self, old: &mut Trainer) -> Result<CarryReport> {
        let old_weights = old.runtime.state_dict();
        let mut report = CarryReport::default();
        let mut merged: Vec<(String, Tensor)> = Vec::new();
        for (name, fresh) in self.runtime.state_dict() {
            match old_weights.iter().find(|(n, _)| *n == name) {
                Some((_, t)) if t.shape() == fresh.shape() => {
                    report.carried.push(name.clone());
                    merged.push((name, t.clone()));
                }
                _ => {
                    report.reinitialised.push(name.clone());
                    merged.push((name, fresh));
                }
            }
        }
        report.dropped = old_weights
            .iter()
            .filter(|(n, _)| !merged.iter().any(|(m, _)| m == n))
            .map(|(n, _)| n.clone())
            .collect();
        self.runtime
            .load_state_dict(&merged, "the run before the edit")?;

        let was = old.runtime.graph().file.training.clone();
        let now = self.runtime.graph().file.training.clone();
        report.optimizer_reset = was.optimizer.name() != now.optimizer.name();
        if !report.optimizer_reset {
            let state: Vec<_> = old
                .runtime
                .optimizer_state()
                .into_iter()
                .filter(|(n, _, _)| report.carried.contains(n))
                .collect();
            self.runtime.load_optimizer_state(&state)?;
            let averages: Vec<_> = (old.runtime.ema_state().into_iter())
                .filter(|(n, _)| report.carried.contains(n))
                .collect();
            self.runtime.load_ema_state(&averages)?;
        }
        if was.optimizer.lr() == now.optimizer.lr() {
            let lr = old.runtime.base_lr();
            self.runtime.set_lr(lr);
        }
        if was.stats_every == now.stats_every {
            let every = old.runtime.world().resource::<Hyper>().stats_every;
            self.runtime.hyper_mut().stats_every = every;
        }
        let gap = old.runtime.stats_min_interval();
        self.runtime.set_stats_min_interval(gap);
        let events = old.runtime.world().resource::<EventSink>().0.clone();
        if old.stats_tap.is_some() {
            let (tx, rx) = crossbeam_channel::unbounded();
            self.runtime.set_events(Some(tx));
            self.stats_tap = Some(rx);
        } else {
            self.runtime.set_events(events);
        }

        if old.opts.out_dir.is_some() {
            old.write_best()?;
        }
        self.runtime.set_step(old.runtime.step());
        self.epoch = old.epoch;
        self.batch_in_epoch = old.batch_in_epoch;
        self.batches = None;
        self.acc = old.acc;
        self.best_valid = None;
        self.wall_offset = old.wall();
        self.started = Instant::now();
        self.last_checkpoint = old.last_checkpoint;
        self.last_checkpoint_step = old.last_checkpoint_step;
        self.metrics = old.metrics.take();
        self.resumed = true;
        self.finished = None;
        Ok(report)
    }
}

/// The file name of the graph version first trained at `step`.
pub fn version_name(step: u64) -> String {
    format!("step-{step:08}.ron")
}

/// Appends one JSON line (the whole file rewritten atomically: forks are rare).
fn append_line(path: &Path, fork: &Fork) -> Result<()> {
    let mut text = std::fs::read_to_string(path).unwrap_or_default();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    let line = serde_json::json!({ "kind": "fork", "fork": fork });
    text.push_str(&line.to_string());
    text.push('\n');
    crate::util::write_atomic(path, text.as_bytes())
}

/// The forks a run folder records, oldest first (unreadable lines skipped).
pub fn read_forks(dir: &Path) -> Vec<(u64, serde_json::Value)> {
    let Ok(text) = std::fs::read_to_string(dir.join(FORKS_FILE)) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| Some((v.get("fork")?.get("step")?.as_u64()?, v)))
        .collect()
}
