//! Every run of a project, as a Runs list shows them: the run folders under
//! `runs/<graph>/run-NNN` with the graph and settings each trained, their last and best
//! validation, and the user's labels (a name, tags, hidden). Labels live in the run folder
//! (`labels.ron`), so they travel with it; deleting a run is refused for anything that is
//! not a run folder.

use super::run_dir;
use crate::error::{Error, Result};
use crate::graph::GraphFile;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The graph a run trained, as it started (hot edits add `graphs/step-N.ron` beside it).
pub const GRAPH_FILE: &str = "graph.ron";
/// The user's name, tags and hidden flag for a run.
pub const LABELS_FILE: &str = "labels.ron";
/// Longest `labels.ron` read (a label file is a few lines; anything bigger is not one).
const MAX_LABELS_BYTES: u64 = 64 * 1024;

/// What the user said about a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunLabels {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
}

/// One evaluation of a run (an `epoch` line of its `metrics.jsonl`).
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub epoch: u64,
    pub step: u64,
    pub val_loss: Option<f64>,
    pub val_accuracy: Option<f64>,
}

/// A run as a list shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    pub dir: PathBuf,
    /// The graph's name: the folder above the run's (`runs/<graph>/run-NNN`).
    pub graph: String,
    pub labels: RunLabels,
    /// The last step logged.
    pub steps: u64,
    pub evaluations: Vec<Evaluation>,
    /// The best evaluation: highest accuracy for classifiers, else lowest loss.
    pub best: Option<Evaluation>,
    /// Optimizer, learning rate, batch, epochs and dataset, from the run's `graph.ron`
    /// (`None` for runs made before runs kept their graph).
    pub settings: Option<String>,
    /// Why part of the run could not be read (a malformed `labels.ron`): the run is still
    /// listed, with default labels.
    pub problem: Option<String>,
}

impl RunSummary {
    /// The user's name for the run, else its folder's.
    pub fn title(&self) -> String {
        self.labels.name.clone().unwrap_or_else(|| {
            let folder = self.dir.file_name().map(|n| n.to_string_lossy());
            format!("{}/{}", self.graph, folder.unwrap_or_default())
        })
    }

    pub fn last(&self) -> Option<&Evaluation> {
        self.evaluations.last()
    }
}

/// Every run folder under `root` (`root/<graph>/run-NNN`), by graph, then run number. A
/// missing `root` is no runs; an unreadable run is listed with what could be read.
pub fn list(root: &Path) -> Result<Vec<RunSummary>> {
    let mut runs = Vec::new();
    let Ok(graphs) = std::fs::read_dir(root) else {
        return Ok(runs);
    };
    let mut dirs: Vec<PathBuf> = Vec::new();
    for g in graphs.flatten() {
        let Ok(inner) = std::fs::read_dir(g.path()) else {
            continue;
        };
        for r in inner.flatten() {
            let p = r.path();
            let is_run =
                (p.file_name().and_then(|n| n.to_str())).is_some_and(|n| n.starts_with("run-"));
            if is_run && p.is_dir() && !p.is_symlink() {
                dirs.push(p);
            }
        }
    }
    dirs.sort();
    for d in dirs {
        runs.push(summary(&d)?);
    }
    Ok(runs)
}

/// One run's summary.
pub fn summary(dir: &Path) -> Result<RunSummary> {
    let graph = (dir.parent().and_then(Path::file_name))
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let (steps, evaluations) = read_metrics(&dir.join("metrics.jsonl"));
    let best = best_of(&evaluations);
    let settings = GraphFile::load(&dir.join(GRAPH_FILE))
        .ok()
        .map(|f| describe(&f));
    let (labels, problem) = match read_labels(dir) {
        Ok(l) => (l, None),
        Err(e) => (RunLabels::default(), Some(e.to_string())),
    };
    Ok(RunSummary {
        dir: dir.to_path_buf(),
        graph,
        labels,
        problem,
        steps,
        evaluations,
        best,
        settings,
    })
}

