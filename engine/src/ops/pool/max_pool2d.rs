//! MaxPool2d over `[N, C, H, W]`, with PyTorch's stride/padding/dilation/ceil_mode rules.
//!
//! Padding counts as −∞ (it never wins). Forward keeps, per output element, the flat index
//! `h·W + w` of the winning input inside its (n, c) plane — PyTorch's `return_indices`
//! convention — so backward is a scatter without re-scanning windows. Ties go to the first
//! maximum in row-major window order, NaN propagates, as in PyTorch's CPU kernel.

use super::geometry::Geom;
use crate::error::{Error, Result};
use crate::ops::support::defaults;
use crate::ops::{
    Backward, BackwardArgs, Ctx, Forward, Layer, Saved, Size2, check_arity, check_grad_output,
};
use crate::tensor::conv::zeroed;
use crate::tensor::{PARALLEL_MIN_ELEMS, Tensor};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxPool2d {
    pub kernel_size: Size2,
    /// Defaults to `kernel_size`, as in PyTorch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stride: Option<Size2>,
    #[serde(default = "defaults::size_zero")]
    pub padding: Size2,
    #[serde(default)]
    pub dilation: Size2,
    #[serde(default)]
    pub ceil_mode: bool,
}

impl Default for MaxPool2d {
    fn default() -> Self {
        MaxPool2d {
            kernel_size: Size2::Square(2),
            stride: None,
            padding: defaults::size_zero(),
            dilation: Size2::Square(1),
            ceil_mode: false,
        }
    }
}

const OP: &str = "MaxPool2d";

impl MaxPool2d {
    fn geom(&self, input: &[usize]) -> Result<Geom> {
        Geom::new(
            OP,
            input,
            self.kernel_size,
            self.stride.unwrap_or(self.kernel_size),
            self.padding,
            self.dilation,
            self.ceil_mode,
        )
    }
}

/// Index recorded for a window with no in-bounds tap (possible only with dilation): its
/// output is −∞ and it passes no gradient.
const NO_INDEX: u32 = u32::MAX;

/// One plane's pooling kernel, chosen once per forward by kernel size.
type PlaneFn = fn(&Geom, &[(usize, usize)], &[f32], &mut [f32], &mut [u32]);

/// Folds one tap into the running max: strictly greater wins (so ties keep the first
/// maximum) and NaN always wins, as in PyTorch's CPU kernel. The general (border,
/// dilated, odd-size) path; interior 2×2/3×3 windows use a branch-free variant.
#[inline(always)]
fn pick(v: f32, at: usize, best: &mut f32, best_i: &mut usize) {
    let take = v > *best || v.is_nan();
    *best = if take { v } else { *best };
    *best_i = if take { at } else { *best_i };
}

/// Max over every window of one plane, recording the argmax. Windows with exactly
/// `KH×KW` in-bounds taps at dilation 1 (the interior, for the common 2×2 and 3×3 pools)
/// take a fully unrolled path; the rest (borders, other sizes, dilation) the general one.
fn max_plane<const KH: usize, const KW: usize>(
    g: &Geom,
    cols: &[(usize, usize)],
    x: &[f32],
    y: &mut [f32],
    idx: &mut [u32],
) {
    let (w_in, dh, dw) = (g.w.input, g.h.dilation, g.w.dilation);
    let unrolled = KH > 0 && dh == 1 && dw == 1;
    let out_w = g.w.output;
    for (oh, (y_row, i_row)) in y.chunks_mut(out_w).zip(idx.chunks_mut(out_w)).enumerate() {
        let (h0, nh) = g.h.taps(oh);
        for ((yo, io), &(w0, nw)) in y_row.iter_mut().zip(i_row.iter_mut()).zip(cols) {
            let first = h0 * w_in + w0;
            if unrolled && nh == KH && nw == KW {
                // Branch-free: float max plus an integer select on `v > best` (strict,
                // so ties keep the first). Only valid without NaN, which is rare: any NaN
                // sends the window to the general path below.
                let win = &x[first..first + (KH - 1) * w_in + KW];
                let mut best = win[0];
                let mut best_i = 0usize;
                let mut nan = false;
                for i in 0..KH {
                    for j in 0..KW {
                        let at = i * w_in + j;
                        let v = win[at];
                        nan |= v.is_nan();
                        let mask = ((v > best) as usize).wrapping_neg();
                        best_i ^= (best_i ^ at) & mask;
                        best = best.max(v);
                    }
                }
                if !nan {
                    *yo = best;
                    *io = (first + best_i) as u32;
                    continue;
                }
            }
            if nh == 0 || nw == 0 {
                *yo = f32::NEG_INFINITY;
                *io = NO_INDEX;
                continue;
            }
            // PyTorch starts from −∞ at the first in-bounds tap, so an all −∞ window
            // reports that tap.
            let mut best = f32::NEG_INFINITY;
            let mut best_i = first;
            for i in 0..nh {
                let row = (h0 + i * dh) * w_in + w0;
                for j in 0..nw {
                    let at = row + j * dw;
                    pick(x[at], at, &mut best, &mut best_i);
                }
            }
            *yo = best;
            *io = best_i as u32;
        }
    }
}

