//! Synthetic graphs of any size, for layout tests, screenshots and the measure command.

use hyphae::graph::{GraphFile, InputDecl, NodeDecl, Source};
use hyphae::ops::Op;

fn op(kind: &str) -> Op {
    Op::all_defaults()
        .into_iter()
        .find(|o| o.kind() == kind)
        .unwrap_or_else(|| Op::all_defaults().remove(0))
}

fn linear(out: usize) -> Op {
    let mut o = op("Linear");
    if let Op::Linear(l) = &mut o {
        l.out_features = out;
    }
    o
}

/// A residual MLP classifier for `spirals` with about `nodes` nodes: an input layer, then
/// blocks of Linear → ReLU → Linear → Add (skip) → ReLU, then logits and the loss.
pub fn residual_mlp(nodes: usize, width: usize) -> GraphFile {
    let blocks = nodes.saturating_sub(3) / 5;
    let mut out = vec![NodeDecl::new("fc_in", linear(width), &["x"])];
    let mut prev = "fc_in".to_string();
    for b in 0..blocks {
        let (a, r, c, s, o) = (
            format!("b{b}_fc1"),
            format!("b{b}_relu1"),
            format!("b{b}_fc2"),
            format!("b{b}_add"),
            format!("b{b}_out"),
        );
        out.push(NodeDecl::new(a.clone(), linear(width), &[&prev]));
        out.push(NodeDecl::new(r.clone(), op("ReLU"), &[&a]));
        out.push(NodeDecl::new(c.clone(), linear(width), &[&r]));
        out.push(NodeDecl::new(s.clone(), op("Add"), &[&prev, &c]));
        out.push(NodeDecl::new(o.clone(), op("ReLU"), &[&s]));
        prev = o;
    }
    out.push(NodeDecl::new("logits", linear(2), &[&prev]));
    out.push(NodeDecl::new(
        "loss",
        op("CrossEntropyLoss"),
        &["logits", "label"],
    ));
    let mut f = GraphFile {
        description: format!("A synthetic residual MLP with {} nodes.", out.len()),
        inputs: vec![
            InputDecl {
                name: "x".into(),
                shape: vec![2],
                source: Source::Features,
            },
            InputDecl {
                name: "label".into(),
                shape: vec![],
                source: Source::Labels,
            },
        ],
        nodes: out,
        ..GraphFile::default()
    };
    f.training.dataset = Some("spirals".into());
    // Long enough that a timed run (the measure command) ends before training does.
    f.training.epochs = 200;
    f
}
