//! Datasets and a batch loader.
//!
//! [`load`] turns a spec string (as written in a graph's `training.dataset` or on the command
//! line) into a train/validation [`Split`]; [`Loader`] walks a [`Dataset`] in seeded, shuffled
//! batches with a background prefetch thread. Generated sets (`xor`, `spirals`, `moons`,
//! `sine`, `shapes`) need no download and are deterministic in the seed, so tests and demos
//! run anywhere; so are the sequence sets `addition` and `sinewaves`, and `text:FILE` reads a
//! text file as characters (see [`sequences`]). `images:DIR` streams an image folder: files are decoded in the loader's
//! worker threads (see [`images`]).

mod augment;
pub mod csv;
mod features;
mod generated;
pub mod images;
mod loader;
mod mnist;
mod options;
pub mod preprocess;
pub mod sequences;
mod shapes;
pub mod superres;

pub use augment::Draw;
pub use features::Features;
pub use loader::{Epoch, Loader, LoaderOptions};
pub use preprocess::Preprocessing;
pub use shapes::SHAPE_CLASSES;

use crate::error::{Error, Result};
use crate::tensor::{Rng, Tensor};
use features::take;
pub(crate) use options::Options;
use std::path::Path;

/// Every spec [`load`] accepts, for error messages and help text.
pub const SPECS: &str = "xor, spirals[:classes=2|3,train=N,valid=N,noise=F], \
moons[:train=N,valid=N,noise=F], sine[:train=N,valid=N,noise=F], \
shapes[:train=N,valid=N], mnist:DIR[:normalize=false], \
csv:FILE[:label=COL,sep=;,header=yes|no|auto,drop=COL,COL,na=error|drop|mean,task=classify|regress], \
images:DIR[:size=HxW,channels=gray|rgb,mean=M/M/M,std=S/S/S,normalize=no,cache=MB,workers=N], \
addition[:digits=1|2|3], text:FILE[:seq=N], sinewaves[:seq=N,train=N,valid=N], \
superres:<image dataset spec>[,scale=S]";

/// Samples with their labels. The first dimension of both tensors is the sample index.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub name: String,
    /// `[N, ...per-sample shape]`, in memory or image files read on demand.
    pub features: Features,
    /// Classification: `[N]` class indices stored as f32. Regression: `[N, k]` targets.
    pub labels: Tensor,
    /// `Some(classes)` for classification, `None` for regression.
    pub num_classes: Option<usize>,
}

/// A training set and the held-out set used to measure generalisation.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    pub train: Dataset,
    pub valid: Dataset,
    /// Where the data came from and how raw samples became these features; stored in
    /// checkpoints and weight files so `eval` and `predict` treat data the same way.
    pub preprocessing: Preprocessing,
    /// Choices made on the user's behalf (header detected, column left out, classes or
    /// regression), each naming the option that changes it: for the command line to print.
    pub notes: Vec<String>,
}

/// Which samples of a split to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Train,
    Valid,
    All,
}

impl Split {
    pub fn new(train: Dataset, valid: Dataset) -> Split {
        Split {
            train,
            valid,
            preprocessing: Preprocessing::default(),
            notes: Vec::new(),
        }
    }

    /// The samples of `part` (`All`: training then validation samples).
    pub fn part(&self, part: Part) -> Result<Dataset> {
        match part {
            Part::Train => Ok(self.train.clone()),
            Part::Valid => Ok(self.valid.clone()),
            Part::All => {
                let labels = Features::Memory(self.train.labels.clone())
                    .concat(&Features::Memory(self.valid.labels.clone()))?;
                let Features::Memory(labels) = labels else {
                    return Err(Error::Other("labels are always in memory".into()));
                };
                let d = Dataset {
                    name: self.train.name.clone(),
                    features: self.train.features.concat(&self.valid.features)?,
                    labels,
                    num_classes: self.train.num_classes,
                };
                d.validate()?;
                Ok(d)
            }
        }
    }
}

impl Dataset {
    /// A dataset after checking what the loader and the losses rely on: both tensors have a
    /// sample dimension of the same length, and class labels are integers in range.
    pub fn new(
        name: impl Into<String>,
        features: Tensor,
        labels: Tensor,
        num_classes: Option<usize>,
    ) -> Result<Self> {
        Dataset::with_features(name, Features::Memory(features), labels, num_classes)
    }

    /// [`Dataset::new`] for samples held in any form (image files read on demand).
    pub fn with_features(
        name: impl Into<String>,
        features: Features,
        labels: Tensor,
        num_classes: Option<usize>,
    ) -> Result<Self> {
        let d = Dataset {
            name: name.into(),
            features,
            labels,
            num_classes,
        };
        d.validate()?;
        Ok(d)
    }

