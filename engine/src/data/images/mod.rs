//! Image folders: `images:DIR[:size=HxW,channels=gray|rgb,mean=../std=..|normalize=false,
//! cache=MB,workers=N]` in torchvision's `ImageFolder` layout (see `layout`).
//!
//! Nothing is decoded up front except what the normalisation statistics need: a dataset is
//! a list of files ([`ImageList`]), and the loader's worker threads decode each batch,
//! keeping decoded images in a byte-capped cache (`cache`) so a folder larger than memory
//! still trains. Pixels become [0, 1] (`ToTensor`), then are normalised per channel with
//! the training split's mean and std (or given constants), which are stored with the model
//! like CSV standardisation, so `eval` and `predict` treat images the same way.

mod cache;
mod decode;
pub mod grid;
mod layout;
mod options;

pub use decode::Decode;
pub use layout::{EXTENSIONS, is_image};
pub use options::{Channels, ImageOptions, Normalize, Size};

use super::augment::{self, Draw};
use super::features::Features;
use super::preprocess::Preprocessing;
use super::{Dataset, Split, csv::split_spec, split_indices};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use cache::Cache;
use decode::file_err;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Shuffle stream id of the train/validation cut of a folder without `train/` + `val/`.
const IMAGES_STREAM: u64 = 0x494d_4753;

/// The files of one folder and how each becomes a sample (shared by its splits, and by
/// every worker thread, with one cache).
struct Source {
    files: Vec<PathBuf>,
    decode: Decode,
    cache: Cache,
}

/// Samples that are image files: which files, in order, and their per-channel
/// normalisation. Cloning shares the files and the cache.
#[derive(Clone)]
pub struct ImageList {
    source: Arc<Source>,
    /// Index into `source.files` of each sample.
    items: Arc<[usize]>,
    /// `[N, C, H, W]`.
    shape: Vec<usize>,
    /// Per-channel normalisation (empty: pixels stay in [0, 1]).
    mean: Arc<[f32]>,
    std: Arc<[f32]>,
    workers: usize,
}

impl PartialEq for ImageList {
    fn eq(&self, other: &ImageList) -> bool {
        Arc::ptr_eq(&self.source, &other.source)
            && self.items == other.items
            && self.mean == other.mean
            && self.std == other.std
    }
}

impl std::fmt::Debug for ImageList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ImageList{:?} of {} files",
            self.shape,
            self.source.files.len()
        )
    }
}

impl ImageList {
    /// `[N, C, H, W]`.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Threads the loader decodes batches with.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// The file of sample `i`.
    pub fn file(&self, i: usize) -> Option<&Path> {
        let id = *self.items.get(i)?;
        self.source.files.get(id).map(PathBuf::as_path)
    }

    /// Bytes and images held by the decoded-image cache, and its cap.
    pub fn cache_usage(&self) -> (usize, usize, usize) {
        let (bytes, images) = self.source.cache.usage();
        (bytes, images, self.source.cache.cap())
    }

    /// Sample `i`'s decoded `[C, H, W]` bytes, from the cache or the file.
    fn pixels(&self, i: usize) -> Result<Arc<[u8]>> {
        let id = *self.items.get(i).ok_or_else(|| {
            Error::bad_shape(
                "images",
                &self.shape,
                format!("sample index {i} out of range"),
            )
        })?;
        if let Some(p) = self.source.cache.get(id) {
            return Ok(p);
        }
        let path = &self.source.files[id];
        let p: Arc<[u8]> = decode::decode(path, &self.source.decode)?.into();
        self.source.cache.put(id, &p);
        Ok(p)
    }

    /// Samples `idx` as `[B, C, H, W]`: pixels in [0, 1], augmented when `draw` is given
    /// (training batches), normalised.
    pub fn batch(&self, idx: &[usize], draw: Option<&Draw>) -> Result<Tensor> {
        let d = &self.source.decode;
        let chw = [d.channels.count(), d.height, d.width];
        let per = d.bytes();
        let plane = d.height * d.width;
        let mut out = Vec::with_capacity(idx.len() * per);
        for &i in idx {
            let start = out.len();
            out.extend(self.pixels(i)?.iter().map(|&b| b as f32 / 255.0));
            let sample = &mut out[start..];
            let mut rng = draw.map(|dr| dr.rng(i));
            if let (Some(dr), Some(rng)) = (draw, rng.as_mut()) {
                augment::before_normalise(&dr.augment, sample, chw, rng);
            }
            if !self.mean.is_empty() {
                for (k, x) in sample.iter_mut().enumerate() {
                    let c = k / plane.max(1);
                    *x = (*x - self.mean[c]) / self.std[c];
                }
            }
            if let (Some(dr), Some(rng)) = (draw, rng.as_mut()) {
                augment::after_normalise(&dr.augment, sample, chw, rng);
            }
        }
        let mut shape = self.shape.clone();
        shape[0] = idx.len();
        Tensor::new(&shape, out)
    }

