//! Graph targets. `graph`: mutated RON text, parsed and validated. `semantics`: parsed
//! graphs with mutated fields on every op (numbers, ops swapped or inserted, input shapes,
//! wiring, training settings), validated, and every graph that validates trained for one
//! step at batch 2. The corpus is `graphs/**/*.ron` plus a small graph around every op.

use crate::guard::{Outcome, Target};
use crate::mutate::{self, pick};
use hyphae::Rng;
use hyphae::ecs::Runtime;
use hyphae::graph::{GraphFile, ValidGraph};
use hyphae::ops::{Arity, Category, Op};
use std::path::Path;

/// The graph files under `dir` (recursively), as text.
pub fn corpus(dir: &Path) -> Vec<String> {
    let mut texts = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|e| e == "ron")
                && let Ok(t) = std::fs::read_to_string(&p)
            {
                texts.push(t);
            }
        }
    }
    texts.extend(generated());
    texts
}

/// An op's config as graph-file text: `Conv2d(out_channels: 8, ...)`.
fn op_text(op: &Op) -> String {
    ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES)
        .to_string(op)
        .unwrap_or_else(|_| format!("{}()", op.kind()))
}

/// For every op, two small trainable graphs around it: on an image and on a vector.
fn generated() -> Vec<String> {
    let mut out = Vec::new();
    for op in Op::all_defaults() {
        for shape in ["[3, 6, 6]", "[12]"] {
            let config = op_text(&op);
            let (body, head) = if op.category() == Category::Loss {
                let target = match op.kind() {
                    "CrossEntropyLoss" => "\"y\"",
                    "GaussianKLLoss" => "\"fc\"",
                    _ => "\"t\"",
                };
                (
                    String::new(),
                    format!("(name: \"loss\", op: {config}, inputs: [\"fc\", {target}])"),
                )
            } else {
                let n = match op.layer().arity() {
                    Arity::Exactly(k) | Arity::AtLeast(k) => k.max(1),
                };
                let inputs = vec!["\"x\""; n].join(", ");
                (
                    format!("(name: \"a\", op: {config}, inputs: [{inputs}]), "),
                    "(name: \"loss\", op: CrossEntropyLoss(), inputs: [\"fc\", \"y\"])".into(),
                )
            };
            let source = if body.is_empty() { "x" } else { "a" };
            out.push(format!(
                "(version: 1, inputs: [(name: \"x\", shape: {shape}), \
                 (name: \"y\", shape: [], source: Labels), (name: \"t\", shape: [4], source: Labels)], \
                 nodes: [{body}(name: \"flat\", op: Flatten(), inputs: [\"{source}\"]), \
                 (name: \"fc\", op: Linear(out_features: 4), inputs: [\"flat\"]), {head}], \
                 training: (batch_size: 2))"
            ));
        }
    }
    out
}

/// Words worth swapping in graph text: op names, field names, keywords.
fn words() -> Vec<&'static str> {
    let mut w: Vec<&'static str> = Op::all_defaults().iter().map(Op::kind).collect();
    w.extend([
        "out_features",
        "in_features",
        "kernel_size",
        "stride",
        "padding",
        "dilation",
        "groups",
        "bias",
        "true",
        "false",
        "Some",
        "None",
        "NaN",
        "inf",
        "Labels",
        "Features",
        "inputs",
        "nodes",
        "shape",
        "name",
        "op",
        "training",
        "batch_size",
        "Value",
        "Norm",
        "Adam",
        "Sgd",
        "version",
        "frozen",
        "lr_mult",
        "(",
        ")",
        "[",
        "]",
        "\"",
        ",",
    ]);
    w
}

/// Mutated graph text: parse and validate only.
pub struct GraphText {
    corpus: Vec<String>,
    words: Vec<&'static str>,
}

impl GraphText {
    pub fn new(corpus: Vec<String>) -> Self {
        GraphText {
            corpus,
            words: words(),
        }
    }
}

impl Target for GraphText {
    fn name(&self) -> &'static str {
        "graph"
    }

    fn extension(&self) -> &'static str {
        "ron"
    }

    fn generate(&mut self, rng: &mut Rng) -> Vec<u8> {
        let mut text = pick(rng, &self.corpus).clone();
        let other = pick(rng, &self.corpus).clone();
        for _ in 0..1 + rng.below(3) {
            // Numbers half the time: a parsable file with odd values reaches validation.
            text = match rng.below(2) {
                0 => mutate::replace_number(rng, &text).unwrap_or(text),
                _ => mutate::mutate_text(rng, &text, &self.words, &other),
            };
        }
        text.into_bytes()
    }

    fn execute(&mut self, input: &[u8]) -> Outcome {
        let text = String::from_utf8_lossy(input);
        match validate(&text) {
            Some(g) => {
                let _ = g.summary_table();
                Outcome::Accepted
            }
            None => Outcome::Rejected,
        }
    }
}

/// Parses and validates as `hyphae check` does (errors formatted, then dropped).
fn validate(text: &str) -> Option<ValidGraph> {
    let file = GraphFile::from_ron(text, "fuzz.ron").ok()?;
    match ValidGraph::validate(file, "fuzz.ron", Some(text)) {
        Ok(g) => Some(g),
        Err(errors) => {
            let _: Vec<String> = errors.iter().map(ToString::to_string).collect();
            None
        }
    }
}

