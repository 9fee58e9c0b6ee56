//! CrossEntropyLoss: log-softmax over the class dimension (dim 1) plus negative
//! log-likelihood of the target class, as `torch.nn.CrossEntropyLoss` with class-index
//! targets. Logits `[N, C]` or `[N, C, d1, ...]` (per-pixel classification); targets `[N]`
//! or `[N, d1, ...]` holding class indices stored as f32 (no gradient).
//!
//! With label smoothing ε, PyTorch's formula: per position
//! `(1-ε)·(-log p_y) + (ε/C)·Σ_c(-log p_c)`; with `mean` both terms are divided by the
//! number of non-ignored positions. The gradient w.r.t. the logits is
//! `p - ((1-ε)·onehot(y) + ε/C)`, zero at ignored positions. Forward keeps the
//! probabilities `p` and the parsed class indices for backward.

use super::reduction::{Reduction, scalar_grad};
use crate::error::{Error, Result};
use crate::ops::activation::softmax::softmax_block;
use crate::ops::{Arity, Backward, BackwardArgs, Ctx, Forward, Layer, Saved, check_arity};
use crate::tensor::{PARALLEL_MIN_ELEMS, Tensor};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrossEntropyLoss {
    #[serde(default)]
    pub reduction: Reduction,
    /// ε in [0, 1]: the target distribution is `(1-ε)·onehot + ε/C` (PyTorch default 0).
    #[serde(default)]
    pub label_smoothing: f32,
    /// Positions whose target equals this value contribute nothing (and do not count
    /// towards the mean). PyTorch's default is -100; here none are ignored unless set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_index: Option<i64>,
}

const OP: &str = "CrossEntropyLoss";

/// Marks an ignored position in the parsed class indices.
const IGNORED: u32 = u32::MAX;

/// `[i, j, ...]`: flat index `i` of a tensor of `shape` as a multi-index.
fn position(shape: &[usize], mut i: usize) -> String {
    let mut idx = vec![0; shape.len()];
    for (d, &s) in idx.iter_mut().zip(shape).rev() {
        if s > 0 {
            *d = i % s;
            i /= s;
        }
    }
    crate::error::ShapeDisplay(idx).to_string()
}

/// (N, C, inner) of validated logits, where inner is the product of the spatial dims.
struct Dims {
    c: usize,
    inner: usize,
}

impl CrossEntropyLoss {
    fn dims(&self, inputs: &[&[usize]]) -> Result<Dims> {
        check_arity(OP, self.arity(), inputs.len())?;
        let eps = self.label_smoothing;
        if !(0.0..=1.0).contains(&eps) {
            return Err(Error::config(
                OP,
                format!("label_smoothing must be in [0, 1], got {eps}"),
            ));
        }
        let (input, target) = (inputs[0], inputs[1]);
        if input.len() < 2 {
            return Err(Error::bad_shape(
                OP,
                input,
                "expected logits [N, C] or [N, C, d1, ...]",
            ));
        }
        if input[1] == 0 {
            return Err(Error::bad_shape(
                OP,
                input,
                "needs at least one class (C ≥ 1)",
            ));
        }
        let want: Vec<usize> = input[..1].iter().chain(&input[2..]).copied().collect();
        if target != want {
            return Err(Error::shape_mismatch(
                OP,
                "target must have the input's shape without its class dimension",
                input,
                target,
            ));
        }
        Ok(Dims {
            c: input[1],
            inner: input[2..].iter().product(),
        })
    }

    /// Each target position as a class index (or [`IGNORED`]), and how many count.
    fn classes(&self, target: &Tensor, c: usize) -> Result<(Vec<u32>, usize)> {
        let mut out = Vec::with_capacity(target.numel());
        let mut count = 0;
        for (i, &v) in target.data().iter().enumerate() {
            if !v.is_finite() || v.fract() != 0.0 {
                return Err(Error::value(
                    OP,
                    format!(
                        "target{} is {v}, not an integer class index (input has {c} classes)",
                        position(target.shape(), i)
                    ),
                ));
            }
            let k = v as i64;
            if Some(k) == self.ignore_index {
                out.push(IGNORED);
            } else if (0..c as i64).contains(&k) && k < IGNORED as i64 {
                out.push(k as u32);
                count += 1;
            } else {
                return Err(Error::value(
                    OP,
                    format!(
                        "target{} is class index {k}, outside [0, {c}) for {c} classes",
                        position(target.shape(), i)
                    ),
                ));
            }
        }
        Ok((out, count))
    }
}

