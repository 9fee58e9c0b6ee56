//! Conv2d: 2-D convolution of an `[N, C, H, W]` input, weight `[out, in/groups, kh, kw]`
//! as in PyTorch. Lowered per sample to im2col + matmul (kernels in `crate::tensor::conv`,
//! shared with ConvTranspose2d); backward needs only the input, so nothing is saved.

use super::{
    Arity, Backward, Ctx, Forward, Init, Layer, ParamSpec, Saved, Size2, check_arity, check_params,
};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::tensor::conv::{BackwardOut, ConvGeom, Side, conv_backward, conv_forward, zeroed};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv2d {
    /// Inferred from the input when absent; checked against it when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_channels: Option<usize>,
    pub out_channels: usize,
    pub kernel_size: Size2,
    #[serde(default = "size_one")]
    pub stride: Size2,
    #[serde(default = "size_zero")]
    pub padding: Size2,
    #[serde(default = "size_one")]
    pub dilation: Size2,
    #[serde(default = "one")]
    pub groups: usize,
    #[serde(default = "yes")]
    pub bias: bool,
}

pub(crate) fn size_one() -> Size2 {
    Size2::Square(1)
}

pub(crate) fn size_zero() -> Size2 {
    Size2::Square(0)
}

pub(crate) fn one() -> usize {
    1
}

pub(crate) fn yes() -> bool {
    true
}

impl Default for Conv2d {
    fn default() -> Self {
        Conv2d {
            in_channels: None,
            out_channels: 16,
            kernel_size: Size2::Square(3),
            stride: size_one(),
            padding: size_zero(),
            dilation: size_one(),
            groups: 1,
            bias: true,
        }
    }
}

const OP: &str = "Conv2d";

/// The input as `[N, C, H, W]`, or an error naming the op and the shape.
pub(crate) fn nchw(op: &str, input: &[usize]) -> Result<[usize; 4]> {
    match *input {
        [n, c, h, w] if c > 0 && h > 0 && w > 0 => Ok([n, c, h, w]),
        [_, _, _, _] => Err(Error::bad_shape(
            op,
            input,
            "channels, height and width must be at least 1",
        )),
        _ => Err(Error::bad_shape(op, input, "expected [N, C, H, W]")),
    }
}

/// Checks the settings every 2-D convolution shares, for input channels `c`; `weight` is
/// the weight shape these settings imply (named in the channel-mismatch error).
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_settings(
    op: &str,
    input: &[usize],
    in_channels: Option<usize>,
    out_channels: usize,
    kernel: Size2,
    stride: Size2,
    dilation: Size2,
    groups: usize,
    weight: &[usize],
) -> Result<()> {
    let c = input.get(1).copied().unwrap_or(0);
    if let Some(want) = in_channels
        && want != c
    {
        return Err(Error::shape_mismatch(
            op,
            format!("in_channels is {want} but the input has {c} channel(s) (input vs weight)"),
            input,
            weight,
        ));
    }
    if out_channels == 0 {
        return Err(Error::config(op, "out_channels must be at least 1"));
    }
    for (name, s) in [
        ("kernel_size", kernel),
        ("stride", stride),
        ("dilation", dilation),
    ] {
        if s.h() == 0 || s.w() == 0 {
            return Err(Error::config(
                op,
                format!("{name} must be at least 1, got {}×{}", s.h(), s.w()),
            ));
        }
    }
    if groups == 0 {
        return Err(Error::config(op, "groups must be at least 1"));
    }
    if !c.is_multiple_of(groups) {
        return Err(Error::bad_shape(
            op,
            input,
            format!("in_channels ({c}) must be divisible by groups ({groups})"),
        ));
    }
    if !out_channels.is_multiple_of(groups) {
        return Err(Error::config(
            op,
            format!("out_channels ({out_channels}) must be divisible by groups ({groups})"),
        ));
    }
    Ok(())
}

/// Rejects geometry whose buffers (output, column matrix) could not even be sized.
pub(crate) fn check_sizes(op: &str, input: &[usize], g: &ConvGeom) -> Result<()> {
    let product = |dims: &[usize]| dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let out = [g.batch, g.c_out, g.oh, g.ow];
    let image = [g.batch, g.c_in, g.h, g.w];
    let cols = [g.c_in / g.groups.max(1), g.kh, g.kw, g.oh, g.ow];
    if product(&out).is_none() || product(&image).is_none() || product(&cols).is_none() {
        return Err(Error::bad_shape(
            op,
            input,
            "the output or the unfolded input is too large to allocate",
        ));
    }
    Ok(())
}

