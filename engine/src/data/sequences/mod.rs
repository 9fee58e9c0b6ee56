//! Sequence sets for next-step prediction: `addition[:digits=2]` (sums written as text,
//! character tokens), `text:FILE[:seq=N]` (character-level language modelling) and
//! `sinewaves` (real values). Each sample is an input sequence `[T]` (tokens) or `[T, 1]`
//! (values) and its target, the same sequence one step ahead.
//!
//! Token sets keep their vocabulary (token index → character) in the split's
//! [`Preprocessing::class_names`](super::Preprocessing), which travels with the weights, so
//! `eval` and `generate` read and write text with the training run's vocabulary. Their
//! labels are `[T]` token indices with `num_classes` left unset: the loss reads them as
//! class indices, while the per-sample accuracy of a classifier does not apply (`eval`
//! reports exact-match completions or bits per character instead).

pub mod addition;
pub mod sinewaves;
pub mod text;

use super::{Dataset, Split};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Token windows `[N, T]` and their next-token targets as a dataset: each row of `rows`
/// holds T + 1 tokens.
fn next_token_set(name: &str, rows: &[Vec<usize>]) -> Result<Dataset> {
    let t = rows.first().map_or(0, |r| r.len().saturating_sub(1));
    let mut x = Vec::with_capacity(rows.len() * t);
    let mut y = Vec::with_capacity(rows.len() * t);
    for r in rows {
        x.extend(r[..t].iter().map(|&v| v as f32));
        y.extend(r[1..].iter().map(|&v| v as f32));
    }
    Dataset::new(
        name,
        Tensor::new(&[rows.len(), t], x)?,
        Tensor::new(&[rows.len(), t], y)?,
        None,
    )
}

/// A split of token sets whose vocabulary is `vocab` (one character per token).
fn token_split(train: Dataset, valid: Dataset, vocab: &[char]) -> Split {
    let mut split = Split::new(train, valid);
    split.preprocessing.class_names = vocab.iter().map(char::to_string).collect();
    split
}

/// The vocabulary a model recorded (one character per class name), or an error naming
/// the first name that is not a single character.
pub fn vocabulary(class_names: &[String]) -> Result<Vec<char>> {
    class_names
        .iter()
        .map(|n| {
            let mut cs = n.chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => Ok(c),
                _ => Err(Error::Other(format!(
                    "the recorded vocabulary holds `{n}`, not a single character: these \
                     weights were not trained on text"
                ))),
            }
        })
        .collect()
}

/// Token indices of `text` in `vocab`, or an error naming the first unknown character.
pub fn encode(text: &str, vocab: &[char]) -> Result<Vec<usize>> {
    text.chars()
        .map(|c| {
            vocab.iter().position(|&v| v == c).ok_or_else(|| {
                Error::Other(format!(
                    "character {c:?} is not in the model's vocabulary ({} characters: {:?})",
                    vocab.len(),
                    vocab.iter().collect::<String>()
                ))
            })
        })
        .collect()
}