impl Layer for CrossEntropyLoss {
    fn arity(&self) -> Arity {
        Arity::Exactly(2)
    }

    fn input_name(&self, i: usize) -> String {
        if i == 0 { "input" } else { "target" }.to_string()
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        self.dims(inputs)?;
        Ok(Vec::new())
    }

    fn flops(&self, inputs: &[&[usize]], _output: &[usize]) -> u64 {
        6 * inputs.first().map_or(0, |s| s.iter().product::<usize>()) as u64
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        let shapes: Vec<&[usize]> = inputs.iter().map(|t| t.shape()).collect();
        let Dims { c, inner } = self.dims(&shapes)?;
        let (x, target) = (inputs[0], inputs[1]);
        let (classes, count) = self.classes(target, c)?;
        let mut p = vec![0.0; x.numel()];
        let mut lse = vec![0.0; classes.len()];
        let smoothing = self.label_smoothing > 0.0;

        // Softmax of one sample's [C, inner] block, then its (NLL, smoothing) sums.
        let block_loss = |x: &[f32], p: &mut [f32], lse: &mut [f32], cls: &[u32]| {
            softmax_block(x, p, lse, inner, false);
            let (mut nll, mut smooth) = (0.0f64, 0.0f64);
            for (s, (&k, &l)) in cls.iter().zip(lse.iter()).enumerate() {
                if k == IGNORED {
                    continue;
                }
                let xk = x.get(k as usize * inner + s).copied().unwrap_or(f32::NAN);
                nll += l as f64 - xk as f64;
                if smoothing {
                    let sx: f64 = x.iter().skip(s).step_by(inner).map(|&v| v as f64).sum();
                    smooth += c as f64 * l as f64 - sx;
                }
            }
            (nll, smooth)
        };
        let block = c * inner;
        let (nll, smooth) = if block == 0 {
            (0.0, 0.0)
        } else if x.numel() >= PARALLEL_MIN_ELEMS && x.numel() > block {
            p.par_chunks_mut(block)
                .zip(x.data().par_chunks(block))
                .zip(lse.par_chunks_mut(inner).zip(classes.par_chunks(inner)))
                .map(|((p, x), (l, k))| block_loss(x, p, l, k))
                // Collected, then added in order: deterministic whatever the scheduling.
                .collect::<Vec<(f64, f64)>>()
                .into_iter()
                .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1))
        } else {
            p.chunks_mut(block)
                .zip(x.data().chunks(block))
                .zip(lse.chunks_mut(inner).zip(classes.chunks(inner)))
                .map(|((p, x), (l, k))| block_loss(x, p, l, k))
                .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1))
        };
        let eps = self.label_smoothing as f64;
        let loss = ((1.0 - eps) * nll + eps / c as f64 * smooth) / self.reduction.divisor(count);
        Ok(Forward::new(
            Tensor::scalar(loss as f32),
            Saved {
                tensors: vec![Tensor::new(x.shape(), p)?],
                indices: classes,
            },
        ))
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        let (inputs, forward, grad_output) = (args.inputs, args.forward, args.grad_output);
        let shapes: Vec<&[usize]> = inputs.iter().map(|t| t.shape()).collect();
        let Dims { c, inner } = self.dims(&shapes)?;
        let x = inputs[0];
        let p = forward.saved.tensor(OP, 0)?;
        let classes = &forward.saved.indices;
        if p.shape() != x.shape() || classes.len() != inputs[1].numel() {
            return Err(Error::Other(format!(
                "{OP}: backward state does not match the inputs"
            )));
        }
        let count = classes.iter().filter(|&&k| k != IGNORED).count();
        let w = scalar_grad(OP, grad_output)? as f64 / self.reduction.divisor(count);
        let eps = self.label_smoothing as f64;
        let (off, hit) = ((w * eps / c as f64) as f32, (w * (1.0 - eps)) as f32);
        let w = w as f32;

        let block_grad = |dx: &mut [f32], p: &[f32], cls: &[u32]| {
            dx.iter_mut().zip(p).for_each(|(d, &p)| *d = w * p - off);
            for (s, &k) in cls.iter().enumerate() {
                if k == IGNORED {
                    dx.iter_mut().skip(s).step_by(inner).for_each(|d| *d = 0.0);
                } else if let Some(d) = dx.get_mut(k as usize * inner + s) {
                    *d -= hit;
                }
            }
        };
        let block = c * inner;
        let mut dx = vec![0.0; x.numel()];
        if block > 0 {
            if dx.len() >= PARALLEL_MIN_ELEMS && dx.len() > block {
                dx.par_chunks_mut(block)
                    .zip(p.data().par_chunks(block).zip(classes.par_chunks(inner)))
                    .for_each(|(d, (p, k))| block_grad(d, p, k));
            } else {
                for (d, (p, k)) in dx
                    .chunks_mut(block)
                    .zip(p.data().chunks(block).zip(classes.chunks(inner)))
                {
                    block_grad(d, p, k);
                }
            }
        }
        Ok(Backward::inputs(vec![
            Some(Tensor::new(x.shape(), dx)?),
            None,
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    // Reference values: PyTorch 2.15 (CPU), with
    //   import torch; F = torch.nn.functional
    //   def logits(*shape):
    //       n = 1
    //       for s in shape: n *= s
    //       return torch.tensor([((i * 7) % 11 - 5) * 0.25 for i in range(n)]).reshape(shape)
    //   x = logits(3, 4); t = torch.tensor([0, 3, 1])
    //   for kw in [{}, {'reduction': 'sum'}, {'label_smoothing': 0.1},
    //              {'label_smoothing': 0.1, 'reduction': 'sum'}, {'ignore_index': 1},
    //              {'ignore_index': 1, 'label_smoothing': 0.2}]:
    //       print(kw, F.cross_entropy(x, t, **kw).item())
    //   x = logits(2, 3, 2, 2); t = torch.tensor([[[2, 0], [1, 1]], [[0, 2], [2, 1]]])
    //   for kw in [{}, {'label_smoothing': 0.1}, {'ignore_index': 2, 'label_smoothing': 0.1},
    //              {'ignore_index': 2, 'reduction': 'sum'}]:
    //       print(kw, F.cross_entropy(x, t, **kw).item())

    fn logits(shape: &[usize]) -> Tensor {
        Tensor::from_fn(shape, |i| ((i * 7) % 11) as f32 * 0.25 - 1.25)
    }

    fn ce(
        reduction: Reduction,
        label_smoothing: f32,
        ignore_index: Option<i64>,
    ) -> CrossEntropyLoss {
        CrossEntropyLoss {
            reduction,
            label_smoothing,
            ignore_index,
        }
    }

    fn loss(l: &CrossEntropyLoss, x: &Tensor, t: &Tensor) -> f32 {
        l.forward(&Ctx::eval(), &[x, t], &[])
            .unwrap()
            .output
            .item()
            .unwrap()
    }

    /// Asserts each config's loss on these logits and targets (PyTorch's values).
    fn assert_losses(x: &Tensor, t: &Tensor, cases: &[(CrossEntropyLoss, f64)]) {
        for (l, want) in cases {
            let got = loss(l, x, t);
            assert!((got as f64 - want).abs() < 1e-5, "{l:?}: {got} vs {want}");
        }
    }

    #[test]
    fn forward_matches_pytorch() {
        use Reduction::{Mean, Sum};
        let t = Tensor::new(&[3], vec![0., 3., 1.]).unwrap();
        let cases = [
            (ce(Mean, 0.0, None), 1.7547426223754883),
            (ce(Sum, 0.0, None), 5.264227867126465),
            (ce(Mean, 0.1, None), 1.7484925985336304),
            (ce(Sum, 0.1, None), 5.245477676391602),
            (ce(Mean, 0.0, Some(1)), 2.3736138343811035),
            (ce(Mean, 0.2, Some(1)), 2.2361137866973877),
        ];
        assert_losses(&logits(&[3, 4]), &t, &cases);
        // spatial: [N, C, H, W] logits, [N, H, W] targets
        let t = Tensor::new(&[2, 2, 2], vec![2., 0., 1., 1., 0., 2., 2., 1.]).unwrap();
        let cases = [
            (ce(Mean, 0.0, None), 1.5244377851486206),
            (ce(Mean, 0.1, None), 1.5088127851486206),
            (ce(Mean, 0.1, Some(2)), 1.2249302864074707),
            (ce(Sum, 0.0, Some(2)), 6.057985305786133),
        ];
        assert_losses(&logits(&[2, 3, 2, 2]), &t, &cases);
    }

    #[test]
    fn large_batch_parallel_path_matches_serial() {
        // 2048×40 logits cross the parallel threshold; compare with per-row evaluation.
        let x = randn(&[2048, 40], 5).scale(3.0);
        let t = Tensor::from_fn(&[2048], |i| ((i * 13) % 40) as f32);
        let l = ce(Reduction::Sum, 0.1, None);
        let big = loss(&l, &x, &t) as f64;
        let mut small = 0.0f64;
        for r in 0..2048 {
            let xr = Tensor::new(&[1, 40], x.data()[r * 40..(r + 1) * 40].to_vec()).unwrap();
            let tr = Tensor::new(&[1], vec![t.data()[r]]).unwrap();
            small += loss(&l, &xr, &tr) as f64;
        }
        assert!((big - small).abs() < 1e-6 * small.abs(), "{big} vs {small}");
    }

    #[test]
    fn gradients() {
        use Reduction::{Mean, Sum};
        let configs = [
            ce(Mean, 0.0, None),
            ce(Sum, 0.0, None),
            ce(Mean, 0.1, None),
            ce(Sum, 0.3, Some(1)),
            ce(Mean, 0.2, Some(2)),
        ];
        for l in configs {
            let x = randn(&[4, 3], 1).scale(2.0);
            let t = Tensor::new(&[4], vec![2., 1., 0., 2.]).unwrap();
            GradCheck::default()
                .check(&l, &Ctx::train(0), &[x, t], &[], &[true, false])
                .unwrap_or_else(|e| panic!("{l:?}: {e}"));
            let x = randn(&[2, 3, 2, 3], 2).scale(2.0);
            let t = Tensor::from_fn(&[2, 2, 3], |i| ((i * 5) % 3) as f32);
            GradCheck::default()
                .check(&l, &Ctx::train(0), &[x, t], &[], &[true, false])
                .unwrap_or_else(|e| panic!("spatial {l:?}: {e}"));
        }
        // the target gets no gradient; ignored positions get exactly zero
        let l = ce(Mean, 0.1, Some(1));
        let x = randn(&[3, 4], 3);
        let t = Tensor::new(&[3], vec![0., 1., 3.]).unwrap();
        let fwd = l.forward(&Ctx::train(0), &[&x, &t], &[]).unwrap();
        let bwd = l
            .backward(&Ctx::train(0), &[&x, &t], &[], &fwd, &Tensor::scalar(1.0))
            .unwrap();
        assert!(bwd.inputs[1].is_none());
        assert_eq!(&bwd.inputs[0].as_ref().unwrap().data()[4..8], &[0.0; 4]);
    }

    #[test]
    fn bad_targets_name_index_position_and_class_count() {
        let l = CrossEntropyLoss::default();
        let x = Tensor::zeros(&[2, 3, 2]);
        let t = Tensor::new(&[2, 2], vec![0., 1., 2., 3.]).unwrap();
        let err = forward_error(&l, &[&x, &t], &[]);
        assert_mentions(
            &err,
            &["CrossEntropyLoss", "target[1, 1]", " 3", "3 classes"],
        );
        let t = Tensor::new(&[2, 2], vec![0., 1.5, 2., 0.]).unwrap();
        let err = forward_error(&l, &[&x, &t], &[]);
        assert_mentions(&err, &["target[0, 1]", "1.5", "3 classes"]);
        let t = Tensor::new(&[2, 2], vec![0., -1., 2., 0.]).unwrap();
        let err = forward_error(&l, &[&x, &t], &[]);
        assert_mentions(&err, &["target[0, 1]", "-1"]);
        // ... unless it is the ignore_index
        let l = ce(Reduction::Mean, 0.0, Some(-1));
        assert!(l.forward(&Ctx::eval(), &[&x, &t], &[]).is_ok());
        let t = Tensor::new(&[2, 2], vec![0., f32::NAN, 2., 0.]).unwrap();
        assert!(l.forward(&Ctx::eval(), &[&x, &t], &[]).is_err());
    }

    #[test]
    fn shape_errors_name_op_and_shapes() {
        let l = CrossEntropyLoss::default();
        let err = shape_error(&l, &[&[4, 10], &[5]]);
        assert_mentions(&err, &["CrossEntropyLoss", "[4, 10]", "[5]"]);
        let err = shape_error(&l, &[&[2, 5, 8, 8], &[2, 8, 7]]);
        assert_mentions(&err, &["[2, 5, 8, 8]", "[2, 8, 7]"]);
        assert_eq!(
            l.output_shape(&[&[2, 5, 8, 8], &[2, 8, 8]]).unwrap(),
            Vec::<usize>::new()
        );
        assert!(l.output_shape(&[&[4], &[4]]).is_err());
        assert!(l.output_shape(&[&[4, 0], &[4]]).is_err());
        assert!(
            ce(Reduction::Mean, 1.5, None)
                .output_shape(&[&[4, 2], &[4]])
                .is_err()
        );
        assert_eq!(l.input_name(0), "input");
        assert_eq!(l.input_name(1), "target");
    }
}
