//! ConvTranspose2d: the adjoint of Conv2d (a "deconvolution" that upsamples), weight
//! `[in, out/groups, kh, kw]` as in PyTorch. Output size per axis:
//! `(H−1)·stride − 2·padding + dilation·(k−1) + output_padding + 1`.
//!
//! It is Conv2d's geometry with the two sides swapped, so it runs on the same kernels: its
//! forward is Conv2d's input gradient, its input gradient is Conv2d's forward, and its
//! weight gradient is Conv2d's with input and output exchanged.

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
pub struct ConvTranspose2d {
    /// Inferred from the input when absent; checked against it when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_channels: Option<usize>,
    pub out_channels: usize,
    pub kernel_size: Size2,
    #[serde(default = "defaults::size_one")]
    pub stride: Size2,
    #[serde(default = "defaults::size_zero")]
    pub padding: Size2,
    /// Extra rows/columns on the bottom/right of the output, to pick among the input
    /// sizes a strided Conv2d maps to the same output size.
    #[serde(default = "defaults::size_zero")]
    pub output_padding: Size2,
    #[serde(default = "defaults::size_one")]
    pub dilation: Size2,
    #[serde(default = "defaults::one")]
    pub groups: usize,
    #[serde(default = "defaults::yes")]
    pub bias: bool,
}

impl Default for ConvTranspose2d {
    fn default() -> Self {
        ConvTranspose2d {
            in_channels: None,
            out_channels: 16,
            kernel_size: Size2::Square(2),
            stride: Size2::Square(2),
            padding: defaults::size_zero(),
            output_padding: defaults::size_zero(),
            dilation: defaults::size_one(),
            groups: 1,
            bias: true,
        }
    }
}

const OP: &str = "ConvTranspose2d";

impl ConvKind for ConvTranspose2d {
    const OP: &'static str = OP;
    const INPUT: Side = Side::Columns;

    fn out_channels(&self) -> usize {
        self.out_channels
    }

    fn bias(&self) -> bool {
        self.bias
    }

    fn weight_shape(&self, c: usize) -> Vec<usize> {
        let (kh, kw) = pair(self.kernel_size);
        vec![c, self.out_channels / self.groups.max(1), kh, kw]
    }

