//! BatchNorm2d over `[N, C, H, W]`: per-channel normalisation over N, H and W. The maths
//! lives in the shared batch-norm core (`kernels.rs`); this file only maps shapes.

use super::BatchNormKind;
use super::kernels::BnCore;
use crate::error::{Error, Result};
use crate::ops::support::defaults;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNorm2d {
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

impl Default for BatchNorm2d {
    fn default() -> Self {
        BatchNorm2d {
            num_features: None,
            eps: defaults::eps(),
            momentum: defaults::momentum(),
            affine: true,
            track_running_stats: true,
        }
    }
}

const OP: &str = "BatchNorm2d";

impl BatchNormKind for BatchNorm2d {
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

    /// `(N, C, H·W)` of an `[N, C, H, W]` input.
    fn nlc(&self, shape: &[usize]) -> Result<(usize, usize, usize)> {
        let &[n, c, h, w] = shape else {
            return Err(Error::bad_shape(OP, shape, "expected [N, C, H, W]"));
        };
        Ok((n, c, h * w))
    }
}

#[cfg(test)]
mod tests {
    use super::super::kernels::BnView;
    use super::*;
    use crate::ops::Init;
    use crate::ops::testing::*;

    fn bn_and_params() -> (BatchNorm2d, Vec<Tensor>) {
        let t = |v: &[f32]| Tensor::new(&[3], v.to_vec()).unwrap();
        let params = vec![
            t(&[1.5, -0.5, 2.0]),
            t(&[0.1, 0.2, -0.3]),
            t(&[0.2, -0.1, 0.5]),
            t(&[1.5, 0.8, 2.0]),
        ];
        (BatchNorm2d::default(), params)
    }

    fn sample_input() -> Tensor {
        #[rustfmt::skip]
        let x = vec![0.5, -1.2, 2.0, 0.3, 1.1, 0.0, -0.7, 2.4, -2.2, 0.8, 1.6, -0.4,
                     1.9, 0.2, -1.5, 0.9, -0.3, 1.4, 0.6, -1.1, 3.0, -0.9, 0.1, 1.2];
        Tensor::new(&[2, 3, 2, 2], x).unwrap()
    }

    // PyTorch reference (/tmp/torchref/bin/python):
    //   import torch
    //   x = torch.tensor([0.5, -1.2, 2.0, 0.3, 1.1, 0.0, -0.7, 2.4, -2.2, 0.8, 1.6, -0.4,
    //                     1.9, 0.2, -1.5, 0.9, -0.3, 1.4, 0.6, -1.1, 3.0, -0.9, 0.1, 1.2]
    //                    ).reshape(2, 3, 2, 2)
    //   bn = torch.nn.BatchNorm2d(3)
    //   with torch.no_grad():
    //       bn.weight.copy_(torch.tensor([1.5, -0.5, 2.0]))
    //       bn.bias.copy_(torch.tensor([0.1, 0.2, -0.3]))
    //       bn.running_mean.copy_(torch.tensor([0.2, -0.1, 0.5]))
    //       bn.running_var.copy_(torch.tensor([1.5, 0.8, 2.0]))
    //   bn.eval(); print("eval", *bn(x).detach().numpy().ravel(), sep=", ")
    //   bn.train(); print("train", *bn(x).detach().numpy().ravel(), sep=", ")
    //   print("rm", *bn.running_mean.numpy(), sep=", ")
    //   print("rv", *bn.running_var.numpy(), sep=", ")
    #[rustfmt::skip]
    const TORCH_EVAL: [f32; 24] = [
        0.46742222, -1.6146371, 2.3045332, 0.22247408, -0.4708162, 0.14409865,
        0.5354081, -1.1975337, -4.118367, 0.124262996, 1.255631, -1.572789,
        2.1820593, 0.099999994, -1.9820592, 0.9573185, 0.31180272, -0.63852024,
        -0.19130945, 0.7590135, 3.235525, -2.2798939, -0.865684, 0.689947,
    ];
    #[rustfmt::skip]
    const TORCH_TRAIN: [f32; 24] = [
        0.24205756, -1.9045898, 2.136158, -0.010489163, -0.10753256, 0.3936316,
        0.7125543, -0.6998175, -3.7494547, 0.2306853, 1.292056, -1.3613707,
        2.0098846, -0.13676254, -2.2834098, 0.747151, 0.5303127, -0.24421367,
        0.12026933, 0.8947958, 3.1494546, -2.0247273, -0.698014, 0.76137066,
    ];

    #[test]
    fn forward_matches_pytorch() {
        let (bn, params) = bn_and_params();
        let x = sample_input();
        let p: Vec<&Tensor> = params.iter().collect();

        let f = bn.forward(&Ctx::eval(), &[&x], &p).unwrap();
        assert_eq!(f.output.shape(), &[2, 3, 2, 2]);
        assert_close_abs(f.output.data(), &TORCH_EVAL, 1e-5);
        assert!(f.buffer_updates.is_empty());

        let f = bn.forward(&Ctx::train(0), &[&x], &p).unwrap();
        assert_close_abs(f.output.data(), &TORCH_TRAIN, 1e-5);
        assert_eq!(f.buffer_updates.len(), 2);
        let (ri, rm) = &f.buffer_updates[0];
        let (vi, rv) = &f.buffer_updates[1];
        assert_eq!((*ri, *vi), (2, 3));
        assert_close_abs(rm.data(), &[0.21875, -0.047499996, 0.48999998], 1e-6);
        assert_close_abs(rv.data(), &[1.5112678, 0.8576428, 2.0597143], 1e-5);
    }

    /// Train-mode forward and input gradient of an `[n, c, l]` batch norm, naively in f64.
    fn naive_train(x: &[f32], g: &[f32], v: BnView, w: &[f32], b: &[f32]) -> (Vec<f64>, Vec<f64>) {
        let (n, c, l) = (v.n, v.c, v.l);
        let idx = |i: usize, ch: usize, j: usize| (i * c + ch) * l + j;
        let m = (n * l) as f64;
        let mut y = vec![0.0; x.len()];
        let mut dx = vec![0.0; x.len()];
        for ch in 0..c {
            let all = || (0..n).flat_map(move |i| (0..l).map(move |j| idx(i, ch, j)));
            let mean = all().map(|k| x[k] as f64).sum::<f64>() / m;
            let var = all().map(|k| (x[k] as f64 - mean).powi(2)).sum::<f64>() / m;
            let is = 1.0 / (var + 1e-5).sqrt();
            let xh = |k: usize| (x[k] as f64 - mean) * is;
            let sg = all().map(|k| g[k] as f64).sum::<f64>();
            let sgx = all().map(|k| g[k] as f64 * xh(k)).sum::<f64>();
            for k in all() {
                y[k] = xh(k) * w[ch] as f64 + b[ch] as f64;
                dx[k] = w[ch] as f64 * is * (g[k] as f64 - sg / m - xh(k) * sgx / m);
            }
        }
        (y, dx)
    }

    #[test]
    fn serial_and_parallel_kernels_match_naive_reference() {
        // Views cover the serial path, the parallel l > 1 path and the parallel l = 1 path
        // (rows of channels), including groups that do not start at channel 0.
        for (n, c, l) in [
            (3, 4, 5),
            (6, 5, 1),
            (4, 3, 9216),
            (5000, 16, 1),
            (3000, 7, 5),
        ] {
            let v = BnView { n, c, l };
            let core = BatchNorm2d::default().core();
            let shape = [n, c, l];
            let x = randn(&shape, 11).map(|t| 2.0 * t + 5.0);
            let g = randn(&shape, 12);
            let mut rng = crate::tensor::Rng::seed(13);
            let w = Tensor::uniform(&[c], 0.5, 1.5, &mut rng);
            let b = Tensor::uniform(&[c], -1.0, 1.0, &mut rng);
            let (rm, rv) = (Tensor::zeros(&[c]), Tensor::ones(&[c]));
            let p = [&w, &b, &rm, &rv];
            let f = core.forward(&Ctx::train(0), &x, v, &p).unwrap();
            let bw = core.backward(&Ctx::train(0), &x, v, &p, &f, &g).unwrap();
            let dx = bw.inputs[0].as_ref().unwrap();
            let (y_ref, dx_ref) = naive_train(x.data(), g.data(), v, w.data(), b.data());
            for k in 0..x.numel() {
                assert!(
                    (f.output.data()[k] as f64 - y_ref[k]).abs() < 1e-4,
                    "{v:?} y[{k}]"
                );
                assert!(
                    (dx.data()[k] as f64 - dx_ref[k]).abs() < 1e-4,
                    "{v:?} dx[{k}]"
                );
            }
        }
    }

    #[test]
    fn gradients_train_and_eval() {
        let shape = [4, 3, 2, 3];
        let x = randn(&shape, 5);
        for (affine, track) in [(true, true), (false, true), (true, false), (false, false)] {
            let bn = BatchNorm2d {
                affine,
                track_running_stats: track,
                ..BatchNorm2d::default()
            };
            let (_, all) = bn_and_params();
            let params: Vec<Tensor> = match (affine, track) {
                (true, true) => all,
                (false, true) => all[2..].to_vec(),
                (true, false) => all[..2].to_vec(),
                (false, false) => vec![],
            };
            let what = format!("affine={affine} track={track}");
            check_in_train_and_eval(&bn, &x, &params, &what);
        }
    }

    #[test]
    fn params_follow_pytorch() {
        let bn = BatchNorm2d::default();
        let specs = bn.params(&[&[2, 5, 4, 4]]).unwrap();
        let names: Vec<_> = specs
            .iter()
            .map(|s| (s.name, s.kind, s.init.clone()))
            .collect();
        use crate::ops::ParamKind::{Buffer, Trainable};
        assert_eq!(
            names,
            vec![
                ("weight", Trainable, Init::Ones),
                ("bias", Trainable, Init::Zeros),
                ("running_mean", Buffer, Init::Zeros),
                ("running_var", Buffer, Init::Ones),
            ]
        );
        assert!(specs.iter().all(|s| s.shape == [5]));
    }

    #[test]
    fn shape_and_config_errors() {
        let bn = BatchNorm2d {
            num_features: Some(3),
            ..BatchNorm2d::default()
        };
        let err = shape_error(&bn, &[&[2, 4, 5, 5]]);
        assert_mentions(&err, &["BatchNorm2d", "[2, 4, 5, 5]", "[3]"]);
        let err = shape_error(&bn, &[&[2, 3, 5]]);
        assert_mentions(&err, &["BatchNorm2d", "[2, 3, 5]"]);
        let bad = BatchNorm2d {
            momentum: 1.5,
            ..BatchNorm2d::default()
        };
        let err = shape_error(&bad, &[&[2, 3, 5, 5]]);
        assert_mentions(&err, &["BatchNorm2d", "momentum"]);
        // [1, C, 1, 1] in train mode: one value per channel.
        let x = Tensor::zeros(&[1, 3, 1, 1]);
        let params = default_params(&bn, &[&[1, 3, 1, 1]], 0);
        let p: Vec<&Tensor> = params.iter().collect();
        let err = bn
            .forward(&Ctx::train(0), &[&x], &p)
            .unwrap_err()
            .to_string();
        assert_mentions(&err, &["BatchNorm2d", "[1, 3, 1, 1]"]);
    }
}
