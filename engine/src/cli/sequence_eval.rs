//! What `eval` adds for next-step models on sequence sets: exact-match accuracy of greedy
//! completions (`addition`), bits per character (`text:`), and the error of a free-running
//! forecast (`sinewaves`: the model's own predictions fed back for 100 steps).

use super::generate::{Stepper, continue_tokens};
use crate::data::Dataset;
use crate::data::sequences::{addition, sinewaves, vocabulary};
use crate::ecs::Runtime;
use crate::error::{Error, Result};
use crate::tensor::Rng;

/// Steps of the free-running sine forecast.
pub const FORECAST: usize = 100;

/// Prints the sequence report for `spec`'s kind (nothing for other data); `class_names` is
/// the vocabulary the weights recorded.
pub(super) fn report(
    spec: &str,
    seed: u64,
    class_names: &[String],
    rt: &mut Runtime,
    data: &Dataset,
) -> Result<()> {
    match spec.split(':').next().unwrap_or("") {
        "addition" => {
            let vocab = vocabulary(class_names)?;
            if !vocab.is_empty() && vocab != addition::VOCAB {
                return Err(Error::Other(format!(
                    "these weights were trained with the vocabulary {:?}, not addition's {:?}: \
                     their token indices would mean other characters",
                    vocab.iter().collect::<String>(),
                    addition::VOCAB.iter().collect::<String>()
                )));
            }
            exact_match(rt, data)
        }
        "text" => bits_per_character(rt, data, vocabulary(class_names)?.len()),
        "sinewaves" => free_running(rt, spec, seed),
        _ => Ok(()),
    }
}

/// Greedy completions of every sum's `a+b=` against its answer (up to the end mark).
fn exact_match(rt: &mut Runtime, data: &Dataset) -> Result<()> {
    let vocab = addition::VOCAB;
    let stepper = Stepper::new(rt, None, vocab.len())?;
    let token = |c: char| vocab.iter().position(|&v| v == c).unwrap_or(0);
    let (eq, end) = (token('='), token(addition::END));
    let x = data.features.tensor()?;
    let t = data.sample_shape().first().copied().unwrap_or(0);
    let (mut prompts, mut answers) = (Vec::new(), Vec::new());
    for (row, y) in x
        .data()
        .chunks_exact(t)
        .zip(data.labels.data().chunks_exact(t))
    {
        let mut s: Vec<usize> = row.iter().map(|&v| v as usize).collect();
        s.push(y[t - 1] as usize);
        let e = s.iter().position(|&v| v == eq).ok_or_else(|| {
            Error::Other("an addition sample without `=`: not addition data".into())
        })?;
        let stop = s[e + 1..]
            .iter()
            .position(|&v| v == end)
            .map_or(s.len(), |p| e + 2 + p);
        answers.push(s[e + 1..stop].to_vec());
        prompts.push(s[..=e].to_vec());
    }
    let longest = answers.iter().map(Vec::len).max().unwrap_or(0);
    let got = continue_tokens(&stepper, &prompts, longest, 0.0, &mut Rng::seed(0))?;
    let right = got
        .iter()
        .zip(&answers)
        .filter(|(g, a)| g.starts_with(a))
        .count();
    let text = |ts: &[usize]| ts.iter().map(|&v| vocab[v]).collect::<String>();
    println!(
        "exact match: {right}/{} = {:.2}% of the sums completed correctly (greedy)",
        answers.len(),
        100.0 * right as f64 / answers.len().max(1) as f64
    );
    for ((p, g), a) in prompts.iter().zip(&got).zip(&answers).take(3) {
        println!("  {}{}  (answer {})", text(p), text(&g[..a.len()]), text(a));
    }
    Ok(())
}

/// Mean −log₂ p(next character) over every position of every window.
fn bits_per_character(rt: &mut Runtime, data: &Dataset, vocab: usize) -> Result<()> {
    let stepper = Stepper::new(rt, None, vocab)?;
    let scores = stepper.all_steps(data.features.tensor()?)?;
    let mut nats = 0.0f64;
    for (row, &target) in scores.data().chunks_exact(vocab).zip(data.labels.data()) {
        let m = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let lse = m as f64
            + row
                .iter()
                .map(|&v| ((v - m) as f64).exp())
                .sum::<f64>()
                .ln();
        nats += lse - row[target as usize] as f64;
    }
    let n = data.labels.numel().max(1) as f64;
    println!(
        "bits per character: {:.4} ({} characters)",
        nats / n / std::f64::consts::LN_2,
        n
    );
    Ok(())
}

/// Each held-out wave's first T values, then the model's own predictions fed back for
/// [`FORECAST`] steps, against the true continuation.
fn free_running(rt: &mut Runtime, spec: &str, seed: u64) -> Result<()> {
    let rest = spec.split_once(':').map(|(_, r)| r);
    let mut opts = crate::data::Options::parse("sinewaves", rest)?;
    let (steps, valid) = sinewaves::sizes(&mut opts)?;
    let stepper = Stepper::new(rt, None, 1)?;
    let phases = sinewaves::phases(valid, seed, true);
    let truth: Vec<Vec<f32>> = phases
        .iter()
        .map(|&p| sinewaves::wave(p, steps + FORECAST))
        .collect();
    let mut series: Vec<Vec<f32>> = truth.iter().map(|w| w[..steps].to_vec()).collect();
    for _ in 0..FORECAST {
        let next = stepper.next(&series)?;
        for (s, next) in series.iter_mut().zip(next) {
            s.push(next[0]);
        }
    }
    let (mut sq, mut n) = (0.0f64, 0usize);
    for (s, w) in series.iter().zip(&truth) {
        for (a, b) in s[steps..].iter().zip(&w[steps..]) {
            sq += ((a - b) as f64).powi(2);
            n += 1;
        }
    }
    println!(
        "free-running forecast: mean squared error {:.5} over {FORECAST} steps of {valid} \
         held-out waves",
        sq / n.max(1) as f64
    );
    Ok(())
}