    /// Checks the invariants of [`Dataset::new`] (the fields are public, so a hand-built
    /// dataset is checked again by the loader).
    pub fn validate(&self) -> Result<()> {
        let op = format!("dataset `{}`", self.name);
        let (f, l) = (self.features.shape(), self.labels.shape());
        if f.is_empty() || l.is_empty() {
            return Err(Error::shape_mismatch(
                op,
                "features and labels need a sample dimension",
                f,
                l,
            ));
        }
        if f[0] != l[0] {
            return Err(Error::shape_mismatch(
                op,
                "features and labels disagree on the number of samples",
                f,
                l,
            ));
        }
        if let Some(k) = self.num_classes {
            if l.len() != 1 {
                return Err(Error::bad_shape(
                    op,
                    l,
                    "classification labels must be [N] class indices",
                ));
            }
            if let Some((i, v)) = self
                .labels
                .data()
                .iter()
                .enumerate()
                .find(|(_, v)| !(v.fract() == 0.0 && **v >= 0.0 && (**v as usize) < k))
            {
                return Err(Error::value(
                    op,
                    format!("label {i} is {v}, not a class index in 0..{k}"),
                ));
            }
        }
        Ok(())
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.features.shape().first().copied().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Shape of one sample's features (no batch dimension).
    pub fn sample_shape(&self) -> &[usize] {
        self.features.shape().get(1..).unwrap_or(&[])
    }

    /// Shape of one sample's label (`[]` for a class index).
    pub fn label_shape(&self) -> &[usize] {
        self.labels.shape().get(1..).unwrap_or(&[])
    }

    /// Samples per class, for classification sets.
    pub fn class_counts(&self) -> Option<Vec<usize>> {
        let k = self.num_classes?;
        let mut counts = vec![0; k];
        for &v in self.labels.data() {
            if let Some(c) = counts.get_mut(v as usize) {
                *c += 1;
            }
        }
        Some(counts)
    }

    /// The samples at `idx`, in that order: `(features [B, ...], labels [B, ...])`.
    pub fn gather(&self, idx: &[usize]) -> Result<(Tensor, Tensor)> {
        self.gather_with(idx, None)
    }

    /// [`Dataset::gather`], image features augmented by `draw` (training batches).
    pub fn gather_with(&self, idx: &[usize], draw: Option<&Draw>) -> Result<(Tensor, Tensor)> {
        Ok((self.features.take(idx, draw)?, take(&self.labels, idx)?))
    }

    /// A new dataset of the samples at `idx`, in that order (image files stay unread).
    pub fn subset(&self, idx: &[usize]) -> Result<Dataset> {
        Ok(Dataset {
            name: self.name.clone(),
            features: self.features.subset(idx)?,
            labels: take(&self.labels, idx)?,
            num_classes: self.num_classes,
        })
    }
}

/// A seeded shuffle of `0..n` cut 80/20 (both sides non-empty; `n` ≥ 2): the
/// train/validation split of files that come as one set (CSV, a single image folder).
pub(crate) fn split_indices(n: usize, seed: u64, stream: u64) -> (Vec<usize>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..n).collect();
    Rng::derived(seed, stream).shuffle(&mut idx);
    let cut = ((n * 4 + 2) / 5).clamp(1, n.saturating_sub(1).max(1));
    let valid = idx.split_off(cut);
    (idx, valid)
}

/// Loads a dataset by spec (see [`SPECS`]); `seed` drives generation and shuffled splits.
pub fn load(spec: &str, seed: u64) -> Result<Split> {
    load_fitted(spec, seed, None)
}

/// [`load`], but with a trained model's preprocessing: raw features are standardised with
/// its statistics and labels named by its classes, instead of fitted on this data (for
/// evaluating a model on a separate file). The split records `spec` and `seed`.
pub fn load_fitted(spec: &str, seed: u64, fitted: Option<&Preprocessing>) -> Result<Split> {
    let mut split = load_spec(spec, seed, fitted)?;
    for part in [&split.train, &split.valid] {
        if part.is_empty() {
            return Err(spec_error(format!(
                "`{spec}`: the {} set is empty",
                if std::ptr::eq(part, &split.train) {
                    "training"
                } else {
                    "validation"
                }
            )));
        }
    }
    if split.train.sample_shape() != split.valid.sample_shape() {
        return Err(Error::shape_mismatch(
            format!("dataset `{spec}`"),
            "training and validation samples differ in shape",
            split.train.sample_shape(),
            split.valid.sample_shape(),
        ));
    }
    if let Some(f) = fitted
        && !f.class_names.is_empty()
        && split.preprocessing.class_names.is_empty()
    {
        split.preprocessing.class_names = f.class_names.clone();
    }
    split.preprocessing.spec = spec.trim().to_string();
    split.preprocessing.split_seed = seed;
    Ok(split)
}

