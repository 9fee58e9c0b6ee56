//! Dropout: in train mode zeroes each element with probability p and scales the kept
//! ones by 1/(1−p), so the expected value is unchanged; identity in eval mode.
//!
//! The mask comes from `Rng::derived(ctx.seed, DROPOUT_STREAM)`: the same seed gives the
//! same mask (the gradient checker and reproducible runs rely on that). It is drawn per
//! fixed-size block with its own derived stream, so it does not depend on how many
//! threads ran. Backward needs only the mask, kept as a bitmask in `Saved::indices`
//! (one bit per element: 1/32 of a 0/1 tensor, and smaller than a list of kept positions
//! unless p > 31/32).

use crate::error::{Error, Result};
use crate::ops::{Backward, BackwardArgs, Ctx, Forward, Layer, Saved, check_arity};
use crate::tensor::{PARALLEL_MIN_ELEMS, Rng, Tensor};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dropout {
    /// Probability of zeroing an element, in [0, 1].
    #[serde(default = "default_p")]
    pub p: f32,
}

fn default_p() -> f32 {
    0.5
}

impl Default for Dropout {
    fn default() -> Self {
        Dropout { p: default_p() }
    }
}

const OP: &str = "Dropout";

/// Stream id for dropout masks, so they never coincide with other draws from one seed.
const DROPOUT_STREAM: u64 = 0xD50_0001;
/// Elements per independently seeded mask block (a multiple of 32: whole mask words).
const BLOCK: usize = 1 << 14;
const WORDS_PER_BLOCK: usize = BLOCK / 32;

/// What train-mode forward does for a given p.
enum Mode {
    Identity,
    Zeros,
    Mask { keep_scale: f32 },
}

impl Dropout {
    fn check(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.p) {
            return Err(Error::config(
                OP,
                format!("p must be in [0, 1], got {}", self.p),
            ));
        }
        Ok(())
    }

    fn mode(&self, ctx: &Ctx) -> Result<Mode> {
        self.check()?;
        Ok(if !ctx.training || self.p == 0.0 {
            Mode::Identity
        } else if self.p == 1.0 {
            Mode::Zeros
        } else {
            Mode::Mask {
                keep_scale: 1.0 / (1.0 - self.p),
            }
        })
    }
}

/// Fills one block's mask words (bit set = kept) and writes `y = x·scale` or 0.
/// Element i is kept when a 24-bit uniform draw u satisfies u ≥ `threshold` = ⌈p·2²⁴⌉,
/// i.e. with probability 1 − p; each `next_u64` supplies two draws.
fn mask_block(
    base_seed: u64,
    block: usize,
    threshold: u32,
    scale: f32,
    x: &[f32],
    y: &mut [f32],
    words: &mut [u32],
) {
    let mut rng = Rng::derived(base_seed, block as u64);
    for ((xs, ys), word) in x.chunks(32).zip(y.chunks_mut(32)).zip(words.iter_mut()) {
        // Draw the word's bits first (two 24-bit draws per u64), then apply them in a
        // branch-free loop the compiler can vectorise (the mask is random: a branch
        // would mispredict).
        let mut bits = 0u32;
        for pair in 0..xs.len().div_ceil(2) {
            let r = rng.next_u64();
            let lo = ((r >> 8) & 0xFF_FFFF) as u32;
            let hi = (r >> 40) as u32;
            bits |= ((lo >= threshold) as u32) << (2 * pair);
            bits |= ((hi >= threshold) as u32) << (2 * pair + 1);
        }
        if xs.len() < 32 {
            bits &= (1u32 << xs.len()) - 1;
        }
        for (i, (&xv, yv)) in xs.iter().zip(ys.iter_mut()).enumerate() {
            *yv = xv * (scale * ((bits >> i) & 1) as f32);
        }
        *word = bits;
    }
}

impl Layer for Dropout {
    fn uses_seed(&self) -> bool {
        true
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        check_arity(OP, self.arity(), inputs.len())?;
        self.check()?;
        Ok(inputs[0].to_vec())
    }

