//! Datasets as the editor offers them: the built-in sets with their sample shape and
//! classes, and specs with file paths kept relative to the graph file.

use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

/// What the graph's data inputs need to match a dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct DatasetInfo {
    /// The spec as written in `training.dataset`.
    pub spec: String,
    /// Per-sample feature shape.
    pub sample_shape: Vec<usize>,
    /// Per-sample label shape (`[]` for class indices).
    pub label_shape: Vec<usize>,
    /// Classes for classification, `None` for regression.
    pub classes: Option<usize>,
}

/// The generated sets (no files needed), as `(spec, what it is)`.
pub const BUILT_IN: [(&str, &str); 6] = [
    ("xor", "the 4 XOR points"),
    ("spirals", "two interleaved spirals"),
    ("spirals:classes=3", "three interleaved spirals"),
    ("moons", "two half-moons"),
    ("sine", "regression of a noisy sine"),
    ("shapes", "28×28 images of 4 shapes"),
];

/// The file-based kinds: `mnist:DIR` and `csv:FILE`.
pub const FILE_KINDS: [&str; 3] = ["mnist", "csv", "images"];

/// Loads (a small sample of) the set to learn its shapes. Generated sets are asked for a
/// few samples only; file sets are read as they are.
pub fn describe(spec: &str) -> Result<DatasetInfo, String> {
    let (kind, rest) = spec.split_once(':').unwrap_or((spec, ""));
    let probe = match kind {
        "spirals" | "moons" | "sine" | "shapes" => {
            let sep = if rest.is_empty() { "" } else { "," };
            format!("{kind}:{rest}{sep}train=8,valid=8")
        }
        // Shapes and classes only: skip the pass that decodes every image for statistics.
        "images"
            if !["normalize=", "mean=", "std="]
                .iter()
                .any(|o| rest.contains(o)) =>
        {
            let sep = if rest.contains(':') { "," } else { ":" };
            format!("{spec}{sep}normalize=false")
        }
        _ => spec.to_string(),
    };
    let split = hyphae::data::load(&probe, 0).map_err(|e| e.to_string())?;
    Ok(DatasetInfo {
        spec: spec.to_string(),
        sample_shape: split.train.sample_shape().to_vec(),
        label_shape: split.train.label_shape().to_vec(),
        classes: split.train.num_classes,
    })
}

/// [`describe`] of every built-in set, computed once.
pub fn built_in() -> &'static [Result<DatasetInfo, String>] {
    static INFO: OnceLock<Vec<Result<DatasetInfo, String>>> = OnceLock::new();
    INFO.get_or_init(|| BUILT_IN.iter().map(|(s, _)| describe(s)).collect())
}

/// The spec for a file set at `path`, relative to the graph file's folder when the graph
/// has a path (so the graph and its data can move together).
pub fn file_spec(kind: &str, path: &Path, graph: Option<&Path>) -> String {
    let shown = match graph.and_then(Path::parent) {
        Some(dir) => relative_to(path, dir),
        None => path.to_path_buf(),
    };
    format!("{kind}:{}", shown.display())
}

/// The spec to load: a relative data path is taken from the graph file's folder when it
/// exists there, else as given (from the working directory, as `hyphae train` does).
pub fn resolve(spec: &str, graph: Option<&Path>) -> String {
    let Some((kind, rest)) = spec.split_once(':') else {
        return spec.to_string();
    };
    if !FILE_KINDS.contains(&kind) {
        return spec.to_string();
    }
    // `csv:FILE:label=COL` and `images:DIR:size=28x28` keep their options after the path.
    let (path, opts) = match rest.split_once(':') {
        Some((p, o)) if kind == "csv" || kind == "images" => (p, Some(o)),
        _ => (rest, None),
    };
    let p = Path::new(path);
    let Some(dir) = graph.and_then(Path::parent) else {
        return spec.to_string();
    };
    if p.is_relative() && dir.join(p).exists() {
        let full = dir.join(p);
        match opts {
            Some(o) => format!("{kind}:{}:{o}", full.display()),
            None => format!("{kind}:{}", full.display()),
        }
    } else {
        spec.to_string()
    }
}

/// `path` relative to `dir`, both made absolute first; `path` itself if that fails.
fn relative_to(path: &Path, dir: &Path) -> PathBuf {
    let abs = |p: &Path| {
        p.canonicalize()
            .or_else(|_| std::env::current_dir().map(|c| c.join(p)))
    };
    let (Ok(path), Ok(dir)) = (abs(path), abs(dir)) else {
        return path.to_path_buf();
    };
    let (a, b): (Vec<Component>, Vec<Component>) =
        (path.components().collect(), dir.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &a[common..] {
        out.push(c.as_os_str());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_sets_report_their_shapes_and_classes() {
        let spirals = describe("spirals").expect("spirals");
        assert_eq!(spirals.sample_shape, vec![2]);
        assert_eq!(spirals.label_shape, Vec::<usize>::new());
        assert_eq!(spirals.classes, Some(2));
        assert_eq!(describe("spirals:classes=3").unwrap().classes, Some(3));
        assert_eq!(describe("sine").unwrap().classes, None);
        assert!(built_in().iter().all(Result::is_ok));
    }

    #[test]
    fn file_paths_are_kept_relative_to_the_graph() {
        let root = std::env::temp_dir().join(format!("hyphae-ds-{}", std::process::id()));
        std::fs::create_dir_all(root.join("graphs")).unwrap();
        std::fs::create_dir_all(root.join("data")).unwrap();
        std::fs::write(root.join("data/d.csv"), "a,label\n1,0\n").unwrap();
        let graph = root.join("graphs/g.ron");
        let spec = file_spec("csv", &root.join("data/d.csv"), Some(&graph));
        assert_eq!(spec, "csv:../data/d.csv");
        let back = resolve(&spec, Some(&graph));
        assert!(
            Path::new(back.trim_start_matches("csv:")).exists(),
            "{back}"
        );
        // Not found next to the graph: left as written (the working directory's).
        assert_eq!(resolve("mnist:nowhere", Some(&graph)), "mnist:nowhere");
        assert_eq!(resolve("spirals", Some(&graph)), "spirals");
        // An image folder keeps its options after the resolved path.
        std::fs::create_dir_all(root.join("data/pics")).unwrap();
        let back = resolve("images:../data/pics:size=8x8", Some(&graph));
        let (path, opts) = back["images:".len()..].split_once(':').unwrap();
        assert!(Path::new(path).is_dir(), "{back}");
        assert_eq!(opts, "size=8x8");
    }
}
