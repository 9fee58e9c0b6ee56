//! Following a run that another process writes (`hyphae train` in a terminal, or on
//! another machine's shared disk): the run folder's `metrics.jsonl` and `stats.jsonl` are
//! read as they grow and turned into the messages a trainer thread sends, so the curves,
//! per-layer statistics, badges and graph edits (`forks.jsonl`) show as for the editor's
//! own runs. Read-only: that run
//! cannot be paused or stopped from here, and its model stays in its folder.

use super::trainer_thread::{Msg, Session, TrainerCommand, Wake};
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use hyphae::graph::GraphFile;
use hyphae::train::metrics::{STATS_FILE, StatsRecord};
use hyphae::train::trainer::{EvalReport, FORKS_FILE, Fork};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often the files are looked at.
const POLL: Duration = Duration::from_millis(200);
/// Polls without a new line, with final weights written, before the run counts as over.
const QUIET_POLLS: u32 = 5;
/// The most read from a file per poll, so a huge log never stalls the window's news.
const MAX_READ: u64 = 8 << 20;

impl Session {
    /// Starts following the run in `dir`.
    pub fn follow(dir: PathBuf, wake: Option<Wake>) -> Session {
        let (cmd_tx, cmd_rx) = crossbeam_channel::unbounded();
        let (msg_tx, msg_rx) = crossbeam_channel::unbounded();
        let thread = std::thread::Builder::new()
            .name("hyphae-follow".into())
            .spawn(move || follow(&dir, &cmd_rx, &msg_tx, wake))
            .ok();
        Session::from_parts(cmd_tx, msg_rx, thread)
    }
}

fn follow(dir: &Path, cmds: &Receiver<TrainerCommand>, tx: &Sender<Msg>, wake: Option<Wake>) {
    let send = |m: Msg| {
        let routine = matches!(m, Msg::Step { .. } | Msg::Stats { .. });
        let _ = tx.send(m);
        if let Some(w) = &wake {
            w(routine);
        }
    };
    let metrics_path = dir.join("metrics.jsonl");
    if !dir.is_dir() || !metrics_path.exists() {
        send(Msg::Error(format!(
            "{}: not a run folder (no metrics.jsonl); `hyphae train` writes one under runs/",
            dir.display()
        )));
        return;
    }
    send(Msg::Info(format!(
        "following {} (written by another process: read-only)",
        dir.display()
    )));
    send(Msg::Running);
    let mut metrics = Tail::new(metrics_path);
    let mut stats = Tail::new(dir.join(STATS_FILE));
    let mut forks = Tail::new(dir.join(FORKS_FILE));
    let (mut quiet, mut finished, mut last_step) = (0, false, 0);
    loop {
        loop {
            match cmds.try_recv() {
                Ok(TrainerCommand::Stop) | Err(TryRecvError::Disconnected) => return,
                Ok(TrainerCommand::Halt) => {
                    // Stop following; the run itself goes on in its own process.
                    send(Msg::Halted { step: last_step });
                    return;
                }
                Ok(_) => send(Msg::Error(format!(
                    "this run belongs to another process: its model is in {} \
                     (Load weights from there)",
                    dir.display()
                ))),
                Err(TryRecvError::Empty) => break,
            }
        }
        let mut news = false;
        for line in metrics.new_lines() {
            if let Some(m) = metrics_message(&line) {
                if let Msg::Step { step, .. } = m {
                    last_step = step;
                }
                news = true;
                send(m);
            }
        }
        for line in stats.new_lines() {
            // A line with NaN statistics (written as null) is skipped, not fatal.
            if let Ok(r) = serde_json::from_str::<StatsRecord>(&line) {
                news = true;
                send(Msg::Stats {
                    step: r.step,
                    nodes: r.nodes,
                    params: r.params,
                });
            }
        }
        for line in forks.new_lines() {
            if let Some(m) = fork_message(dir, &line) {
                news = true;
                send(m);
            }
        }
        quiet = if news { 0 } else { quiet + 1 };
        if news && finished {
            // Resumed after it looked finished.
            finished = false;
            send(Msg::Running);
        }
        if !finished && quiet >= QUIET_POLLS && dir.join("weights.safetensors").exists() {
            finished = true;
            send(Msg::Finished { step: last_step });
        }
        std::thread::sleep(POLL);
    }
}

