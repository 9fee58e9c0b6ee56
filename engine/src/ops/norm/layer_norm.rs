//! LayerNorm: normalises each sample over its trailing `normalized_shape` dims, then
//! applies an elementwise affine (weight Ones, bias Zeros, shaped `normalized_shape`).
//! Forward keeps only each row's mean and 1/σ; backward recomputes x̂ from the input.

use super::kernels::sum2;
use crate::error::{Error, Result};
use crate::ops::same_shape_output;
use crate::ops::support::defaults;
use crate::ops::{
    Backward, BackwardArgs, Ctx, Forward, Init, Layer, ParamSpec, Saved, check_arity, check_params,
};
use crate::tensor::{PARALLEL_MIN_ELEMS, Tensor, vectorized};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerNorm {
    /// Trailing dims to normalise over; the last dim when absent (inferred), checked
    /// against the input when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalized_shape: Option<Vec<usize>>,
    #[serde(default = "defaults::eps")]
    pub eps: f32,
    #[serde(default = "defaults::yes")]
    pub elementwise_affine: bool,
}

impl Default for LayerNorm {
    fn default() -> Self {
        LayerNorm {
            normalized_shape: None,
            eps: defaults::eps(),
            elementwise_affine: true,
        }
    }
}

const OP: &str = "LayerNorm";

/// Rough forward cost per element: two statistics passes plus the affine.
const FLOPS_PER_ELEM: u64 = 7;

impl LayerNorm {
    /// The normalised trailing shape for this input, validated.
    fn norm_shape<'a>(&self, input: &'a [usize]) -> Result<&'a [usize]> {
        if !(self.eps > 0.0 && self.eps.is_finite()) {
            return Err(Error::config(
                OP,
                format!("eps must be finite and > 0, got {}", self.eps),
            ));
        }
        let k = match &self.normalized_shape {
            Some(ns) if ns.is_empty() => {
                return Err(Error::config(OP, "normalized_shape must not be empty"));
            }
            Some(ns) => ns.len(),
            None => 1,
        };
        // The batch dimension is never normalised over.
        if input.len() <= k {
            return Err(Error::bad_shape(
                OP,
                input,
                format!(
                    "expected [N, ...] with {k} trailing normalised dim(s) after the batch dim"
                ),
            ));
        }
        let tail = &input[input.len() - k..];
        if let Some(ns) = &self.normalized_shape
            && ns.as_slice() != tail
        {
            return Err(Error::shape_mismatch(
                OP,
                "normalized_shape must equal the input's trailing dims",
                ns,
                input,
            ));
        }
        if tail.contains(&0) {
            return Err(Error::bad_shape(
                OP,
                input,
                "cannot normalise over an empty dimension",
            ));
        }
        Ok(tail)
    }

    /// (rows, d): the input seen as rows of d normalised values.
    fn rows_d(&self, input: &[usize]) -> Result<(usize, usize)> {
        let d: usize = self.norm_shape(input)?.iter().product();
        Ok((input.iter().product::<usize>() / d, d))
    }
}

/// Rows per parallel task: enough work to amortise scheduling.
fn min_rows(d: usize) -> usize {
    (PARALLEL_MIN_ELEMS / 4).div_ceil(d).max(1)
}

/// Mean and 1/σ (biased variance) of one row, in one pass of sums shifted by the row's
/// first value (accurate even when |mean| ≫ σ).
#[inline(always)]
fn row_stats(x: &[f32], eps: f32) -> (f32, f32) {
    let d = x.len() as f64;
    let shift = x.first().copied().unwrap_or(0.0);
    let (s1, s2) = sum2(x, x, |v, _| {
        let t = v - shift;
        (t, t * t)
    });
    let dm = s1 / d;
    let var = (s2 / d - dm * dm).max(0.0);
    (
        (shift as f64 + dm) as f32,
        (1.0 / (var + eps as f64).sqrt()) as f32,
    )
}

