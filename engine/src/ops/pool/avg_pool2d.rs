//! AvgPool2d over `[N, C, H, W]`, with PyTorch's padding, ceil_mode and
//! count_include_pad rules.
//!
//! The divisor of a window is, as in PyTorch, its size clipped to the padded input when
//! `count_include_pad` is set (so a ceil-mode window hanging past the right padding does
//! not count the overhang), or the number of real input elements it covers otherwise.
//! Both factor per axis, so they are precomputed once per row and per column.

use super::average::{Span, average_backward, average_forward};
use super::geometry::{Axis, Geom};
use crate::error::Result;
use crate::ops::support::defaults;
use crate::ops::{
    Backward, BackwardArgs, Ctx, Forward, Layer, Size2, check_arity, check_grad_output,
};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvgPool2d {
    pub kernel_size: Size2,
    /// Defaults to `kernel_size`, as in PyTorch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stride: Option<Size2>,
    #[serde(default = "defaults::size_zero")]
    pub padding: Size2,
    #[serde(default)]
    pub ceil_mode: bool,
    #[serde(default = "defaults::yes")]
    pub count_include_pad: bool,
}

impl Default for AvgPool2d {
    fn default() -> Self {
        AvgPool2d {
            kernel_size: Size2::Square(2),
            stride: None,
            padding: defaults::size_zero(),
            ceil_mode: false,
            count_include_pad: true,
        }
    }
}

const OP: &str = "AvgPool2d";

fn spans(a: &Axis, count_include_pad: bool) -> Vec<Span> {
    (0..a.output)
        .map(|o| {
            let (first, len) = a.taps(o);
            let start = (o * a.stride) as isize - a.pad as isize;
            let end = (start + a.kernel as isize).min((a.input + a.pad) as isize);
            let div = if count_include_pad {
                (end - start).max(0) as usize
            } else {
                len
            };
            Span { first, len, div }
        })
        .collect()
}

impl AvgPool2d {
    /// The windows of every output row and column.
    fn spans(&self, g: &Geom) -> (Vec<Span>, Vec<Span>) {
        (
            spans(&g.h, self.count_include_pad),
            spans(&g.w, self.count_include_pad),
        )
    }

    fn geom(&self, input: &[usize]) -> Result<Geom> {
        Geom::new(
            OP,
            input,
            self.kernel_size,
            self.stride.unwrap_or(self.kernel_size),
            self.padding,
            Size2::Square(1),
            self.ceil_mode,
        )
    }
}