/// A `metrics.jsonl` line as the message the trainer thread would have sent.
fn metrics_message(line: &str) -> Option<Msg> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let num = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
    let step = v.get("step")?.as_u64()?;
    let epoch = v.get("epoch")?.as_u64()?;
    match v.get("kind")?.as_str()? {
        "step" => Some(Msg::Step {
            step,
            epoch,
            batch: 0,
            loss: num("loss").unwrap_or(f64::NAN),
            lr: num("lr").unwrap_or(0.0) as f32,
            samples_per_sec: 0.0,
            // `"loss.NAME"` keys: the losses of a graph's training phases
            phase_losses: v
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, x)| Some((k.strip_prefix("loss.")?.to_string(), x.as_f64()?)))
                .collect(),
        }),
        "epoch" => Some(Msg::Epoch {
            epoch,
            step,
            valid: EvalReport {
                loss: num("val_loss").unwrap_or(f64::NAN),
                accuracy: num("val_accuracy"),
                confusion: None,
                samples: 0,
            },
        }),
        _ => None,
    }
}

/// The whole lines added to a file since the last look.
struct Tail {
    path: PathBuf,
    offset: u64,
    partial: String,
}

impl Tail {
    fn new(path: PathBuf) -> Tail {
        Tail {
            path,
            offset: 0,
            partial: String::new(),
        }
    }

    fn new_lines(&mut self) -> Vec<String> {
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        let len = f.metadata().map_or(0, |m| m.len());
        if len < self.offset {
            // Truncated (a resume cut it back to its checkpoint): read it again.
            self.offset = 0;
            self.partial.clear();
        }
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return Vec::new();
        }
        let mut bytes = Vec::new();
        let Ok(n) = f.take(MAX_READ).read_to_end(&mut bytes) else {
            return Vec::new();
        };
        self.offset += n as u64;
        self.partial.push_str(&String::from_utf8_lossy(&bytes));
        let mut lines: Vec<String> = self.partial.split('\n').map(str::to_string).collect();
        // The last piece is a line still being written (or empty).
        self.partial = lines.pop().unwrap_or_default();
        lines.retain(|l| !l.trim().is_empty());
        lines
    }
}

/// A `forks.jsonl` line (a graph edited during the run) as the trainer thread's message;
/// `None` if the line or the graph version it names cannot be read.
fn fork_message(dir: &Path, line: &str) -> Option<Msg> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let fork: Fork = serde_json::from_value(v.get("fork")?.clone()).ok()?;
    let path = dir.join(fork.graph.as_deref()?);
    let text = std::fs::read_to_string(&path).ok()?;
    let graph = GraphFile::from_ron(&text, &path.display().to_string()).ok()?;
    Some(Msg::Forked {
        fork: Box::new(fork),
        graph: Box::new(graph),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_lines_become_messages() {
        let step =
            r#"{"kind":"step","step":3,"epoch":0,"loss":0.5,"accuracy":null,"lr":0.01,"wall":0.1}"#;
        assert!(matches!(
            metrics_message(step),
            Some(Msg::Step { step: 3, loss, .. }) if loss == 0.5
        ));
        let epoch = r#"{"kind":"epoch","step":32,"epoch":0,"train_loss":0.6,"train_accuracy":0.5,"val_loss":0.4,"val_accuracy":0.75,"wall":1.0}"#;
        match metrics_message(epoch) {
            Some(Msg::Epoch {
                step: 32, valid, ..
            }) => {
                assert_eq!(valid.accuracy, Some(0.75));
            }
            other => panic!("{other:?}"),
        }
        let phased = r#"{"kind":"step","step":4,"epoch":0,"loss":0.9,"loss.d":0.7,"loss.g":0.2,"accuracy":null,"lr":0.01,"wall":0.1}"#;
        match metrics_message(phased) {
            Some(Msg::Step { phase_losses, .. }) => {
                assert_eq!(
                    phase_losses,
                    [("d".to_string(), 0.7), ("g".to_string(), 0.2)]
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(metrics_message("{\"kind\":\"st").is_none());
    }

    #[test]
    fn tail_returns_whole_lines_once() {
        let dir = std::env::temp_dir().join(format!("hyphae-tail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("log");
        std::fs::write(&p, "a\nb\npart").unwrap();
        let mut t = Tail::new(p.clone());
        assert_eq!(t.new_lines(), ["a", "b"]);
        assert!(t.new_lines().is_empty());
        std::fs::write(&p, "a\nb\npartial\nc\n").unwrap();
        assert_eq!(t.new_lines(), ["partial", "c"]);
        std::fs::write(&p, "x\n").unwrap(); // cut back: read again
        assert_eq!(t.new_lines(), ["x"]);
        std::fs::remove_dir_all(&dir).ok();
    }
}
