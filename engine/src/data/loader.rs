//! Batches over a [`Dataset`], one epoch at a time, assembled on background threads.
//!
//! The order of an epoch depends only on `(seed, epoch)`, so a resumed run sees the same
//! batches as an uninterrupted one. In-memory sets are gathered by one thread; image
//! folders by several workers (batch `k` by worker `k mod W`, received in order, as
//! PyTorch's `DataLoader` does), each decoding its batch's files and augmenting training
//! images with draws that depend on (seed, epoch, sample) alone, so the batches are the
//! same for any number of workers. Bounded channels keep a few batches ready while the
//! training step runs; dropping the iterator early disconnects them, which wakes and ends
//! the workers. A batch that cannot be made (an unreadable image) is an error item, and
//! the epoch ends after it.

use super::augment::Draw;
use super::{Dataset, Features};
use crate::error::{Error, Result};
use crate::graph::{Augment, Training};
use crate::tensor::{Rng, Tensor};
use crossbeam_channel::{Receiver, bounded};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Salt so the loader's shuffle stream differs from other streams derived from the same seed.
const SHUFFLE_SALT: u64 = 0x4c4f_4144_4552;

#[derive(Clone, Debug, PartialEq)]
pub struct LoaderOptions {
    pub batch_size: usize,
    /// Reshuffle every epoch (training); off keeps dataset order (evaluation).
    pub shuffle: bool,
    /// Skip the last batch when it would be smaller than `batch_size`.
    pub drop_last: bool,
    pub seed: u64,
    /// Batches assembled ahead of the consumer (at least 1), shared among the workers.
    pub prefetch: usize,
    /// Augment every sample (training on image folders only).
    pub augment: Option<Augment>,
}

impl Default for LoaderOptions {
    fn default() -> Self {
        LoaderOptions {
            batch_size: 32,
            shuffle: true,
            drop_last: false,
            seed: 0,
            prefetch: 4,
            augment: None,
        }
    }
}

impl LoaderOptions {
    /// How a graph's training set is walked, by `hyphae train` and the editor alike (one
    /// definition, so the two train identically): reshuffled every epoch from the seed, the
    /// last partial batch kept unless `drop_last`, four batches prefetched, augmented as
    /// `training.augment` says.
    pub fn training(t: &Training) -> Self {
        LoaderOptions {
            batch_size: t.batch_size,
            shuffle: true,
            drop_last: t.drop_last,
            seed: t.seed,
            prefetch: 4,
            augment: t.augment.clone(),
        }
    }

    /// How a set is walked for evaluation: in order, every sample, never augmented.
    pub fn evaluation(batch_size: usize) -> Self {
        LoaderOptions {
            batch_size,
            shuffle: false,
            prefetch: 2,
            ..LoaderOptions::default()
        }
    }
}

/// Walks a shared dataset in batches; cheap to create, one [`Epoch`] iterator per pass.
#[derive(Clone, Debug)]
pub struct Loader {
    data: Arc<Dataset>,
    opts: LoaderOptions,
}

impl Loader {
    pub fn new(data: Arc<Dataset>, opts: LoaderOptions) -> Result<Self> {
        if opts.batch_size == 0 {
            return Err(Error::config("loader", "batch_size must be at least 1"));
        }
        data.validate()?;
        if opts.augment.is_some() && !matches!(data.features, Features::Images(_)) {
            return Err(Error::config(
                "training.augment",
                format!(
                    "augmentation applies to image folders (`images:DIR`); dataset `{}` is \
                     not one: remove `augment` or train on an image folder",
                    data.name
                ),
            ));
        }
        Ok(Loader { data, opts })
    }

    pub fn dataset(&self) -> &Arc<Dataset> {
        &self.data
    }

    pub fn options(&self) -> &LoaderOptions {
        &self.opts
    }

    /// Threads that make batches: an image folder's `workers`, else one.
    pub fn workers(&self) -> usize {
        match &self.data.features {
            Features::Images(l) => l.workers().max(1),
            Features::Memory(_) => 1,
        }
    }

    pub fn batches_per_epoch(&self) -> usize {
        let (n, b) = (self.data.len(), self.opts.batch_size);
        if self.opts.drop_last {
            n / b
        } else {
            n.div_ceil(b)
        }
    }

