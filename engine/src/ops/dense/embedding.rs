//! Embedding: a lookup table, `[N, ...]` integer indices (stored as f32) → `[N, ..., dim]`
//! rows of `weight [num_embeddings, embedding_dim]`.
//!
//! The weight initialises N(0, 1) as in PyTorch. PyTorch also zeroes the `padding_idx` row
//! at init; `Init` cannot express a per-row exception, so here that row starts random
//! (zero it when loading/initialising weights if it matters). As in PyTorch, the
//! `padding_idx` row never receives gradient. Indices are not differentiable.

use crate::error::{Error, Result};
use crate::ops::{
    Backward, BackwardArgs, Ctx, Forward, Init, Layer, ParamSpec, check_arity, check_params,
};
use crate::tensor::{Tensor, for_each_block_mut};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Embedding {
    pub num_embeddings: usize,
    pub embedding_dim: usize,
    /// Row that maps to a fixed vector and gets no gradient (e.g. the pad token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub padding_idx: Option<usize>,
}

impl Default for Embedding {
    fn default() -> Self {
        Embedding {
            num_embeddings: 1000,
            embedding_dim: 64,
            padding_idx: None,
        }
    }
}

const OP: &str = "Embedding";

impl Embedding {
    fn check_config(&self) -> Result<()> {
        if self.num_embeddings == 0 || self.embedding_dim == 0 {
            return Err(Error::config(
                OP,
                "num_embeddings and embedding_dim must be at least 1",
            ));
        }
        if let Some(p) = self.padding_idx
            && p >= self.num_embeddings
        {
            return Err(Error::config(
                OP,
                format!(
                    "padding_idx {p} must be below num_embeddings {}",
                    self.num_embeddings
                ),
            ));
        }
        Ok(())
    }

    /// The input's values as row indices, or an error naming the first bad one.
    fn indices(&self, x: &Tensor) -> Result<Vec<usize>> {
        let n = self.num_embeddings;
        x.data()
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                if v.fract() == 0.0 && v >= 0.0 && (v as usize) < n {
                    Ok(v as usize)
                } else {
                    Err(Error::value(
                        OP,
                        format!(
                            "index {v} (element {i} of input {}) is not an integer in [0, {n})",
                            crate::error::ShapeDisplay(x.shape().to_vec())
                        ),
                    ))
                }
            })
            .collect()
    }
}

