//! `addition[:digits=2]`: every sum `a+b` of two numbers below 10^digits written as text,
//! `"37+45=82."` (`.` ends the answer and pads the rest), as character tokens over the fixed
//! vocabulary `0123456789+=.`. A seeded shuffle holds out 10% of the pairs (at most 2000) as
//! the validation set, so `eval` checks completions of sums the model never saw. The loss
//! covers every position (operands included: they are random, so only the answer part can be
//! learned exactly).

use super::{next_token_set, token_split};
use crate::data::{Options, Split, spec_error};
use crate::error::Result;
use crate::tensor::Rng;

/// The tokens, index order.
pub const VOCAB: [char; 13] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '+', '=', '.',
];
/// The token that ends an answer and pads the sequence.
pub const END: char = '.';
const STREAM: u64 = 0x4144_4453;
const MAX_DIGITS: u32 = 3;

/// Tokens per sample (input and target): the longest sum and its end mark.
pub fn steps(digits: u32) -> usize {
    3 * digits as usize + 3
}

/// `"a+b="` and the answer `"c."`.
pub fn problem(a: u64, b: u64) -> (String, String) {
    (format!("{a}+{b}="), format!("{}{END}", a + b))
}

/// Operand pairs `(a, b)`.
pub type Pairs = Vec<(u64, u64)>;

/// The held-out pairs and the training pairs of this seed, in that order.
pub fn pairs(digits: u32, seed: u64) -> (Pairs, Pairs) {
    let n = 10u64.pow(digits);
    let mut all: Vec<(u64, u64)> = (0..n).flat_map(|a| (0..n).map(move |b| (a, b))).collect();
    Rng::derived(seed, STREAM).shuffle(&mut all);
    let held = (all.len() / 10).clamp(1, 2000);
    let train = all.split_off(held);
    (all, train)
}

fn row(a: u64, b: u64, digits: u32) -> Vec<usize> {
    let (q, ans) = problem(a, b);
    let mut text: Vec<char> = format!("{q}{ans}").chars().collect();
    text.resize(steps(digits) + 1, END);
    text.iter()
        .map(|c| VOCAB.iter().position(|v| v == c).unwrap_or(VOCAB.len() - 1))
        .collect()
}

pub(crate) fn load(mut opts: Options, seed: u64) -> Result<Split> {
    let digits: u32 = opts.take("digits", 2)?;
    opts.finish(&["digits"])?;
    if !(1..=MAX_DIGITS).contains(&digits) {
        return Err(spec_error(format!(
            "`addition`: digits={digits} is out of range (1 to {MAX_DIGITS})"
        )));
    }
    let (valid, train) = pairs(digits, seed);
    let rows = |p: &[(u64, u64)]| {
        p.iter()
            .map(|&(a, b)| row(a, b, digits))
            .collect::<Vec<_>>()
    };
    Ok(token_split(
        next_token_set("addition", &rows(&train))?,
        next_token_set("addition", &rows(&valid))?,
        &VOCAB,
    ))
}

/// The digits option of an `addition` spec.
pub fn digits_of(spec: &str) -> Result<u32> {
    let rest = spec
        .strip_prefix("addition")
        .map(|r| r.trim_start_matches(':'));
    let mut opts = Options::parse("addition", rest)?;
    opts.take("digits", 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::load;

    #[test]
    fn sums_as_tokens_with_a_held_out_split() {
        let s = load("addition", 3).unwrap();
        assert_eq!(s.train.features.shape(), &[9000, 9]);
        assert_eq!(s.valid.labels.shape(), &[1000, 9]);
        assert_eq!(s.preprocessing.class_names.len(), 13);
        let x = s.valid.features.tensor().unwrap();
        let text: String = x.data()[..9].iter().map(|&v| VOCAB[v as usize]).collect();
        let y: String = s.valid.labels.data()[..9]
            .iter()
            .map(|&v| VOCAB[v as usize])
            .collect();
        // the target is the input one step ahead, and the sum is right
        assert_eq!(text[1..], y[..8]);
        let (q, rest) = text.split_once('=').unwrap();
        let (a, b) = q.split_once('+').unwrap();
        let sum: u64 = rest.trim_end_matches('.').parse().unwrap();
        assert_eq!(a.parse::<u64>().unwrap() + b.parse::<u64>().unwrap(), sum);
        // held-out pairs never appear in training
        let (held, train) = pairs(2, 3);
        let train: std::collections::HashSet<_> = train.into_iter().collect();
        assert!(held.iter().all(|p| !train.contains(p)));
        assert_eq!(load("addition:digits=1", 0).unwrap().valid.len(), 10);
        assert!(load("addition:digits=4", 0).is_err());
        assert!(load("addition:digit=2", 0).is_err());
        assert_eq!(digits_of("addition:digits=3").unwrap(), 3);
    }
}
