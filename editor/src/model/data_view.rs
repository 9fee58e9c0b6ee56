//! The graph's dataset as the data view shows it: counts per class, a gallery of samples,
//! per-feature histograms, and a training batch exactly as the network receives it (made
//! by the engine's `Loader` with the graph's training settings). Loading runs on a
//! background thread (see [`super::background`]); nothing here touches egui.

use hyphae::data::{self, Dataset, Features, Loader, LoaderOptions, SHAPE_CLASSES, Split};
use hyphae::graph::Training;
use hyphae::tensor::Tensor;
use std::sync::Arc;

/// Samples shown in the gallery (spread over the classes).
pub const GALLERY: usize = 48;
/// Rows shown in a table of tabular samples.
pub const TABLE_ROWS: usize = 12;
/// Features given a histogram.
pub const MAX_HISTOGRAMS: usize = 12;
const BINS: usize = 20;

/// How one sample is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleKind {
    /// `[1 | 3, H, W]`: a picture.
    Image { channels: usize, h: usize, w: usize },
    /// `[2]`: a point in the plane (a scatter plot, and a decision boundary).
    Points,
    /// `[F]`: a table row.
    Table,
    /// Anything else (sequences): shape and counts only.
    Other,
}

impl SampleKind {
    pub fn of(shape: &[usize]) -> SampleKind {
        match *shape {
            [c @ (1 | 3), h, w] => SampleKind::Image { channels: c, h, w },
            [2] => SampleKind::Points,
            [_] => SampleKind::Table,
            _ => SampleKind::Other,
        }
    }
}

/// A histogram of one feature over the training samples.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureHist {
    pub name: String,
    pub lo: f32,
    pub hi: f32,
    pub counts: Vec<u32>,
}

/// Some samples with their label texts: `features [K, ...]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Samples {
    pub features: Tensor,
    pub labels: Vec<String>,
}

/// What the data view shows of a dataset.
pub struct DataSummary {
    /// The spec loaded (resolved) and its split seed: the view reloads when they change.
    pub spec: String,
    pub seed: u64,
    pub split: Arc<Split>,
    pub kind: SampleKind,
    /// One per class (the data's names, else the index); empty for regression.
    pub class_names: Vec<String>,
    pub train_counts: Vec<usize>,
    pub valid_counts: Vec<usize>,
    pub feature_names: Vec<String>,
    /// Training samples, a few of each class.
    pub gallery: Samples,
    pub histograms: Vec<FeatureHist>,
}

/// Loads `spec` (already resolved against the graph's folder) as training would, and
/// summarises it. Slow for big sets: call it on a background thread.
pub fn summarise(spec: &str, training: &Training) -> Result<DataSummary, String> {
    let seed = training.split_seed();
    let split = data::load(spec, seed).map_err(|e| e.to_string())?;
    let train = &split.train;
    let classes = train.num_classes.unwrap_or(0);
    let mut class_names: Vec<String> = (0..classes)
        .map(|i| split.preprocessing.class_name(i))
        .collect();
    if spec.starts_with("shapes") && split.preprocessing.class_names.is_empty() {
        class_names = SHAPE_CLASSES.iter().map(|c| c.to_string()).collect();
    }
    let kind = SampleKind::of(train.sample_shape());
    let feature_names = feature_names(&split);
    let idx = gallery_indices(train, kind);
    let features = train.features.take(&idx, None).map_err(|e| e.to_string())?;
    let labels = idx
        .iter()
        .map(|&i| label_text(&train.labels, i, &class_names))
        .collect();
    let histograms = match (&train.features, kind) {
        (Features::Memory(t), SampleKind::Table | SampleKind::Points) => {
            histograms(t, &feature_names)
        }
        _ => Vec::new(),
    };
    Ok(DataSummary {
        spec: spec.to_string(),
        seed,
        train_counts: train.class_counts().unwrap_or_default(),
        valid_counts: split.valid.class_counts().unwrap_or_default(),
        split: Arc::new(split),
        kind,
        class_names,
        feature_names,
        gallery: Samples { features, labels },
        histograms,
    })
}

/// The first training batch of epoch 1, made by the engine's loader with the graph's
/// settings (shuffle, batch size, augmentation; features already standardised as the
/// dataset loader does for training): what the network's input receives.
pub fn training_batch(s: &DataSummary, training: &Training) -> Result<Samples, String> {
    let train = Arc::new(s.split.train.clone());
    let loader =
        Loader::new(train, LoaderOptions::training(training)).map_err(|e| e.to_string())?;
    let (x, y) = loader
        .epoch(0)
        .next()
        .ok_or("the training set has no batch")?
        .map_err(|e| e.to_string())?;
    let labels = (0..x.dim(0))
        .map(|i| label_text(&y, i, &s.class_names))
        .collect();
    Ok(Samples {
        features: x,
        labels,
    })
}

/// Feature names for a table: the file's header, else `x0, x1, …`.
fn feature_names(split: &Split) -> Vec<String> {
    let f = split.train.sample_shape().first().copied().unwrap_or(0);
    let names = &split.preprocessing.feature_names;
    if names.len() == f {
        names.clone()
    } else {
        (0..f).map(|i| format!("x{i}")).collect()
    }
}

