//! AdaptiveAvgPool2d: averages `[N, C, H, W]` into a fixed `output_size` grid, with
//! PyTorch's bins `[floor(i·H/out), ceil((i+1)·H/out))` (they may overlap when the size
//! does not divide, and repeat inputs when upsampling). `output_size` 1 is global average
//! pooling.

use super::average::{Span, average_backward, average_forward};
use crate::error::{Error, Result};
use crate::ops::support::size2::check_extent;
use crate::ops::{
    Backward, BackwardArgs, Ctx, Forward, Layer, Size2, check_arity, check_grad_output, shapes,
};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdaptiveAvgPool2d {
    /// Output `(H, W)`; the default 1 is global average pooling.
    #[serde(default)]
    pub output_size: Size2,
}

const OP: &str = "AdaptiveAvgPool2d";

/// PyTorch's adaptive bins for `out` outputs over `input` elements; each divides by its
/// own length.
fn bins(input: usize, out: usize) -> Vec<Span> {
    (0..out)
        .map(|i| {
            let start = i * input / out;
            let end = ((i + 1) * input).div_ceil(out);
            Span {
                first: start,
                len: end - start,
                div: end - start,
            }
        })
        .collect()
}

impl AdaptiveAvgPool2d {
    fn check(&self, input: &[usize]) -> Result<(usize, usize)> {
        check_extent(OP, "output_size", self.output_size, 1)?;
        let (oh, ow) = (self.output_size.h(), self.output_size.w());
        if input.len() != 4 {
            return Err(Error::bad_shape(OP, input, "expected [N, C, H, W]"));
        }
        if input[2] == 0 || input[3] == 0 {
            return Err(Error::bad_shape(OP, input, "spatial size must be non-zero"));
        }
        Ok((oh, ow))
    }
}

