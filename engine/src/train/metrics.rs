//! `metrics.jsonl`: one JSON object per line, per step and per epoch; `stats.jsonl` beside
//! it: the per-layer statistics of every `stats_every` step (one runtime `TrainEvent` a
//! line), what the editor reads to follow a run it does not own. A run's log belongs to
//! that run alone: a fresh run creates it (an existing log is refused, never appended to),
//! a resumed run first drops the lines past its checkpoint, then appends. With
//! `--tensorboard` the same points also go to a TensorBoard events file in the run folder.

use super::tensorboard::EventWriter;
use super::trainer::{EpochReport, StepReport};
use crate::ecs::stats::{ParamStats, TensorStats};
use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct MetricsLog {
    file: std::fs::File,
    path: PathBuf,
    /// `stats.jsonl`, opened at the first statistics.
    stats: Option<std::fs::File>,
    tensorboard: Option<EventWriter>,
}

impl MetricsLog {
    /// A new log for a fresh run; an existing non-empty one means the folder holds
    /// another run.
    pub fn create(path: &Path) -> Result<MetricsLog> {
        if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
            return Err(Error::File {
                path: path.display().to_string(),
                why: "this folder already holds a run's metrics; continue it with --resume, \
                      or train into another folder"
                    .into(),
            });
        }
        Self::append(path)
    }

    /// The log of a resumed run (already truncated to its checkpoint's step).
    pub fn append(path: &Path) -> Result<MetricsLog> {
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
            stats: None,
            tensorboard: None,
        })
    }

    /// Also writes every point to a new TensorBoard events file in `dir`.
    pub fn add_tensorboard(&mut self, dir: &Path) -> Result<()> {
        self.tensorboard = Some(EventWriter::create(dir)?);
        Ok(())
    }

    /// Per-layer statistics: a line of `stats.jsonl`, and with TensorBoard histograms of
    /// activations and gradients and the gradient norms as curves.
    pub fn stats(
        &mut self,
        step: u64,
        nodes: &[(String, TensorStats)],
        params: &[(String, ParamStats)],
    ) -> Result<()> {
        self.write_stats_line(step, nodes, params)?;
        let Some(tb) = self.tensorboard.as_mut() else {
            return Ok(());
        };
        let moments = |s: &TensorStats| {
            let n: f64 = s.histogram.counts.iter().map(|&c| c as f64).sum();
            let (m, sd) = (s.mean as f64, s.std as f64);
            (m * n, (sd * sd + m * m) * n)
        };
        for (name, s) in nodes {
            let (sum, sq) = moments(s);
            tb.histogram(&format!("activations/{name}"), step, &s.histogram, sum, sq)?;
        }
        for (name, p) in params {
            let (sum, sq) = moments(&p.grad);
            tb.histogram(
                &format!("gradients/{name}"),
                step,
                &p.grad.histogram,
                sum,
                sq,
            )?;
            tb.scalar(&format!("grad_norm/{name}"), step, p.grad_norm)?;
        }
        Ok(())
    }

    fn write_stats_line(
        &mut self,
        step: u64,
        nodes: &[(String, TensorStats)],
        params: &[(String, ParamStats)],
    ) -> Result<()> {
        let path = self.path.with_file_name(STATS_FILE);
        let fail = |why: String| Error::File {
            path: path.display().to_string(),
            why,
        };
        if self.stats.is_none() {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| fail(format!("cannot open statistics log: {e}")))?;
            self.stats = Some(f);
        }
        let line = StatsLine {
            step,
            nodes,
            params,
        };
        let mut text =
            serde_json::to_string(&line).map_err(|e| fail(format!("cannot encode: {e}")))?;
        text.push('\n');
        match self.stats.as_mut() {
            Some(f) => f
                .write_all(text.as_bytes())
                .map_err(|e| fail(format!("cannot write statistics: {e}"))),
            None => Ok(()),
        }
    }

    /// Appends one line with a single write, so a kill leaves whole lines only.
    fn write(&mut self, mut line: String) -> Result<()> {
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .map_err(|e| Error::File {
                path: self.path.display().to_string(),
                why: format!("cannot write metrics: {e}"),
            })
    }

    pub fn step(&mut self, r: &StepReport, wall: f64) -> Result<()> {
        if let Some(tb) = self.tensorboard.as_mut() {
            let step = r.outcome.step;
            tb.scalar("train/loss", step, r.outcome.loss)?;
            tb.scalar("train/lr", step, r.outcome.lr as f64)?;
            if let Some(a) = r.accuracy {
                tb.scalar("train/accuracy", step, a)?;
            }
        }
        let acc = r.accuracy.map_or("null".to_string(), |a| format!("{a}"));
        // Graphs with phases: each phase's loss as `"loss.NAME"`.
        let phases: String = r
            .phase_losses
            .iter()
            .map(|(name, l)| format!(",\"loss.{}\":{}", json_escape(name), json_num(*l)))
            .collect();
        self.write(format!(
            "{{\"kind\":\"step\",\"step\":{},\"epoch\":{},\"loss\":{}{phases},\"accuracy\":{acc},\"lr\":{},\"wall\":{wall:.4}}}",
            r.outcome.step,
            r.epoch,
            json_num(r.outcome.loss),
            r.outcome.lr
        ))
    }

    pub fn epoch(&mut self, r: &EpochReport, wall: f64) -> Result<()> {
        if let Some(tb) = self.tensorboard.as_mut() {
            tb.scalar("epoch/train_loss", r.step, r.train_loss)?;
            tb.scalar("valid/loss", r.step, r.valid.loss)?;
            for (tag, v) in [
                ("epoch/train_accuracy", r.train_accuracy),
                ("valid/accuracy", r.valid.accuracy),
            ] {
                if let Some(v) = v {
                    tb.scalar(tag, r.step, v)?;
                }
            }
        }
        let opt = |v: Option<f64>| v.map_or("null".to_string(), json_num);
        self.write(format!(
            "{{\"kind\":\"epoch\",\"step\":{},\"epoch\":{},\"train_loss\":{},\"train_accuracy\":{},\"val_loss\":{},\"val_accuracy\":{},\"wall\":{wall:.4}}}",
            r.step,
            r.epoch,
            json_num(r.train_loss),
            opt(r.train_accuracy),
            json_num(r.valid.loss),
            opt(r.valid.accuracy)
        ))
    }
}

