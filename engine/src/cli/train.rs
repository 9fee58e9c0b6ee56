//! `hyphae train`: settings from the file, the resumed run and the flags; one folder per
//! run; Ctrl-C, SIGTERM and SIGHUP save and exit.

use super::commands::{data_spec, print_eval};
use super::progress::Progress;
use crate::data;
use crate::error::Result;
use crate::graph::ValidGraph;
use crate::train::run_dir;
use crate::train::trainer::{Finish, TrainOptions, Trainer};
use std::collections::BTreeMap;
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
    pub split_seed: Option<u64>,
    pub max_steps: Option<u64>,
    pub out: Option<PathBuf>,
    pub resume: Option<PathBuf>,
    pub checkpoint_every: f64,
    pub checkpoint_every_steps: Option<u64>,
    pub tensorboard: bool,
}

/// Exit code of a command line that cannot work (as clap's own usage errors).
const USAGE: i32 = 2;

fn usage_error(message: String) -> Result<i32> {
    eprintln!("error: {message}");
    Ok(USAGE)
}

/// The run a `--resume` argument names: its folder (None for a loose checkpoint file), the
/// checkpoint to continue from and that checkpoint's metadata.
struct ResumePoint {
    dir: Option<PathBuf>,
    checkpoint: PathBuf,
    metadata: BTreeMap<String, String>,
}

fn resume_point(arg: &Path) -> std::result::Result<ResumePoint, String> {
    let arg = run_dir::resolve(arg);
    let (dir, checkpoint) = if arg.is_dir() {
        let newest = run_dir::checkpoints(&arg.join("checkpoints")).pop();
        let Some((_, checkpoint)) = newest else {
            return Err(format!(
                "--resume {}: no checkpoint in this folder (expected checkpoints/step-*.safetensors)",
                arg.display()
            ));
        };
        (Some(arg), checkpoint)
    } else if arg.is_file() {
        // `RUN/checkpoints/step-N.safetensors` belongs to RUN.
        let run = arg
            .parent()
            .filter(|p| p.file_name().is_some_and(|n| n == "checkpoints"))
            .and_then(Path::parent)
            .map(Path::to_path_buf);
        (run, arg)
    } else {
        return Err(format!(
            "--resume {}: no such run folder or file",
            arg.display()
        ));
    };
    let metadata = run_dir::read_metadata(&checkpoint).map_err(|e| e.to_string())?;
    Ok(ResumePoint {
        dir,
        checkpoint,
        metadata,
    })
}

