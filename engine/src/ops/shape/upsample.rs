//! Upsample: `[*, H, W] → [*, H·sh, W·sw]` by integer factors, nearest or bilinear
//! (PyTorch's `nn.Upsample(scale_factor, mode)` with `align_corners=False`).
//!
//! Both modes are one sum: each output pixel reads at most two rows × two columns of the
//! input with fixed weights, taken from a per-axis table (nearest: one tap of weight 1;
//! bilinear: source `(o + ½)/s − ½` clamped at 0, PyTorch's half-pixel rule). Backward
//! scatters the same weights, so forward and backward cannot disagree.

use crate::error::{Error, Result};
use crate::ops::Size2;
use crate::ops::support::size2::check_extent;
use crate::ops::{Backward, BackwardArgs, Ctx, Forward, Layer, check_arity, check_grad_output};
use crate::tensor::{PARALLEL_MIN_ELEMS, Tensor};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// How an output pixel is computed from the input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpsampleMode {
    /// Copy the input pixel the output pixel falls in.
    #[default]
    Nearest,
    /// Interpolate the four nearest input pixels (half-pixel centres).
    Bilinear,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upsample {
    #[serde(default = "two")]
    pub scale_factor: Size2,
    #[serde(default)]
    pub mode: UpsampleMode,
}

fn two() -> Size2 {
    Size2::Square(2)
}

impl Default for Upsample {
    fn default() -> Self {
        Upsample {
            scale_factor: two(),
            mode: UpsampleMode::Nearest,
        }
    }
}

const OP: &str = "Upsample";

/// The two input taps `(index, weight)` of each output position along one axis.
type Taps = Vec<[(usize, f32); 2]>;

fn taps(mode: UpsampleMode, input: usize, scale: usize) -> Taps {
    (0..input * scale)
        .map(|o| match mode {
            UpsampleMode::Nearest => [(o / scale, 1.0), (o / scale, 0.0)],
            UpsampleMode::Bilinear => {
                let src = ((o as f32 + 0.5) / scale as f32 - 0.5).max(0.0);
                let i0 = (src as usize).min(input - 1);
                let i1 = (i0 + 1).min(input - 1);
                let l1 = src - i0 as f32;
                [(i0, 1.0 - l1), (i1, l1)]
            }
        })
        .collect()
}

impl Upsample {
    /// `(H, W, output shape)` for a valid input.
    fn dims(&self, s: &[usize]) -> Result<(usize, usize, Vec<usize>)> {
        check_extent(OP, "scale_factor", self.scale_factor, 1)?;
        if s.len() < 3 {
            return Err(Error::bad_shape(OP, s, "expected [N, C, H, W]"));
        }
        let k = s.len();
        let (h, w) = (s[k - 2], s[k - 1]);
        if h == 0 || w == 0 {
            return Err(Error::bad_shape(OP, s, "the image is empty"));
        }
        let too_large = || {
            Error::config(
                OP,
                format!("scale_factor makes the {h}×{w} input too large to address"),
            )
        };
        let oh = h.checked_mul(self.scale_factor.h()).ok_or_else(too_large)?;
        let ow = w.checked_mul(self.scale_factor.w()).ok_or_else(too_large)?;
        let mut out = s[..k - 2].to_vec();
        out.extend([oh, ow]);
        Ok((h, w, out))
    }

    fn tables(&self, h: usize, w: usize) -> (Taps, Taps) {
        (
            taps(self.mode, h, self.scale_factor.h()),
            taps(self.mode, w, self.scale_factor.w()),
        )
    }
}

/// Runs `work(input plane, output plane)` over every image plane, in parallel when large.
fn per_plane<A: Sync, B: Send>(
    a: &[A],
    a_plane: usize,
    b: &mut [B],
    b_plane: usize,
    work: impl Fn(&[A], &mut [B]) + Sync + Send,
) {
    if a.len() + b.len() >= PARALLEL_MIN_ELEMS {
        a.par_chunks(a_plane)
            .zip(b.par_chunks_mut(b_plane))
            .for_each(|(x, y)| work(x, y));
    } else {
        a.chunks(a_plane)
            .zip(b.chunks_mut(b_plane))
            .for_each(|(x, y)| work(x, y));
    }
}

