//! `hyphae generate`: text from a trained next-token model (character level), sampled with
//! a temperature, and the next-step model runs `eval` reports for sequence sets.
//!
//! The graph reads a fixed window of T tokens. A context shorter than T is padded on the
//! right and the prediction read at its last real position; a longer one keeps its last T
//! tokens. Padding on the right changes nothing earlier only in a causal model, so models
//! whose attention is not causal or whose recurrent layers run backwards are refused.

use super::inference::load_weights;
use crate::data::sequences::{encode, vocabulary};
use crate::ecs::{Model, Runtime};
use crate::error::{Error, Result};
use crate::graph::{Source, ValidGraph};
use crate::ops::Op;
use crate::tensor::{Rng, Tensor};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    #[arg(value_parser = super::args::readable_file)]
    graph: PathBuf,
    #[arg(long, value_parser = super::args::readable_file)]
    weights: PathBuf,
    /// Text to continue (characters of the training vocabulary); default: one character
    /// drawn from the vocabulary with --seed.
    #[arg(long)]
    prompt: Option<String>,
    /// Characters to generate.
    #[arg(long, default_value_t = 100, value_parser = super::args::positive_count)]
    length: usize,
    /// Sampling temperature: 0 picks the likeliest character, 1 samples the model's
    /// distribution, higher flattens it.
    #[arg(long, default_value_t = 1.0, value_parser = temperature)]
    temperature: f32,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Node whose output holds the next-token scores `[T, vocabulary]` (default: `logits`,
    /// else the last node of that shape).
    #[arg(long)]
    node: Option<String>,
    /// Ignore tensors in the weights file that are not the graph's (an error otherwise).
    #[arg(long)]
    allow_extra_weights: bool,
}

fn temperature(s: &str) -> std::result::Result<f32, String> {
    match s.parse::<f32>() {
        Ok(t) if t.is_finite() && (0.0..=100.0).contains(&t) => Ok(t),
        _ => Err(format!("`{s}`: expected a number from 0 to 100")),
    }
}

/// A trained next-step model: its graph, weights and output node.
pub(super) struct Stepper {
    model: Model,
    graph: ValidGraph,
    node: String,
    /// The window T.
    steps: usize,
    /// Values per position of the output node (vocabulary size, or 1 for real values).
    width: usize,
}

impl Stepper {
    /// The model of `graph` with `rt`'s weights, reading `node` (or the default: `logits`,
    /// else the last non-loss node whose output is `[T, width]`).
    pub(super) fn new(rt: &mut Runtime, node: Option<String>, width: usize) -> Result<Stepper> {
        let graph = rt.graph().clone();
        refuse_non_causal(&graph)?;
        let features = graph
            .file
            .inputs
            .iter()
            .find(|d| d.source == Source::Features)
            .ok_or_else(|| Error::Other("the graph has no input with source Features".into()))?;
        let steps = *features.shape.first().ok_or_else(|| {
            Error::Other("the graph's features input has no time dimension".into())
        })?;
        let fits = |i: usize| {
            let s = graph.nodes[i].sample_shape();
            !graph.nodes[i].is_loss && s.len() == 2 && s[0] == steps && s[1] == width
        };
        let named = |n: &str| graph.node_index(n);
        let node = match node {
            Some(n) => {
                let i = named(&n).ok_or_else(|| Error::Other(format!("no node named `{n}`")))?;
                if !fits(i) {
                    return Err(Error::Other(format!(
                        "node `{n}` outputs {:?} per sample, not [{steps}, {width}] (a score per \
                         step and token)",
                        graph.nodes[i].sample_shape()
                    )));
                }
                n
            }
            None => named("logits")
                .filter(|&i| fits(i))
                .or_else(|| (0..graph.nodes.len()).rev().find(|&i| fits(i)))
                .map(|i| graph.file.nodes[i].name.clone())
                .ok_or_else(|| {
                    Error::Other(format!(
                        "no node outputs [{steps}, {width}] per sample (a score per step and \
                         token); name one with --node"
                    ))
                })?,
        };
        Ok(Stepper {
            model: rt.model(),
            graph,
            node,
            steps,
            width,
        })
    }

    /// The output at the last position of each context: flat values, `per_step` per
    /// position (1 for tokens), each context at least one position long.
    pub(super) fn next(&self, contexts: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
        let (t, w) = (self.steps, self.width);
        let features = self.features_shape();
        let per_step: usize = features.iter().skip(1).product();
        let mut x = vec![0.0; contexts.len() * t * per_step];
        let mut last = Vec::with_capacity(contexts.len());
        for (row, c) in x.chunks_exact_mut(t * per_step).zip(contexts) {
            let window = &c[c.len().saturating_sub(t * per_step)..];
            row[..window.len()].copy_from_slice(window);
            last.push((window.len() / per_step).max(1) - 1);
        }
        let mut shape = vec![contexts.len()];
        shape.extend_from_slice(features);
        let out = self.all_steps(&Tensor::new(&shape, x)?)?;
        Ok(last
            .iter()
            .enumerate()
            .map(|(i, &p)| out.data()[(i * t + p) * w..][..w].to_vec())
            .collect())
    }

