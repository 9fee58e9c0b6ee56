//! PixelShuffle: `[*, C·r², H, W] → [*, C, H·r, W·r]` with
//! `out[c, h·r+i, w·r+j] = in[c·r² + i·r + j, h, w]` (sub-pixel upsampling, as PyTorch).
//! Backward is the inverse permutation (pixel unshuffle). Each output channel comes from a
//! contiguous group of r² input channels, so both directions work group by group.

use crate::error::{Error, Result};
use crate::ops::Size2;
use crate::ops::support::size2::check_extent;
use crate::ops::{Backward, BackwardArgs, Ctx, Forward, Layer, check_arity, check_grad_output};
use crate::tensor::{PARALLEL_MIN_ELEMS, Tensor};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixelShuffle {
    pub upscale_factor: usize,
}

impl Default for PixelShuffle {
    fn default() -> Self {
        PixelShuffle { upscale_factor: 2 }
    }
}

const OP: &str = "PixelShuffle";

/// Calls `f(channel_layout_index, pixel_layout_index)` for every element of a group,
/// in pixel-layout (write) order.
#[inline]
fn shuffle_with(r: usize, h: usize, w: usize, mut f: impl FnMut(usize, usize)) {
    let (hw, wr) = (h * w, w * r);
    let mut px = 0;
    for y in 0..h {
        for i in 0..r {
            for x in 0..w {
                let base = i * r * hw + y * w + x;
                for j in 0..r {
                    f(base + j * hw, px);
                    px += 1;
                }
            }
        }
    }
    debug_assert_eq!(px, h * r * wr);
}

impl PixelShuffle {
    /// `(r, H, W, output shape)` for a valid input.
    fn dims(&self, s: &[usize]) -> Result<(usize, usize, usize, Vec<usize>)> {
        let r = self.upscale_factor;
        check_extent(OP, "upscale_factor", Size2::Square(r), 1)?;
        if s.len() < 3 {
            return Err(Error::bad_shape(OP, s, "expected [N, C, H, W]"));
        }
        let k = s.len();
        let (c, h, w) = (s[k - 3], s[k - 2], s[k - 1]);
        if c % (r * r) != 0 {
            return Err(Error::bad_shape(
                OP,
                s,
                format!(
                    "channels {c} must be divisible by upscale_factor² = {}",
                    r * r
                ),
            ));
        }
        let mut out = s[..k - 3].to_vec();
        let too_large = || {
            Error::config(
                OP,
                format!("upscale_factor {r} makes the {h}×{w} input too large to address"),
            )
        };
        let (oh, ow) = (
            h.checked_mul(r).ok_or_else(too_large)?,
            w.checked_mul(r).ok_or_else(too_large)?,
        );
        out.extend([c / (r * r), oh, ow]);
        Ok((r, h, w, out))
    }
}

