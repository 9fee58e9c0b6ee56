//! 2-D convolutions: one `Layer` ([`ConvFamily`]) generic over the conv kind.
//!
//! ConvTranspose2d is Conv2d's geometry with the two sides swapped, so both run on the same
//! kernels (`crate::tensor::conv`): a [`ConvKind`] states its geometry in Conv2d's terms
//! ([`ConvGeom`]) and which side of it the op's input is; forward, backward, parameters
//! and FLOPs follow from that once, here.

pub mod conv2d;
pub mod conv_transpose2d;
pub mod geometry;

pub use conv_transpose2d::ConvTranspose2d;
pub use conv2d::Conv2d;

use crate::error::Result;
use crate::ops::{
    Backward, BackwardArgs, Ctx, FamilyLayer, Forward, Init, ParamSpec, check_arity,
    check_grad_output, check_params,
};
use crate::tensor::Tensor;
use crate::tensor::conv::{
    BackwardOut, ConvGeom, Side, conv_backward, conv_forward, conv_input_grad, zeroed,
};

crate::family!(ConvFamily: Conv2d, ConvTranspose2d);

/// A 2-D convolution, described in Conv2d's geometry.
pub trait ConvKind {
    /// The name users write (PyTorch's class name).
    const OP: &'static str;
    /// The side of [`ConvGeom`] this op reads: [`Side::Image`] for Conv2d (it maps images
    /// to columns), [`Side::Columns`] for ConvTranspose2d (columns back to images).
    const INPUT: Side;

    fn out_channels(&self) -> usize;

    fn bias(&self) -> bool;

    /// The weight shape for `c` input channels (PyTorch's layout for this op).
    fn weight_shape(&self, c: usize) -> Vec<usize>;

    /// The validated geometry for this input shape.
    fn geom(&self, input: &[usize]) -> Result<ConvGeom>;
}

/// `[N, C, H, W]` of one side of the geometry.
fn side_shape(g: &ConvGeom, side: Side) -> [usize; 4] {
    match side {
        Side::Image => [g.batch, g.c_in, g.h, g.w],
        Side::Columns => [g.batch, g.c_out, g.oh, g.ow],
    }
}

/// The other side.
fn opposite(side: Side) -> Side {
    match side {
        Side::Image => Side::Columns,
        Side::Columns => Side::Image,
    }
}

/// The parameters: weight and optional bias, with PyTorch's fans. PyTorch computes the
/// fans from the weight's dims 1 and 0 whatever the op, which in Conv2d's terms is
/// fan_in = c_in/groups·kh·kw and fan_out = c_out·kh·kw for both kinds.
fn specs<K: ConvKind>(op: &K, g: &ConvGeom) -> Vec<ParamSpec> {
    let fans = (g.c_in / g.groups * g.kh * g.kw, g.c_out * g.kh * g.kw);
    let in_channels = side_shape(g, K::INPUT)[1];
    let mut specs = vec![ParamSpec::trainable(
        "weight",
        op.weight_shape(in_channels),
        Init::FanInUniform,
        fans,
    )];
    if op.bias() {
        specs.push(ParamSpec::trainable(
            "bias",
            vec![op.out_channels()],
            Init::FanInUniform,
            fans,
        ));
    }
    specs
}

/// The [`FamilyLayer`] of every [`ConvKind`].
pub struct ConvFamily;

impl<K: ConvKind> FamilyLayer<K> for ConvFamily {
    fn output_shape(op: &K, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(K::OP, Self::arity(op), inputs.len())?;
        let g = op.geom(inputs[0])?;
        Ok(side_shape(&g, opposite(K::INPUT)).to_vec())
    }

    fn params(op: &K, inputs: &[&[usize]]) -> Result<Vec<ParamSpec>> {
        check_arity(K::OP, Self::arity(op), inputs.len())?;
        Ok(specs(op, &op.geom(inputs[0])?))
    }

    fn flops(op: &K, inputs: &[&[usize]], _output: &[usize]) -> u64 {
        inputs
            .first()
            .and_then(|s| op.geom(s).ok())
            .map_or(0, |g| 2 * g.macs())
    }

    fn forward(op: &K, _ctx: &Ctx, inputs: &[&Tensor], params: &[&Tensor]) -> Result<Forward> {
        check_arity(K::OP, Self::arity(op), inputs.len())?;
        let x = inputs[0];
        let g = op.geom(x.shape())?;
        check_params(K::OP, &specs(op, &g), params)?;
        let out_shape = side_shape(&g, opposite(K::INPUT));
        let mut y = zeroed(out_shape.iter().product());
        let (w, bias) = (params[0].data(), params.get(1).map(|b| b.data()));
        match K::INPUT {
            Side::Image => conv_forward(&g, x.data(), w, bias, &mut y)?,
            Side::Columns => conv_input_grad(&g, x.data(), w, bias, &mut y)?,
        }
        Ok(Forward::output(Tensor::new(&out_shape, y)?))
    }

