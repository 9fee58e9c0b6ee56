//! Datasets and a batch loader.
//!
//! [`load`] turns a spec string (as written in a graph's `training.dataset` or on the command
//! line) into a train/validation [`Split`]; [`Loader`] walks a [`Dataset`] in seeded, shuffled
//! batches with a background prefetch thread. Generated sets (`xor`, `spirals`, `moons`,
//! `sine`, `shapes`) need no download and are deterministic in the seed, so tests and demos
//! run anywhere.

mod csv;
mod generated;
mod loader;
mod mnist;
mod shapes;

pub use loader::{Epoch, Loader, LoaderOptions};
pub use shapes::SHAPE_CLASSES;

use crate::error::{Error, Result};
use crate::tensor::{Tensor, numel};
use std::collections::BTreeMap;

/// Every spec [`load`] accepts, for error messages and help text.
pub const SPECS: &str = "xor, spirals[:classes=2|3,train=N,valid=N,noise=F], \
moons[:train=N,valid=N,noise=F], sine[:train=N,valid=N,noise=F], \
shapes[:train=N,valid=N], mnist:DIR, csv:FILE[:label=COL]";

/// Samples with their labels. The first dimension of both tensors is the sample index.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub name: String,
    /// `[N, ...per-sample shape]`.
    pub features: Tensor,
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
        Ok((take(&self.features, idx)?, take(&self.labels, idx)?))
    }

    /// A new dataset of the samples at `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> Result<Dataset> {
        let (features, labels) = self.gather(idx)?;
        Ok(Dataset {
            name: self.name.clone(),
            features,
            labels,
            num_classes: self.num_classes,
        })
    }
}

/// Rows `idx` of `t` along its first dimension. Errors (rather than panics) on an index out
/// of range, since indices may come from user-built datasets.
pub(crate) fn take(t: &Tensor, idx: &[usize]) -> Result<Tensor> {
    let shape = t.shape();
    let n = shape.first().copied().unwrap_or(0);
    let row = numel(shape.get(1..).unwrap_or(&[]));
    let data = t.data();
    let mut out = Vec::with_capacity(idx.len() * row);
    for &i in idx {
        // Bounds-check the index before multiplying, so a huge index can't overflow.
        let src = (i < n)
            .then(|| data.get(i * row..(i + 1) * row))
            .flatten()
            .ok_or_else(|| {
                Error::bad_shape(
                    "take",
                    shape,
                    format!("sample index {i} out of range 0..{n}"),
                )
            })?;
        out.extend_from_slice(src);
    }
    let mut out_shape = shape.to_vec();
    if let Some(first) = out_shape.first_mut() {
        *first = idx.len();
    }
    Tensor::new(&out_shape, out)
}

/// Loads a dataset by spec (see [`SPECS`]); `seed` drives generation and shuffled splits.
pub fn load(spec: &str, seed: u64) -> Result<Split> {
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
        "csv" => csv::load(need_path("file")?, seed),
        "xor" | "spirals" | "moons" | "sine" => {
            generated::load(kind, Options::parse(kind, rest)?, seed)
        }
        "shapes" => shapes::load(Options::parse(kind, rest)?, seed),
        _ => Err(spec_error(format!(
            "unknown dataset `{spec}`; valid specs: {SPECS}"
        ))),
    }
}

fn spec_error(why: String) -> Error {
    Error::config("dataset", why)
}

/// `key=value` options after a generated set's name (`spirals:classes=3,noise=0.1`),
/// separated by `,` or `:`. Each generator takes the keys it knows; leftovers are an error,
/// so a typo is reported instead of silently ignored.
pub(crate) struct Options {
    kind: String,
    map: BTreeMap<String, String>,
}

impl Options {
    fn parse(kind: &str, rest: Option<&str>) -> Result<Self> {
        let mut map = BTreeMap::new();
        for item in rest
            .unwrap_or("")
            .split([',', ':'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let (k, v) = item.split_once('=').ok_or_else(|| {
                spec_error(format!("`{kind}`: option `{item}` should be key=value"))
            })?;
            map.insert(k.trim().to_string(), v.trim().to_string());
        }
        Ok(Options {
            kind: kind.to_string(),
            map,
        })
    }

    fn take<T: std::str::FromStr>(&mut self, key: &str, default: T) -> Result<T> {
        match self.map.remove(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                spec_error(format!("`{}`: option {key}=`{v}` is not valid", self.kind))
            }),
        }
    }

    /// A sample count that must be at least `min`.
    fn count(&mut self, key: &str, default: usize, min: usize) -> Result<usize> {
        let n = self.take(key, default)?;
        if n < min {
            return Err(spec_error(format!(
                "`{}`: {key}={n} is too small (at least {min})",
                self.kind
            )));
        }
        Ok(n)
    }

    /// Errors on any option no generator took, naming the ones that exist.
    fn finish(self, allowed: &[&str]) -> Result<()> {
        if let Some(k) = self.map.keys().next() {
            let list = if allowed.is_empty() {
                "none".to_string()
            } else {
                allowed.join(", ")
            };
            return Err(spec_error(format!(
                "`{}`: unknown option `{k}` (options: {list})",
                self.kind
            )));
        }
        Ok(())
    }
}

/// Per-column mean and standard deviation over `rows` × `cols` row-major data (f64
/// accumulation; a constant column gets std 1 so it maps to 0 instead of NaN).
pub(crate) fn column_stats(data: &[f32], cols: usize) -> (Vec<f32>, Vec<f32>) {
    let rows = data.len().checked_div(cols).unwrap_or(0);
    let mut mean = vec![0f64; cols];
    let mut var = vec![0f64; cols];
    for r in data.chunks_exact(cols.max(1)) {
        for (m, &x) in mean.iter_mut().zip(r) {
            *m += x as f64;
        }
    }
    for m in &mut mean {
        *m /= rows.max(1) as f64;
    }
    for r in data.chunks_exact(cols.max(1)) {
        for ((v, m), &x) in var.iter_mut().zip(&mean).zip(r) {
            *v += (x as f64 - m).powi(2);
        }
    }
    let std = var
        .iter()
        .map(|v| {
            let s = (v / rows.max(1) as f64).sqrt();
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
    fn take_and_subset() {
        let d = Dataset::new(
            "t",
            Tensor::from_fn(&[4, 2], |i| i as f32),
            Tensor::new(&[4], vec![0.0, 1.0, 0.0, 1.0]).unwrap(),
            Some(2),
        )
        .unwrap();
        let s = d.subset(&[3, 0]).unwrap();
        assert_eq!(s.features.data(), &[6.0, 7.0, 0.0, 1.0]);
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
