//! BatchNorm1d over `[N, C]` or `[N, C, L]`: per-channel normalisation over N (and L).
//! The maths lives in the shared batch-norm core (`kernels.rs`); this file only maps shapes.

use super::BatchNormKind;
use super::kernels::BnCore;
use crate::error::{Error, Result};
use crate::ops::support::defaults;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNorm1d {
    /// Channel count C; inferred from the input when absent, checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_features: Option<usize>,
    #[serde(default = "defaults::eps")]
    pub eps: f32,
    #[serde(default = "defaults::momentum")]
    pub momentum: f32,
    #[serde(default = "defaults::yes")]
    pub affine: bool,
    #[serde(default = "defaults::yes")]
    pub track_running_stats: bool,
}

impl Default for BatchNorm1d {
    fn default() -> Self {
        BatchNorm1d {
            num_features: None,
            eps: defaults::eps(),
            momentum: defaults::momentum(),
            affine: true,
            track_running_stats: true,
        }
    }
}

const OP: &str = "BatchNorm1d";

impl BatchNormKind for BatchNorm1d {
    fn core(&self) -> BnCore {
        BnCore {
            op: OP,
            num_features: self.num_features,
            eps: self.eps,
            momentum: self.momentum,
            affine: self.affine,
            track_running_stats: self.track_running_stats,
        }
    }

    /// `(N, C, 1)` of an `[N, C]` input, `(N, C, L)` of an `[N, C, L]` one.
    fn nlc(&self, shape: &[usize]) -> Result<(usize, usize, usize)> {
        match *shape {
            [n, c] => Ok((n, c, 1)),
            [n, c, l] => Ok((n, c, l)),
            _ => Err(Error::bad_shape(OP, shape, "expected [N, C] or [N, C, L]")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    /// Params with weight/bias away from their (1, 0) init and plausible running stats,
    /// so the affine and eval paths are exercised non-trivially.
    fn params_for(bn: &BatchNorm1d, shape: &[usize], seed: u64) -> Vec<Tensor> {
        let specs = bn.params(&[shape]).unwrap();
        let mut rng = Rng::seed(seed);
        specs
            .iter()
            .map(|s| match s.name {
                "weight" => Tensor::uniform(&s.shape, 0.5, 1.5, &mut rng),
                "running_var" => Tensor::uniform(&s.shape, 0.5, 2.0, &mut rng),
                _ => Tensor::normal(&s.shape, 0.0, 0.5, &mut rng),
            })
            .collect()
    }

    #[test]
    fn gradients_train_and_eval_2d_and_3d() {
        for shape in [vec![6, 4], vec![4, 3, 5]] {
            for (affine, track) in [(true, true), (false, true), (true, false)] {
                let bn = BatchNorm1d {
                    affine,
                    track_running_stats: track,
                    ..BatchNorm1d::default()
                };
                let x = randn(&shape, 3);
                let params = params_for(&bn, &shape, 4);
                let what = format!("{shape:?} affine={affine} track={track}");
                check_in_train_and_eval(&bn, &x, &params, &what);
            }
        }
    }

    #[test]
    fn train_mode_normalises_each_channel_and_updates_running_stats() {
        let bn = BatchNorm1d::default();
        let shape = [8, 3];
        let x = randn(&shape, 7).map(|v| 3.0 * v + 10.0);
        let params = default_params(&bn, &[&shape], 0);
        let p: Vec<&Tensor> = params.iter().collect();
        let f = bn.forward(&Ctx::train(0), &[&x], &p).unwrap();
        let (xd, yd) = (x.data(), f.output.data());
        for ch in 0..3 {
            let col: Vec<f64> = (0..8).map(|n| yd[n * 3 + ch] as f64).collect();
            let mean = col.iter().sum::<f64>() / 8.0;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 8.0;
            assert!(mean.abs() < 1e-5, "{mean}");
            assert!((var - 1.0).abs() < 1e-4, "{var}");

            let xs: Vec<f64> = (0..8).map(|n| xd[n * 3 + ch] as f64).collect();
            let xm = xs.iter().sum::<f64>() / 8.0;
            let xv = xs.iter().map(|v| (v - xm).powi(2)).sum::<f64>() / 7.0;
            let (ri, rm) = &f.buffer_updates[0];
            let (vi, rv) = &f.buffer_updates[1];
            assert_eq!((*ri, *vi), (2, 3));
            assert!((rm.data()[ch] as f64 - 0.1 * xm).abs() < 1e-5);
            assert!((rv.data()[ch] as f64 - (0.9 + 0.1 * xv)).abs() < 1e-4);
        }
        // Eval mode makes no buffer updates.
        let f = bn.forward(&Ctx::eval(), &[&x], &p).unwrap();
        assert!(f.buffer_updates.is_empty());
    }

    #[test]
    fn shape_errors() {
        let bn = BatchNorm1d {
            num_features: Some(4),
            ..BatchNorm1d::default()
        };
        let err = shape_error(&bn, &[&[8, 5]]);
        assert_mentions(&err, &["BatchNorm1d", "[8, 5]", "[4]"]);
        let err = shape_error(&bn, &[&[8, 4, 2, 2]]);
        assert_mentions(&err, &["BatchNorm1d", "[8, 4, 2, 2]"]);
        // One value per channel cannot be normalised with batch statistics.
        let x = Tensor::zeros(&[1, 4]);
        let params = default_params(&bn, &[&[1, 4]], 0);
        let p: Vec<&Tensor> = params.iter().collect();
        let err = bn
            .forward(&Ctx::train(0), &[&x], &p)
            .unwrap_err()
            .to_string();
        assert_mentions(&err, &["BatchNorm1d", "[1, 4]"]);
        assert!(bn.forward(&Ctx::eval(), &[&x], &p).is_ok());
        // Wrong parameter shape.
        let w = Tensor::ones(&[3]);
        let err = bn
            .forward(
                &Ctx::eval(),
                &[&Tensor::zeros(&[2, 4])],
                &[&w, p[1], p[2], p[3]],
            )
            .unwrap_err()
            .to_string();
        assert_mentions(&err, &["weight", "[3]"]);
    }
}