    /// Sample order of `epoch`: a shuffle seeded by `(seed, epoch)`, or `0..n` unshuffled.
    pub fn order(&self, epoch: u64) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.data.len()).collect();
        if self.opts.shuffle {
            Rng::derived(self.opts.seed ^ SHUFFLE_SALT, epoch).shuffle(&mut idx);
        }
        idx
    }

    /// The batches of one epoch as `(features [B, ...], labels [B, ...])`, prefetched on
    /// background threads (assembled inline if a thread cannot be started).
    pub fn epoch(&self, epoch: u64) -> Epoch {
        self.epoch_from(epoch, 0)
    }

    /// [`Loader::epoch`] from batch `skip` on (a resumed epoch: earlier batches are not
    /// made at all).
    pub fn epoch_from(&self, epoch: u64, skip: usize) -> Epoch {
        let job = Arc::new(Job {
            data: Arc::clone(&self.data),
            batches: self.batch_indices(epoch),
            draw: self.opts.augment.clone().map(|augment| Draw {
                augment,
                seed: self.opts.seed,
                epoch,
            }),
        });
        let end = job.batches.len();
        let start = skip.min(end);
        let count = self.workers().min(end - start).max(1);
        let bound = (self.opts.prefetch / count).max(1);
        let mut workers = Vec::with_capacity(count);
        for w in 0..count {
            let (tx, rx) = bounded(bound);
            let job = Arc::clone(&job);
            let spawned = std::thread::Builder::new()
                .name(format!("hyphae-loader-{w}"))
                .spawn(move || {
                    for k in (start + w..end).step_by(count) {
                        let batch = job.make(k);
                        let failed = batch.is_err();
                        if tx.send(batch).is_err() || failed {
                            return; // the consumer dropped the iterator, or a batch failed
                        }
                    }
                });
            match spawned {
                Ok(handle) => workers.push(Worker {
                    rx: Some(rx),
                    handle: Some(handle),
                }),
                Err(_) => {
                    workers.clear(); // dropping joins the ones started
                    break;
                }
            }
        }
        Epoch {
            job,
            start,
            next: start,
            end,
            workers,
            failed: false,
        }
    }

    fn batch_indices(&self, epoch: u64) -> Vec<Vec<usize>> {
        let order = self.order(epoch);
        order
            .chunks(self.opts.batch_size)
            .take(self.batches_per_epoch())
            .map(<[usize]>::to_vec)
            .collect()
    }
}

/// What the workers of one epoch share.
struct Job {
    data: Arc<Dataset>,
    batches: Vec<Vec<usize>>,
    draw: Option<Draw>,
}

impl Job {
    fn make(&self, k: usize) -> Result<(Tensor, Tensor)> {
        let idx = self
            .batches
            .get(k)
            .ok_or_else(|| Error::Other(format!("loader: no batch {k}")))?;
        self.data.gather_with(idx, self.draw.as_ref())
    }
}

