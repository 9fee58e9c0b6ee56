//! Writes a residual MLP graph of about N nodes for the built-in `spirals` set: how the
//! editor's large-graph figures (README) and screenshots are made.
//!
//! `cargo run --release -p hyphae --example residual_graph -- 500 > /tmp/res500.ron`
//!
//! Each block is `Linear → ReLU → Linear → Add(skip)`, four nodes, so the graph has
//! `4·blocks + 3` nodes (the stem, the logits and the loss).

use std::fmt::Write;

const WIDTH: usize = 32;

fn main() {
    let nodes: usize = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 150,
        Some(Ok(n)) if n >= 7 => n,
        Some(_) => {
            eprintln!("usage: residual_graph [NODES ≥ 7]");
            std::process::exit(2);
        }
    };
    print!("{}", residual_graph((nodes - 3) / 4));
}

/// The RON text of a residual MLP with `blocks` blocks.
fn residual_graph(blocks: usize) -> String {
    let mut out = String::new();
    let mut node = |name: &str, op: &str, inputs: &[&str]| {
        let inputs: Vec<String> = inputs.iter().map(|i| format!("{i:?}")).collect();
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "        (name: {name:?}, op: {op}, inputs: [{}]),",
            inputs.join(", ")
        );
    };
    node(
        "stem",
        &format!("Linear(out_features: {WIDTH})"),
        &["point"],
    );
    let mut prev = "stem".to_string();
    for b in 1..=blocks {
        let (fa, relu, fb, add) = (
            format!("b{b}_fc1"),
            format!("b{b}_relu"),
            format!("b{b}_fc2"),
            format!("b{b}_add"),
        );
        node(&fa, &format!("Linear(out_features: {WIDTH})"), &[&prev]);
        node(&relu, "ReLU()", &[&fa]);
        node(&fb, &format!("Linear(out_features: {WIDTH})"), &[&relu]);
        node(&add, "Add()", &[&fb, &prev]);
        prev = add;
    }
    node("logits", "Linear(out_features: 2)", &[&prev]);
    node("loss", "CrossEntropyLoss()", &["logits", "label"]);
    let n = 4 * blocks + 3;
    format!(
        r#"(
    version: 1,
    description: "A {n}-node residual MLP ({blocks} blocks of Linear, ReLU, Linear, Add) on spirals: the editor's large-graph benchmark.",
    inputs: [
        (name: "point", shape: [2]),
        (name: "label", shape: [], source: Labels),
    ],
    nodes: [
{out}    ],
    training: (
        optimizer: Adam(lr: 0.001),
        batch_size: 64,
        epochs: 1000,
        seed: 0,
        dataset: "spirals",
    ),
)
"#
    )
}