impl Layer for MaxPool2d {
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        Ok(self.geom(inputs[0])?.out_shape(inputs[0]))
    }

    fn flops(&self, _inputs: &[&[usize]], output: &[usize]) -> u64 {
        let taps = self.kernel_size.h() * self.kernel_size.w();
        (output.iter().product::<usize>() * taps) as u64
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        check_arity(OP, self.arity(), inputs.len())?;
        let x = inputs[0];
        let g = self.geom(x.shape())?;
        if g.in_plane() > u32::MAX as usize {
            return Err(Error::bad_shape(
                OP,
                x.shape(),
                "planes above 2^32 elements are not supported",
            ));
        }
        let out_shape = g.out_shape(x.shape());
        let n_out = g.planes * g.out_plane();
        let mut y = zeroed(n_out);
        let mut idx = vec![0u32; n_out];
        let cols = g.col_taps();
        let (ip, op) = (g.in_plane().max(1), g.out_plane().max(1));
        let plane: PlaneFn = match (g.h.kernel, g.w.kernel) {
            (2, 2) => max_plane::<2, 2>,
            (3, 3) => max_plane::<3, 3>,
            _ => max_plane::<0, 0>,
        };
        let work =
            |(xp, (yp, kp)): (&[f32], (&mut [f32], &mut [u32]))| plane(&g, &cols, xp, yp, kp);
        if x.numel() >= PARALLEL_MIN_ELEMS {
            x.data()
                .par_chunks(ip)
                .zip(y.par_chunks_mut(op).zip(idx.par_chunks_mut(op)))
                .for_each(work);
        } else {
            x.data()
                .chunks(ip)
                .zip(y.chunks_mut(op).zip(idx.chunks_mut(op)))
                .for_each(work);
        }
        Ok(Forward::new(
            Tensor::new(&out_shape, y)?,
            Saved {
                tensors: Vec::new(),
                indices: idx,
            },
        ))
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        let (inputs, forward, grad_output) = (args.inputs, args.forward, args.grad_output);
        check_arity(OP, self.arity(), inputs.len())?;
        let x = inputs[0];
        check_grad_output(OP, grad_output, forward.output.shape())?;
        let g = self.geom(x.shape())?;
        let idx = &forward.saved.indices;
        if idx.len() != grad_output.numel() || g.out_shape(x.shape()) != grad_output.shape() {
            return Err(Error::Other(format!(
                "{OP}: backward called without matching forward state"
            )));
        }
        // zero-filled in parallel: a serial fill of this megabyte buffer cost as much as
        // the scatter itself (bench --profile on the cnn workload)
        let mut dx = zeroed(x.numel());
        let scatter = |(dxp, (gp, ip)): (&mut [f32], (&[f32], &[u32]))| {
            for (&gv, &i) in gp.iter().zip(ip) {
                if let Some(d) = dxp.get_mut(i as usize) {
                    *d += gv;
                }
            }
        };
        let (ip, op) = (g.in_plane().max(1), g.out_plane().max(1));
        if x.numel() >= PARALLEL_MIN_ELEMS {
            dx.par_chunks_mut(ip)
                .zip(grad_output.data().par_chunks(op).zip(idx.par_chunks(op)))
                .for_each(scatter);
        } else {
            dx.chunks_mut(ip)
                .zip(grad_output.data().chunks(op).zip(idx.chunks(op)))
                .for_each(scatter);
        }
        Ok(Backward::input(Tensor::new(x.shape(), dx)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::pool::tests::assert_planes_match_alone;
    use crate::ops::testing::*;

    fn pool(k: Size2, s: Option<Size2>, p: usize, d: usize, ceil: bool) -> MaxPool2d {
        MaxPool2d {
            kernel_size: k,
            stride: s,
            padding: Size2::Square(p),
            dilation: Size2::Square(d),
            ceil_mode: ceil,
        }
    }

    #[test]
    fn forward_2x2_and_first_max_ties() {
        #[rustfmt::skip]
        let x = Tensor::new(&[1, 1, 4, 4], vec![
            1., 2., 5., 5.,
            3., 4., 6., 0.,
            9., 9., 0., 1.,
            9., 0., 2., 2.,
        ]).unwrap();
        let f = MaxPool2d::default()
            .forward(&Ctx::eval(), &[&x], &[])
            .unwrap();
        assert_eq!(f.output.shape(), &[1, 1, 2, 2]);
        assert_eq!(f.output.data(), &[4., 6., 9., 2.]);
        // Ties: first maximum in row-major window order (PyTorch's choice).
        assert_eq!(f.saved.indices, vec![5, 6, 8, 14]);
    }

    /// NaN wins (the last NaN of a window), an all −∞ window reports its first tap:
    /// ```python
    /// import torch
    /// nan=float('nan'); ninf=float('-inf')
    /// x=torch.tensor([[[[1.,nan,5.,2.],[3.,2.,nan,nan],[0.,1.,ninf,ninf],[2.,-3.,ninf,ninf]]]])
    /// y,i=torch.nn.functional.max_pool2d(x,2,return_indices=True)
    /// print(y.flatten().tolist(), i.flatten().tolist())
    /// # [nan, nan, 2.0, -inf] [1, 7, 12, 10]
    /// ```
    #[test]
    fn nan_and_neg_infinity_like_pytorch() {
        let (nan, ninf) = (f32::NAN, f32::NEG_INFINITY);
        #[rustfmt::skip]
        let x = Tensor::new(&[1, 1, 4, 4], vec![
            1., nan, 5., 2.,
            3., 2., nan, nan,
            0., 1., ninf, ninf,
            2., -3., ninf, ninf,
        ]).unwrap();
        let f = MaxPool2d::default()
            .forward(&Ctx::eval(), &[&x], &[])
            .unwrap();
        let y = f.output.data();
        assert!(y[0].is_nan() && y[1].is_nan());
        assert_eq!(&y[2..], &[2., ninf]);
        assert_eq!(f.saved.indices, vec![1, 7, 12, 10]);
    }

    /// PyTorch literals for padding + stride + dilation + ceil_mode, generated with:
    /// ```python
    /// import torch
    /// x = torch.arange(2*1*5*6, dtype=torch.float32).reshape(2,1,5,6)
    /// x = (x * 7919 % 61) - 30   # scrambled, distinct within each plane
    /// for kw in [dict(kernel_size=3, stride=2, padding=1),
    ///            dict(kernel_size=(2,3), stride=(2,1), padding=(1,1), ceil_mode=True),
    ///            dict(kernel_size=2, stride=1, padding=1, dilation=2)]:
    ///     y, i = torch.nn.functional.max_pool2d(x, return_indices=True, **kw)
    ///     print(list(y.shape), y.flatten().tolist(), i.flatten().tolist())
    /// ```
    #[test]
    fn forward_matches_pytorch() {
        let x = Tensor::from_fn(&[2, 1, 5, 6], |i| ((i * 7919) % 61) as f32 - 30.0);
        type Case = (MaxPool2d, Vec<usize>, Vec<f32>, Vec<u32>);
        let cases: Vec<Case> = vec![
            (
                pool(Size2::Square(3), Some(Size2::Square(2)), 1, 1, false),
                vec![2, 1, 3, 3],
                vec![
                    26., 20., -2., 26., 15., 27., 16., 5., 28., 6., 29., 29., 1., 30., 29., -9.,
                    30., 19.,
                ],
                vec![6, 1, 3, 6, 7, 17, 18, 19, 28, 0, 9, 9, 6, 20, 9, 18, 20, 21],
            ),
            (
                MaxPool2d {
                    kernel_size: Size2::Rect(2, 3),
                    stride: Some(Size2::Rect(2, 1)),
                    padding: Size2::Rect(1, 1),
                    dilation: Size2::Square(1),
                    ceil_mode: true,
                },
                vec![2, 1, 3, 6],
                vec![
                    20., 20., 20., 9., -2., -13., 26., 26., 15., 4., 27., 27., 16., 16., 5., 28.,
                    28., 28., 6., 6., -5., 23., 23., 23., 1., 1., 29., 29., 29., 18., -9., 30.,
                    30., 30., 19., 8.,
                ],
                vec![
                    1, 1, 1, 2, 3, 4, 6, 6, 7, 8, 17, 17, 18, 18, 19, 28, 28, 28, 0, 0, 1, 4, 4, 4,
                    6, 6, 9, 9, 9, 10, 18, 20, 20, 20, 21, 22,
                ],
            ),
            (
                pool(Size2::Square(2), Some(Size2::Square(1)), 1, 2, false),
                vec![2, 1, 5, 6],
                vec![
                    15., 26., 15., 4., -7., -18., 20., 21., 20., 9., 27., -13., 15., 26., 15., 4.,
                    22., -18., 10., 21., 10., 28., 27., 28., 5., 16., 5., -6., 22., -28., -10., 1.,
                    29., 18., 29., 18., -5., 6., 24., 23., 24., 23., -10., 30., 29., 30., 29., 18.,
                    -15., 25., 24., 25., 24., 13., -20., 30., 19., 30., 19., 8.,
                ],
                vec![
                    7, 6, 7, 8, 9, 10, 1, 12, 1, 2, 17, 4, 7, 6, 7, 8, 23, 10, 13, 12, 13, 28, 17,
                    28, 19, 18, 19, 20, 23, 22, 7, 6, 9, 10, 9, 10, 1, 0, 15, 4, 15, 4, 7, 20, 9,
                    20, 9, 10, 13, 26, 15, 26, 15, 16, 19, 20, 21, 20, 21, 22,
                ],
            ),
        ];
        for (p, shape, want_y, want_i) in cases {
            let f = p.forward(&Ctx::eval(), &[&x], &[]).unwrap();
            assert_eq!(f.output.shape(), &shape[..], "{p:?}");
            assert_eq!(f.output.data(), &want_y[..], "{p:?}");
            assert_eq!(f.saved.indices, want_i, "{p:?}");
        }
    }

    /// A dilated window can miss the input entirely; PyTorch then outputs −∞ (with an
    /// out-of-range index, `max_pool2d(x, 2, 1, 1, 3)` on a 2×2 input). Here the window
    /// records no index and passes no gradient.
    #[test]
    fn window_entirely_in_padding() {
        let p = pool(Size2::Square(2), Some(Size2::Square(1)), 1, 3, false);
        let x = Tensor::new(&[1, 1, 2, 2], vec![1., 2., 3., 4.]).unwrap();
        let f = p.forward(&Ctx::eval(), &[&x], &[]).unwrap();
        assert_eq!(f.output.shape(), &[1, 1, 1, 1]);
        assert_eq!(f.output.data(), &[f32::NEG_INFINITY]);
        let g = Tensor::ones(&[1, 1, 1, 1]);
        let b = p.backward(&Ctx::eval(), &[&x], &[], &f, &g).unwrap();
        assert_eq!(b.inputs[0].as_ref().unwrap().data(), &[0.; 4]);
    }

    #[test]
    fn gradients() {
        let configs = [
            pool(Size2::Square(2), None, 0, 1, false),
            pool(Size2::Square(3), Some(Size2::Square(2)), 1, 1, false),
            pool(Size2::Square(3), Some(Size2::Square(2)), 1, 1, true),
            pool(Size2::Rect(2, 3), Some(Size2::Rect(1, 2)), 1, 1, true),
            pool(Size2::Square(2), Some(Size2::Square(1)), 1, 2, false),
            // Overlapping windows: one input can win several outputs.
            pool(Size2::Square(3), Some(Size2::Square(1)), 0, 1, false),
        ];
        for (i, p) in configs.iter().enumerate() {
            let x = distinct(&[2, 3, 7, 6], i as u64);
            check_case(&format!("{p:?}"), p, &Ctx::train(0), &[x], &[]);
        }
    }

    #[test]
    fn large_parallel_matches_serial() {
        let p = pool(Size2::Square(3), Some(Size2::Square(2)), 1, 1, true);
        let big = distinct(&[4, 16, 33, 35], 9);
        let (y, dx) = assert_planes_match_alone(&p, &big, Tensor::ones);
        // Every output routes exactly its gradient somewhere.
        assert!((dx.sum() - y.numel() as f32).abs() < 1e-3);
    }

    #[test]
    fn shape_and_config_errors() {
        let p = MaxPool2d {
            kernel_size: Size2::Square(3),
            ..MaxPool2d::default()
        };
        let err = shape_error(&p, &[&[1, 2, 2, 8]]);
        assert_mentions(&err, &["MaxPool2d", "[1, 2, 2, 8]"]);
        let err = shape_error(&p, &[&[2, 8, 8]]);
        assert_mentions(&err, &["MaxPool2d", "[2, 8, 8]"]);
        let err = shape_error(&pool(Size2::Square(2), None, 2, 1, false), &[&[1, 1, 8, 8]]);
        assert_mentions(&err, &["MaxPool2d", "padding"]);
        assert!(
            pool(Size2::Square(0), None, 0, 1, false)
                .output_shape(&[&[1, 1, 8, 8]])
                .is_err()
        );
        let x = Tensor::zeros(&[1, 1, 2, 2]);
        assert!(p.forward(&Ctx::eval(), &[&x], &[]).is_err());
    }
}