impl Layer for Embedding {
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        self.check_config()?;
        let s = inputs[0];
        if s.is_empty() {
            return Err(Error::bad_shape(OP, s, "expected indices shaped [N, ...]"));
        }
        let mut out = s.to_vec();
        out.push(self.embedding_dim);
        Ok(out)
    }

    fn params(&self, inputs: &[&[usize]]) -> Result<Vec<ParamSpec>> {
        self.output_shape(inputs)?;
        Ok(vec![ParamSpec::trainable(
            "weight",
            vec![self.num_embeddings, self.embedding_dim],
            Init::Normal {
                mean: 0.0,
                std: 1.0,
            },
            (self.num_embeddings, self.embedding_dim),
        )])
    }

    fn flops(&self, _inputs: &[&[usize]], _output: &[usize]) -> u64 {
        0
    }

    fn forward(&self, _ctx: &Ctx, inputs: &[&Tensor], params: &[&Tensor]) -> Result<Forward> {
        let shapes: Vec<&[usize]> = inputs.iter().map(|t| t.shape()).collect();
        let out_shape = self.output_shape(&shapes)?;
        check_params(OP, &self.params(&shapes)?, params)?;
        let idx = self.indices(inputs[0])?;
        let (dim, w) = (self.embedding_dim, params[0].data());
        let mut y = vec![0.0; idx.len() * dim];
        for_each_block_mut(&mut y, dim, |row, out| {
            out.copy_from_slice(&w[idx[row] * dim..][..dim]);
        });
        Ok(Forward::output(Tensor::new(&out_shape, y)?))
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        args.checked_shapes(OP, self)?;
        let (inputs, grad_output) = (args.inputs, args.grad_output);
        let idx = self.indices(inputs[0])?;
        let dim = self.embedding_dim;
        let mut dw = vec![0.0; self.num_embeddings * dim];
        // Scatter-add: repeated indices accumulate, the padding row stays zero.
        for (&i, g) in idx.iter().zip(grad_output.data().chunks_exact(dim)) {
            if Some(i) == self.padding_idx {
                continue;
            }
            dw[i * dim..(i + 1) * dim]
                .iter_mut()
                .zip(g)
                .for_each(|(d, &g)| *d += g);
        }
        Ok(Backward {
            inputs: vec![None],
            params: vec![Some(Tensor::new(
                &[self.num_embeddings, self.embedding_dim],
                dw,
            )?)],
            step_grad_norms: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    fn emb(n: usize, d: usize, pad: Option<usize>) -> Embedding {
        Embedding {
            num_embeddings: n,
            embedding_dim: d,
            padding_idx: pad,
        }
    }

    fn ids(shape: &[usize], v: &[usize]) -> Tensor {
        Tensor::new(shape, v.iter().map(|&i| i as f32).collect()).unwrap()
    }

    #[test]
    fn forward_gathers_rows() {
        let e = emb(4, 2, None);
        let w = Tensor::from_fn(&[4, 2], |i| i as f32 * 10.0);
        let x = ids(&[2, 3], &[3, 0, 1, 1, 2, 3]);
        let y = e.forward(&Ctx::eval(), &[&x], &[&w]).unwrap().output;
        assert_eq!(y.shape(), &[2, 3, 2]);
        assert_eq!(
            y.data(),
            &[60., 70., 0., 10., 20., 30., 20., 30., 40., 50., 60., 70.]
        );
    }

    #[test]
    fn gradients() {
        // Repeated indices exercise the scatter-add.
        for (e, x) in [
            (emb(5, 3, None), ids(&[2, 4], &[0, 3, 3, 1, 4, 4, 4, 2])),
            (emb(5, 3, None), ids(&[6], &[1, 1, 0, 2, 3, 1])),
            // padding_idx only checked where it is absent: the padding row's forward
            // output does depend on its weights, so finite differences would disagree with
            // PyTorch's deliberate zero gradient (tested below).
            (
                emb(6, 4, Some(5)),
                ids(&[2, 2, 2], &[0, 1, 2, 3, 4, 0, 1, 2]),
            ),
        ] {
            let params = default_params(&e, &[x.shape()], 2);
            GradCheck::default()
                .check(&e, &Ctx::train(0), &[x], &params, &[false])
                .unwrap_or_else(|err| panic!("{e:?}: {err}"));
        }
    }

    #[test]
    fn padding_row_gets_no_gradient_and_input_none() {
        let e = emb(4, 2, Some(0));
        let w = Tensor::from_fn(&[4, 2], |i| i as f32);
        let x = ids(&[1, 4], &[0, 2, 0, 2]);
        let f = e.forward(&Ctx::eval(), &[&x], &[&w]).unwrap();
        let g = Tensor::ones(&[1, 4, 2]);
        let b = e.backward(&Ctx::eval(), &[&x], &[&w], &f, &g).unwrap();
        assert!(b.inputs[0].is_none());
        assert_eq!(
            b.params[0].as_ref().unwrap().data(),
            &[0., 0., 0., 0., 2., 2., 0., 0.]
        );
    }

    #[test]
    fn bad_indices_name_the_index_and_range() {
        let e = emb(4, 2, None);
        let w = Tensor::zeros(&[4, 2]);
        for bad in [4.0, -1.0, 1.5, f32::NAN] {
            let x = Tensor::new(&[1, 2], vec![0.0, bad]).unwrap();
            let err = forward_error(&e, &[&x], &[&w]);
            assert!(
                err.contains("Embedding")
                    && err.contains(&format!("{bad}"))
                    && err.contains("[0, 4)"),
                "{err}"
            );
        }
    }

    #[test]
    fn shape_and_config_errors() {
        let e = emb(4, 2, None);
        let x = ids(&[2], &[0, 1]);
        let err = e
            .forward(&Ctx::eval(), &[&x], &[&Tensor::zeros(&[4, 3])])
            .unwrap_err()
            .to_string();
        assert_mentions(&err, &["Embedding", "[4, 2]", "[4, 3]"]);
        let err = shape_error(&e, &[&[]]);
        assert_mentions(&err, &["Embedding", "[]"]);
        let err = shape_error(&emb(4, 2, Some(4)), &[&[2]]);
        assert!(err.contains("padding_idx 4"), "{err}");
    }
}
