//! Small synthetic sets for demos and tests: `xor`, `spirals`, `moons`, `sine`.
//!
//! Train and validation sets come from separate derived random streams of the same seed, so
//! they are independent draws of the same distribution and identical for a given seed.

use super::{Dataset, Options, Split};
use crate::error::Result;
use crate::tensor::{Rng, Tensor};
use std::f32::consts::PI;

/// Stream ids for `Rng::derived`: one per (set, split), so changing one set's generator
/// never changes another's data.
const SPIRALS: u64 = 0x5350_4952;
const MOONS: u64 = 0x4d4f_4f4e;
const SINE: u64 = 0x5349_4e45;
/// Most samples a generated tabular set may have (10 million: ~100 MB).
const MAX_SAMPLES: usize = 10_000_000;

pub(crate) fn load(kind: &str, mut opts: Options, seed: u64) -> Result<Split> {
    match kind {
        "xor" => {
            opts.finish(&[])?;
            let d = xor()?;
            Ok(Split::new(d.clone(), d))
        }
        "spirals" => {
            let classes = opts.take("classes", 2usize)?;
            if !(2..=3).contains(&classes) {
                return Err(super::spec_error(format!(
                    "`spirals`: classes={classes}, expected 2 or 3"
                )));
            }
            let (train, valid) = (
                opts.count("train", 2000, 1, MAX_SAMPLES)?,
                opts.count("valid", 500, 1, MAX_SAMPLES)?,
            );
            let noise = opts.noise(0.15)?;
            opts.finish(&["classes", "train", "valid", "noise"])?;
            Ok(Split::new(
                spirals(train, classes, noise, &mut Rng::derived(seed, SPIRALS))?,
                spirals(valid, classes, noise, &mut Rng::derived(seed, SPIRALS + 1))?,
            ))
        }
        "moons" => {
            let (train, valid) = (
                opts.count("train", 2000, 1, MAX_SAMPLES)?,
                opts.count("valid", 500, 1, MAX_SAMPLES)?,
            );
            let noise = opts.noise(0.1)?;
            opts.finish(&["train", "valid", "noise"])?;
            Ok(Split::new(
                moons(train, noise, &mut Rng::derived(seed, MOONS))?,
                moons(valid, noise, &mut Rng::derived(seed, MOONS + 1))?,
            ))
        }
        _ => {
            let (train, valid) = (
                opts.count("train", 1000, 1, MAX_SAMPLES)?,
                opts.count("valid", 250, 1, MAX_SAMPLES)?,
            );
            let noise = opts.noise(0.1)?;
            opts.finish(&["train", "valid", "noise"])?;
            Ok(Split::new(
                sine(train, noise, &mut Rng::derived(seed, SINE))?,
                sine(valid, noise, &mut Rng::derived(seed, SINE + 1))?,
            ))
        }
    }
}

/// The four XOR points with 0/1 targets as `[4, 1]` regression labels, so a 2-2-1 network
/// with MSE (the classic demo) trains on it directly.
pub fn xor() -> Result<Dataset> {
    Dataset::new(
        "xor",
        Tensor::new(&[4, 2], vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0])?,
        Tensor::new(&[4, 1], vec![0.0, 1.0, 1.0, 0.0])?,
        None,
    )
}

/// Balanced class labels (`i % classes`) in a shuffled order.
fn balanced_labels(n: usize, classes: usize, rng: &mut Rng) -> Vec<usize> {
    let mut labels: Vec<usize> = (0..n).map(|i| i % classes).collect();
    rng.shuffle(&mut labels);
    labels
}

fn classification(
    name: &str,
    points: Vec<f32>,
    labels: &[usize],
    classes: usize,
) -> Result<Dataset> {
    let n = labels.len();
    Dataset::new(
        name,
        Tensor::new(&[n, 2], points)?,
        Tensor::new(&[n], labels.iter().map(|&c| c as f32).collect())?,
        Some(classes),
    )
}

/// Interleaved spiral arms (1.5 turns each, radius 0.1..1), one per class, with Gaussian
/// noise of std `noise` radians on the angle (arms stay separable up to ~0.5).
pub fn spirals(n: usize, classes: usize, noise: f32, rng: &mut Rng) -> Result<Dataset> {
    let labels = balanced_labels(n, classes, rng);
    let mut pts = Vec::with_capacity(2 * n);
    for &c in &labels {
        let t = rng.unit();
        let r = 0.1 + 0.9 * t;
        let theta = 2.0 * PI * c as f32 / classes as f32 + 3.0 * PI * t + noise * rng.normal();
        pts.push(r * theta.cos());
        pts.push(r * theta.sin());
    }
    classification("spirals", pts, &labels, classes)
}