    fn forward(&self, ctx: &Ctx, inputs: &[&Tensor], _params: &[&Tensor]) -> Result<Forward> {
        check_arity(OP, self.arity(), inputs.len())?;
        let x = inputs[0];
        let scale = match self.mode(ctx)? {
            // Shares the input's storage: no copy.
            Mode::Identity => return Ok(Forward::output(x.clone())),
            Mode::Zeros => return Ok(Forward::output(Tensor::zeros(x.shape()))),
            Mode::Mask { keep_scale } => keep_scale,
        };
        let n = x.numel();
        let base_seed = Rng::derived(ctx.seed, DROPOUT_STREAM).next_u64();
        let mut y = vec![0.0; n];
        let mut mask = vec![0u32; n.div_ceil(32)];
        // p·2²⁴ is exact in f32 (p has a 24-bit mantissa and p < 1).
        let threshold = (self.p * (1u32 << 24) as f32).ceil() as u32;
        if n >= PARALLEL_MIN_ELEMS {
            x.data()
                .par_chunks(BLOCK)
                .zip(y.par_chunks_mut(BLOCK))
                .zip(mask.par_chunks_mut(WORDS_PER_BLOCK))
                .enumerate()
                .for_each(|(b, ((xs, ys), ws))| {
                    mask_block(base_seed, b, threshold, scale, xs, ys, ws)
                });
        } else {
            for (b, ((xs, ys), ws)) in x
                .data()
                .chunks(BLOCK)
                .zip(y.chunks_mut(BLOCK))
                .zip(mask.chunks_mut(WORDS_PER_BLOCK))
                .enumerate()
            {
                mask_block(base_seed, b, threshold, scale, xs, ys, ws);
            }
        }
        let saved = Saved {
            tensors: Vec::new(),
            indices: mask,
        };
        Ok(Forward::new(Tensor::new(x.shape(), y)?, saved))
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        let (ctx, inputs, forward, grad_output) =
            (args.ctx, args.inputs, args.forward, args.grad_output);
        check_arity(OP, self.arity(), inputs.len())?;
        if grad_output.shape() != inputs[0].shape() {
            return Err(Error::shape_mismatch(
                OP,
                "grad_output vs input",
                grad_output.shape(),
                inputs[0].shape(),
            ));
        }
        let dx = match self.mode(ctx)? {
            Mode::Identity => grad_output.clone(),
            Mode::Zeros => Tensor::zeros(grad_output.shape()),
            Mode::Mask { keep_scale } => {
                let mask = &forward.saved.indices;
                let n = grad_output.numel();
                if mask.len() != n.div_ceil(32) {
                    return Err(Error::Other(format!(
                        "{OP}: backward called without the forward mask"
                    )));
                }
                let mut dx = vec![0.0; n];
                let kernel = |d: &mut [f32], g: &[f32], w: &[u32]| {
                    for ((d, g), &bits) in d.chunks_mut(32).zip(g.chunks(32)).zip(w) {
                        for (i, (d, &g)) in d.iter_mut().zip(g).enumerate() {
                            *d = g * (keep_scale * ((bits >> i) & 1) as f32);
                        }
                    }
                };
                if n >= PARALLEL_MIN_ELEMS {
                    dx.par_chunks_mut(BLOCK)
                        .zip(grad_output.data().par_chunks(BLOCK))
                        .zip(mask.par_chunks(WORDS_PER_BLOCK))
                        .for_each(|((d, g), w)| kernel(d, g, w));
                } else {
                    kernel(&mut dx, grad_output.data(), mask);
                }
                Tensor::new(grad_output.shape(), dx)?
            }
        };
        Ok(Backward::input(dx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    #[test]
    fn eval_is_identity_and_p_edges() {
        let x = randn(&[3, 5], 1);
        let d = Dropout::default();
        let y = d.forward(&Ctx::eval(), &[&x], &[]).unwrap().output;
        assert!(y.shares_storage(&x));
        let y = Dropout { p: 0.0 }
            .forward(&Ctx::train(3), &[&x], &[])
            .unwrap()
            .output;
        assert_eq!(y.data(), x.data());
        let f = Dropout { p: 1.0 }
            .forward(&Ctx::train(3), &[&x], &[])
            .unwrap();
        assert!(f.output.data().iter().all(|&v| v == 0.0));
        let b = Dropout { p: 1.0 }
            .backward(&Ctx::train(3), &[&x], &[], &f, &x)
            .unwrap();
        assert!(
            b.inputs[0]
                .as_ref()
                .unwrap()
                .data()
                .iter()
                .all(|&v| v == 0.0)
        );
    }

    #[test]
    fn train_mode_zeroes_or_scales_and_is_seeded() {
        let x = randn(&[4, 50], 2);
        let d = Dropout { p: 0.25 };
        let y = d.forward(&Ctx::train(9), &[&x], &[]).unwrap().output;
        for (&a, &b) in x.data().iter().zip(y.data()) {
            assert!(b == 0.0 || (b - a / 0.75).abs() < 1e-6, "{a} -> {b}");
        }
        let again = d.forward(&Ctx::train(9), &[&x], &[]).unwrap().output;
        assert_eq!(y.data(), again.data());
        let other = d.forward(&Ctx::train(10), &[&x], &[]).unwrap().output;
        assert_ne!(y.data(), other.data());
    }

    #[test]
    fn statistics_kept_fraction_and_expectation() {
        // 300k elements spans the parallel path and many mask blocks. The kept fraction
        // has std √(p(1−p)/n) ≈ 0.0009, the mean of the output ≈ 0.0015: 5σ bounds.
        let n = 300_000;
        let x = Tensor::ones(&[n / 100, 100]);
        for p in [0.1f32, 0.5, 0.8] {
            let d = Dropout { p };
            let f = d.forward(&Ctx::train(42), &[&x], &[]).unwrap();
            let kept = f.output.data().iter().filter(|&&v| v != 0.0).count();
            let frac = kept as f64 / n as f64;
            let sd = ((p * (1.0 - p)) as f64 / n as f64).sqrt();
            assert!(
                (frac - (1.0 - p) as f64).abs() < 5.0 * sd,
                "p={p}: kept {frac}"
            );
            let mean = f.output.mean() as f64;
            assert!(
                (mean - 1.0).abs() < 5.0 * sd / (1.0 - p) as f64,
                "p={p}: mean {mean}"
            );
            // The mask agrees with the output.
            let bits: u32 = f.saved.indices.iter().map(|w| w.count_ones()).sum();
            assert_eq!(bits as usize, kept);
        }
    }

    #[test]
    fn gradients_train_and_eval() {
        let x = randn(&[5, 7], 3);
        for (p, ctx) in [
            (0.3, Ctx::train(5)),
            (0.7, Ctx::train(6)),
            (0.5, Ctx::eval()),
        ] {
            GradCheck::default()
                .check(&Dropout { p }, &ctx, std::slice::from_ref(&x), &[], &[true])
                .unwrap_or_else(|e| panic!("p={p} {ctx:?}: {e}"));
        }
        // Large enough for the parallel kernels.
        let x = randn(&[300, 300], 4);
        check_all_inputs(&Dropout { p: 0.4 }, &Ctx::train(7), &[x], &[]);
    }

    #[test]
    fn bad_p_is_a_config_error() {
        for p in [-0.1f32, 1.5, f32::NAN] {
            let err = shape_error(&Dropout { p }, &[&[2, 3]]);
            assert_mentions(&err, &["Dropout", "p must be"]);
            assert!(
                Dropout { p }
                    .forward(&Ctx::train(0), &[&Tensor::zeros(&[2])], &[])
                    .is_err()
            );
        }
    }
}