/// Reads `labels.ron` (defaults when there is none); a malformed one is an error naming it.
pub fn read_labels(dir: &Path) -> Result<RunLabels> {
    let path = dir.join(LABELS_FILE);
    let Ok(meta) = std::fs::metadata(&path) else {
        return Ok(RunLabels::default());
    };
    let err = |why: String| Error::File {
        path: path.display().to_string(),
        why,
    };
    if meta.len() > MAX_LABELS_BYTES {
        return Err(err(format!("{} bytes is not a labels file", meta.len())));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| err(e.to_string()))?;
    let options =
        ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
    options.from_str(&text).map_err(|e| {
        let at = format!("{}:{}", e.span.start.line, e.span.start.col);
        err(format!("{at}: {}", e.code))
    })
}

/// Saves a run's labels (atomically).
pub fn write_labels(dir: &Path, labels: &RunLabels) -> Result<()> {
    require_run(dir)?;
    let text =
        ron::ser::to_string_pretty(labels, ron::ser::PrettyConfig::default()).map_err(|e| {
            Error::File {
                path: dir.join(LABELS_FILE).display().to_string(),
                why: e.to_string(),
            }
        })?;
    crate::util::write_atomic(&dir.join(LABELS_FILE), text.as_bytes())
}

/// Deletes a run folder and everything in it; `latest` moves to the newest run left.
/// Anything that is not a run folder (`run-NNN` holding a run) is refused untouched.
pub fn delete(dir: &Path) -> Result<()> {
    require_run(dir)?;
    std::fs::remove_dir_all(dir).map_err(|e| Error::File {
        path: dir.display().to_string(),
        why: format!("cannot delete run: {e}"),
    })?;
    if let Some(parent) = dir.parent() {
        run_dir::repoint_latest(parent);
    }
    Ok(())
}

fn require_run(dir: &Path) -> Result<()> {
    let named = (dir.file_name().and_then(|n| n.to_str())).is_some_and(|n| n.starts_with("run-"));
    if named && !dir.is_symlink() && run_dir::holds_run(dir) {
        return Ok(());
    }
    Err(Error::File {
        path: dir.display().to_string(),
        why: "not a run folder (run-NNN with metrics.jsonl or checkpoints)".into(),
    })
}

/// The last step and every evaluation of a `metrics.jsonl`; lines that do not parse (a
/// line being written, a damaged file) are skipped.
fn read_metrics(path: &Path) -> (u64, Vec<Evaluation>) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return (0, Vec::new());
    };
    let mut steps = 0;
    let mut evals = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let step = v["step"].as_u64().unwrap_or(0);
        steps = steps.max(step);
        if v["kind"] == "epoch" {
            evals.push(Evaluation {
                epoch: v["epoch"].as_u64().unwrap_or(0),
                step,
                val_loss: v["val_loss"].as_f64(),
                val_accuracy: v["val_accuracy"].as_f64(),
            });
        }
    }
    (steps, evals)
}