/// `(kh, kw)` of `kernel` as a pair.
pub(crate) fn pair(s: Size2) -> (usize, usize) {
    (s.h(), s.w())
}

impl Conv2d {
    /// The weight shape for `c` input channels.
    fn weight_shape(&self, c: usize) -> Vec<usize> {
        let (kh, kw) = pair(self.kernel_size);
        vec![self.out_channels, c / self.groups.max(1), kh, kw]
    }

    /// The validated geometry for this input shape.
    fn geom(&self, input: &[usize]) -> Result<ConvGeom> {
        let [n, c, h, w] = nchw(OP, input)?;
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

    fn specs(&self, g: &ConvGeom) -> Vec<ParamSpec> {
        // PyTorch: fan_in = in/groups·kh·kw, fan_out = out·kh·kw (weight dims 1 and 0).
        let fans = (g.c_in / g.groups * g.kh * g.kw, g.c_out * g.kh * g.kw);
        let mut specs = vec![ParamSpec::trainable(
            "weight",
            self.weight_shape(g.c_in),
            Init::FanInUniform,
            fans,
        )];
        if self.bias {
            specs.push(ParamSpec::trainable(
                "bias",
                vec![self.out_channels],
                Init::FanInUniform,
                fans,
            ));
        }
        specs
    }
}

impl Layer for Conv2d {
    fn arity(&self) -> Arity {
        Arity::Exactly(1)
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        let g = self.geom(inputs[0])?;
        Ok(vec![g.batch, g.c_out, g.oh, g.ow])
    }

    fn params(&self, inputs: &[&[usize]]) -> Result<Vec<ParamSpec>> {
        check_arity(OP, self.arity(), inputs.len())?;
        Ok(self.specs(&self.geom(inputs[0])?))
    }

    fn flops(&self, inputs: &[&[usize]], _output: &[usize]) -> u64 {
        inputs
            .first()
            .and_then(|s| self.geom(s).ok())
            .map_or(0, |g| 2 * g.macs())
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], params: &[&Tensor]) -> Result<Forward> {
        check_arity(OP, self.arity(), inputs.len())?;
        let x = inputs[0];
        let g = self.geom(x.shape())?;
        check_params(OP, &self.specs(&g), params)?;
        let mut y = zeroed(g.batch * g.out_len());
        let bias = params.get(1).map(|b| b.data());
        conv_forward(&g, x.data(), params[0].data(), bias, &mut y)?;
        Ok(Forward::new(
            Tensor::new(&[g.batch, g.c_out, g.oh, g.ow], y)?,
            Saved::none(),
        ))
    }

