//! The Runs window's data (no egui): every run folder under the run root with when it
//! started, the runs the user ticked, their curves from `metrics.jsonl`, and the graph
//! difference of two runs. Listing and reading curves run on background threads, so a
//! project with many long runs never blocks a frame.

use super::background::Background;
use hyphae::graph::GraphFile;
use hyphae::train::runs::{self, GRAPH_FILE, RunLabels, RunSummary};
use hyphae::train::trainer::GraphDiff;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// Where runs live: `runs/` in the working folder, where `hyphae train` and the editor's
/// own runs write `runs/<graph>/run-NNN`.
pub const DEFAULT_ROOT: &str = "runs";
/// Longest `metrics.jsonl` read for curves (a month-long run's log is far smaller).
const MAX_METRICS_BYTES: u64 = 512 << 20;

/// A run as the list shows it.
#[derive(Clone, Debug)]
pub struct RunRow {
    pub run: RunSummary,
    /// When the run folder was made (seconds since 1970), where the file system says.
    pub started: Option<u64>,
}

impl RunRow {
    /// The run folder's own name (`run-003`).
    pub fn folder(&self) -> String {
        folder(&self.run.dir)
    }

    /// The user's name for it, else its folder's.
    pub fn name(&self) -> String {
        self.run
            .labels
            .name
            .clone()
            .unwrap_or_else(|| self.folder())
    }
}

/// The folder name of a run (`run-003`).
pub fn folder(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// A run's curves as (step, value) points.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Curves {
    pub train_loss: Vec<[f64; 2]>,
    pub val_loss: Vec<[f64; 2]>,
    pub val_accuracy: Vec<[f64; 2]>,
}

/// Which curve the overlay plots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Metric {
    #[default]
    ValLoss,
    ValAccuracy,
    TrainLoss,
}

impl Metric {
    pub const ALL: [Metric; 3] = [Metric::ValLoss, Metric::ValAccuracy, Metric::TrainLoss];

    pub fn label(self) -> &'static str {
        match self {
            Metric::ValLoss => "validation loss",
            Metric::ValAccuracy => "validation accuracy",
            Metric::TrainLoss => "training loss",
        }
    }

    pub fn of(self, c: &Curves) -> &[[f64; 2]] {
        match self {
            Metric::ValLoss => &c.val_loss,
            Metric::ValAccuracy => &c.val_accuracy,
            Metric::TrainLoss => &c.train_loss,
        }
    }
}

/// Every run under `root` with its start time.
pub fn list(root: &Path) -> Result<Vec<RunRow>, String> {
    let listed = runs::list(root).map_err(|e| e.to_string())?;
    Ok(listed
        .into_iter()
        .map(|run| {
            let started = started(&run.dir);
            RunRow { run, started }
        })
        .collect())
}

/// The folder's creation time, else its `graph.ron`'s (written when the run starts).
fn started(dir: &Path) -> Option<u64> {
    let created = std::fs::metadata(dir).and_then(|m| m.created()).ok();
    let written = || {
        std::fs::metadata(dir.join(GRAPH_FILE))
            .and_then(|m| m.modified())
            .ok()
    };
    let t = created.or_else(written)?;
    t.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// "2026-12-01 11:05 UTC" for seconds since 1970.
pub fn utc_text(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let (h, m) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02} UTC")
}

/// A run's curves from its `metrics.jsonl`; lines that do not parse are skipped.
pub fn read_curves(dir: &Path) -> Result<Curves, String> {
    let path = dir.join("metrics.jsonl");
    let size = std::fs::metadata(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    if size > MAX_METRICS_BYTES {
        return Err(format!(
            "{}: {size} bytes is too big to plot",
            path.display()
        ));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(parse_curves(&text))
}

fn parse_curves(text: &str) -> Curves {
    let mut c = Curves::default();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(step) = v["step"].as_u64() else {
            continue;
        };
        let x = step as f64;
        let push = |to: &mut Vec<[f64; 2]>, key: &str| {
            if let Some(y) = v[key].as_f64() {
                to.push([x, y]);
            }
        };
        if v["kind"] == "epoch" {
            push(&mut c.val_loss, "val_loss");
            push(&mut c.val_accuracy, "val_accuracy");
        } else if v["kind"] == "step" {
            push(&mut c.train_loss, "loss");
        }
    }
    c
}

/// Tags typed as "a, b ,c": trimmed, empty ones dropped, each once.
pub fn parse_tags(text: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for t in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if !tags.iter().any(|x| x == t) {
            tags.push(t.to_string());
        }
    }
    tags
}

/// What changed in the graph from one run to another.
#[derive(Clone, Debug, PartialEq)]
pub struct RunDiff {
    /// The runs' names, older first.
    pub old: String,
    pub new: String,
    pub diff: GraphDiff,
}

/// The difference between the graphs two runs trained (their `graph.ron`), with the
/// fork code's one diff.
pub fn diff(old: &Path, new: &Path) -> Result<RunDiff, String> {
    let load = |dir: &Path| {
        GraphFile::load(&dir.join(GRAPH_FILE))
            .map_err(|e| format!("{}: {e}", folder(dir)))
            .map(|f| (f, name_of(dir)))
    };
    let ((a, old), (b, new)) = (load(old)?, load(new)?);
    Ok(RunDiff {
        old,
        new,
        diff: GraphDiff::between(&a, &b),
    })
}