pub fn train(a: TrainArgs) -> Result<i32> {
    let mut graph = ValidGraph::load(&a.graph)?;
    let resume = match a.resume.as_deref().map(resume_point) {
        Some(Err(message)) => return usage_error(message),
        Some(Ok(r)) => Some(r),
        None => None,
    };
    // A resumed run keeps its own settings unless a flag changes them.
    let recorded = |key: &str| resume.as_ref().and_then(|r| r.metadata.get(key));
    let number = |key: &str| recorded(key).and_then(|v| v.parse::<u64>().ok());
    let t = &mut graph.file.training;
    // An edit to one of those in the graph file alone is not applied: said, not dropped.
    let graph_values = [
        (
            "epochs",
            "--epochs",
            a.epochs.is_some(),
            t.epochs.to_string(),
        ),
        (
            "batch_size",
            "--batch-size",
            a.batch_size.is_some(),
            t.batch_size.to_string(),
        ),
        ("lr", "--lr", a.lr.is_some(), t.optimizer.lr().to_string()),
        ("seed", "--seed", a.seed.is_some(), t.seed.to_string()),
        (
            "split_seed",
            "--split-seed",
            a.split_seed.is_some(),
            t.split_seed().to_string(),
        ),
    ];
    for (key, flag, flag_given, in_graph) in graph_values {
        if let Some(kept) = recorded(key).filter(|kept| !flag_given && **kept != in_graph) {
            eprintln!(
                "note: {} sets {key} {in_graph}, but the resumed run keeps its {kept} \
                 (pass {flag} {in_graph} to change it)",
                a.graph.display()
            );
        }
    }
    if let Some(e) = a.epochs.or(number("epochs").map(|e| e as usize)) {
        t.epochs = e;
    }
    if let Some(b) = a.batch_size.or(number("batch_size").map(|b| b as usize)) {
        t.batch_size = b;
    }
    if let Some(lr) = a.lr.or(recorded("lr").and_then(|v| v.parse().ok())) {
        t.optimizer.set_lr(lr);
    }
    if let Some(s) = a.seed.or(number("seed")) {
        t.seed = s;
    }
    if let Some(s) = a.split_seed.or(number("split_seed")) {
        t.data_seed = Some(s);
    }
    // `--max-steps` is where this invocation stops (a run stopped there resumes to its end).
    let max_steps = a.max_steps;
    // The run folder: exactly `--out`; else the resumed run's; else a new numbered one
    // (created once the data has loaded, so a failed start leaves no empty folder).
    let resumed_dir = resume.as_ref().and_then(|r| r.dir.clone());
    let out = a.out.clone().or(resumed_dir.clone());
    if let Some(dir) = &a.out
        && run_dir::holds_run(dir)
        && !resumed_dir.as_deref().is_some_and(|r| same_folder(r, dir))
    {
        return usage_error(format!(
            "--out {0}: this folder already holds a run (metrics.jsonl, checkpoints/); \
             continue it with --resume {0}, or choose another folder",
            dir.display()
        ));
    }
    graph.check_memory()?; // again: --batch-size may have raised it
    let overridden = a.data.is_some();
    let spec = data_spec(&graph, &a.graph, a.data)?;
    if overridden {
        // The run folder's graph.ron records the data this run really trains on.
        graph.file.training.dataset = Some(spec.clone());
    }
    let (epochs, split_seed) = (graph.file.training.epochs, graph.file.training.split_seed());
    eprintln!("loading data `{spec}` ...");
    let split = data::load(&spec, split_seed)?;
    for n in &split.notes {
        eprintln!("note: {n}");
    }
    eprintln!(
        "{}: {} training and {} validation samples of shape {:?}",
        split.train.name,
        split.train.len(),
        split.valid.len(),
        split.train.sample_shape()
    );
    let out = match out {
        Some(dir) => dir,
        None => {
            let stem = a
                .graph
                .file_stem()
                .map_or("run".to_string(), |s| s.to_string_lossy().to_string());
            run_dir::new_run_dir(&Path::new("runs").join(stem))?
        }
    };
    let opts = TrainOptions {
        epochs,
        max_steps,
        out_dir: Some(out.clone()),
        checkpoint_every_secs: a.checkpoint_every,
        checkpoint_every_steps: a.checkpoint_every_steps,
        tensorboard: a.tensorboard,
        ..TrainOptions::default()
    };
    let mut trainer = match Trainer::new(graph, split, opts) {
        Ok(t) => t,
        Err(e) => {
            let _ = std::fs::remove_dir(&out); // only if still empty
            return Err(e);
        }
    };
    eprintln!("run folder: {}", out.display());
    if let Some(r) = &resume {
        let resumed = trainer.resume(&r.checkpoint)?;
        let (epoch, batch) = trainer.position();
        eprintln!(
            "resumed from {} at step {} (epoch {}, batch {batch})",
            resumed.checkpoint.display(),
            resumed.step,
            epoch + 1,
        );
        if !resumed.changes.is_empty() {
            eprintln!("settings changed: {}", resumed.changes.join(", "));
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // Ctrl-C, SIGTERM (docker stop, systemd, job schedulers) and SIGHUP (a closed
    // terminal): finish the current step, save a checkpoint, exit.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    let started = std::time::Instant::now();
    let mut progress = Progress::new(epochs);
    let finish = trainer.run(&mut |e| progress.event(e), &stop)?;
    let secs = started.elapsed().as_secs_f64();
    let valid = trainer.evaluate_valid()?;
    println!(
        "finished: {} after {} steps in {secs:.1} s",
        describe(&finish),
        trainer.runtime().step()
    );
    print_eval("validation", &valid);
    // Only what is there: no best weights before the first validated epoch.
    let files: Vec<&str> = [
        "metrics.jsonl",
        "checkpoints",
        "best.safetensors",
        "weights.safetensors",
    ]
    .into_iter()
    .filter(|f| out.join(f).exists())
    .collect();
    println!("run folder: {} ({})", out.display(), files.join(", "));
    let averaged = trainer.averaged_params();
    if !averaged.is_empty() {
        println!(
            "best.safetensors and weights.safetensors hold the moving average (ema_momentum) of {} parameters: {} (checkpoints hold the raw values too)",
            averaged.len(),
            averaged.join(", ")
        );
    }
    Ok(match finish {
        Finish::Completed | Finish::MaxSteps => 0,
        Finish::Interrupted => 130,
        Finish::NonFinite(_) => 1,
    })
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn describe(f: &Finish) -> String {
    match f {
        Finish::Completed => "all epochs done".into(),
        Finish::MaxSteps => "reached --max-steps".into(),
        Finish::Interrupted => "interrupted; checkpoint saved (continue with --resume)".into(),
        Finish::NonFinite(n) => format!("stopped: node `{n}` produced NaN/Inf"),
    }
}
