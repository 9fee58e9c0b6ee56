//! Seeded random numbers. One small wrapper so every random draw in hyphae (weight init,
//! dropout masks, shuffling, generated data) comes from a portable, reproducible stream:
//! the same seed gives the same numbers on every machine and every run.

use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A reproducible random stream (ChaCha8: fast, portable, and its position can be saved).
#[derive(Clone, Debug)]
pub struct Rng {
    inner: ChaCha8Rng,
    /// A second normal sample left over from Box–Muller, so draws come in pairs cheaply.
    spare_normal: Option<f32>,
}

impl Rng {
    pub fn seed(seed: u64) -> Self {
        Rng {
            inner: ChaCha8Rng::seed_from_u64(seed),
            spare_normal: None,
        }
    }

    /// A stream derived from a base seed and a stream id, e.g. (run seed, node index):
    /// independent streams without having to thread one generator through everything.
    pub fn derived(seed: u64, stream: u64) -> Self {
        let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // splitmix64 finaliser: neighbouring stream ids give unrelated seeds.
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng::seed(z)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        // 24 random mantissa bits: exactly representable, never 1.0.
        (self.inner.next_u32() >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        let u1 = (self.unit() as f64).max(1e-12);
        let u2 = self.unit() as f64;
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = std::f64::consts::TAU * u2;
        self.spare_normal = Some((r * theta.sin()) as f32);
        (r * theta.cos()) as f32
    }

    /// Uniform integer in [0, n); n must be > 0.
    pub fn below(&mut self, n: usize) -> usize {
        // Lemire's multiply-shift: unbiased enough for shuffles of < 2^32 items.
        ((self.inner.next_u32() as u64 * n as u64) >> 32) as usize
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::seed(7);
        let mut b = Rng::seed(7);
        for _ in 0..100 {
            assert_eq!(a.normal().to_bits(), b.normal().to_bits());
        }
        let mut c = Rng::seed(8);
        assert_ne!(Rng::seed(7).next_u64(), c.next_u64());
    }

    #[test]
    fn normal_has_unit_moments() {
        let mut r = Rng::seed(1);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal() as f64).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "var {var}");
    }

    #[test]
    fn unit_is_in_range() {
        let mut r = Rng::seed(3);
        for _ in 0..10_000 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