impl Layer for LayerNorm {
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        same_shape_output(OP, self.arity(), inputs, |x| self.norm_shape(x).map(|_| ()))
    }

    fn params(&self, inputs: &[&[usize]]) -> Result<Vec<ParamSpec>> {
        check_arity(OP, self.arity(), inputs.len())?;
        let ns = self.norm_shape(inputs[0])?.to_vec();
        if !self.elementwise_affine {
            return Ok(Vec::new());
        }
        let d = ns.iter().product();
        Ok(vec![
            ParamSpec::trainable("weight", ns.clone(), Init::Ones, (d, d)),
            ParamSpec::trainable("bias", ns, Init::Zeros, (d, d)),
        ])
    }

    fn flops(&self, _inputs: &[&[usize]], output: &[usize]) -> u64 {
        FLOPS_PER_ELEM * output.iter().product::<usize>() as u64
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], params: &[&Tensor]) -> Result<Forward> {
        check_arity(OP, self.arity(), inputs.len())?;
        let x = inputs[0];
        check_params(OP, &self.params(&[x.shape()])?, params)?;
        let (rows, d) = self.rows_d(x.shape())?;
        let affine = params
            .first()
            .zip(params.get(1))
            .map(|(w, b)| (w.data(), b.data()));
        let eps = self.eps;

        let mut y = vec![0.0; x.numel()];
        let mut mean = vec![0.0; rows];
        let mut inv_std = vec![0.0; rows];
        let kernel = |yr: &mut [f32], xr: &[f32], mu: &mut f32, is: &mut f32| {
            // the row's loops in a copy compiled for the CPU's vector unit
            vectorized(
                #[inline(always)]
                || {
                    let (m, s) = row_stats(xr, eps);
                    (*mu, *is) = (m, s);
                    match affine {
                        Some((w, b)) => {
                            for (((o, &v), &w), &b) in yr.iter_mut().zip(xr).zip(w).zip(b) {
                                *o = (v - m) * s * w + b;
                            }
                        }
                        None => {
                            for (o, &v) in yr.iter_mut().zip(xr) {
                                *o = (v - m) * s;
                            }
                        }
                    }
                },
            )
        };
        if x.numel() >= PARALLEL_MIN_ELEMS {
            y.par_chunks_mut(d)
                .zip(x.data().par_chunks(d))
                .zip(mean.par_iter_mut().zip(inv_std.par_iter_mut()))
                .with_min_len(min_rows(d))
                .for_each(|((yr, xr), (mu, is))| kernel(yr, xr, mu, is));
        } else {
            for ((yr, xr), (mu, is)) in y
                .chunks_exact_mut(d)
                .zip(x.data().chunks_exact(d))
                .zip(mean.iter_mut().zip(inv_std.iter_mut()))
            {
                kernel(yr, xr, mu, is);
            }
        }
        let saved = Saved::tensors(vec![
            Tensor::new(&[rows], mean)?,
            Tensor::new(&[rows], inv_std)?,
        ]);
        Ok(Forward::new(Tensor::new(x.shape(), y)?, saved))
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        let (inputs, params, forward, grad_output) =
            (args.inputs, args.params, args.forward, args.grad_output);
        check_arity(OP, self.arity(), inputs.len())?;
        let x = inputs[0];
        check_params(OP, &self.params(&[x.shape()])?, params)?;
        if grad_output.shape() != x.shape() {
            return Err(Error::shape_mismatch(
                OP,
                "grad_output vs input",
                grad_output.shape(),
                x.shape(),
            ));
        }
        let (rows, d) = self.rows_d(x.shape())?;
        let mean = forward.saved.tensor(OP, 0)?.data();
        let inv_std = forward.saved.tensor(OP, 1)?.data();
        if mean.len() != rows || inv_std.len() != rows {
            return Err(Error::Other(format!(
                "{OP}: saved statistics do not match the input's {rows} rows"
            )));
        }
        let weight = params.first().map(|w| w.data());
        let affine = weight.is_some();

        // Per row: dx = 1/σ · (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = dy·w; the same pass
        // accumulates dw = Σ dy·x̂ and db = Σ dy over rows into `acc` = [dw | db].
        let kernel = |acc: &mut [f64], dxr: &mut [f32], gr: &[f32], xr: &[f32], m: f32, s: f32| {
            vectorized(
                #[inline(always)]
                || {
                    // ĝ = dy·w goes into dxr first (scratch), then dxr is overwritten in place.
                    match weight {
                        Some(w) => {
                            for ((o, &g), &w) in dxr.iter_mut().zip(gr).zip(w) {
                                *o = g * w;
                            }
                        }
                        None => dxr.copy_from_slice(gr),
                    }
                    let (sg, sgx) = sum2(dxr, xr, |gh, v| (gh, gh * ((v - m) * s)));
                    let mg = (sg / d as f64) as f32;
                    let mgx = (sgx / d as f64) as f32;
                    for (o, &v) in dxr.iter_mut().zip(xr) {
                        let xh = (v - m) * s;
                        *o = s * (*o - mg - xh * mgx);
                    }
                    if affine {
                        let (dw, db) = acc.split_at_mut(d);
                        for (((dw, db), &g), &v) in dw.iter_mut().zip(db).zip(gr).zip(xr) {
                            *dw += (g * ((v - m) * s)) as f64;
                            *db += g as f64;
                        }
                    }
                },
            )
        };
        let acc_len = if affine { 2 * d } else { 0 };
        let mut dx = vec![0.0; x.numel()];
        let acc = if x.numel() >= PARALLEL_MIN_ELEMS {
            // Fixed blocks of rows, one partial each, added in block order: the same
            // thread count always gives bit-identical weight/bias gradients.
            let rows_per_block =
                min_rows(d).max(mean.len().div_ceil(4 * rayon::current_num_threads()));
            let partials: Vec<Vec<f64>> = dx
                .par_chunks_mut(d * rows_per_block)
                .zip(grad_output.data().par_chunks(d * rows_per_block))
                .zip(x.data().par_chunks(d * rows_per_block))
                .zip(
                    mean.par_chunks(rows_per_block)
                        .zip(inv_std.par_chunks(rows_per_block)),
                )
                .map(|(((dxb, gb), xb), (mb, sb))| {
                    let mut acc = vec![0.0f64; acc_len];
                    let rows = dxb
                        .chunks_exact_mut(d)
                        .zip(gb.chunks_exact(d))
                        .zip(xb.chunks_exact(d));
                    for (((dxr, gr), xr), (&m, &s)) in rows.zip(mb.iter().zip(sb)) {
                        kernel(&mut acc, dxr, gr, xr, m, s);
                    }
                    acc
                })
                .collect();
            let mut total = vec![0.0f64; acc_len];
            for part in &partials {
                total.iter_mut().zip(part).for_each(|(a, b)| *a += b);
            }
            total
        } else {
            let mut acc = vec![0.0f64; acc_len];
            for (((dxr, gr), xr), (&m, &s)) in dx
                .chunks_exact_mut(d)
                .zip(grad_output.data().chunks_exact(d))
                .zip(x.data().chunks_exact(d))
                .zip(mean.iter().zip(inv_std))
            {
                kernel(&mut acc, dxr, gr, xr, m, s);
            }
            acc
        };

        let mut grads = Vec::new();
        if affine {
            let ns = self.norm_shape(x.shape())?;
            let (dw, db) = acc.split_at(d);
            let to_f32 = |s: &[f64]| s.iter().map(|&v| v as f32).collect::<Vec<f32>>();
            grads.push(Some(Tensor::new(ns, to_f32(dw))?));
            grads.push(Some(Tensor::new(ns, to_f32(db))?));
        }
        Ok(Backward {
            inputs: vec![Some(Tensor::new(x.shape(), dx)?)],
            params: grads,
            step_grad_norms: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    // PyTorch reference (/tmp/torchref/bin/python):
    //   import torch
    //   x = torch.tensor([[[0.5, -1.2, 2.0], [0.3, 1.1, 0.0]],
    //                     [[-0.7, 2.4, -2.2], [0.8, 1.6, -0.4]]])
    //   ln = torch.nn.LayerNorm([2, 3])
    //   with torch.no_grad():
    //       ln.weight.copy_(torch.tensor([[1.5, -0.5, 2.0], [0.7, 1.0, -1.2]]))
    //       ln.bias.copy_(torch.tensor([[0.1, 0.2, -0.3], [0.0, 0.5, 1.0]]))
    //   print(*ln(x).detach().numpy().ravel(), sep=", ")
    //   ln1 = torch.nn.LayerNorm(3)
    //   with torch.no_grad():
    //       ln1.weight.copy_(torch.tensor([2.0, -1.0, 0.5]))
    //       ln1.bias.copy_(torch.tensor([0.3, 0.0, -0.2]))
    //   print(*ln1(x).detach().numpy().ravel(), sep=", ")
    #[rustfmt::skip]
    const X: [f32; 12] = [0.5, -1.2, 2.0, 0.3, 1.1, 0.0, -0.7, 2.4, -2.2, 0.8, 1.6, -0.4];
    #[rustfmt::skip]
    const TORCH_2D: [f32; 12] = [
        0.17644675, 1.0409136, 2.8597965, -0.107025325, 1.162538, 1.5504161,
        -0.8303907, -0.50187373, -3.4992383, 0.2513687, 1.3814228, 1.5092665,
    ];
    #[rustfmt::skip]
    const TORCH_1D: [f32; 12] = [
        0.40199548, 1.2494435, 0.39922297, -0.41794157, -1.3640889, -0.7025591,
        -0.25687897, -1.3399903, -0.7307753, 0.62444043, -1.1355414, -0.8488808,
    ];

    #[test]
    fn forward_matches_pytorch() {
        let x = Tensor::new(&[2, 2, 3], X.to_vec()).unwrap();
        let t = |s: &[usize], v: &[f32]| Tensor::new(s, v.to_vec()).unwrap();

        let ln = LayerNorm {
            normalized_shape: Some(vec![2, 3]),
            ..LayerNorm::default()
        };
        let w = t(&[2, 3], &[1.5, -0.5, 2.0, 0.7, 1.0, -1.2]);
        let b = t(&[2, 3], &[0.1, 0.2, -0.3, 0.0, 0.5, 1.0]);
        let y = ln.forward(&Ctx::eval(), &[&x], &[&w, &b]).unwrap().output;
        assert_eq!(y.shape(), &[2, 2, 3]);
        assert_close_abs(y.data(), &TORCH_2D, 1e-5);

        let ln = LayerNorm::default();
        let w = t(&[3], &[2.0, -1.0, 0.5]);
        let b = t(&[3], &[0.3, 0.0, -0.2]);
        let y = ln.forward(&Ctx::train(0), &[&x], &[&w, &b]).unwrap().output;
        assert_close_abs(y.data(), &TORCH_1D, 1e-5);
    }

    #[test]
    fn gradients() {
        let cases: [(Option<Vec<usize>>, Vec<usize>); 3] = [
            (None, vec![4, 5]),
            (Some(vec![6]), vec![2, 3, 6]),
            (Some(vec![3, 4]), vec![3, 3, 4]),
        ];
        for (ns, shape) in cases {
            for affine in [true, false] {
                let ln = LayerNorm {
                    normalized_shape: ns.clone(),
                    elementwise_affine: affine,
                    ..LayerNorm::default()
                };
                let x = randn(&shape, 3);
                let mut rng = Rng::seed(4);
                let params: Vec<Tensor> = ln
                    .params(&[&shape])
                    .unwrap()
                    .iter()
                    .map(|s| match s.name {
                        "weight" => Tensor::uniform(&s.shape, 0.5, 1.5, &mut rng),
                        _ => Tensor::normal(&s.shape, 0.0, 0.5, &mut rng),
                    })
                    .collect();
                assert_eq!(params.len(), if affine { 2 } else { 0 });
                let what = format!("{ns:?} {shape:?} affine={affine}");
                check_in_train_and_eval(&ln, &x, &params, &what);
            }
        }
    }

    #[test]
    fn parallel_path_matches_serial_rows() {
        // Big enough for the parallel kernels; each row must match the same row computed
        // alone (serial path).
        let ln = LayerNorm::default();
        let shape = [600, 128];
        let x = randn(&shape, 8).map(|v| 1.5 * v + 3.0);
        let g = randn(&shape, 9);
        let mut rng = Rng::seed(10);
        let w = Tensor::uniform(&[128], 0.5, 1.5, &mut rng);
        let b = Tensor::uniform(&[128], -1.0, 1.0, &mut rng);
        let f = ln.forward(&Ctx::train(0), &[&x], &[&w, &b]).unwrap();
        let bw = ln
            .backward(&Ctx::train(0), &[&x], &[&w, &b], &f, &g)
            .unwrap();
        let dx = bw.inputs[0].as_ref().unwrap();
        let (mut dw, mut db) = (vec![0.0f64; 128], vec![0.0f64; 128]);
        for r in 0..600 {
            let row = |t: &Tensor| {
                Tensor::new(&[1, 128], t.data()[r * 128..(r + 1) * 128].to_vec()).unwrap()
            };
            let (xr, gr) = (row(&x), row(&g));
            let fr = ln.forward(&Ctx::train(0), &[&xr], &[&w, &b]).unwrap();
            let br = ln
                .backward(&Ctx::train(0), &[&xr], &[&w, &b], &fr, &gr)
                .unwrap();
            assert_close_abs(
                &f.output.data()[r * 128..(r + 1) * 128],
                fr.output.data(),
                1e-6,
            );
            assert_close_abs(
                &dx.data()[r * 128..(r + 1) * 128],
                br.inputs[0].as_ref().unwrap().data(),
                1e-6,
            );
            for j in 0..128 {
                dw[j] += br.params[0].as_ref().unwrap().data()[j] as f64;
                db[j] += br.params[1].as_ref().unwrap().data()[j] as f64;
            }
        }
        let f32s = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<_>>();
        assert_close_abs(bw.params[0].as_ref().unwrap().data(), &f32s(&dw), 1e-3);
        assert_close_abs(bw.params[1].as_ref().unwrap().data(), &f32s(&db), 1e-3);
    }

    #[test]
    fn shape_errors_name_op_and_shapes() {
        let ln = LayerNorm {
            normalized_shape: Some(vec![4, 5]),
            ..LayerNorm::default()
        };
        let err = shape_error(&ln, &[&[2, 4, 6]]);
        assert_mentions(&err, &["LayerNorm", "[4, 5]", "[2, 4, 6]"]);
        // normalized_shape covering the batch dim too.
        let err = shape_error(&ln, &[&[4, 5]]);
        assert_mentions(&err, &["LayerNorm", "[4, 5]"]);
        let empty = LayerNorm {
            normalized_shape: Some(vec![]),
            ..LayerNorm::default()
        };
        assert!(empty.output_shape(&[&[2, 3]]).is_err());
        // Params shaped normalized_shape, checked in forward.
        let x = Tensor::zeros(&[2, 4, 5]);
        let w = Tensor::ones(&[5]);
        let err = forward_error(&ln, &[&x], &[&w, &w]);
        assert_mentions(&err, &["weight", "[4, 5]", "[5]"]);
        let specs = ln.params(&[&[2, 4, 5]]).unwrap();
        assert_eq!(specs[0].shape, vec![4, 5]);
        assert_eq!(
            (specs[0].init.clone(), specs[1].init.clone()),
            (Init::Ones, Init::Zeros)
        );
    }
}