/// Makes the path in a spec that names a file or folder (`csv:FILE`, `mnist:DIR`) absolute,
/// relative paths taken from `base` (the graph file's folder for a graph's
/// `training.dataset`, the working directory for `--data`), so the spec stored with a
/// model means the same file wherever `eval` runs.
pub fn resolve_spec(spec: &str, base: &Path) -> String {
    let spec = spec.trim();
    let Some((kind, rest)) = spec.split_once(':') else {
        return spec.to_string();
    };
    if kind == "superres" {
        return superres::resolve(rest, |inner| resolve_spec(inner, base));
    }
    let (path, opts) = match kind {
        "csv" | "images" | "mnist" | "text" => csv::split_spec(rest),
        _ => return spec.to_string(),
    };
    if path.is_empty() {
        return spec.to_string();
    }
    let joined = base.join(path);
    let abs = std::path::absolute(&joined).unwrap_or(joined);
    match opts {
        Some(o) => format!("{kind}:{}:{o}", abs.display()),
        None => format!("{kind}:{}", abs.display()),
    }
}

fn load_spec(spec: &str, seed: u64, fitted: Option<&Preprocessing>) -> Result<Split> {
    let spec = spec.trim();
    let (kind, rest) = match spec.split_once(':') {
        Some((k, r)) => (k, Some(r)),
        None => (spec, None),
    };
    let need_path = |what: &str| {
        rest.filter(|r| !r.is_empty()).ok_or_else(|| {
            spec_error(format!(
                "`{kind}` needs a {what}: `{kind}:{}`",
                what.to_uppercase()
            ))
        })
    };
    match kind {
        "mnist" => mnist::load(need_path("dir")?),
        "csv" => csv::load(need_path("file")?, seed, fitted),
        "images" => images::load(need_path("dir")?, seed, fitted),
        "xor" | "spirals" | "moons" | "sine" => {
            generated::load(kind, Options::parse(kind, rest)?, seed)
        }
        "shapes" => shapes::load(Options::parse(kind, rest)?, seed),
        "addition" => sequences::addition::load(Options::parse(kind, rest)?, seed),
        "sinewaves" => sequences::sinewaves::load(Options::parse(kind, rest)?, seed),
        "text" => {
            let (path, opts) = csv::split_spec(need_path("file")?);
            sequences::text::load(path, Options::parse(kind, opts)?, fitted)
        }
        "superres" => superres::load(rest.unwrap_or(""), |inner| load_spec(inner, seed, fitted)),
        _ => Err(spec_error(format!(
            "unknown dataset `{spec}`; valid specs: {SPECS}"
        ))),
    }
}

pub(crate) fn spec_error(why: String) -> Error {
    Error::config("dataset", why)
}

/// Per-column mean and standard deviation over `rows` × `cols` row-major data (f64
/// accumulation; NaN cells, missing values, are skipped; a constant column gets std 1 so
/// it maps to 0 instead of NaN).
pub(crate) fn column_stats(data: &[f32], cols: usize) -> (Vec<f32>, Vec<f32>) {
    let mut count = vec![0usize; cols];
    let mut mean = vec![0f64; cols];
    let mut var = vec![0f64; cols];
    for r in data.chunks_exact(cols.max(1)) {
        for ((m, k), &x) in mean.iter_mut().zip(&mut count).zip(r) {
            if !x.is_nan() {
                *m += x as f64;
                *k += 1;
            }
        }
    }
    for (m, k) in mean.iter_mut().zip(&count) {
        *m /= (*k).max(1) as f64;
    }
    for r in data.chunks_exact(cols.max(1)) {
        for ((v, m), &x) in var.iter_mut().zip(&mean).zip(r) {
            if !x.is_nan() {
                *v += (x as f64 - m).powi(2);
            }
        }
    }
    let std = var
        .iter()
        .zip(&count)
        .map(|(v, k)| {
            let s = (v / (*k).max(1) as f64).sqrt();
            if s > 1e-12 { s as f32 } else { 1.0 }
        })
        .collect();
    (mean.into_iter().map(|m| m as f32).collect(), std)
}