impl Layer for AvgPool2d {
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
        let (rows, cols) = self.spans(&g);
        let y = average_forward(x, &rows, &cols, &g.out_shape(x.shape()))?;
        Ok(Forward::output(y))
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        let (inputs, grad_output) = (args.inputs, args.grad_output);
        check_arity(OP, self.arity(), inputs.len())?;
        let x = inputs[0];
        let g = self.geom(x.shape())?;
        check_grad_output(OP, grad_output, &g.out_shape(x.shape()))?;
        let (rows, cols) = self.spans(&g);
        let dx = average_backward(x, &rows, &cols, grad_output)?;
        Ok(Backward::input(dx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::pool::tests::assert_planes_match_alone;
    use crate::ops::testing::*;

    fn pool(k: Size2, s: Option<Size2>, p: Size2, ceil: bool, cip: bool) -> AvgPool2d {
        AvgPool2d {
            kernel_size: k,
            stride: s,
            padding: p,
            ceil_mode: ceil,
            count_include_pad: cip,
        }
    }

    #[test]
    fn forward_2x2() {
        let x = Tensor::from_fn(&[1, 1, 2, 4], |i| i as f32);
        let y = AvgPool2d::default()
            .forward(&Ctx::eval(), &[&x], &[])
            .unwrap()
            .output;
        assert_eq!(y.shape(), &[1, 1, 1, 2]);
        assert_eq!(
            y.data(),
            &[(0. + 1. + 4. + 5.) / 4., (2. + 3. + 6. + 7.) / 4.]
        );
    }

    /// PyTorch literals (ceil_mode and count_include_pad variants), generated with:
    /// ```python
    /// import torch
    /// x = torch.arange(2*1*5*6, dtype=torch.float32).reshape(2,1,5,6)
    /// x = (x * 7919 % 61) - 30
    /// for kw in [dict(kernel_size=3, stride=2, padding=1),
    ///            dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    ///            dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    ///            dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    ///            dict(kernel_size=(2,3), stride=(2,2), padding=(1,0), ceil_mode=True)]:
    ///     y = torch.nn.functional.avg_pool2d(x, **kw)
    ///     print(list(y.shape), [round(v, 6) for v in y.flatten().tolist()])
    /// ```
    #[test]
    fn forward_matches_pytorch() {
        let sq = Size2::Square;
        let x = Tensor::from_fn(&[2, 1, 5, 6], |i| ((i * 7919) % 61) as f32 - 30.0);
        let cases: Vec<(AvgPool2d, Vec<usize>, Vec<f32>)> = vec![
            (
                pool(sq(3), Some(sq(2)), sq(1), false, true),
                vec![2, 1, 3, 3],
                vec![
                    3.444444, 4.333333, -10.333333, 10.333333, -1.0, -9.444445, 3.555556,
                    -5.666667, 0.0, -0.888889, -5.555555, 6.888889, -6.333333, 1.111111, 13.0,
                    -7.555555, 4.777778, 3.666667,
                ],
            ),
            (
                pool(sq(3), Some(sq(2)), sq(1), false, false),
                vec![2, 1, 3, 3],
                vec![
                    7.75, 6.5, -15.5, 15.5, -1.0, -9.444445, 8.0, -8.5, 0.0, -2.0, -8.333333,
                    10.333333, -9.5, 1.111111, 13.0, -17.0, 7.166667, 5.5,
                ],
            ),
            (
                pool(sq(3), Some(sq(2)), sq(1), true, true),
                vec![2, 1, 3, 4],
                vec![
                    3.444444, 4.333333, -10.333333, -8.833333, 10.333333, -1.0, -9.444445,
                    3.333333, 3.555556, -5.666667, 0.0, 6.5, -0.888889, -5.555555, 6.888889,
                    3.166667, -6.333333, 1.111111, 13.0, 1.0, -7.555555, 4.777778, 3.666667,
                    -1.833333,
                ],
            ),
            (
                pool(sq(3), Some(sq(2)), sq(1), true, false),
                vec![2, 1, 3, 4],
                vec![
                    7.75, 6.5, -15.5, -26.5, 15.5, -1.0, -9.444445, 6.666667, 8.0, -8.5, 0.0, 19.5,
                    -2.0, -8.333333, 10.333333, 9.5, -9.5, 1.111111, 13.0, 2.0, -17.0, 7.166667,
                    5.5, -5.5,
                ],
            ),
            (
                pool(
                    Size2::Rect(2, 3),
                    Some(sq(2)),
                    Size2::Rect(1, 0),
                    true,
                    true,
                ),
                vec![2, 1, 3, 3],
                vec![
                    -0.166667, -1.0, -9.25, 12.5, -9.5, -10.75, 2.5, -9.333333, 9.75, -2.5,
                    -3.333333, 8.75, -12.5, 6.166667, 10.0, -2.166667, 16.5, 0.0,
                ],
            ),
        ];
        for (p, shape, want) in cases {
            let y = p.forward(&Ctx::eval(), &[&x], &[]).unwrap().output;
            assert_eq!(y.shape(), &shape[..], "{p:?}");
            let want = Tensor::new(&shape, want).unwrap();
            assert!(y.max_abs_diff(&want).unwrap() < 1e-5, "{p:?}: {y:?}");
        }
    }

    #[test]
    fn gradients() {
        let sq = Size2::Square;
        let configs = [
            AvgPool2d::default(),
            pool(sq(3), Some(sq(2)), sq(1), false, true),
            pool(sq(3), Some(sq(2)), sq(1), false, false),
            pool(sq(3), Some(sq(2)), sq(1), true, true),
            pool(sq(3), Some(sq(2)), sq(1), true, false),
            pool(
                Size2::Rect(2, 3),
                Some(Size2::Rect(1, 2)),
                Size2::Rect(1, 0),
                true,
                true,
            ),
            pool(sq(2), Some(sq(3)), sq(0), true, false),
        ];
        for (i, p) in configs.iter().enumerate() {
            let x = randn(&[2, 3, 7, 6], i as u64);
            check_case(&format!("{p:?}"), p, &Ctx::train(0), &[x], &[]);
        }
    }

    #[test]
    fn large_parallel_matches_serial() {
        let p = pool(
            Size2::Square(3),
            Some(Size2::Square(2)),
            Size2::Square(1),
            true,
            false,
        );
        let big = randn(&[4, 16, 33, 35], 9);
        assert_planes_match_alone(&p, &big, |s| randn(s, 3));
    }

    #[test]
    fn shape_and_config_errors() {
        let p = AvgPool2d {
            kernel_size: Size2::Square(3),
            ..AvgPool2d::default()
        };
        let err = shape_error(&p, &[&[1, 2, 8, 2]]);
        assert_mentions(&err, &["AvgPool2d", "[1, 2, 8, 2]"]);
        let err = shape_error(&p, &[&[4, 64]]);
        assert_mentions(&err, &["AvgPool2d", "[4, 64]"]);
        let err = shape_error(
            &pool(Size2::Square(3), None, Size2::Square(2), false, true),
            &[&[1, 1, 8, 8]],
        );
        assert_mentions(&err, &["AvgPool2d", "padding"]);
        let x = Tensor::zeros(&[1, 1, 4, 4]);
        let f = p.forward(&Ctx::eval(), &[&x], &[]).unwrap();
        let err = p
            .backward(&Ctx::eval(), &[&x], &[], &f, &Tensor::zeros(&[1, 1, 2, 2]))
            .unwrap_err()
            .to_string();
        assert_mentions(&err, &["[1, 1, 2, 2]", "[1, 1, 1, 1]"]);
    }
}
