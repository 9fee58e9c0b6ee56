//! Shape inference, shared by validation and the editor. It goes on past errors: every node
//! whose inputs resolve and have known shapes gets its output shape, parameters and FLOPs
//! from its op, so an editor can show shapes on a graph that does not validate yet.

use super::format::GraphFile;
use super::validate::Ref;
use crate::error::Error;
use crate::ops::{ParamKind, ParamSpec};
use std::collections::HashMap;

/// What inference learned about one node or data input.
#[derive(Clone, Debug, Default)]
pub struct Inferred {
    /// Output shape with a batch dimension of 1 (losses: `[]`; data inputs: `[1, ...]`).
    /// None when an input is unknown or unresolved, or the op refused its input shapes.
    pub shape: Option<Vec<usize>>,
    pub params: Vec<ParamSpec>,
    /// Forward FLOPs for a batch of one.
    pub flops: u64,
}

impl Inferred {
    /// Per-sample shape, as users think of it (batch dimension dropped).
    pub fn sample_shape(&self) -> Option<&[usize]> {
        self.shape
            .as_deref()
            .map(|s| if s.is_empty() { s } else { &s[1..] })
    }

    /// Number of trainable parameter values.
    pub fn trainable(&self) -> usize {
        self.params
            .iter()
            .filter(|p| p.kind == ParamKind::Trainable)
            .map(ParamSpec::numel)
            .sum()
    }
}

/// Partial shape inference by name, for data inputs and nodes alike (the first of
/// duplicate names wins). Problems are not reported here: `ValidGraph::validate` does.
pub fn infer(file: &GraphFile) -> HashMap<String, Inferred> {
    let names = name_table(file);
    let wiring: Vec<Wiring> = file.nodes.iter().map(|n| wire(n, &names)).collect();
    let order = topological_order(&wiring);
    let nodes = infer_nodes(file, &wiring, &order);
    let mut out = HashMap::new();
    for input in &file.inputs {
        out.entry(input.name.clone()).or_insert_with(|| Inferred {
            shape: Some(input_shape(&input.shape)),
            ..Inferred::default()
        });
    }
    for (decl, node) in file.nodes.iter().zip(nodes) {
        let inferred = match node.result {
            Some(Ok(o)) => Inferred {
                shape: Some(o.shape),
                params: o.params,
                flops: o.flops,
            },
            _ => Inferred::default(),
        };
        out.entry(decl.name.clone()).or_insert(inferred);
    }
    out
}

/// A data input's shape for a batch of one.
pub(super) fn input_shape(sample: &[usize]) -> Vec<usize> {
    let mut s = Vec::with_capacity(sample.len() + 1);
    s.push(1);
    s.extend_from_slice(sample);
    s
}

/// Every input and node by name; a later duplicate does not replace an earlier one.
pub(super) fn name_table(file: &GraphFile) -> HashMap<&str, Ref> {
    let mut names = HashMap::new();
    for (i, input) in file.inputs.iter().enumerate() {
        names.entry(input.name.as_str()).or_insert(Ref::Input(i));
    }
    for (i, node) in file.nodes.iter().enumerate() {
        names.entry(node.name.as_str()).or_insert(Ref::Node(i));
    }
    names
}

/// How one node's inputs resolve.
pub(super) struct Wiring {
    /// Where each input comes from, in port order (unresolved ones left out).
    pub refs: Vec<Ref>,
    /// (port, name) of inputs that name nothing.
    pub unresolved: Vec<(usize, String)>,
    /// Whether the op accepts this many inputs.
    pub arity_ok: bool,
}

impl Wiring {
    /// Every input resolves and the count fits the op: shapes can be inferred.
    pub fn ok(&self) -> bool {
        self.unresolved.is_empty() && self.arity_ok
    }
}

pub(super) fn wire(node: &super::format::NodeDecl, names: &HashMap<&str, Ref>) -> Wiring {
    let mut w = Wiring {
        refs: Vec::with_capacity(node.inputs.len()),
        unresolved: Vec::new(),
        arity_ok: node.op.layer().arity().accepts(node.inputs.len()),
    };
    for (port, src) in node.inputs.iter().enumerate() {
        match names.get(src.as_str()) {
            Some(r) => w.refs.push(*r),
            None => w.unresolved.push((port, src.clone())),
        }
    }
    w
}

