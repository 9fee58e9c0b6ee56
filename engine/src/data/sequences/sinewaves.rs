//! `sinewaves[:seq=N,train=N,valid=N]`: `sin(phase + 0.3·k)` over N + 1 steps with a random
//! phase per wave (train and validation phases from separate seeded streams); input the
//! first N values `[N, 1]`, target the next value at every step.

use crate::data::{Dataset, Options, Split};
use crate::error::Result;
use crate::tensor::{Rng, Tensor};
use std::f32::consts::TAU;

const STREAM: u64 = 0x5349_4e57;
/// Radians per step: a period of about 21 steps.
pub const STEP: f32 = 0.3;
const MAX_WAVES: usize = 1_000_000;

/// `len` values of the wave with this phase.
pub fn wave(phase: f32, len: usize) -> Vec<f32> {
    (0..len).map(|k| (phase + STEP * k as f32).sin()).collect()
}

/// The phases of the training (`valid` false) or validation waves of this seed.
pub fn phases(n: usize, seed: u64, valid: bool) -> Vec<f32> {
    let mut rng = Rng::derived(seed, STREAM + valid as u64);
    (0..n).map(|_| rng.uniform(0.0, TAU)).collect()
}

fn waves(n: usize, steps: usize, seed: u64, valid: bool) -> Result<Dataset> {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for p in phases(n, seed, valid) {
        let w = wave(p, steps + 1);
        x.extend_from_slice(&w[..steps]);
        y.extend_from_slice(&w[1..]);
    }
    Dataset::new(
        "sinewaves",
        Tensor::new(&[n, steps, 1], x)?,
        Tensor::new(&[n, steps, 1], y)?,
        None,
    )
}

/// (steps, validation waves) of a spec's options.
pub(crate) fn sizes(opts: &mut Options) -> Result<(usize, usize)> {
    Ok((
        opts.count("seq", 40, 2, 100_000)?,
        opts.count("valid", 100, 1, MAX_WAVES)?,
    ))
}

pub(crate) fn load(mut opts: Options, seed: u64) -> Result<Split> {
    let (steps, valid) = sizes(&mut opts)?;
    let train = opts.count("train", 1000, 1, MAX_WAVES)?;
    opts.finish(&["seq", "train", "valid"])?;
    Ok(Split::new(
        waves(train, steps, seed, false)?,
        waves(valid, steps, seed, true)?,
    ))
}

#[cfg(test)]
mod tests {
    use crate::data::load;

    #[test]
    fn waves_one_step_ahead() {
        let s = load("sinewaves:seq=5,train=3,valid=2", 1).unwrap();
        assert_eq!(s.train.features.shape(), &[3, 5, 1]);
        assert_eq!(s.valid.labels.shape(), &[2, 5, 1]);
        let x = s.train.features.tensor().unwrap();
        assert_eq!(x.data()[1..5], s.train.labels.data()[..4]);
        assert_ne!(x.data()[0], s.train.features.tensor().unwrap().data()[5]);
        assert!(load("sinewaves:seq=1", 0).is_err());
    }
}