fn best_of(evals: &[Evaluation]) -> Option<Evaluation> {
    let by_acc = (evals.iter().filter(|e| e.val_accuracy.is_some())).max_by(|a, b| {
        a.val_accuracy
            .partial_cmp(&b.val_accuracy)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let by_loss = (evals
        .iter()
        .filter(|e| e.val_loss.is_some_and(f64::is_finite)))
    .min_by(|a, b| {
        a.val_loss
            .partial_cmp(&b.val_loss)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    by_acc.or(by_loss).cloned()
}

/// "Adam lr 0.001 · batch 64 · 10 epochs · spirals · seed 3" (runs of a seed sweep differ
/// only there).
fn describe(f: &GraphFile) -> String {
    let t = &f.training;
    let mut s = format!(
        "{} lr {} · batch {} · {} epochs",
        t.optimizer.name(),
        t.optimizer.lr(),
        t.batch_size,
        t.epochs
    );
    if let Some(d) = &t.dataset {
        s.push_str(&format!(" · {d}"));
    }
    s.push_str(&format!(" · seed {}", t.seed));
    if let Some(d) = t.data_seed {
        s.push_str(&format!(" · split seed {d}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hyphae-runs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn run(root: &Path, graph: &str, n: u32, lines: &[&str]) -> PathBuf {
        let dir = root.join(graph).join(format!("run-{n:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("metrics.jsonl"), lines.join("\n")).unwrap();
        dir
    }

    const EPOCHS: [&str; 4] = [
        r#"{"kind":"step","step":10,"epoch":0,"loss":0.9}"#,
        r#"{"kind":"epoch","step":10,"epoch":0,"val_loss":0.5,"val_accuracy":0.80}"#,
        r#"{"kind":"epoch","step":20,"epoch":1,"val_loss":0.4,"val_accuracy":0.90}"#,
        r#"{"kind":"epoch","step":30,"epoch":2,"val_loss":0.45,"val_accuracy":0.85}"#,
    ];

    #[test]
    fn runs_are_listed_with_their_best_and_last_evaluation() {
        let root = temp("listed");
        let a = run(root.as_path(), "mlp", 1, &EPOCHS);
        run(
            root.as_path(),
            "mlp",
            2,
            &[r#"{"kind":"step","step":3}"#, "{half a line"],
        );
        let mut f = GraphFile::default();
        f.training.dataset = Some("spirals".into());
        std::fs::write(a.join(GRAPH_FILE), f.to_ron().unwrap()).unwrap();
        let runs = list(root.as_path()).unwrap();
        assert_eq!(runs.len(), 2);
        let r = &runs[0];
        assert_eq!((r.graph.as_str(), r.steps), ("mlp", 30));
        assert_eq!(r.best.as_ref().map(|e| e.epoch), Some(1), "best, not last");
        assert_eq!(r.last().map(|e| e.epoch), Some(2));
        assert!(
            r.settings
                .as_deref()
                .is_some_and(|s| s.ends_with("spirals · seed 0"))
        );
        assert_eq!((runs[1].steps, runs[1].evaluations.len()), (3, 0));
        assert_eq!(runs[1].title(), "mlp/run-002");
    }

    #[test]
    fn labels_round_trip_and_a_bad_file_is_named() {
        let root = temp("labels");
        let dir = run(root.as_path(), "mlp", 1, &EPOCHS);
        let labels = RunLabels {
            name: Some("wide".into()),
            tags: vec!["lr-sweep".into()],
            hidden: true,
        };
        write_labels(&dir, &labels).unwrap();
        assert_eq!(read_labels(&dir).unwrap(), labels);
        assert_eq!(summary(&dir).unwrap().title(), "wide");
        std::fs::write(dir.join(LABELS_FILE), "(name: \"typed\", hidden: true)").unwrap();
        assert_eq!(
            read_labels(&dir).unwrap().name.as_deref(),
            Some("typed"),
            "hand-written"
        );
        std::fs::write(dir.join(LABELS_FILE), "(name: 3)").unwrap();
        let e = read_labels(&dir).unwrap_err().to_string();
        assert!(e.contains(LABELS_FILE) && e.contains("1:"), "{e}");
        let listed = list(&root).unwrap();
        assert!(
            listed[0]
                .problem
                .as_deref()
                .is_some_and(|p| p.contains(LABELS_FILE))
        );
    }

    #[test]
    fn only_run_folders_are_deleted() {
        let root = temp("deleted");
        let one = run(root.as_path(), "mlp", 1, &EPOCHS);
        let two = run(root.as_path(), "mlp", 2, &EPOCHS);
        let keep = root.as_path().join("mlp").join("notes");
        std::fs::create_dir_all(&keep).unwrap();
        assert!(delete(&keep).is_err(), "not a run folder");
        assert!(delete(root.as_path()).is_err());
        assert!(keep.exists());
        delete(&two).unwrap();
        assert!(!two.exists() && one.exists());
        assert_eq!(list(root.as_path()).unwrap().len(), 1);
    }
}