impl Layer for Upsample {
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        Ok(self.dims(inputs[0])?.2)
    }

    fn flops(&self, _inputs: &[&[usize]], output: &[usize]) -> u64 {
        let per_pixel = match self.mode {
            UpsampleMode::Nearest => 0,
            UpsampleMode::Bilinear => 8,
        };
        per_pixel * output.iter().product::<usize>() as u64
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        check_arity(OP, self.arity(), inputs.len())?;
        let x = inputs[0];
        let (h, w, out_shape) = self.dims(x.shape())?;
        let (ty, tx) = self.tables(h, w);
        let (oh, ow) = (ty.len(), tx.len());
        let mut y = vec![0.0; out_shape.iter().product()];
        per_plane(x.data(), h * w, &mut y, oh * ow, |src, dst| {
            for (oy, row) in ty.iter().enumerate() {
                for (ox, col) in tx.iter().enumerate() {
                    let mut v = 0.0;
                    for &(iy, wy) in row {
                        for &(ix, wx) in col {
                            v += wy * wx * src[iy * w + ix];
                        }
                    }
                    dst[oy * ow + ox] = v;
                }
            }
        });
        Ok(Forward::output(Tensor::new(&out_shape, y)?))
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        let (inputs, grad_output) = (args.inputs, args.grad_output);
        check_arity(OP, self.arity(), inputs.len())?;
        let x = inputs[0];
        let (h, w, out_shape) = self.dims(x.shape())?;
        check_grad_output(OP, grad_output, &out_shape)?;
        let (ty, tx) = self.tables(h, w);
        let (oh, ow) = (ty.len(), tx.len());
        let mut dx = vec![0.0; x.numel()];
        per_plane(grad_output.data(), oh * ow, &mut dx, h * w, |g, dst| {
            for (oy, row) in ty.iter().enumerate() {
                for (ox, col) in tx.iter().enumerate() {
                    let go = g[oy * ow + ox];
                    for &(iy, wy) in row {
                        for &(ix, wx) in col {
                            dst[iy * w + ix] += wy * wx * go;
                        }
                    }
                }
            }
        });
        Ok(Backward::input(Tensor::new(x.shape(), dx)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    fn upsample(scale_factor: Size2, mode: UpsampleMode) -> Upsample {
        Upsample { scale_factor, mode }
    }

    /// PyTorch literals, generated with:
    /// ```python
    /// import torch
    /// x = (torch.arange(12.).reshape(1, 2, 2, 3) * 0.5 - 1).requires_grad_()
    /// r = torch.arange(48.).reshape(1, 2, 4, 6).sin()
    /// for mode in ['nearest', 'bilinear']:
    ///     kw = {} if mode == 'nearest' else {'align_corners': False}
    ///     y = torch.nn.Upsample(scale_factor=2, mode=mode, **kw)(x)
    ///     x.grad = None; (y * r).sum().backward()
    ///     print(y.flatten()[:24].tolist(), x.grad.flatten().tolist())
    /// x2 = torch.arange(6.).reshape(1, 1, 2, 3)
    /// print(torch.nn.Upsample(scale_factor=(3, 2), mode='bilinear')(x2).flatten().tolist())
    /// ```
    #[test]
    fn matches_pytorch() {
        let x = Tensor::new(
            &[1, 2, 2, 3],
            (0..12).map(|i| i as f32 * 0.5 - 1.0).collect(),
        )
        .unwrap();
        let r = Tensor::new(&[1, 2, 4, 6], (0..48).map(|i| (i as f32).sin()).collect()).unwrap();
        let cases = [
            (
                UpsampleMode::Nearest,
                [
                    -1.0, -1.0, -0.5, -0.5, 0.0, 0.0, -1.0, -1.0, -0.5, -0.5, 0.0, 0.0, 0.5, 0.5,
                    1.0, 1.0, 1.5, 1.5, 0.5, 0.5, 1.0, 1.0, 1.5, 1.5,
                ],
                [
                    1.219042, 2.451894, -3.259738, -0.717516, 3.390496, -2.104373, -2.43, 3.270273,
                    -0.291828, -3.383613, 2.128769, 1.611852,
                ],
            ),
            (
                UpsampleMode::Bilinear,
                [
                    -1.0, -0.875, -0.625, -0.375, -0.125, 0.0, -0.625, -0.5, -0.25, 0.0, 0.25,
                    0.375, 0.125, 0.25, 0.5, 0.75, 1.0, 1.125, 0.5, 0.625, 0.875, 1.125, 1.375,
                    1.5,
                ],
                [
                    1.210477, 1.934426, -2.723667, -0.275524, 2.565098, -1.731004, -2.02919,
                    2.462543, 0.102885, -2.874483, 1.695536, 1.548163,
                ],
            ),
        ];
        for (mode, want_y, want_dx) in cases {
            let op = upsample(Size2::Square(2), mode);
            let fwd = op.forward(&Ctx::train(0), &[&x], &[]).unwrap();
            assert_eq!(fwd.output.shape(), &[1, 2, 4, 6]);
            assert_close(&fwd.output.data()[..24], &want_y, 1e-5);
            let bwd = op.backward(&Ctx::train(0), &[&x], &[], &fwd, &r).unwrap();
            assert_close(bwd.inputs[0].as_ref().unwrap().data(), &want_dx, 1e-4);
        }
        let x2 = Tensor::new(&[1, 1, 2, 3], (0..6).map(|i| i as f32).collect()).unwrap();
        let y = upsample(Size2::Rect(3, 2), UpsampleMode::Bilinear)
            .forward(&Ctx::eval(), &[&x2], &[])
            .unwrap()
            .output;
        assert_eq!(y.shape(), &[1, 1, 6, 6]);
        assert_close(
            y.data(),
            &[
                0.0, 0.25, 0.75, 1.25, 1.75, 2.0, 0.0, 0.25, 0.75, 1.25, 1.75, 2.0, 1.0, 1.25,
                1.75, 2.25, 2.75, 3.0, 2.0, 2.25, 2.75, 3.25, 3.75, 4.0, 3.0, 3.25, 3.75, 4.25,
                4.75, 5.0, 3.0, 3.25, 3.75, 4.25, 4.75, 5.0,
            ],
            1e-5,
        );
    }

    #[test]
    fn gradients() {
        for mode in [UpsampleMode::Nearest, UpsampleMode::Bilinear] {
            for s in [Size2::Square(2), Size2::Rect(3, 1)] {
                check_all_inputs(
                    &upsample(s, mode),
                    &Ctx::train(0),
                    &[randn(&[2, 2, 3, 4], 1)],
                    &[],
                );
            }
        }
    }

    #[test]
    fn bad_settings_and_shapes_are_errors() {
        assert_mentions(
            &shape_error(
                &upsample(Size2::Square(0), UpsampleMode::Nearest),
                &[&[1, 1, 2, 2]],
            ),
            &["Upsample", "scale_factor"],
        );
        assert_mentions(
            &shape_error(&Upsample::default(), &[&[1, 4]]),
            &["Upsample", "[1, 4]"],
        );
    }
}