/// Two interleaving half circles (as scikit-learn's `make_moons`), centred on the origin,
/// with Gaussian position noise of std `noise`.
pub fn moons(n: usize, noise: f32, rng: &mut Rng) -> Result<Dataset> {
    let labels = balanced_labels(n, 2, rng);
    let mut pts = Vec::with_capacity(2 * n);
    for &c in &labels {
        let t = PI * rng.unit();
        let (x, y) = if c == 0 {
            (t.cos(), t.sin())
        } else {
            (1.0 - t.cos(), 0.5 - t.sin())
        };
        pts.push(x - 0.5 + noise * rng.normal());
        pts.push(y - 0.25 + noise * rng.normal());
    }
    classification("moons", pts, &labels, 2)
}

/// Regression: `y = sin(x) + noise·N(0,1)`, x uniform in [-π, π]; features and labels `[n, 1]`.
pub fn sine(n: usize, noise: f32, rng: &mut Rng) -> Result<Dataset> {
    let xs: Vec<f32> = (0..n).map(|_| rng.uniform(-PI, PI)).collect();
    let ys: Vec<f32> = xs.iter().map(|x| x.sin() + noise * rng.normal()).collect();
    Dataset::new(
        "sine",
        Tensor::new(&[n, 1], xs)?,
        Tensor::new(&[n, 1], ys)?,
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::super::load;
    use super::*;

    #[test]
    fn xor_points() {
        let s = load("xor", 0).unwrap();
        assert_eq!(s.train.features.shape(), &[4, 2]);
        assert_eq!(s.train.labels.shape(), &[4, 1]);
        assert_eq!(s.train.labels.data(), &[0.0, 1.0, 1.0, 0.0]);
        assert_eq!(s.train, s.valid);
        assert_eq!(s.train.num_classes, None);
        assert!(load("xor:train=3", 0).is_err());
    }

    fn check_classification(spec: &str, classes: usize, train: usize, valid: usize) {
        let s = load(spec, 7).unwrap();
        assert_eq!(s.train.features.shape(), &[train, 2], "{spec}");
        assert_eq!(s.train.labels.shape(), &[train], "{spec}");
        assert_eq!(s.valid.features.shape(), &[valid, 2], "{spec}");
        assert_eq!(s.train.num_classes, Some(classes));
        for d in [&s.train, &s.valid] {
            let counts = d.class_counts().unwrap();
            let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            assert!(hi - lo <= 1, "{spec}: unbalanced {counts:?}");
            assert_eq!(d.non_finite(), 0);
            // Points stay in a sensible box around the origin.
            assert!(
                d.features.tensor().unwrap().max() < 2.5
                    && d.features.tensor().unwrap().min() > -2.5,
                "{spec}"
            );
        }
        assert_ne!(s.train.features, s.valid.features.clone());
        // Same seed → identical data; another seed → different data.
        assert_eq!(load(spec, 7).unwrap(), s);
        assert_ne!(load(spec, 8).unwrap().train.features, s.train.features);
    }

    impl Dataset {
        fn non_finite(&self) -> usize {
            self.features.tensor().unwrap().non_finite_count() + self.labels.non_finite_count()
        }
    }

    #[test]
    fn spirals_shapes_balance_determinism() {
        check_classification("spirals", 2, 2000, 500);
        check_classification("spirals:classes=3,train=300,valid=90", 3, 300, 90);
        assert!(load("spirals:classes=5", 0).is_err());
    }

    #[test]
    fn moons_shapes_balance_determinism() {
        check_classification("moons", 2, 2000, 500);
        check_classification("moons:train=101:valid=11:noise=0", 2, 101, 11);
    }

    #[test]
    fn moons_without_noise_lie_on_their_arcs() {
        let d = load("moons:noise=0", 1).unwrap().train;
        for (p, &c) in d
            .features
            .tensor()
            .unwrap()
            .data()
            .chunks(2)
            .zip(d.labels.data())
        {
            let (x, y) = (p[0] + 0.5, p[1] + 0.25);
            let (cx, cy) = if c == 0.0 { (0.0, 0.0) } else { (1.0, 0.5) };
            let r = ((x - cx).powi(2) + (y - cy).powi(2)).sqrt();
            assert!((r - 1.0).abs() < 1e-4, "{r}");
        }
    }

    #[test]
    fn sine_regression() {
        let s = load("sine", 3).unwrap();
        assert_eq!(s.train.features.shape(), &[1000, 1]);
        assert_eq!(s.train.labels.shape(), &[1000, 1]);
        assert_eq!(s.valid.features.shape(), &[250, 1]);
        assert_eq!(s.train.num_classes, None);
        assert!(
            s.train.features.tensor().unwrap().min() >= -PI
                && s.train.features.tensor().unwrap().max() <= PI
        );
        // Residuals around sin(x) have roughly the noise std.
        let res: Vec<f32> = (s.train.features.tensor().unwrap().data().iter())
            .zip(s.train.labels.data())
            .map(|(x, y)| y - x.sin())
            .collect();
        let var = res.iter().map(|r| r * r).sum::<f32>() / res.len() as f32;
        assert!((var.sqrt() - 0.1).abs() < 0.02, "{}", var.sqrt());
        assert_eq!(load("sine", 3).unwrap(), s);
        assert_ne!(load("sine", 4).unwrap(), s);
    }
}
