//! Partial shape inference: what the canvas shows while a graph is still being built.
//! The engine's `ValidGraph` is all-or-nothing; this keeps going past errors. It sits behind
//! the one function [`infer`] so it can be swapped for the engine's own partial inference.

use hyphae::graph::GraphFile;
use hyphae::ops::{ParamKind, ParamSpec};
use std::collections::{HashMap, HashSet};

/// What shape inference learned about one node or input.
#[derive(Clone, Debug, Default)]
pub struct Inferred {
    /// Output shape including the batch dimension of 1 (losses: `[]`).
    pub shape: Option<Vec<usize>>,
    pub params: Vec<ParamSpec>,
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

/// `[1, 28, 28]` style text for a per-sample shape.
pub fn shape_text(shape: &[usize]) -> String {
    hyphae::error::ShapeDisplay(shape.to_vec()).to_string()
}

/// Parses `[1, 28, 28]`, `1, 28, 28`, `28x28` or `[]` into a shape; every dimension ≥ 1.
pub fn parse_shape(text: &str) -> Result<Vec<usize>, String> {
    let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
    inner
        .split([',', 'x', '×', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.parse::<usize>() {
            Ok(0) | Err(_) => Err(format!(
                "`{s}` is not a dimension: a shape is a list of whole numbers ≥ 1, like [2] or []"
            )),
            Ok(d) => Ok(d),
        })
        .collect()
}

/// Shape inference that keeps going past errors: every node whose inputs have known
/// shapes gets its shape, parameters and FLOPs from the op itself.
pub fn infer(f: &GraphFile) -> HashMap<String, Inferred> {
    let mut out: HashMap<String, Inferred> = HashMap::new();
    for i in &f.inputs {
        let mut s = vec![1];
        s.extend_from_slice(&i.shape);
        out.insert(
            i.name.clone(),
            Inferred {
                shape: Some(s),
                ..Default::default()
            },
        );
    }
    // Repeat passes until nothing new resolves (file order need not be topological).
    let mut done: HashSet<usize> = HashSet::new();
    loop {
        let mut progress = false;
        for (k, n) in f.nodes.iter().enumerate() {
            if done.contains(&k) {
                continue;
            }
            let shapes: Option<Vec<Vec<usize>>> = n
                .inputs
                .iter()
                .map(|i| out.get(i).and_then(|x| x.shape.clone()))
                .collect();
            let Some(shapes) = shapes else { continue };
            done.insert(k);
            progress = true;
            let layer = n.op.layer();
            let refs: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
            let mut info = Inferred::default();
            if layer.arity().accepts(refs.len())
                && let Ok(shape) = layer.output_shape(&refs)
            {
                info.params = layer.params(&refs).unwrap_or_default();
                info.flops = layer.flops(&refs, &shape);
                info.shape = Some(shape);
            }
            out.entry(n.name.clone()).or_insert(info);
        }
        if !progress {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_parse_from_what_users_type() {
        assert_eq!(parse_shape("[]"), Ok(vec![]));
        assert_eq!(parse_shape(""), Ok(vec![]));
        assert_eq!(parse_shape("[1, 28, 28]"), Ok(vec![1, 28, 28]));
        assert_eq!(parse_shape("28x28"), Ok(vec![28, 28]));
        assert!(parse_shape("[0]").is_err());
        assert!(parse_shape("[a]").is_err());
    }
}