    fn backward(op: &K, args: BackwardArgs<'_>) -> Result<Backward> {
        check_arity(K::OP, Self::arity(op), args.inputs.len())?;
        let x = args.inputs[0];
        let g = op.geom(x.shape())?;
        check_params(K::OP, &specs(op, &g), args.params)?;
        let output = opposite(K::INPUT);
        check_grad_output(K::OP, args.grad_output, &side_shape(&g, output))?;
        let w = args.params[0];
        let mut dx = zeroed(x.numel());
        let mut dw = vec![0.0; w.numel()];
        let mut db = vec![0.0; if op.bias() { op.out_channels() } else { 0 }];
        // dW (and dX) come from the same unfolded image side: X for Conv2d, dY for the
        // transpose; the bias gradient sums the output's side.
        let out = BackwardOut {
            grad_side: K::INPUT,
            grad: &mut dx,
            dw: &mut dw,
            db: op.bias().then_some((output, &mut db[..])),
        };
        let (image, columns) = match K::INPUT {
            Side::Image => (x.data(), args.grad_output.data()),
            Side::Columns => (args.grad_output.data(), x.data()),
        };
        conv_backward(&g, image, columns, w.data(), out)?;
        let mut grads = vec![Some(Tensor::new(w.shape(), dw)?)];
        if op.bias() {
            grads.push(Some(Tensor::new(&[op.out_channels()], db)?));
        }
        Ok(Backward {
            inputs: vec![Some(Tensor::new(x.shape(), dx)?)],
            params: grads,
            step_grad_norms: None,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::ops::testing::*;

    /// Deterministic test values both here and in the PyTorch scripts of the conv tests.
    pub(crate) fn pattern(shape: &[usize], mul: usize, modulo: usize, scale: f32) -> Tensor {
        let half = (modulo / 2) as f32;
        Tensor::from_fn(shape, |i| ((i * mul % modulo) as f32 - half) * scale)
    }

    /// Finite-difference checks of each `(input shape, config)` case, seeded from `seed`.
    pub(crate) fn check_grad_cases<L: Layer + std::fmt::Debug>(
        cases: Vec<(Vec<usize>, L)>,
        seed: u64,
    ) {
        for (i, (shape, op)) in cases.into_iter().enumerate() {
            let x = randn(&shape, seed + i as u64);
            let params = default_params(&op, &[&shape], seed + 10 + i as u64);
            let what = format!("{op:?} on {shape:?}");
            assert!(check_case(&what, &op, &Ctx::train(0), &[x], &params) > 0);
        }
    }

    pub(crate) fn assert_close(got: &Tensor, want: &[f32]) {
        assert_eq!(got.numel(), want.len(), "{:?}", got.shape());
        for (i, (a, b)) in got.data().iter().zip(want).enumerate() {
            assert!((a - b).abs() < 1e-4, "element {i}: {a} vs {b}");
        }
    }

    /// A batch run at once equals each of its samples run alone (the one-sample-per-task
    /// parallel path against the serial one): outputs, input gradients and the summed
    /// weight gradient.
    pub(crate) fn assert_batch_matches_samples(op: &dyn Layer, shape: &[usize]) {
        let x = randn(shape, 3);
        let params = default_params(op, &[shape], 4);
        let p: Vec<&Tensor> = params.iter().collect();
        let fwd = op.forward(&Ctx::train(0), &[&x], &p).unwrap();
        let dy = randn(fwd.output.shape(), 5);
        let bwd = op.backward(&Ctx::train(0), &[&x], &p, &fwd, &dy).unwrap();
        let n = shape[0];
        let (il, ol) = (x.numel() / n, fwd.output.numel() / n);
        let sample = |t: &Tensor, len: usize, s: usize| {
            let mut shape = t.shape().to_vec();
            shape[0] = 1;
            Tensor::new(&shape, t.data()[s * len..(s + 1) * len].to_vec()).unwrap()
        };
        let close = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .all(|(a, b)| (a - b).abs() < 1e-4 * (1.0 + b.abs()))
        };
        let mut dw_sum = Tensor::zeros(params[0].shape());
        for s in 0..n {
            let (xs, dys) = (sample(&x, il, s), sample(&dy, ol, s));
            let f = op.forward(&Ctx::train(0), &[&xs], &p).unwrap();
            let b = op.backward(&Ctx::train(0), &[&xs], &p, &f, &dys).unwrap();
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
}