fn name_of(dir: &Path) -> String {
    runs::read_labels(dir)
        .ok()
        .and_then(|l| l.name)
        .unwrap_or_else(|| folder(dir))
}

/// The listed runs, the ticked ones and their curves.
#[derive(Default)]
pub struct RunsList {
    job: Option<Background<Vec<RunRow>>>,
    /// The root of what is listed or being listed.
    pub root: Option<PathBuf>,
    pub rows: Vec<RunRow>,
    pub error: Option<String>,
    /// Ticked runs, in the order ticked.
    pub checked: Vec<PathBuf>,
    curves: HashMap<PathBuf, Result<Curves, String>>,
    curve_jobs: HashMap<PathBuf, Background<Curves>>,
}

impl RunsList {
    /// Lists `root` again on a background thread; the rows shown stay until it is done.
    pub fn refresh(&mut self, root: &Path) {
        let r = root.to_path_buf();
        self.job = Some(Background::spawn("hyphae-runs", move || list(&r)));
        self.root = Some(root.to_path_buf());
        self.curves.clear();
        self.curve_jobs.clear();
    }

    /// Takes what the background jobs finished; whether any is still running.
    pub fn poll(&mut self) -> bool {
        if let Some(r) = self.job.as_mut().and_then(Background::poll) {
            self.job = None;
            match r {
                Ok(rows) => {
                    self.checked
                        .retain(|d| rows.iter().any(|r| &r.run.dir == d));
                    self.rows = rows;
                    self.error = None;
                }
                Err(e) => self.error = Some(e),
            }
        }
        let done: Vec<PathBuf> = (self.curve_jobs.iter_mut())
            .filter_map(|(d, j)| j.poll().map(|r| (d.clone(), r)))
            .map(|(d, r)| {
                self.curves.insert(d.clone(), r);
                d
            })
            .collect();
        for d in done {
            self.curve_jobs.remove(&d);
        }
        self.busy()
    }

    pub fn busy(&self) -> bool {
        self.job.is_some() || !self.curve_jobs.is_empty()
    }

    pub fn listing(&self) -> bool {
        self.job.is_some()
    }

    pub fn row(&self, dir: &Path) -> Option<&RunRow> {
        self.rows.iter().find(|r| r.run.dir == dir)
    }

    pub fn is_checked(&self, dir: &Path) -> bool {
        self.checked.iter().any(|d| d == dir)
    }

    pub fn set_checked(&mut self, dir: &Path, on: bool) {
        self.checked.retain(|d| d != dir);
        if on {
            self.checked.push(dir.to_path_buf());
        }
    }

    /// The ticked runs in list order (older first).
    pub fn checked_rows(&self) -> Vec<&RunRow> {
        (self.rows.iter())
            .filter(|r| self.is_checked(&r.run.dir))
            .collect()
    }

    /// After labels were written: the row shows them at once.
    pub fn set_labels(&mut self, dir: &Path, labels: RunLabels) {
        if let Some(r) = self.rows.iter_mut().find(|r| r.run.dir == dir) {
            r.run.labels = labels;
            r.run.problem = None;
        }
    }

    /// After a run was deleted.
    pub fn remove(&mut self, dir: &Path) {
        self.rows.retain(|r| r.run.dir != dir);
        self.checked.retain(|d| d != dir);
        self.curves.remove(dir);
    }

    /// The run's curves: `None` while they load (the first call starts loading them).
    pub fn curves(&mut self, dir: &Path) -> Option<&Result<Curves, String>> {
        if !self.curves.contains_key(dir) && !self.curve_jobs.contains_key(dir) {
            let d = dir.to_path_buf();
            let job = Background::spawn("hyphae-run-curves", move || read_curves(&d));
            self.curve_jobs.insert(dir.to_path_buf(), job);
        }
        self.curves.get(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(utc_text(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_text(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_text(1_796_123_100), "2026-12-01 11:05 UTC");
    }

    #[test]
    fn tags_are_trimmed_and_unique() {
        assert_eq!(parse_tags(" a, b ,,a, c "), vec!["a", "b", "c"]);
        assert!(parse_tags(" , ").is_empty());
    }

    #[test]
    fn curves_come_from_step_and_epoch_lines() {
        let c = parse_curves(
            "{\"kind\":\"step\",\"step\":1,\"loss\":0.9}\n\
             {\"kind\":\"epoch\",\"step\":1,\"val_loss\":0.5,\"val_accuracy\":0.8}\n\
             {half\n\
             {\"kind\":\"epoch\",\"step\":2,\"val_loss\":0.4}",
        );
        assert_eq!(c.train_loss, vec![[1.0, 0.9]]);
        assert_eq!(c.val_loss, vec![[1.0, 0.5], [2.0, 0.4]]);
        assert_eq!(c.val_accuracy, vec![[1.0, 0.8]]);
    }
}