    /// Conv2d's image side is this op's output, its column side this op's input.
    fn geom(&self, input: &[usize]) -> Result<ConvGeom> {
        let [n, c, h, w] = nchw(OP, input)?;
        check_extent(OP, "padding", self.padding, 0)?;
        check_extent(OP, "output_padding", self.output_padding, 0)?;
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
        let (oph, opw) = pair(self.output_padding);
        let (dh, dw) = pair(self.dilation);
        if (oph >= sh && oph >= dh) || (opw >= sw && opw >= dw) {
            return Err(Error::config(
                OP,
                format!(
                    "output_padding {oph}×{opw} must be smaller than either stride {sh}×{sw} \
                     or dilation {dh}×{dw}"
                ),
            ));
        }
        // full = (H−1)·s + d·(k−1) + output_padding + 1, before cropping 2·padding
        let full = |x: usize, s: usize, d: usize, k: usize, op: usize| {
            (x - 1)
                .saturating_mul(s)
                .saturating_add(d.saturating_mul(k - 1))
                .saturating_add(op)
                .saturating_add(1)
        };
        let (full_h, full_w) = (full(h, sh, dh, kh, oph), full(w, sw, dw, kw, opw));
        let (crop_h, crop_w) = (ph.saturating_mul(2), pw.saturating_mul(2));
        if crop_h >= full_h || crop_w >= full_w {
            return Err(Error::bad_shape(
                OP,
                input,
                format!("padding {ph}×{pw} crops away the whole {full_h}×{full_w} output"),
            ));
        }
        let g = ConvGeom {
            batch: n,
            c_in: self.out_channels,
            h: full_h - crop_h,
            w: full_w - crop_w,
            c_out: c,
            oh: h,
            ow: w,
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

    fn convt(
        out: usize,
        k: Size2,
        s: Size2,
        p: Size2,
        op: Size2,
        d: Size2,
        groups: usize,
    ) -> ConvTranspose2d {
        ConvTranspose2d {
            in_channels: None,
            out_channels: out,
            kernel_size: k,
            stride: s,
            padding: p,
            output_padding: op,
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
    // cases = [  # x shape, out, kernel, stride, padding, output_padding, dilation, groups
    //     ([1, 2, 3, 3], 2, (3, 3), (1, 1), (0, 0), (0, 0), (1, 1), 1),
    //     ([2, 2, 2, 3], 1, (3, 2), (2, 1), (1, 0), (1, 0), (1, 1), 1),
    //     ([1, 2, 3, 2], 2, (2, 3), (2, 3), (0, 1), (0, 2), (2, 1), 1),
    //     ([1, 4, 2, 2], 2, (2, 2), (1, 1), (0, 0), (0, 0), (1, 1), 2),
    //     ([2, 3, 2, 2], 2, (1, 1), (1, 1), (0, 0), (0, 0), (1, 1), 1),
    //     ([1, 2, 3, 3], 2, (2, 2), (1, 1), (0, 0), (1, 1), (2, 2), 1),
    // ]
    // for xs, out, k, s, p, op, d, g in cases:
    //     x = pat(xs, 7, 13, 0.125)
    //     w = pat([xs[1], out // g, *k], 5, 11, 0.1)
    //     b = pat([out], 3, 7, 0.25)
    //     y = F.conv_transpose2d(x, w, b, stride=s, padding=p, output_padding=op,
    //                            groups=g, dilation=d)
    //     print(list(y.shape), [round(v, 5) for v in y.flatten().tolist()])
    /// (input shape, layer, output shape, PyTorch's output values).
    type TorchCase = (Vec<usize>, ConvTranspose2d, Vec<usize>, Vec<f32>);

    fn torch_cases() -> Vec<TorchCase> {
        use Size2::Rect;
        vec![
            (
                vec![1, 2, 3, 3],
                convt(
                    2,
                    Rect(3, 3),
                    Rect(1, 1),
                    Rect(0, 0),
                    Rect(0, 0),
                    Rect(1, 1),
                    1,
                ),
                vec![1, 2, 5, 5],
                vec![
                    -0.5625, -0.65, -1.3125, -0.4875, -1.3625, -0.7375, -0.9125, -0.6, -1.325,
                    -0.4875, -0.3125, -0.9875, 0.0, -0.425, -0.575, -0.7, -1.2125, -0.175, -1.225,
                    -0.575, -1.175, -0.3, -1.575, -0.425, -1.0, 0.175, 0.0875, 0.2625, 0.1375,
                    0.0875, 0.025, -0.275, -0.175, -0.0875, -0.0875, -0.3375, -0.2375, 0.1875,
                    -0.2875, 0.4375, -0.025, 0.2375, 0.2875, -0.55, 0.15, 0.1625, 0.15, -0.375,
                    0.325, -0.325,
                ],
            ),
            (
                vec![2, 2, 2, 3],
                convt(
                    1,
                    Rect(3, 2),
                    Rect(2, 1),
                    Rect(1, 0),
                    Rect(1, 0),
                    Rect(1, 1),
                    1,
                ),
                vec![2, 1, 4, 4],
                vec![
                    -1.2, -0.3625, -1.325, -0.5875, -1.025, -0.2875, -1.225, -0.725, -0.5, -1.3,
                    -0.3125, -1.0875, -0.5875, -1.325, -0.3625, -1.2, -0.675, -1.35, -0.3625,
                    -0.9625, -0.475, -1.1375, -0.2875, -0.9875, -1.1125, -0.3375, -1.3, -0.65,
                    -1.025, -0.3375, -1.325, -0.5875,
                ],
            ),
            (
                vec![1, 2, 3, 2],
                convt(
                    2,
                    Rect(2, 3),
                    Rect(2, 3),
                    Rect(0, 1),
                    Rect(0, 2),
                    Rect(2, 1),
                    1,
                ),
                vec![1, 2, 7, 6],
                vec![
                    -0.9375, -1.0875, -0.8125, -0.5, -0.7375, -0.75, -0.75, -0.75, -0.75, -0.75,
                    -0.75, -0.75, -1.1, -1.0, -0.6875, -0.4875, -0.5625, -0.75, -0.75, -0.75,
                    -0.75, -0.75, -0.75, -0.75, -1.0125, -0.9375, -0.7125, -0.4, -0.5, -0.75,
                    -0.75, -0.75, -0.75, -0.75, -0.75, -0.75, -0.925, -0.6875, -0.4875, -0.75,
                    -0.6, -0.75, 0.15, -0.0, -0.1125, 0.0625, -0.175, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                    0.0, 0.25, 0.35, -0.1125, -0.1875, -0.2625, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                    0.1875, 0.2625, -0.15, -0.25, -0.35, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0125,
                    0.25, -0.075, -0.3375, -0.1875, 0.0,
                ],
            ),
            (
                vec![1, 4, 2, 2],
                convt(
                    2,
                    Rect(2, 2),
                    Rect(1, 1),
                    Rect(0, 0),
                    Rect(0, 0),
                    Rect(1, 1),
                    2,
                ),
                vec![1, 2, 3, 3],
                vec![
                    -0.575, -0.5625, -0.825, -1.1125, -0.2, -0.975, -1.175, -0.3, -0.925, -0.05,
                    0.225, -0.625, -0.05, 0.525, -1.225, -0.025, 0.25, -0.625,
                ],
            ),
            (
                vec![2, 3, 2, 2],
                convt(
                    2,
                    Rect(1, 1),
                    Rect(1, 1),
                    Rect(0, 0),
                    Rect(0, 0),
                    Rect(1, 1),
                    1,
                ),
                vec![2, 2, 2, 2],
                vec![
                    -0.725, -0.375, -0.675, -0.325, 0.1, -0.1625, 0.0625, -0.2, -0.425, -0.725,
                    -0.375, -0.675, -0.125, 0.1, -0.1625, 0.0625,
                ],
            ),
            (
                vec![1, 2, 3, 3],
                convt(
                    2,
                    Rect(2, 2),
                    Rect(1, 1),
                    Rect(0, 0),
                    Rect(1, 1),
                    Rect(2, 2),
                    1,
                ),
                vec![1, 2, 6, 6],
                vec![
                    -0.25, -0.8375, -0.5375, -0.7, -1.05, -0.75, -0.875, -0.65, -0.9125, -0.45,
                    -0.8, -0.75, -1.0, -0.9, -0.95, -0.8, -0.8625, -0.75, -0.625, -1.075, -0.575,
                    -0.325, -0.85, -0.75, -1.0, -0.475, -0.575, -0.925, -0.475, -0.75, -0.75,
                    -0.75, -0.75, -0.75, -0.75, -0.75, -0.3, 0.05, 0.2125, -0.0875, 0.5, 0.0, 0.1,
                    -0.2, 0.1, -0.275, -0.0125, 0.0, -0.4375, 0.25, -0.125, -0.0625, 0.2875, 0.0,
                    0.075, -0.075, 0.025, -0.15, -0.0625, 0.0, -0.05, 0.125, -0.1625, -0.05,
                    -0.125, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
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
    fn grad_cases() -> Vec<(Vec<usize>, ConvTranspose2d)> {
        use Size2::{Rect, Square};
        let z = Square(0);
        let plain = convt(3, Square(3), Square(1), z, z, Square(1), 1);
        vec![
            (vec![2, 2, 3, 4], plain.clone()),
            (
                vec![2, 2, 3, 3],
                convt(3, Square(3), Square(2), z, z, Square(1), 1),
            ),
            (
                vec![2, 2, 3, 4],
                convt(3, Square(3), Square(1), Square(1), z, Square(1), 1),
            ),
            (
                vec![2, 2, 3, 3],
                convt(3, Square(3), Square(1), z, z, Square(2), 1),
            ),
            (
                vec![2, 4, 3, 3],
                convt(4, Square(3), Square(1), Square(1), z, Square(1), 2),
            ),
            (
                vec![2, 2, 3, 4],
                ConvTranspose2d {
                    bias: false,
                    ..plain.clone()
                },
            ),
            (
                vec![2, 2, 3, 3],
                convt(
                    3,
                    Rect(2, 3),
                    Rect(2, 1),
                    Rect(1, 0),
                    Rect(1, 0),
                    Rect(1, 2),
                    1,
                ),
            ),
            (
                vec![2, 2, 3, 3],
                convt(2, Square(3), Square(2), Square(1), Square(1), Square(1), 1),
            ),
            (
                vec![2, 3, 3, 3],
                convt(2, Square(1), Square(1), z, z, Square(1), 1),
            ),
            (
                vec![2, 2, 3, 3],
                convt(2, Square(2), Square(1), z, Square(1), Square(2), 1),
            ),
            (
                vec![2, 2, 3, 3],
                convt(2, Square(1), Square(1), z, Square(1), Square(2), 1),
            ),
            (
                vec![2, 4, 3, 3],
                convt(4, Square(1), Square(1), z, z, Square(1), 2),
            ),
        ]
    }

    #[test]
    fn gradients() {
        check_grad_cases(grad_cases(), 30);
    }

    #[test]
    fn large_batch_matches_per_sample() {
        // Big enough for the one-sample-per-task path; each sample must equal the same
        // sample run alone (serial path).
        let op = convt(
            16,
            Size2::Square(3),
            Size2::Square(2),
            Size2::Square(1),
            Size2::Square(1),
            Size2::Square(1),
            2,
        );
        let shape = [8, 16, 16, 16];
        let g = op.geom(&shape).unwrap();
        assert!(g.macs() >= crate::tensor::PARALLEL_MIN_MACS as u64);
        assert_eq!(op.output_shape(&[&shape]).unwrap(), vec![8, 16, 32, 32]);
        assert_batch_matches_samples(&op, &shape);
    }

    #[test]
    fn params_follow_pytorch() {
        let op = convt(
            6,
            Size2::Rect(3, 5),
            Size2::Square(1),
            Size2::Square(0),
            Size2::Square(0),
            Size2::Square(1),
            2,
        );
        let specs = op.params(&[&[1, 4, 9, 9]]).unwrap();
        assert_eq!(specs[0].name, "weight");
        assert_eq!(specs[0].shape, vec![4, 3, 3, 5]);
        // PyTorch: fan_in = weight.size(1)·kh·kw
        assert_eq!((specs[0].fan_in, specs[0].fan_out), (45, 60));
        assert_eq!(specs[1].name, "bias");
        assert_eq!(specs[1].shape, vec![6]);
        assert_eq!(specs[1].fan_in, 45);
        assert_eq!(
            op.output_shape(&[&[1, 4, 9, 9]]).unwrap(),
            vec![1, 6, 11, 13]
        );
        // every input element meets every (out/groups, kh, kw) weight once
        assert_eq!(
            op.flops(&[&[1, 4, 9, 9]], &[1, 6, 11, 13]),
            2 * 4 * 81 * 3 * 15
        );
    }

    #[test]
    fn shape_errors_name_op_and_shapes() {
        let op = ConvTranspose2d {
            in_channels: Some(3),
            out_channels: 8,
            ..ConvTranspose2d::default()
        };
        // channel mismatch names the input and the weight shape
        let err = shape_error(&op, &[&[2, 1, 8, 8]]);
        assert_mentions(&err, &["ConvTranspose2d", "[2, 1, 8, 8]", "[3, 8, 2, 2]"]);
        // padding that crops the whole output (the transpose's "kernel too large")
        let err = shape_error(
            &ConvTranspose2d {
                padding: Size2::Square(2),
                stride: Size2::Square(1),
                kernel_size: Size2::Square(2),
                ..ConvTranspose2d::default()
            },
            &[&[1, 3, 2, 2]],
        );
        assert_mentions(&err, &["ConvTranspose2d", "[1, 3, 2, 2]"]);
        // channels not divisible by groups
        let err = shape_error(
            &ConvTranspose2d {
                groups: 2,
                ..ConvTranspose2d::default()
            },
            &[&[1, 3, 8, 8]],
        );
        assert_mentions(&err, &["ConvTranspose2d", "divisible by groups"]);
        // output_padding must be below stride or dilation
        let bad = ConvTranspose2d {
            output_padding: Size2::Square(2),
            ..ConvTranspose2d::default()
        };
        let err = shape_error(&bad, &[&[1, 3, 4, 4]]);
        assert!(err.contains("output_padding"), "{err}");
        // wrong rank; absurd sizes are errors, not overflows
        assert!(op.output_shape(&[&[3, 8, 8]]).is_err());
        let huge = ConvTranspose2d {
            stride: Size2::Square(usize::MAX / 2),
            ..ConvTranspose2d::default()
        };
        assert!(huge.output_shape(&[&[1, 3, 8, 8]]).is_err());
        // a weight of the wrong shape is an error, not a panic
        let x = Tensor::zeros(&[1, 3, 4, 4]);
        let w = Tensor::zeros(&[3, 4, 2, 2]);
        let b = Tensor::zeros(&[8]);
        let err = forward_error(&op, &[&x], &[&w, &b]);
        assert_mentions(&err, &["weight", "[3, 8, 2, 2]"]);
        // a grad_output of the wrong shape too
        let w = Tensor::zeros(&[3, 8, 2, 2]);
        let fwd = op.forward(&Ctx::eval(), &[&x], &[&w, &b]).unwrap();
        assert_eq!(fwd.output.shape(), &[1, 8, 8, 8]);
        let err = op
            .backward(
                &Ctx::eval(),
                &[&x],
                &[&w, &b],
                &fwd,
                &Tensor::zeros(&[1, 8, 7, 7]),
            )
            .unwrap_err()
            .to_string();
        assert_mentions(&err, &["[1, 8, 7, 7]", "[1, 8, 8, 8]"]);
    }
}