/// A worker thread and the channel it sends its batches on.
struct Worker {
    rx: Option<Receiver<Result<(Tensor, Tensor)>>>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Disconnect first so a worker blocked on a full channel wakes up and exits.
        drop(self.rx.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// One epoch of batches. Dropping it early stops and joins the worker threads.
pub struct Epoch {
    job: Arc<Job>,
    start: usize,
    next: usize,
    end: usize,
    /// Empty when no thread could be started: batches are then made inline.
    workers: Vec<Worker>,
    failed: bool,
}

impl Iterator for Epoch {
    type Item = Result<(Tensor, Tensor)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.next >= self.end {
            return None;
        }
        let k = self.next;
        self.next += 1;
        let item = if self.workers.is_empty() {
            self.job.make(k)
        } else {
            let w = &self.workers[(k - self.start) % self.workers.len()];
            w.rx.as_ref()
                .and_then(|rx| rx.recv().ok())
                .unwrap_or_else(|| Err(Error::Other("a loader thread ended early".into())))
        };
        self.failed = item.is_err();
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = if self.failed { 0 } else { self.end - self.next };
        (left, Some(left))
    }
}

impl ExactSizeIterator for Epoch {}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` samples whose feature row is `[i, -i]` and label `i`, so batches reveal indices.
    fn indexed(n: usize) -> Arc<Dataset> {
        Arc::new(
            Dataset::new(
                "idx",
                Tensor::from_fn(&[n, 2], |j| {
                    if j % 2 == 0 {
                        (j / 2) as f32
                    } else {
                        -((j / 2) as f32)
                    }
                }),
                Tensor::from_fn(&[n, 1], |i| i as f32),
                None,
            )
            .unwrap(),
        )
    }

    fn loader(n: usize, batch_size: usize, drop_last: bool, seed: u64) -> Loader {
        let opts = LoaderOptions {
            batch_size,
            drop_last,
            seed,
            prefetch: 2,
            ..LoaderOptions::default()
        };
        Loader::new(indexed(n), opts).unwrap()
    }

    fn epoch_ids(l: &Loader, epoch: u64) -> Vec<Vec<usize>> {
        l.epoch(epoch)
            .map(|b| {
                let (f, y) = b.unwrap();
                let ids: Vec<usize> = y.data().iter().map(|&v| v as usize).collect();
                // Features travel with their labels.
                for (row, &i) in f.data().chunks(2).zip(&ids) {
                    assert_eq!(row, &[i as f32, -(i as f32)]);
                }
                ids
            })
            .collect()
    }

    #[test]
    fn every_sample_once_per_epoch() {
        let l = loader(103, 10, false, 1);
        assert_eq!(l.batches_per_epoch(), 11);
        let batches = epoch_ids(&l, 0);
        assert_eq!(batches.len(), 11);
        assert!(batches[..10].iter().all(|b| b.len() == 10));
        assert_eq!(batches[10].len(), 3);
        let mut all: Vec<usize> = batches.concat();
        assert_ne!(all, (0..103).collect::<Vec<_>>(), "shuffled");
        all.sort_unstable();
        assert_eq!(all, (0..103).collect::<Vec<_>>());
    }

    #[test]
    fn batch_shapes() {
        let l = loader(5, 2, false, 0);
        let shapes: Vec<_> = l
            .epoch(0)
            .map(|b| b.unwrap())
            .map(|(f, y)| (f.shape().to_vec(), y.shape().to_vec()))
            .collect();
        assert_eq!(shapes[0], (vec![2, 2], vec![2, 1]));
        assert_eq!(shapes[2], (vec![1, 2], vec![1, 1]));
        assert_eq!(l.epoch(0).len(), 3);
    }

    #[test]
    fn order_depends_only_on_seed_and_epoch() {
        let a = loader(50, 8, false, 3);
        let b = loader(50, 8, false, 3);
        assert_eq!(epoch_ids(&a, 4), epoch_ids(&b, 4));
        assert_ne!(epoch_ids(&a, 4), epoch_ids(&a, 5), "epochs reshuffle");
        assert_ne!(
            epoch_ids(&a, 4),
            epoch_ids(&loader(50, 8, false, 9), 4),
            "seeds differ"
        );
    }

    #[test]
    fn no_shuffle_keeps_order() {
        let opts = LoaderOptions {
            batch_size: 4,
            shuffle: false,
            ..LoaderOptions::default()
        };
        let l = Loader::new(indexed(10), opts).unwrap();
        assert_eq!(epoch_ids(&l, 7).concat(), (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn drop_last() {
        let l = loader(103, 10, true, 1);
        assert_eq!(l.batches_per_epoch(), 10);
        let batches = epoch_ids(&l, 0);
        assert_eq!(batches.len(), 10);
        assert!(batches.iter().all(|b| b.len() == 10));
        // Smaller than one batch: nothing at all.
        assert_eq!(loader(3, 10, true, 1).epoch(0).count(), 0);
        assert_eq!(loader(3, 10, false, 1).epoch(0).count(), 1);
    }

    #[test]
    fn dropping_the_iterator_early_does_not_hang() {
        // Many batches and a small prefetch: the producer is blocked on a full channel.
        let l = loader(10_000, 1, false, 0);
        let mut it = l.epoch(0);
        assert!(it.next().is_some());
        std::thread::sleep(std::time::Duration::from_millis(20));
        drop(it); // joins the producer; a hang here fails the test by timeout
        // Never consumed at all.
        drop(l.epoch(1));
        // Fully consumed, then dropped.
        assert_eq!(loader(10, 3, false, 0).epoch(0).count(), 4);
    }

    #[test]
    fn rejects_bad_options_and_data() {
        let opts = LoaderOptions {
            batch_size: 0,
            ..LoaderOptions::default()
        };
        assert!(Loader::new(indexed(3), opts).is_err());
        let bad = Dataset {
            name: "bad".into(),
            features: Features::Memory(Tensor::zeros(&[3, 2])),
            labels: Tensor::zeros(&[2]),
            num_classes: None,
        };
        assert!(Loader::new(Arc::new(bad), LoaderOptions::default()).is_err());
    }
}