/// Mutated graph semantics, then one training step at batch 2 for every valid graph.
pub struct Semantics {
    corpus: Vec<GraphFile>,
    ops: Vec<Op>,
}

impl Semantics {
    pub fn new(texts: &[String]) -> Self {
        Semantics {
            corpus: texts
                .iter()
                .filter_map(|t| GraphFile::from_ron(t, "corpus").ok())
                .collect(),
            ops: Op::all_defaults(),
        }
    }

    /// One structural or numeric change.
    fn mutate(&self, rng: &mut Rng, g: &mut GraphFile) {
        let names: Vec<String> = g
            .inputs
            .iter()
            .map(|i| i.name.clone())
            .chain(g.nodes.iter().map(|n| n.name.clone()))
            .collect();
        let nodes = g.nodes.len();
        match rng.below(10) {
            // A number anywhere: an op's field, a shape, a training setting.
            0..=3 => {
                if let Ok(text) = g.to_ron() {
                    for _ in 0..5 {
                        if let Some(t) = mutate::replace_number(rng, &text)
                            && let Ok(next) = GraphFile::from_ron(&t, "m")
                        {
                            *g = next;
                            return;
                        }
                    }
                }
            }
            // Another op in a node's place.
            4 if nodes > 0 => {
                let i = rng.below(nodes);
                g.nodes[i].op = pick(rng, &self.ops).clone();
            }
            // A new op between a value and one of its consumers.
            5 if nodes > 0 => {
                let src = pick(rng, &names).clone();
                let op = pick(rng, &self.ops).clone();
                let n = match op.layer().arity() {
                    Arity::Exactly(k) | Arity::AtLeast(k) => k.max(1),
                };
                let name = format!("fuzz{}", rng.below(1_000_000));
                let consumer = rng.below(nodes);
                let node = hyphae::graph::NodeDecl::new(name.clone(), op, &vec![src.as_str(); n]);
                if let Some(slot) = g.nodes[consumer].inputs.iter_mut().find(|s| **s == src) {
                    *slot = name;
                }
                g.nodes.insert(consumer, node);
            }
            // An input's shape.
            6 if !g.inputs.is_empty() => {
                let i = rng.below(g.inputs.len());
                let shape = &mut g.inputs[i].shape;
                match rng.below(3) {
                    0 => shape.push(1 + rng.below(8)),
                    1 => {
                        shape.pop();
                    }
                    _ if !shape.is_empty() => {
                        let d = rng.below(shape.len());
                        shape[d] = mutate::interesting_int(rng) as usize;
                    }
                    _ => {}
                }
            }
            // Wiring: an input points elsewhere, or one is added or dropped.
            7 if nodes > 0 => {
                let node = &mut g.nodes[rng.below(nodes)];
                match rng.below(3) {
                    0 => node.inputs.push(pick(rng, &names).clone()),
                    1 => {
                        node.inputs.pop();
                    }
                    _ if !node.inputs.is_empty() => {
                        let k = rng.below(node.inputs.len());
                        node.inputs[k] = pick(rng, &names).clone();
                    }
                    _ => {}
                }
            }
            // Training settings.
            8 => {
                let t = &mut g.training;
                match rng.below(3) {
                    0 => t.batch_size = mutate::interesting_int(rng) as usize,
                    1 => {
                        let v: f32 = pick(rng, mutate::INTERESTING_FLOATS).parse().unwrap_or(1.0);
                        t.clip = Some(if rng.below(2) == 0 {
                            hyphae::graph::Clip::Value(v)
                        } else {
                            hyphae::graph::Clip::Norm(v)
                        });
                    }
                    _ => {
                        let v: f32 = pick(rng, mutate::INTERESTING_FLOATS).parse().unwrap_or(1.0);
                        t.optimizer.set_lr(v);
                    }
                }
            }
            // A node frozen, or its learning-rate multiplier.
            _ if nodes > 0 => {
                let node = &mut g.nodes[rng.below(nodes)];
                if rng.below(2) == 0 {
                    node.frozen = !node.frozen;
                } else {
                    node.lr_mult = pick(rng, mutate::INTERESTING_FLOATS).parse().unwrap_or(1.0);
                }
            }
            _ => {}
        }
    }
}

impl Target for Semantics {
    fn name(&self) -> &'static str {
        "semantics"
    }

    fn extension(&self) -> &'static str {
        "ron"
    }

    fn generate(&mut self, rng: &mut Rng) -> Vec<u8> {
        let mut g = pick(rng, &self.corpus).clone();
        for _ in 0..1 + rng.below(3) {
            self.mutate(rng, &mut g);
        }
        g.to_ron().unwrap_or_default().into_bytes()
    }

    fn execute(&mut self, input: &[u8]) -> Outcome {
        let text = String::from_utf8_lossy(input);
        let Some(graph) = validate(&text) else {
            return Outcome::Rejected;
        };
        let _ = graph.summary_table();
        let batch = hyphae::cli::synthetic_batch(&graph, 2, &mut Rng::seed(1));
        let step = Runtime::new(graph).and_then(|mut rt| rt.train_step(batch));
        match step {
            Ok(_) => Outcome::Trained,
            Err(e) => Outcome::StepError(e.to_string()),
        }
    }
}