    /// The samples at `idx`, in that order (nothing decoded).
    pub fn subset(&self, idx: &[usize]) -> Result<ImageList> {
        let n = self.items.len();
        let items = idx
            .iter()
            .map(|&i| {
                self.items.get(i).copied().ok_or_else(|| {
                    Error::bad_shape(
                        "images",
                        &self.shape,
                        format!("sample index {i} out of range 0..{n}"),
                    )
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        Ok(self.with_items(items))
    }

    /// These samples followed by `other`'s (of the same folder).
    pub fn concat(&self, other: &ImageList) -> Result<ImageList> {
        if !Arc::ptr_eq(&self.source, &other.source) {
            return Err(Error::Other(
                "cannot join samples of two image folders".into(),
            ));
        }
        Ok(self.with_items(
            self.items
                .iter()
                .chain(other.items.iter())
                .copied()
                .collect(),
        ))
    }

    fn with_items(&self, items: Vec<usize>) -> ImageList {
        let mut shape = self.shape.clone();
        shape[0] = items.len();
        ImageList {
            items: items.into(),
            shape,
            ..self.clone()
        }
    }

    /// Per-channel mean and std of pixels in [0, 1] over every sample (population std; a
    /// constant channel gets std 1), decoded by `workers` threads (filling the cache).
    /// Counting byte values per channel makes the statistics exact and order-free.
    fn channel_stats(&self) -> Result<(Vec<f32>, Vec<f32>)> {
        let c = self.source.decode.channels.count();
        let plane = self.source.decode.height * self.source.decode.width;
        let n = self.items.len();
        let workers = self.workers.clamp(1, n.max(1));
        let count = |w: usize| -> Result<Vec<[u64; 256]>> {
            let mut hist = vec![[0u64; 256]; c];
            for i in (w..n).step_by(workers) {
                for (k, &b) in self.pixels(i)?.iter().enumerate() {
                    hist[k / plane.max(1)][b as usize] += 1;
                }
            }
            Ok(hist)
        };
        let parts: Vec<Result<Vec<[u64; 256]>>> = std::thread::scope(|s| {
            let spawned: Vec<_> = (0..workers)
                .map(|w| std::thread::Builder::new().spawn_scoped(s, move || count(w)))
                .collect();
            spawned
                .into_iter()
                .enumerate()
                .map(|(w, h)| match h {
                    Ok(h) => h
                        .join()
                        .unwrap_or_else(|_| Err(Error::Other("image statistics failed".into()))),
                    Err(_) => count(w), // no thread to be had: this share here
                })
                .collect()
        });
        let mut hist = vec![[0u64; 256]; c];
        for part in parts {
            for (total, h) in hist.iter_mut().zip(part?) {
                for (t, v) in total.iter_mut().zip(h) {
                    *t += v;
                }
            }
        }
        let (mut mean, mut std) = (Vec::new(), Vec::new());
        for h in &hist {
            let count = h.iter().sum::<u64>().max(1) as f64;
            let m = (0..256).map(|v| v as f64 * h[v] as f64).sum::<f64>() / count / 255.0;
            let var = (0..256)
                .map(|v| (v as f64 / 255.0 - m).powi(2) * h[v] as f64)
                .sum::<f64>()
                / count;
            mean.push(m as f32);
            std.push(if var.sqrt() > 1e-12 {
                var.sqrt() as f32
            } else {
                1.0
            });
        }
        Ok((mean, std))
    }
}

/// Options given here, with size and channels the model was trained with filling those
/// left out (a separate test folder is read the way the training folder was).
fn options(rest: Option<&str>, fitted: Option<&Preprocessing>) -> Result<ImageOptions> {
    let mut o = ImageOptions::parse(rest)?;
    let trained = fitted
        .and_then(|f| f.spec.strip_prefix("images:"))
        .and_then(|s| split_spec(s).1)
        .map(|s| ImageOptions::parse(Some(s)))
        .transpose()?;
    if let Some(t) = trained {
        o.size = o.size.or(t.size);
        o.channels = o.channels.or(t.channels);
    }
    Ok(o)
}

/// Loads `DIR[:options]`. With `fitted` (a trained model's preprocessing) images are
/// normalised with its statistics and class folders matched to its class names.
pub(crate) fn load(rest: &str, seed: u64, fitted: Option<&Preprocessing>) -> Result<Split> {
    let (dir, opts) = split_spec(rest);
    let dir = Path::new(dir);
    let opts = options(opts, fitted)?;
    let known = fitted
        .map(|f| f.class_names.as_slice())
        .filter(|c| !c.is_empty());
    let layout = layout::scan(dir, known)?;
    let mut notes = Vec::new();
    if known.is_none() {
        let shown: Vec<&str> = layout.classes.iter().take(10).map(String::as_str).collect();
        let more = if layout.classes.len() > 10 {
            ", …"
        } else {
            ""
        };
        notes.push(format!(
            "images: {} classes ({}{more}), the class folders' names sorted",
            layout.classes.len(),
            shown.join(", ")
        ));
    }
    let first = layout
        .files
        .first()
        .ok_or_else(|| file_err(dir, "no images"))?;
    let probe = decode::open(first)?;
    let channels = opts.channels.unwrap_or_else(|| {
        let c = decode::natural_channels(&probe);
        notes.push(format!(
            "images: channels={} from the first image (channels=gray|rgb to choose)",
            c.name()
        ));
        c
    });
    let (height, width) = match opts.size {
        Some(s) => (s.height, s.width),
        None => {
            let (h, w) = (probe.height() as usize, probe.width() as usize);
            notes.push(format!(
                "images: {h}×{w}, the first image's size; others must match (size=HxW resizes all)"
            ));
            (h, w)
        }
    };
    let how = Decode {
        channels,
        height,
        width,
        resize: opts.size.is_some(),
    };
    let n = layout.files.len();
    let classes = layout.classes.len();
    let labels = Tensor::new(&[n], layout.labels.iter().map(|&c| c as f32).collect())?;
    let all = ImageList {
        source: Arc::new(Source {
            files: layout.files,
            decode: how,
            cache: Cache::new(opts.cache_bytes),
        }),
        items: (0..n).collect::<Vec<_>>().into(),
        shape: vec![n, channels.count(), height, width],
        mean: Arc::new([]),
        std: Arc::new([]),
        workers: opts.workers,
    };
    let (tr, va) = match layout.train_count {
        Some(k) => ((0..k).collect(), (k..n).collect()),
        None if n < 2 => {
            return Err(file_err(
                dir,
                "one image: need at least 2 to split into train and validation",
            ));
        }
        None => split_indices(n, seed, IMAGES_STREAM),
    };
    let mut train = all.subset(&tr)?;
    let preprocessing = match fitted {
        Some(f) => f.clone(),
        None => {
            let (mean, std) = match &opts.normalize {
                Normalize::Fitted => train.channel_stats()?,
                Normalize::Fixed { mean, std } => (mean.clone(), std.clone()),
                Normalize::None => (Vec::new(), Vec::new()),
            };
            Preprocessing {
                mean,
                std,
                class_names: layout.classes,
                ..Preprocessing::default()
            }
        }
    };
    if !preprocessing.mean.is_empty() && preprocessing.mean.len() != channels.count() {
        return Err(super::spec_error(format!(
            "`images`: {} normalisation value(s) for {} channel(s) ({})",
            preprocessing.mean.len(),
            channels.count(),
            if fitted.is_some() {
                "the model's statistics; choose channels= to match"
            } else {
                "give one mean/std per channel"
            }
        )));
    }
    train.mean = preprocessing.mean.clone().into();
    train.std = preprocessing.std.clone().into();
    let valid = ImageList {
        items: va.iter().map(|&i| all.items[i]).collect::<Vec<_>>().into(),
        shape: vec![va.len(), channels.count(), height, width],
        ..train.clone()
    };
    let name = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "images".into());
    let part = |list: ImageList, idx: &[usize]| -> Result<Dataset> {
        let y = super::features::take(&labels, idx)?;
        Dataset::with_features(name.clone(), Features::Images(list), y, Some(classes))
    };
    let mut split = Split::new(part(train, &tr)?, part(valid, &va)?);
    split.preprocessing = preprocessing;
    split.notes = notes;
    Ok(split)
}

/// Image files for `predict`: `path` itself, or every image below a folder (sorted),
/// decoded as `[N, C, H, W]` for a model whose input is `[C, H, W]` (resized to it) and
/// normalised with the training statistics.
pub fn read_inputs(
    path: &Path,
    sample_shape: &[usize],
    stored: Option<&Preprocessing>,
) -> Result<(Tensor, Vec<PathBuf>)> {
    let [c, h, w] = *sample_shape else {
        return Err(file_err(
            path,
            format!("images need a model input of shape [C, H, W], not {sample_shape:?}"),
        ));
    };
    let channels = match c {
        1 => Channels::Gray,
        3 => Channels::Rgb,
        _ => {
            return Err(file_err(
                path,
                format!("images have 1 or 3 channels; the model's input has {c}"),
            ));
        }
    };
    let files = if path.is_dir() {
        let mut files = Vec::new();
        layout::images_under(path, 0, &mut files)?;
        files.sort();
        if files.is_empty() {
            return Err(file_err(
                path,
                "no images (.png, .jpg, .jpeg) in this folder",
            ));
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    let how = Decode {
        channels,
        height: h,
        width: w,
        resize: true,
    };
    let mut data = Vec::with_capacity(files.len() * how.bytes());
    for f in &files {
        data.extend(decode::decode(f, &how)?.iter().map(|&b| b as f32 / 255.0));
    }
    let mut x = Tensor::new(&[files.len(), c, h, w], data)?;
    if let Some(p) = stored {
        p.standardise(&mut x)?;
    }
    Ok((x, files))
}

#[cfg(test)]
mod tests;