/// Kahn's algorithm over the resolved node→node edges; nodes on or behind a cycle are
/// left out.
pub(super) fn topological_order(wiring: &[Wiring]) -> Vec<usize> {
    let n = wiring.len();
    let mut indegree = vec![0usize; n];
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, w) in wiring.iter().enumerate() {
        for r in &w.refs {
            if let Ref::Node(k) = *r {
                indegree[i] += 1;
                consumers[k].push(i);
            }
        }
    }
    let mut ready: std::collections::VecDeque<usize> =
        (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_front() {
        order.push(i);
        for &c in &consumers[i] {
            indegree[c] -= 1;
            if indegree[c] == 0 {
                ready.push_back(c);
            }
        }
    }
    order
}

/// A node's output for a batch of one, as its op computes it.
pub(super) struct NodeOutput {
    pub shape: Vec<usize>,
    pub params: Vec<ParamSpec>,
    pub flops: u64,
}

/// What inference learned about one node.
pub(super) struct NodeShape {
    /// None: not reached (wiring failed, an input's shape is unknown, or a cycle).
    pub result: Option<Result<NodeOutput, Error>>,
    /// 0 for nodes fed only by data inputs; otherwise 1 + the deepest node input.
    pub depth: u32,
}

/// Infers every node reachable in `order` from data inputs with known shapes.
pub(super) fn infer_nodes(file: &GraphFile, wiring: &[Wiring], order: &[usize]) -> Vec<NodeShape> {
    let mut out: Vec<NodeShape> = (0..file.nodes.len())
        .map(|_| NodeShape {
            result: None,
            depth: 0,
        })
        .collect();
    for &i in order {
        if !wiring[i].ok() {
            continue;
        }
        let srcs = &wiring[i].refs;
        let mut in_shapes: Vec<Vec<usize>> = Vec::with_capacity(srcs.len());
        let mut depth = 0;
        for r in srcs {
            match *r {
                // An oversized input is reported once (validation), not overflowed on by
                // its readers.
                Ref::Input(k)
                    if super::memory::oversized_input(&file.inputs[k].shape).is_some() => {}
                Ref::Input(k) => in_shapes.push(input_shape(&file.inputs[k].shape)),
                Ref::Node(k) => {
                    depth = depth.max(out[k].depth + 1);
                    if let Some(Ok(o)) = &out[k].result {
                        in_shapes.push(o.shape.clone());
                    }
                }
            }
        }
        out[i].depth = depth;
        if in_shapes.len() < srcs.len() {
            continue;
        }
        let refs: Vec<&[usize]> = in_shapes.iter().map(Vec::as_slice).collect();
        let layer = file.nodes[i].op.layer();
        let inferred = layer.output_shape(&refs).and_then(|shape| {
            let params = layer.params(&refs)?;
            super::validate::too_large(file.nodes[i].op.kind(), &shape, &params)?;
            Ok(NodeOutput {
                params,
                flops: layer.flops(&refs, &shape),
                shape,
            })
        });
        out[i].result = Some(inferred.map_err(|e| super::validate::per_sample(e, &refs)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shapes flow past a broken node to every node that does not depend on it, and
    /// stop where an input is missing or unresolved.
    #[test]
    fn partial_inference_goes_on_past_errors() {
        let text = r#"(
            version: 1,
            inputs: [(name: "x", shape: [4])],
            nodes: [
                (name: "late", op: ReLU(), inputs: ["fc"]),
                (name: "fc", op: Linear(out_features: 3), inputs: ["x"]),
                (name: "bad", op: Linear(in_features: 5, out_features: 2), inputs: ["x"]),
                (name: "after_bad", op: ReLU(), inputs: ["bad"]),
                (name: "dangling", op: ReLU(), inputs: ["nowhere"]),
                (name: "unwired", op: Add(), inputs: ["x"]),
            ],
        )"#;
        let file = GraphFile::from_ron(text, "t.ron").unwrap();
        let inf = infer(&file);
        assert_eq!(inf["x"].shape, Some(vec![1, 4]));
        assert_eq!(inf["fc"].shape, Some(vec![1, 3]));
        assert_eq!(inf["fc"].params.len(), 2);
        assert!(inf["fc"].flops > 0);
        assert_eq!(inf["late"].sample_shape(), Some(&[3][..]));
        for unknown in ["bad", "after_bad", "dangling", "unwired"] {
            assert_eq!(inf[unknown].shape, None, "{unknown}");
        }
    }
}