    fn backward(
        &self,
        _ctx: &Ctx,
        inputs: &[&Tensor],
        params: &[&Tensor],
        _forward: &Forward,
        grad_output: &Tensor,
    ) -> Result<Backward> {
        check_arity(OP, self.arity(), inputs.len())?;
        let x = inputs[0];
        let g = self.geom(x.shape())?;
        check_params(OP, &self.specs(&g), params)?;
        let out_shape = [g.batch, g.c_out, g.oh, g.ow];
        if grad_output.shape() != out_shape {
            return Err(Error::shape_mismatch(
                OP,
                "grad_output vs output",
                grad_output.shape(),
                &out_shape,
            ));
        }
        let w = params[0];
        let mut dx = zeroed(x.numel());
        let mut dw = vec![0.0; w.numel()];
        let mut db = vec![0.0; if self.bias { g.c_out } else { 0 }];
        let out = BackwardOut {
            grad_side: Side::Image,
            grad: &mut dx,
            dw: &mut dw,
            db: self.bias.then_some((Side::Columns, &mut db[..])),
        };
        conv_backward(&g, x.data(), grad_output.data(), w.data(), out)?;
        let mut grads = vec![Some(Tensor::new(w.shape(), dw)?)];
        if self.bias {
            grads.push(Some(Tensor::new(&[g.c_out], db)?));
        }
        Ok(Backward {
            inputs: vec![Some(Tensor::new(x.shape(), dx)?)],
            params: grads,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{GradCheck, default_params, randn};

    /// Deterministic test values both here and in the PyTorch script below.
    fn pattern(shape: &[usize], mul: usize, modulo: usize, scale: f32) -> Tensor {
        let half = (modulo / 2) as f32;
        Tensor::from_fn(shape, |i| ((i * mul % modulo) as f32 - half) * scale)
    }

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

    fn assert_close(got: &Tensor, want: &[f32]) {
        assert_eq!(got.numel(), want.len(), "{:?}", got.shape());
        for (i, (a, b)) in got.data().iter().zip(want).enumerate() {
            assert!((a - b).abs() < 1e-4, "element {i}: {a} vs {b}");
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
        for (i, (shape, op)) in grad_cases().into_iter().enumerate() {
            let x = randn(&shape, 10 + i as u64);
            let params = default_params(&op, &[&shape], 20 + i as u64);
            let n = GradCheck::default()
                .check(&op, &Ctx::train(0), &[x], &params, &[true])
                .unwrap_or_else(|e| panic!("{op:?} on {shape:?}: {e}"));
            assert!(n > 0);
        }
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
        let x = randn(&shape, 3);
        let params = default_params(&op, &[&shape], 4);
        let p: Vec<&Tensor> = params.iter().collect();
        let fwd = op.forward(&Ctx::train(0), &[&x], &p).unwrap();
        let dy = randn(fwd.output.shape(), 5);
        let bwd = op.backward(&Ctx::train(0), &[&x], &p, &fwd, &dy).unwrap();
        let (il, ol) = (8 * 576, 8 * 576);
        let mut dw_sum = Tensor::zeros(params[0].shape());
        for s in 0..8 {
            let xs = Tensor::new(&[1, 8, 24, 24], x.data()[s * il..(s + 1) * il].to_vec()).unwrap();
            let dys =
                Tensor::new(&[1, 8, 24, 24], dy.data()[s * ol..(s + 1) * ol].to_vec()).unwrap();
            let f = op.forward(&Ctx::train(0), &[&xs], &p).unwrap();
            let b = op.backward(&Ctx::train(0), &[&xs], &p, &f, &dys).unwrap();
            let close = |a: &[f32], b: &[f32]| {
                a.iter()
                    .zip(b)
                    .all(|(a, b)| (a - b).abs() < 1e-4 * (1.0 + b.abs()))
            };
            assert!(close(
                f.output.data(),
                &fwd.output.data()[s * ol..(s + 1) * ol]
            ));
            let dx = bwd.inputs[0].as_ref().unwrap();
            assert!(close(
                b.inputs[0].as_ref().unwrap().data(),
                &dx.data()[s * il..(s + 1) * il]
            ));
            dw_sum.axpy(1.0, b.params[0].as_ref().unwrap()).unwrap();
        }
        let dw = bwd.params[0].as_ref().unwrap();
        assert!(dw.max_abs_diff(&dw_sum).unwrap() < 1e-3);
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
        let err = op.output_shape(&[&[2, 1, 8, 8]]).unwrap_err().to_string();
        assert!(
            err.contains("Conv2d") && err.contains("[2, 1, 8, 8]") && err.contains("[8, 3, 3, 3]"),
            "{err}"
        );
        // kernel larger than the padded input
        let err = Conv2d {
            padding: Size2::Square(1),
            dilation: Size2::Square(3),
            ..Conv2d::default()
        }
        .output_shape(&[&[1, 3, 4, 4]])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("Conv2d") && err.contains("[1, 3, 4, 4]") && err.contains("7×7"),
            "{err}"
        );
        // channels not divisible by groups
        let err = Conv2d {
            groups: 2,
            ..Conv2d::default()
        }
        .output_shape(&[&[1, 3, 8, 8]])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("Conv2d") && err.contains("divisible by groups"),
            "{err}"
        );
        // wrong rank, zero stride, absurd padding: errors, not panics
        assert!(op.output_shape(&[&[3, 8, 8]]).is_err());
        let huge = Conv2d {
            padding: Size2::Square(usize::MAX / 4),
            ..Conv2d::default()
        };
        let err = huge.output_shape(&[&[1, 3, 8, 8]]).unwrap_err().to_string();
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
        let err = op
            .forward(&Ctx::eval(), &[&x], &[&w, &b])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("weight") && err.contains("[8, 3, 3, 3]"),
            "{err}"
        );
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
        assert!(
            err.contains("[1, 8, 5, 5]") && err.contains("[1, 8, 6, 6]"),
            "{err}"
        );
    }
}
