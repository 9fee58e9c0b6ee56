//! Conv2d: 2-D convolution of an `[N, C, H, W]` input, weight `[out, in/groups, kh, kw]`
//! as in PyTorch. Lowered per sample to im2col + matmul (kernels in `crate::tensor::conv`,
//! shared with ConvTranspose2d); backward needs only the input, so nothing is saved.

use super::ConvKind;
use super::geometry::{check_settings, check_sizes, nchw, pair};
use crate::error::{Error, Result};
use crate::ops::Size2;
use crate::ops::support::defaults;
use crate::ops::support::size2::check_extent;
use crate::tensor::conv::{ConvGeom, Side};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv2d {
    /// Inferred from the input when absent; checked against it when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_channels: Option<usize>,
    pub out_channels: usize,
    pub kernel_size: Size2,
    #[serde(default = "defaults::size_one")]
    pub stride: Size2,
    #[serde(default = "defaults::size_zero")]
    pub padding: Size2,
    #[serde(default = "defaults::size_one")]
    pub dilation: Size2,
    #[serde(default = "defaults::one")]
    pub groups: usize,
    #[serde(default = "defaults::yes")]
    pub bias: bool,
}

impl Default for Conv2d {
    fn default() -> Self {
        Conv2d {
            in_channels: None,
            out_channels: 16,
            kernel_size: Size2::Square(3),
            stride: defaults::size_one(),
            padding: defaults::size_zero(),
            dilation: defaults::size_one(),
            groups: 1,
            bias: true,
        }
    }
}

const OP: &str = "Conv2d";

impl ConvKind for Conv2d {
    const OP: &'static str = OP;
    const INPUT: Side = Side::Image;

    fn out_channels(&self) -> usize {
        self.out_channels
    }

    fn bias(&self) -> bool {
        self.bias
    }

    fn weight_shape(&self, c: usize) -> Vec<usize> {
        let (kh, kw) = pair(self.kernel_size);
        vec![self.out_channels, c / self.groups.max(1), kh, kw]
    }

