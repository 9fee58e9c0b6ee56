//! Tensor statistics for the live views: cheap summaries of activations and gradients.

use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// Bins of every histogram: enough to see a shape, small enough to send every few steps.
pub const HIST_BINS: usize = 32;

/// A fixed-bin histogram over [lo, hi] of the finite values.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    pub lo: f32,
    pub hi: f32,
    pub counts: Vec<u32>,
}

/// Summary of one tensor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TensorStats {
    pub mean: f32,
    pub std: f32,
    pub min: f32,
    pub max: f32,
    /// Fraction of exact zeros (dead ReLU units show up here).
    pub zero_fraction: f32,
    /// NaN and ±Inf elements.
    pub non_finite: usize,
    pub histogram: Histogram,
}

/// Gradient and update statistics of one parameter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ParamStats {
    pub grad_norm: f64,
    pub weight_norm: f64,
    /// ‖update‖ / ‖weight‖ of the last optimizer step (healthy: around 1e-3).
    pub update_ratio: f64,
    pub grad: TensorStats,
}

impl TensorStats {
    /// Statistics of a tensor in two passes (moments, then histogram), f64 accumulation.
    pub fn of(t: &Tensor) -> TensorStats {
        let data = t.data();
        let mut n = 0usize;
        let mut sum = 0.0f64;
        let mut sum_sq = 0.0f64;
        let mut min = f32::INFINITY;
        let mut max = f32::NEG_INFINITY;
        let mut zeros = 0usize;
        let mut non_finite = 0usize;
        for &x in data {
            if !x.is_finite() {
                non_finite += 1;
                continue;
            }
            n += 1;
            sum += x as f64;
            sum_sq += (x as f64) * (x as f64);
            min = min.min(x);
            max = max.max(x);
            if x == 0.0 {
                zeros += 1;
            }
        }
        if n == 0 {
            return TensorStats {
                non_finite,
                ..TensorStats::default()
            };
        }
        let mean = sum / n as f64;
        let var = (sum_sq / n as f64 - mean * mean).max(0.0);
        let mut counts = vec![0u32; HIST_BINS];
        let width = (max - min) as f64;
        for &x in data {
            if x.is_finite() {
                let bin = if width > 0.0 {
                    (((x - min) as f64 / width) * HIST_BINS as f64) as usize
                } else {
                    HIST_BINS / 2
                };
                counts[bin.min(HIST_BINS - 1)] += 1;
            }
        }
        TensorStats {
            mean: mean as f32,
            std: var.sqrt() as f32,
            min,
            max,
            zero_fraction: zeros as f32 / data.len() as f32,
            non_finite,
            histogram: Histogram {
                lo: min,
                hi: max,
                counts,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_a_small_tensor() {
        let t = Tensor::new(&[5], vec![0.0, 1.0, 2.0, 3.0, f32::NAN]).unwrap();
        let s = TensorStats::of(&t);
        assert_eq!(s.mean, 1.5);
        assert!((s.std - 1.118034).abs() < 1e-5);
        assert_eq!((s.min, s.max), (0.0, 3.0));
        assert_eq!(s.non_finite, 1);
        assert!((s.zero_fraction - 0.2).abs() < 1e-6);
        assert_eq!(s.histogram.counts.iter().sum::<u32>(), 4);
        assert_eq!(s.histogram.counts[HIST_BINS - 1], 1);
    }
}