/// The statistics log beside `metrics.jsonl`.
pub const STATS_FILE: &str = "stats.jsonl";

/// One line of `stats.jsonl`.
#[derive(serde::Serialize)]
struct StatsLine<'a> {
    step: u64,
    nodes: &'a [(String, TensorStats)],
    params: &'a [(String, ParamStats)],
}

/// A line of `stats.jsonl` as read back (the editor follows a run with these).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct StatsRecord {
    pub step: u64,
    pub nodes: Vec<(String, TensorStats)>,
    pub params: Vec<(String, ParamStats)>,
}

/// `s` as the inside of a JSON string.
fn json_escape(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted.trim_matches('"').to_string()
}

/// JSON has no NaN/Inf: write them as null.
fn json_num(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "null".into()
    }
}

/// The step a metrics line records, if the line is whole.
fn line_step(line: &str) -> Option<u64> {
    if !line.ends_with('}') {
        return None;
    }
    line.split("\"step\":")
        .nth(1)?
        .split([',', '}'])
        .next()?
        .parse()
        .ok()
}

/// Keeps the lines up to `step` (later ones belong to the part of the run being redone)
/// and drops any line a kill left unfinished.
pub fn truncate(path: &Path, step: u64) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let kept: String = text
        .lines()
        .filter(|line| line_step(line).is_some_and(|s| s <= step))
        .map(|l| format!("{l}\n"))
        .collect();
    crate::util::write_atomic(path, kept.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_whole_lines_up_to_the_step() {
        let dir = std::env::temp_dir().join(format!("hyphae-metrics-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("metrics.jsonl");
        std::fs::write(
            &path,
            "{\"kind\":\"step\",\"step\":1}\n{\"kind\":\"step\",\"step\":2}\n{\"kind\":\"step\",\"step\":3}\n{\"kind\":\"st",
        )
        .unwrap();
        truncate(&path, 2).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "{\"kind\":\"step\",\"step\":1}\n{\"kind\":\"step\",\"step\":2}\n"
        );
        // A fresh run refuses the existing log.
        let err = MetricsLog::create(&path).err().unwrap().to_string();
        assert!(err.contains("--resume"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