    /// The features input's per-sample shape: `[T]` tokens or `[T, F]` values.
    fn features_shape(&self) -> &[usize] {
        self.graph
            .file
            .inputs
            .iter()
            .find(|d| d.source == Source::Features)
            .map_or(&[], |d| d.shape.as_slice())
    }

    /// Scores at every position of full windows `x` `[N, T]`, `[N, T, width]`.
    pub(super) fn all_steps(&self, x: &Tensor) -> Result<Tensor> {
        let inputs: Vec<Tensor> = self
            .graph
            .file
            .inputs
            .iter()
            .map(|d| match d.source {
                Source::Features => x.clone(),
                _ => Tensor::zeros(&[0]),
            })
            .collect();
        self.model.predict(&inputs, &self.node)
    }
}

/// Errors if a node lets a position see later ones (then right padding would change it).
fn refuse_non_causal(g: &ValidGraph) -> Result<()> {
    for n in &g.file.nodes {
        let why = match &n.op {
            Op::MultiheadAttention(a) if !a.causal => "attends to later positions",
            Op::TransformerEncoderLayer(t) if !t.causal => "attends to later positions",
            Op::Lstm(r) if r.bidirectional => "runs backwards in time",
            Op::Gru(r) if r.bidirectional => "runs backwards in time",
            Op::Rnn(r) if r.bidirectional => "runs backwards in time",
            _ => continue,
        };
        return Err(Error::Other(format!(
            "generating needs a causal model, but node `{}` ({}) {why}: set causal: true (or \
             bidirectional: false) and train again",
            n.name,
            n.op.kind()
        )));
    }
    Ok(())
}

/// A token drawn from `softmax(scores / temperature)`; the likeliest at temperature 0.
fn pick(scores: &[f32], temperature: f32, rng: &mut Rng) -> usize {
    let best = scores
        .iter()
        .enumerate()
        .fold(0, |b, (i, &v)| if v > scores[b] { i } else { b });
    if temperature == 0.0 {
        return best;
    }
    let weights: Vec<f64> = scores
        .iter()
        .map(|&v| (((v - scores[best]) / temperature) as f64).exp())
        .collect();
    let mut u = rng.unit() as f64 * weights.iter().sum::<f64>();
    for (i, w) in weights.iter().enumerate() {
        u -= w;
        if u <= 0.0 {
            return i;
        }
    }
    best
}

/// Continues each prompt by `length` tokens (greedy at temperature 0).
pub(super) fn continue_tokens(
    stepper: &Stepper,
    prompts: &[Vec<usize>],
    length: usize,
    temperature: f32,
    rng: &mut Rng,
) -> Result<Vec<Vec<usize>>> {
    let mut texts: Vec<Vec<usize>> = prompts.to_vec();
    for _ in 0..length {
        let contexts: Vec<Vec<f32>> = texts
            .iter()
            .map(|t| t.iter().map(|&v| v as f32).collect())
            .collect();
        for (t, scores) in texts.iter_mut().zip(stepper.next(&contexts)?) {
            t.push(pick(&scores, temperature, rng));
        }
    }
    Ok(texts
        .into_iter()
        .zip(prompts)
        .map(|(t, p)| t[p.len()..].to_vec())
        .collect())
}

pub fn generate(a: GenerateArgs) -> Result<i32> {
    let g = ValidGraph::load(&a.graph)?;
    let mut rt = Runtime::new(g)?;
    let stored = load_weights(&mut rt, &a.weights, a.allow_extra_weights)?;
    let names = stored.map(|s| s.class_names).unwrap_or_default();
    if names.is_empty() {
        return Err(Error::File {
            path: a.weights.display().to_string(),
            why: "records no vocabulary: generate needs weights trained on a text set \
                  (addition or text:FILE)"
                .into(),
        });
    }
    let vocab = vocabulary(&names)?;
    let mut rng = Rng::seed(a.seed);
    let prompt = match a.prompt {
        Some(p) if p.is_empty() => {
            return Err(Error::Other(
                "--prompt is empty: give at least one character".into(),
            ));
        }
        Some(p) => p,
        None => {
            let c = vocab[rng.below(vocab.len())];
            eprintln!(
                "note: no --prompt: starting from {c:?}, drawn with --seed {}",
                a.seed
            );
            c.to_string()
        }
    };
    let tokens = encode(&prompt, &vocab)?;
    let stepper = Stepper::new(&mut rt, a.node, vocab.len())?;
    let out = continue_tokens(&stepper, &[tokens], a.length, a.temperature, &mut rng)?;
    let text: String = out[0].iter().map(|&t| vocab[t]).collect();
    println!("{prompt}{text}");
    Ok(0)
}