/// Up to [`GALLERY`] training samples (tables: the first [`TABLE_ROWS`] rows), the same
/// number of each class in dataset order, so a rare class still shows.
fn gallery_indices(train: &Dataset, kind: SampleKind) -> Vec<usize> {
    let n = train.len();
    let want = if kind == SampleKind::Table {
        TABLE_ROWS
    } else {
        GALLERY
    }
    .min(n);
    let Some(k) = train.num_classes.filter(|&k| k > 0) else {
        return (0..want).collect();
    };
    let per = want.div_ceil(k).max(1);
    let mut taken = vec![0; k];
    let mut idx = Vec::with_capacity(want);
    for (i, &v) in train.labels.data().iter().enumerate() {
        if let Some(t) = taken.get_mut(v as usize)
            && *t < per
        {
            *t += 1;
            idx.push(i);
            if idx.len() == want {
                break;
            }
        }
    }
    idx.sort_by_key(|&i| train.labels.data()[i] as usize);
    idx
}

/// The label of sample `i` as text: its class name, or its target values.
pub fn label_text(labels: &Tensor, i: usize, class_names: &[String]) -> String {
    let per = labels.numel() / labels.dim(0).max(1);
    let vals = labels.data().get(i * per..(i + 1) * per).unwrap_or(&[]);
    match (class_names.is_empty(), vals) {
        (false, [v]) => class_names
            .get(*v as usize)
            .cloned()
            .unwrap_or_else(|| format!("{v}")),
        _ => {
            let shown: Vec<String> = vals.iter().take(4).map(|v| format!("{v:.3}")).collect();
            let more = if vals.len() > 4 { ", …" } else { "" };
            format!("{}{more}", shown.join(", "))
        }
    }
}

/// Per-feature histograms of `[N, F]` samples (the first [`MAX_HISTOGRAMS`] features).
pub fn histograms(t: &Tensor, names: &[String]) -> Vec<FeatureHist> {
    let (n, f) = (t.dim(0), t.numel() / t.dim(0).max(1));
    let data = t.data();
    (0..f.min(MAX_HISTOGRAMS))
        .map(|j| {
            let col = (0..n).map(|i| data[i * f + j]).filter(|v| v.is_finite());
            let name = names.get(j).cloned().unwrap_or_else(|| format!("x{j}"));
            histogram(name, col)
        })
        .collect()
}

/// `BINS` equal bins between the smallest and largest value.
pub fn histogram(name: String, values: impl Iterator<Item = f32> + Clone) -> FeatureHist {
    let (lo, hi) = values
        .clone()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        });
    let mut counts = vec![0u32; BINS];
    if lo <= hi {
        let width = (hi - lo).max(f32::MIN_POSITIVE);
        for v in values {
            let b = (((v - lo) / width) * BINS as f32) as usize;
            counts[b.min(BINS - 1)] += 1;
        }
    }
    FeatureHist {
        name,
        lo: if lo <= hi { lo } else { 0.0 },
        hi: if lo <= hi { hi } else { 0.0 },
        counts,
    }
}

/// Sample `i` of `[K, C, H, W]` features as RGBA bytes, stretched to its own range (the
/// features may be standardised; the picture shows the pattern, not absolute values).
pub fn image_rgba(features: &Tensor, i: usize) -> Option<(usize, usize, Vec<u8>)> {
    let SampleKind::Image { channels, h, w } = SampleKind::of(features.shape().get(1..)?) else {
        return None;
    };
    let px = h * w;
    let v = features
        .data()
        .get(i * channels * px..(i + 1) * channels * px)?;
    let (lo, hi) = v
        .iter()
        .filter(|x| x.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &x| {
            (l.min(x), h.max(x))
        });
    let span = if hi > lo { hi - lo } else { 1.0 };
    let byte = |x: f32| (((x - lo) / span).clamp(0.0, 1.0) * 255.0) as u8;
    let mut out = Vec::with_capacity(px * 4);
    for p in 0..px {
        let (r, g, b) = if channels == 3 {
            (byte(v[p]), byte(v[px + p]), byte(v[2 * px + p]))
        } else {
            let g = byte(v[p]);
            (g, g, g)
        };
        out.extend_from_slice(&[r, g, b, 255]);
    }
    Some((w, h, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_summarised_with_names_counts_and_a_balanced_gallery() {
        let t = Training::default();
        let s = summarise("shapes:train=40,valid=12", &t).unwrap();
        assert_eq!(
            s.kind,
            SampleKind::Image {
                channels: 1,
                h: 28,
                w: 28
            }
        );
        assert_eq!(s.class_names.len(), 4);
        assert_eq!(s.train_counts.iter().sum::<usize>(), 40);
        assert_eq!(s.valid_counts.iter().sum::<usize>(), 12);
        assert_eq!(s.gallery.labels.len(), 40.min(GALLERY));
        let (w, h, px) = image_rgba(&s.gallery.features, 0).unwrap();
        assert_eq!((w, h, px.len()), (28, 28, 28 * 28 * 4));
        let b = training_batch(&s, &t).unwrap();
        assert_eq!(b.features.dim(0), t.batch_size.min(40));
    }

    #[test]
    fn points_get_a_histogram_per_coordinate() {
        let s = summarise("moons:train=30,valid=10", &Training::default()).unwrap();
        assert_eq!(s.kind, SampleKind::Points);
        assert_eq!(s.histograms.len(), 2);
        assert_eq!(s.histograms[0].counts.iter().sum::<u32>(), 30);
        let h = histogram("c".into(), [1.0f32, 1.0].into_iter());
        assert_eq!(h.counts.iter().sum::<u32>(), 2);
    }

    #[test]
    fn labels_read_as_names_or_values() {
        let y = Tensor::new(&[2], vec![1.0, 0.0]).unwrap();
        assert_eq!(label_text(&y, 0, &["a".into(), "b".into()]), "b");
        let r = Tensor::new(&[1, 2], vec![0.5, 2.0]).unwrap();
        assert_eq!(label_text(&r, 0, &[]), "0.500, 2.000");
    }
}