    fn geom(&self, input: &[usize]) -> Result<ConvGeom> {
        let [n, c, h, w] = nchw(OP, input)?;
        check_extent(OP, "padding", self.padding, 0)?;
        check_settings(
            OP,
            input,
            self.in_channels,
            self.out_channels,
            self.kernel_size,
            self.stride,
            self.dilation,
            self.groups,
            &self.weight_shape(self.in_channels.unwrap_or(c)),
        )?;
        let (kh, kw) = pair(self.kernel_size);
        let (sh, sw) = pair(self.stride);
        let (ph, pw) = pair(self.padding);
        let (dh, dw) = pair(self.dilation);
        // the span of the dilated kernel must fit inside the padded input
        let span = |k: usize, d: usize| d.saturating_mul(k - 1).saturating_add(1);
        let (eh, ew) = (span(kh, dh), span(kw, dw));
        let (padded_h, padded_w) = (
            h.saturating_add(ph.saturating_mul(2)),
            w.saturating_add(pw.saturating_mul(2)),
        );
        if eh > padded_h || ew > padded_w {
            return Err(Error::bad_shape(
                OP,
                input,
                format!(
                    "kernel {kh}×{kw} with dilation {dh}×{dw} spans {eh}×{ew}, larger than \
                     the padded input {padded_h}×{padded_w}"
                ),
            ));
        }
        let g = ConvGeom {
            batch: n,
            c_in: c,
            h,
            w,
            c_out: self.out_channels,
            oh: (padded_h - eh) / sh + 1,
            ow: (padded_w - ew) / sw + 1,
            kh,
            kw,
            sh,
            sw,
            ph,
            pw,
            dh,
            dw,
            groups: self.groups,
        };
        check_sizes(OP, input, &g)?;
        Ok(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::conv::tests::{
        assert_batch_matches_samples, assert_close, check_grad_cases, pattern,
    };
    use crate::ops::testing::*;

    fn conv(out: usize, k: Size2, s: Size2, p: Size2, d: Size2, groups: usize) -> Conv2d {
        Conv2d {
            in_channels: None,
            out_channels: out,
            kernel_size: k,
            stride: s,
            padding: p,
            dilation: d,
            groups,
            bias: true,
        }
    }

    // Generated with /tmp/torchref/bin/python (torch 2.x, CPU):
    //
    // import torch, torch.nn.functional as F
    // def pat(shape, mul, mod, scale):
    //     n = 1
    //     for s in shape: n *= s
    //     return torch.tensor([((i*mul % mod) - mod//2) * scale for i in range(n)],
    //                         dtype=torch.float32).reshape(shape)
    // cases = [  # x shape, out, kernel, stride, padding, dilation, groups
    //     ([1, 2, 5, 5], 3, (3, 3), (1, 1), (0, 0), (1, 1), 1),
    //     ([2, 2, 5, 6], 2, (3, 2), (2, 1), (1, 0), (1, 1), 1),
    //     ([1, 2, 6, 6], 2, (3, 3), (1, 2), (2, 1), (2, 2), 1),
    //     ([1, 4, 4, 4], 2, (2, 2), (1, 1), (0, 0), (1, 1), 2),
    //     ([2, 3, 3, 3], 2, (1, 1), (1, 1), (0, 0), (1, 1), 1),
    // ]
    // for xs, out, k, s, p, d, g in cases:
    //     x = pat(xs, 7, 13, 0.125)
    //     w = pat([out, xs[1] // g, *k], 5, 11, 0.1)
    //     b = pat([out], 3, 7, 0.25)
    //     y = F.conv2d(x, w, b, stride=s, padding=p, dilation=d, groups=g)
    //     print(list(y.shape), [round(v, 5) for v in y.flatten().tolist()])
    /// (input shape, layer, output shape, PyTorch's output values).
    type TorchCase = (Vec<usize>, Conv2d, Vec<usize>, Vec<f32>);

    fn torch_cases() -> Vec<TorchCase> {
        use Size2::Rect;
        vec![
            (
                vec![1, 2, 5, 5],
                conv(3, Rect(3, 3), Rect(1, 1), Rect(0, 0), Rect(1, 1), 1),
                vec![1, 3, 3, 3],
                vec![
                    -0.65, -0.1375, -0.6, -0.2, -0.825, -0.6375, -1.375, -1.35, -0.5125, 0.1,
                    0.2375, -0.6, -0.675, 0.1125, -0.075, 0.5, 0.15, 0.6125, 0.1625, 0.8875,
                    0.6375, 1.1875, 0.775, 1.175, 0.5875, 0.825, 0.0875,
                ],
            ),
            (
                vec![2, 2, 5, 6],
                conv(2, Rect(3, 2), Rect(2, 1), Rect(1, 0), Rect(1, 1), 1),
                vec![2, 2, 3, 5],
                vec![
                    -2.025, -0.075, -1.2125, -0.2375, -1.2125, -0.15, -2.05, 0.275, -1.7875, 0.05,
                    -0.5625, -0.5, -1.4125, -0.05, -1.9375, 0.65, -1.0, 0.6, -0.2375, 0.55,
                    -0.5125, 0.3, -0.8375, 0.7875, -0.025, -0.2, -0.0125, 0.0125, -0.2875, 0.55,
                    -0.2375, -1.2125, -0.2375, -1.2125, -0.075, -0.725, -0.1875, -1.1125, -0.25,
                    -1.175, -1.2, -0.1625, -0.5875, -0.525, -0.625, -0.2, 0.5875, -0.25, 0.5375,
                    -0.95, -0.5125, 0.1375, 0.1375, 0.1375, 0.1375, 0.65, -0.95, 0.5375, -0.25,
                    0.5875,
                ],
            ),
            (
                vec![1, 2, 6, 6],
                conv(2, Rect(3, 3), Rect(1, 2), Rect(2, 1), Rect(2, 2), 1),
                vec![1, 2, 6, 2],
                vec![
                    -0.175, -1.2, -0.7625, -0.75, -0.2875, -0.8875, -0.35, -0.4125, -0.8625,
                    -0.1875, -1.25, -1.1125, -0.6125, -0.1125, 0.0375, -0.325, 1.225, -0.7, -0.15,
                    0.2875, -0.1125, -0.025, 0.0, -0.15,
                ],
            ),
            (
                vec![1, 4, 4, 4],
                conv(2, Rect(2, 2), Rect(1, 1), Rect(0, 0), Rect(1, 1), 2),
                vec![1, 2, 3, 3],
                vec![
                    -0.2375, -1.125, -0.225, -0.2125, -0.6125, -0.6875, -0.5125, -1.075, -1.15,
                    -0.6, 0.3875, 0.2375, 0.2625, -0.5375, 0.9375, 0.9625, -0.8125, 0.9875,
                ],
            ),
            (
                vec![2, 3, 3, 3],
                conv(2, Rect(1, 1), Rect(1, 1), Rect(0, 0), Rect(1, 1), 1),
                vec![2, 2, 3, 3],
                vec![
                    -0.1875, -1.0, -0.1875, -1.0, -0.1875, -1.0, -0.1875, -1.0, -1.0, 0.25, 0.0125,
                    0.2625, 0.025, -0.375, 0.0375, -0.3625, 0.05, -0.025, -1.0, -0.1875, -1.0,
                    -0.1875, -1.0, -0.1875, -1.0, -1.0, -1.0, 0.0125, 0.2625, 0.025, -0.375,
                    0.0375, -0.3625, 0.05, -0.025, 0.0625,
                ],
            ),
        ]
    }

    #[test]
    fn forward_matches_pytorch() {
        for (xs, op, ys, want) in torch_cases() {
            let x = pattern(&xs, 7, 13, 0.125);
            let w = pattern(&op.weight_shape(xs[1]), 5, 11, 0.1);
            let b = pattern(&[op.out_channels], 3, 7, 0.25);
            let y = op.forward(&Ctx::eval(), &[&x], &[&w, &b]).unwrap().output;
            assert_eq!(y.shape(), &ys[..], "{op:?}");
            assert_eq!(op.output_shape(&[&xs]).unwrap(), ys);
            assert_close(&y, &want);
        }
    }

    /// Every config variant: (input shape, layer).
    fn grad_cases() -> Vec<(Vec<usize>, Conv2d)> {
        use Size2::{Rect, Square};
        let plain = conv(3, Square(3), Square(1), Square(0), Square(1), 1);
        vec![
            (vec![2, 2, 5, 5], plain.clone()),
            (
                vec![2, 2, 7, 6],
                conv(3, Square(3), Square(2), Square(0), Square(1), 1),
            ),
            (
                vec![2, 2, 4, 5],
                conv(3, Square(3), Square(1), Square(1), Square(1), 1),
            ),
            (
                vec![2, 2, 7, 7],
                conv(3, Square(3), Square(1), Square(0), Square(2), 1),
            ),
            (
                vec![2, 4, 5, 5],
                conv(4, Square(3), Square(1), Square(1), Square(1), 2),
            ),
            (
                vec![2, 2, 5, 5],
                Conv2d {
                    bias: false,
                    ..plain.clone()
                },
            ),
            (
                vec![2, 2, 6, 7],
                conv(3, Rect(2, 3), Rect(2, 1), Rect(1, 0), Rect(1, 2), 1),
            ),
            (
                vec![2, 3, 4, 4],
                conv(2, Square(1), Square(1), Square(0), Square(1), 1),
            ),
            (
                vec![2, 4, 3, 3],
                conv(4, Square(1), Square(1), Square(0), Square(1), 2),
            ),
        ]
    }

    #[test]
    fn gradients() {
        check_grad_cases(grad_cases(), 10);
    }

    #[test]
    fn large_batch_parallel_path_matches_serial_samples() {
        // Big enough for the one-sample-per-task path; each sample must equal the same
        // sample run alone (serial path).
        let op = conv(
            8,
            Size2::Square(3),
            Size2::Square(1),
            Size2::Square(1),
            Size2::Square(1),
            2,
        );
        let shape = [8, 8, 24, 24];
        let g = op.geom(&shape).unwrap();
        assert!(g.macs() >= crate::tensor::PARALLEL_MIN_MACS as u64);
        assert_batch_matches_samples(&op, &shape);
    }

    #[test]
    fn params_follow_pytorch() {
        let op = conv(
            6,
            Size2::Rect(3, 5),
            Size2::Square(1),
            Size2::Square(0),
            Size2::Square(1),
            2,
        );
        let specs = op.params(&[&[1, 4, 9, 9]]).unwrap();
        assert_eq!(specs[0].name, "weight");
        assert_eq!(specs[0].shape, vec![6, 2, 3, 5]);
        assert_eq!((specs[0].fan_in, specs[0].fan_out), (30, 90));
        assert_eq!(specs[1].name, "bias");
        assert_eq!(specs[1].shape, vec![6]);
        assert_eq!(
            op.flops(&[&[1, 4, 9, 9]], &[1, 6, 7, 5]),
            2 * 6 * 7 * 5 * 30
        );
    }

    #[test]
    fn shape_errors_name_op_and_shapes() {
        let op = Conv2d {
            in_channels: Some(3),
            out_channels: 8,
            ..Conv2d::default()
        };
        // channel mismatch names the input and the weight shape
        let err = shape_error(&op, &[&[2, 1, 8, 8]]);
        assert_mentions(&err, &["Conv2d", "[2, 1, 8, 8]", "[8, 3, 3, 3]"]);
        // kernel larger than the padded input
        let err = shape_error(
            &Conv2d {
                padding: Size2::Square(1),
                dilation: Size2::Square(3),
                ..Conv2d::default()
            },
            &[&[1, 3, 4, 4]],
        );
        assert_mentions(&err, &["Conv2d", "[1, 3, 4, 4]", "7×7"]);
        // channels not divisible by groups
        let err = shape_error(
            &Conv2d {
                groups: 2,
                ..Conv2d::default()
            },
            &[&[1, 3, 8, 8]],
        );
        assert_mentions(&err, &["Conv2d", "divisible by groups"]);
        // wrong rank, zero stride, absurd padding: errors, not panics
        assert!(op.output_shape(&[&[3, 8, 8]]).is_err());
        let huge = Conv2d {
            padding: Size2::Square(usize::MAX / 4),
            ..Conv2d::default()
        };
        let err = shape_error(&huge, &[&[1, 3, 8, 8]]);
        assert!(err.contains("too large"), "{err}");
        let zero_stride = Conv2d {
            stride: Size2::Square(0),
            ..Conv2d::default()
        };
        assert!(zero_stride.output_shape(&[&[1, 3, 8, 8]]).is_err());
        // a weight of the wrong shape is an error, not a panic
        let x = Tensor::zeros(&[1, 3, 8, 8]);
        let w = Tensor::zeros(&[8, 2, 3, 3]);
        let b = Tensor::zeros(&[8]);
        let err = forward_error(&op, &[&x], &[&w, &b]);
        assert_mentions(&err, &["weight", "[8, 3, 3, 3]"]);
        // a grad_output of the wrong shape too
        let w = Tensor::zeros(&[8, 3, 3, 3]);
        let fwd = op.forward(&Ctx::eval(), &[&x], &[&w, &b]).unwrap();
        let err = op
            .backward(
                &Ctx::eval(),
                &[&x],
                &[&w, &b],
                &fwd,
                &Tensor::zeros(&[1, 8, 5, 5]),
            )
            .unwrap_err()
            .to_string();
        assert_mentions(&err, &["[1, 8, 5, 5]", "[1, 8, 6, 6]"]);
    }
}