impl Layer for AdaptiveAvgPool2d {
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        let s = inputs[0];
        let (oh, ow) = self.check(s)?;
        Ok(vec![s[0], s[1], oh, ow])
    }

    fn flops(&self, inputs: &[&[usize]], _output: &[usize]) -> u64 {
        // Every input is read about once (more when bins overlap).
        inputs
            .first()
            .map_or(0, |s| s.iter().product::<usize>() as u64)
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        let out_shape = self.output_shape(&shapes(inputs))?;
        let x = inputs[0];
        let (rows, cols) = (bins(x.dim(2), out_shape[2]), bins(x.dim(3), out_shape[3]));
        Ok(Forward::output(average_forward(
            x, &rows, &cols, &out_shape,
        )?))
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        let (inputs, grad_output) = (args.inputs, args.grad_output);
        let out_shape = self.output_shape(&shapes(inputs))?;
        check_grad_output(OP, grad_output, &out_shape)?;
        let x = inputs[0];
        let (rows, cols) = (bins(x.dim(2), out_shape[2]), bins(x.dim(3), out_shape[3]));
        let dx = average_backward(x, &rows, &cols, grad_output)?;
        Ok(Backward::input(dx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::pool::tests::assert_planes_match_alone;
    use crate::ops::testing::*;

    /// `(start, len)` of each bin, checking that each divides by its own length.
    fn bin_pairs(input: usize, out: usize) -> Vec<(usize, usize)> {
        let b = bins(input, out);
        assert!(b.iter().all(|s| s.div == s.len));
        b.iter().map(|s| (s.first, s.len)).collect()
    }

    #[test]
    fn global_pooling_is_the_plane_mean() {
        let x = Tensor::from_fn(&[2, 3, 4, 5], |i| i as f32);
        let y = AdaptiveAvgPool2d::default()
            .forward(&Ctx::eval(), &[&x], &[])
            .unwrap()
            .output;
        assert_eq!(y.shape(), &[2, 3, 1, 1]);
        for (p, &v) in y.data().iter().enumerate() {
            // Plane p holds 20p .. 20p + 19: mean 20p + 9.5.
            assert!((v - (20 * p) as f32 - 9.5).abs() < 1e-4, "{p}: {v}");
        }
    }

    #[test]
    fn bins_follow_pytorch() {
        // 5 → 3: [0,2), [1,4), [3,5) — overlapping.
        assert_eq!(bin_pairs(5, 3), vec![(0, 2), (1, 3), (3, 2)]);
        // 2 → 3: [0,1), [0,2), [1,2) — upsampling repeats inputs.
        assert_eq!(bin_pairs(2, 3), vec![(0, 1), (0, 2), (1, 1)]);
        assert_eq!(bin_pairs(6, 3), vec![(0, 2), (2, 2), (4, 2)]);
    }

    /// PyTorch literals, generated with:
    /// ```python
    /// import torch
    /// x = torch.arange(2*1*5*7, dtype=torch.float32).reshape(2,1,5,7)
    /// x = (x * 7919 % 71) - 35
    /// for size in [(3, 2), (7, 4)]:
    ///     y = torch.nn.functional.adaptive_avg_pool2d(x, size)
    ///     print(list(y.shape), [round(v, 6) for v in y.flatten().tolist()])
    /// ```
    #[test]
    fn forward_matches_pytorch() {
        let x = Tensor::from_fn(&[2, 1, 5, 7], |i| ((i * 7919) % 71) as f32 - 35.0);
        let cases: Vec<(Size2, Vec<usize>, Vec<f32>)> = vec![
            (
                Size2::Rect(3, 2),
                vec![2, 1, 3, 2],
                vec![
                    -4.75, 2.75, -2.166667, 5.333333, 3.375, 2.0, -6.0, 1.5, -3.416667, -1.833333,
                    2.125, 0.75,
                ],
            ),
            (
                Size2::Rect(7, 4),
                vec![2, 1, 7, 4],
                vec![
                    -16.0, -6.333333, -1.333333, -3.5, -7.25, -3.5, 1.5, 5.25, -7.5, -9.666667,
                    -4.666667, 5.0, -16.5, -18.666666, -13.666667, -4.0, -7.75, -4.0, 1.0, 4.75,
                    9.75, 1.666667, 6.666667, 4.5, 18.5, -7.333333, -2.333333, -4.5, 0.5,
                    -1.666667, 3.333333, 13.0, -8.5, -10.666667, -5.666667, 4.0, -8.75, -5.0, 0.0,
                    3.75, 0.0, 9.666667, 14.666667, 12.5, 8.75, 0.666667, 5.666667, 3.5, 8.5, -5.5,
                    -0.5, 3.25, -0.5, -2.666667, 2.333333, 12.0,
                ],
            ),
        ];
        for (size, shape, want) in cases {
            let p = AdaptiveAvgPool2d { output_size: size };
            let y = p.forward(&Ctx::eval(), &[&x], &[]).unwrap().output;
            assert_eq!(y.shape(), &shape[..], "{p:?}");
            let want = Tensor::new(&shape, want).unwrap();
            assert!(y.max_abs_diff(&want).unwrap() < 1e-5, "{p:?}: {y:?}");
        }
    }

    #[test]
    fn gradients() {
        for (shape, size) in [
            ([2, 3, 5, 7], Size2::Square(1)),
            ([2, 3, 5, 7], Size2::Rect(3, 2)),
            ([2, 2, 6, 4], Size2::Square(2)),
            ([1, 2, 3, 2], Size2::Rect(4, 5)),
        ] {
            let p = AdaptiveAvgPool2d { output_size: size };
            check_case(
                &format!("{p:?}"),
                &p,
                &Ctx::train(0),
                &[randn(&shape, 5)],
                &[],
            );
        }
    }

    #[test]
    fn large_parallel_matches_serial() {
        let p = AdaptiveAvgPool2d {
            output_size: Size2::Rect(5, 3),
        };
        let big = randn(&[4, 16, 33, 35], 9);
        assert_planes_match_alone(&p, &big, |s| randn(s, 3));
    }

    #[test]
    fn shape_errors_name_op_and_shape() {
        let p = AdaptiveAvgPool2d::default();
        let err = shape_error(&p, &[&[8, 16]]);
        assert_mentions(&err, &["AdaptiveAvgPool2d", "[8, 16]"]);
        let err = shape_error(&p, &[&[8, 16, 0, 3]]);
        assert!(err.contains("[8, 16, 0, 3]"), "{err}");
        let zero = AdaptiveAvgPool2d {
            output_size: Size2::Rect(0, 1),
        };
        assert!(zero.output_shape(&[&[1, 1, 4, 4]]).is_err());
    }
}