impl Layer for PixelShuffle {
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        Ok(self.dims(inputs[0])?.3)
    }

    fn flops(&self, _inputs: &[&[usize]], _output: &[usize]) -> u64 {
        0
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        check_arity(OP, self.arity(), inputs.len())?;
        let x = inputs[0];
        let (r, h, w, out_shape) = self.dims(x.shape())?;
        let mut y = vec![0.0; x.numel()];
        let group = (r * r * h * w).max(1);
        let work = |(src, dst): (&[f32], &mut [f32])| {
            shuffle_with(r, h, w, |ch, px| dst[px] = src[ch]);
        };
        if x.numel() >= PARALLEL_MIN_ELEMS {
            x.data()
                .par_chunks(group)
                .zip(y.par_chunks_mut(group))
                .for_each(work);
        } else {
            x.data()
                .chunks(group)
                .zip(y.chunks_mut(group))
                .for_each(work);
        }
        Ok(Forward::output(Tensor::new(&out_shape, y)?))
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        let (inputs, grad_output) = (args.inputs, args.grad_output);
        check_arity(OP, self.arity(), inputs.len())?;
        let x = inputs[0];
        let (r, h, w, out_shape) = self.dims(x.shape())?;
        check_grad_output(OP, grad_output, &out_shape)?;
        let mut dx = vec![0.0; x.numel()];
        let group = (r * r * h * w).max(1);
        let work = |(dst, src): (&mut [f32], &[f32])| {
            shuffle_with(r, h, w, |ch, px| dst[ch] = src[px]);
        };
        if x.numel() >= PARALLEL_MIN_ELEMS {
            dx.par_chunks_mut(group)
                .zip(grad_output.data().par_chunks(group))
                .for_each(work);
        } else {
            dx.chunks_mut(group)
                .zip(grad_output.data().chunks(group))
                .for_each(work);
        }
        Ok(Backward::input(Tensor::new(x.shape(), dx)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    /// PyTorch literal, generated with:
    /// ```python
    /// import torch
    /// x = torch.arange(1*8*2*3, dtype=torch.float32).reshape(1,8,2,3)
    /// print(torch.nn.functional.pixel_shuffle(x, 2).flatten().int().tolist())
    /// ```
    #[test]
    fn forward_matches_pytorch() {
        let x = Tensor::from_fn(&[1, 8, 2, 3], |i| i as f32);
        let y = PixelShuffle { upscale_factor: 2 }
            .forward(&Ctx::eval(), &[&x], &[])
            .unwrap()
            .output;
        assert_eq!(y.shape(), &[1, 2, 4, 6]);
        let want: Vec<f32> = [
            0, 6, 1, 7, 2, 8, 12, 18, 13, 19, 14, 20, 3, 9, 4, 10, 5, 11, 15, 21, 16, 22, 17, 23,
            24, 30, 25, 31, 26, 32, 36, 42, 37, 43, 38, 44, 27, 33, 28, 34, 29, 35, 39, 45, 40, 46,
            41, 47,
        ]
        .iter()
        .map(|&v| v as f32)
        .collect();
        assert_eq!(y.data(), &want[..]);
    }

    #[test]
    fn gradients() {
        for (r, shape) in [
            (2, vec![2, 8, 3, 2]),
            (3, vec![1, 9, 2, 2]),
            (1, vec![2, 3, 2, 2]),
        ] {
            let p = PixelShuffle { upscale_factor: r };
            check_all_inputs(&p, &Ctx::train(0), &[randn(&shape, 3)], &[]);
        }
    }

    #[test]
    fn large_round_trip() {
        let p = PixelShuffle { upscale_factor: 2 };
        let x = randn(&[4, 64, 16, 17], 1);
        assert!(x.numel() >= PARALLEL_MIN_ELEMS);
        let f = p.forward(&Ctx::eval(), &[&x], &[]).unwrap();
        assert_eq!(f.output.shape(), &[4, 16, 32, 34]);
        // y[1, 5, 2·7+1, 2·9+0] = x[1, 5·4 + 1·2 + 0, 7, 9]
        let y_at = f.output.data()[((16 + 5) * 32 + 15) * 34 + 18];
        let x_at = x.data()[((64 + 22) * 16 + 7) * 17 + 9];
        assert_eq!(y_at, x_at);
        // Backward of a permutation is its inverse: feeding y back returns x.
        let b = p.backward(&Ctx::eval(), &[&x], &[], &f, &f.output).unwrap();
        assert_eq!(b.inputs[0].as_ref().unwrap(), &x);
    }

    #[test]
    fn errors_name_op_and_shape() {
        let p = PixelShuffle { upscale_factor: 2 };
        let err = shape_error(&p, &[&[1, 6, 4, 4]]);
        assert_mentions(&err, &["PixelShuffle", "[1, 6, 4, 4]"]);
        let err = shape_error(&p, &[&[4, 4]]);
        assert_mentions(&err, &["PixelShuffle", "[4, 4]"]);
        assert!(
            PixelShuffle { upscale_factor: 0 }
                .output_shape(&[&[1, 4, 2, 2]])
                .is_err()
        );
    }
}