/// `(x - mean) / std` per column, in place.
pub(crate) fn standardise(data: &mut [f32], mean: &[f32], std: &[f32]) {
    for r in data.chunks_exact_mut(mean.len().max(1)) {
        for ((x, m), s) in r.iter_mut().zip(mean).zip(std) {
            *x = (*x - m) / s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_spec_lists_valid_ones() {
        let e = load("imagenet", 0).unwrap_err().to_string();
        assert!(e.contains("unknown dataset `imagenet`"), "{e}");
        for s in [
            "xor",
            "spirals",
            "moons",
            "sine",
            "shapes",
            "mnist:DIR",
            "csv:FILE",
            "images:DIR",
        ] {
            assert!(e.contains(s), "{e}");
        }
    }

    #[test]
    fn path_specs_need_a_path() {
        let e = load("mnist", 0).unwrap_err().to_string();
        assert!(e.contains("mnist:DIR"), "{e}");
        let e = load("csv:", 0).unwrap_err().to_string();
        assert!(e.contains("csv:FILE"), "{e}");
    }

    #[test]
    fn unknown_option_is_an_error() {
        let e = load("moons:trian=10", 0).unwrap_err().to_string();
        assert!(e.contains("unknown option `trian`"), "{e}");
        assert!(e.contains("train"), "{e}");
        let e = load("moons:train=abc", 0).unwrap_err().to_string();
        assert!(e.contains("train=`abc`"), "{e}");
    }

    #[test]
    fn spec_sizes_and_noise_are_range_checked() {
        for (spec, want) in [
            (
                "shapes:train=100000000",
                "train=100000000 is out of range (1 to 500000)",
            ),
            ("spirals:valid=0", "valid=0 is out of range"),
            ("moons:noise=nan", "noise=NaN is out of range"),
            ("sine:noise=-1", "noise=-1 is out of range"),
            ("spirals:noise=inf", "noise=inf is out of range"),
        ] {
            let e = load(spec, 0).unwrap_err().to_string();
            assert!(e.contains(want), "{spec}: {e}");
        }
    }

    #[test]
    fn relative_paths_resolve_against_the_base_folder() {
        let base = Path::new("/data/graphs");
        assert_eq!(
            resolve_spec("csv:iris.csv:label=species", base),
            "csv:/data/graphs/iris.csv:label=species"
        );
        assert_eq!(
            resolve_spec("mnist:../mnist", base),
            "mnist:/data/graphs/../mnist"
        );
        assert_eq!(resolve_spec("csv:/abs/x.csv", base), "csv:/abs/x.csv");
        assert_eq!(
            resolve_spec("images:photos:size=32x32", base),
            "images:/data/graphs/photos:size=32x32"
        );
        assert_eq!(
            resolve_spec("images:pics", base),
            "images:/data/graphs/pics"
        );
        assert_eq!(resolve_spec("spirals:classes=3", base), "spirals:classes=3");
    }

    #[test]
    fn take_and_subset() {
        let d = Dataset::new(
            "t",
            Tensor::from_fn(&[4, 2], |i| i as f32),
            Tensor::new(&[4], vec![0.0, 1.0, 0.0, 1.0]).unwrap(),
            Some(2),
        )
        .unwrap();
        let s = d.subset(&[3, 0]).unwrap();
        assert_eq!(s.features.tensor().unwrap().data(), &[6.0, 7.0, 0.0, 1.0]);
        assert_eq!(s.labels.data(), &[1.0, 0.0]);
        assert!(
            d.gather(&[4])
                .unwrap_err()
                .to_string()
                .contains("out of range")
        );
    }

    #[test]
    fn dataset_new_checks_labels() {
        let f = Tensor::zeros(&[2, 3]);
        let e = Dataset::new("t", f.clone(), Tensor::zeros(&[3]), Some(2)).unwrap_err();
        assert!(e.to_string().contains("number of samples"), "{e}");
        let l = Tensor::new(&[2], vec![0.0, 2.0]).unwrap();
        let e = Dataset::new("t", f, l, Some(2)).unwrap_err();
        assert!(e.to_string().contains("label 1 is 2"), "{e}");
    }

    #[test]
    fn column_stats_and_standardise() {
        let mut d = vec![1.0, 5.0, 3.0, 5.0];
        let (m, s) = column_stats(&d, 2);
        assert_eq!(m, vec![2.0, 5.0]);
        assert_eq!(s, vec![1.0, 1.0]); // second column constant → std 1
        standardise(&mut d, &m, &s);
        assert_eq!(d, vec![-1.0, 0.0, 1.0, 0.0]);
    }
}
