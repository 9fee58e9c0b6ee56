//! Validation: a graph that passes never fails to build or to start training for a
//! structural reason. All problems are collected and reported together,
//! each naming the node (and port) and, where the text is known, line:column.

use super::format::{GraphFile, InputDecl};
use super::infer;
use crate::error::{Error, Result, ShapeDisplay};
use crate::ops::{Category, ParamSpec};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

/// One problem found in a graph.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphError {
    /// The file (or other origin) the graph came from.
    pub origin: String,
    /// 1-based line and column, where known.
    pub position: Option<(usize, usize)>,
    pub node: Option<String>,
    pub port: Option<String>,
    pub message: String,
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some((l, c)) = self.position {
            write!(f, ":{l}:{c}")?;
        }
        write!(f, ": ")?;
        if let Some(n) = &self.node {
            write!(f, "node `{n}`")?;
            if let Some(p) = &self.port {
                write!(f, ", input `{p}`")?;
            }
            write!(f, ": ")?;
        }
        write!(f, "{}", self.message)
    }
}

/// Where a node input comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ref {
    /// A data input, by index in `GraphFile::inputs`.
    Input(usize),
    /// Another node, by index in `GraphFile::nodes`.
    Node(usize),
}

/// What validation learned about one node.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    pub sources: Vec<Ref>,
    /// Output shape for a batch of one (losses: `[]`).
    pub shape: Vec<usize>,
    pub params: Vec<ParamSpec>,
    /// Forward FLOPs for a batch of one.
    pub flops: u64,
    /// 0 for nodes fed only by data inputs; otherwise 1 + the deepest node input.
    pub depth: u32,
    pub is_loss: bool,
}

impl NodeInfo {
    /// The shape of one sample's output (the batch dimension dropped), as users think of it.
    pub fn sample_shape(&self) -> &[usize] {
        if self.is_loss || self.shape.is_empty() {
            &self.shape
        } else {
            &self.shape[1..]
        }
    }

    pub fn param_count(&self) -> usize {
        self.params
            .iter()
            .filter(|p| p.kind == crate::ops::ParamKind::Trainable)
            .map(ParamSpec::numel)
            .sum()
    }
}

/// A graph that passed validation, with everything inferred about it.
#[derive(Clone, Debug)]
pub struct ValidGraph {
    pub file: GraphFile,
    pub origin: String,
    /// Per node, in file order.
    pub nodes: Vec<NodeInfo>,
    /// Node indices grouped by depth: nodes in one bucket are independent.
    pub buckets: Vec<Vec<usize>>,
    /// Indices of loss nodes (their sum is the training loss).
    pub losses: Vec<usize>,
}

/// The result of validation: the graph, or every problem found.
pub type Validation = std::result::Result<ValidGraph, Vec<GraphError>>;

struct Checker<'a> {
    origin: &'a str,
    text: Option<&'a str>,
    errors: Vec<GraphError>,
}

impl Checker<'_> {
    fn at_decl(&self, name: &str) -> Option<(usize, usize)> {
        self.text.and_then(|t| GraphFile::find_declaration(t, name))
    }

    fn error(
        &mut self,
        node: Option<&str>,
        port: Option<String>,
        pos: Option<(usize, usize)>,
        message: String,
    ) {
        self.errors.push(GraphError {
            origin: self.origin.to_string(),
            position: pos,
            node: node.map(str::to_string),
            port,
            message,
        });
    }

    fn node_error(&mut self, node: &str, message: String) {
        let pos = self.at_decl(node);
        self.error(Some(node), None, pos, message);
    }
}

impl ValidGraph {
    /// Validates a parsed graph. `text` is the file's source, for line:column in errors.
    ///
    /// Stages, each reporting what it finds and all problems reported together: the format
    /// version; names; wiring (inputs resolve, arity, `lr_mult`); cycles; shapes (shared
    /// with the editor's partial inference, [`super::infer()`]); layout keys; training
    /// settings.
    pub fn validate(file: GraphFile, origin: &str, text: Option<&str>) -> Validation {
        let mut ck = Checker {
            origin,
            text,
            errors: Vec::new(),
        };
        check_version(&mut ck, &file);
        let names = check_names(&mut ck, &file);
        let wiring = check_wiring(&mut ck, &file, &names);
        let order = infer::topological_order(&wiring);
        check_cycles(&mut ck, &file, &wiring, &order);
        let shapes = infer::infer_nodes(&file, &wiring, &order);
        let infos = check_shapes(&mut ck, &file, &wiring, shapes);
        check_layout(&mut ck, &file, &names);
        check_training(&mut ck, &file.training);
        check_phases(&mut ck, &file, &infos);

        if !ck.errors.is_empty() {
            ck.errors
                .sort_by_key(|e| e.position.unwrap_or((usize::MAX, 0)));
            return Err(ck.errors);
        }
        let nodes: Vec<NodeInfo> = infos.into_iter().flatten().collect();
        let max_depth = nodes.iter().map(|n| n.depth).max().unwrap_or(0) as usize;
        let mut buckets = vec![Vec::new(); if nodes.is_empty() { 0 } else { max_depth + 1 }];
        for &i in &order {
            buckets[nodes[i].depth as usize].push(i);
        }
        let losses = (0..nodes.len()).filter(|&i| nodes[i].is_loss).collect();
        let graph = ValidGraph {
            file,
            origin: origin.to_string(),
            nodes,
            buckets,
            losses,
        };
        super::memory::check(&graph, text).map_err(|e| vec![e])?;
        Ok(graph)
    }

    /// Parses and validates RON text; every problem becomes one line of the error.
    pub fn from_ron(text: &str, origin: &str) -> Result<ValidGraph> {
        let file = GraphFile::from_ron(text, origin)?;
        Self::validate(file, origin, Some(text)).map_err(Error::from)
    }

    /// Reads, parses and validates a graph file.
    pub fn load(path: &Path) -> Result<ValidGraph> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| Error::File {
            path: origin.clone(),
            why: format!("cannot read graph file: {e}"),
        })?;
        Self::from_ron(&text, &origin)
    }

    /// Index of the node with this name.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.file.nodes.iter().position(|n| n.name == name)
    }

    /// Total trainable parameters.
    pub fn param_count(&self) -> usize {
        self.nodes.iter().map(NodeInfo::param_count).sum()
    }

    /// Total forward FLOPs per sample.
    pub fn flops(&self) -> u64 {
        self.nodes.iter().map(|n| n.flops).sum()
    }
}

impl From<Vec<GraphError>> for Error {
    fn from(errors: Vec<GraphError>) -> Self {
        Error::Graph(errors.iter().map(ToString::to_string).collect())
    }
}

fn check_version(ck: &mut Checker<'_>, file: &GraphFile) {
    if file.version != super::format::FORMAT_VERSION {
        let pos = ck
            .text
            .and_then(|t| t.find("version").map(|o| super::format::line_col(t, o)));
        ck.error(
            None,
            None,
            pos,
            format!(
                "unsupported format version {} (this build reads version {})",
                file.version,
                super::format::FORMAT_VERSION
            ),
        );
    }
}

/// Names: unique across inputs and nodes, non-empty. Returns the name table.
fn check_names<'f>(ck: &mut Checker<'_>, file: &'f GraphFile) -> HashMap<&'f str, Ref> {
    let mut seen: HashSet<&str> = HashSet::new();
    for input in &file.inputs {
        check_input(ck, input);
        if !seen.insert(&input.name) {
            ck.node_error(&input.name, format!("duplicate name `{}`", input.name));
        }
    }
    for (i, node) in file.nodes.iter().enumerate() {
        if node.name.trim().is_empty() {
            ck.error(
                None,
                None,
                None,
                format!("node #{} has an empty name", i + 1),
            );
        }
        if !seen.insert(&node.name) {
            // Point at the second declaration, the one that collides.
            let pos = ck.text.and_then(|t| nth_declaration(t, &node.name, 1));
            ck.error(
                Some(&node.name),
                None,
                pos,
                format!("duplicate name `{}`", node.name),
            );
        }
    }
    infer::name_table(file)
}

/// Inputs resolve, arity fits, `lr_mult` is sane. Returns each node's wiring.
fn check_wiring(
    ck: &mut Checker<'_>,
    file: &GraphFile,
    names: &HashMap<&str, Ref>,
) -> Vec<infer::Wiring> {
    let mut sources = Vec::with_capacity(file.nodes.len());
    for node in &file.nodes {
        let wiring = infer::wire(node, names);
        let layer = node.op.layer();
        for (port, src) in &wiring.unresolved {
            let pos = ck
                .text
                .and_then(|t| GraphFile::find_reference(t, &node.name, src));
            ck.error(
                Some(&node.name),
                Some(layer.input_name(*port)),
                pos,
                format!("refers to `{src}`, which is neither a node nor an input"),
            );
        }
        if !wiring.arity_ok {
            ck.node_error(
                &node.name,
                format!(
                    "{} expects {} input(s), got {}",
                    node.op.kind(),
                    layer.arity(),
                    node.inputs.len()
                ),
            );
        }
        if !(node.lr_mult.is_finite() && node.lr_mult >= 0.0) {
            ck.node_error(
                &node.name,
                format!("lr_mult must be a finite number ≥ 0, got {}", node.lr_mult),
            );
        }
        sources.push(wiring);
    }
    sources
}

/// Nodes left out of the topological order are on or behind a cycle: name one cycle.
fn check_cycles(ck: &mut Checker<'_>, file: &GraphFile, wiring: &[infer::Wiring], order: &[usize]) {
    if order.len() == file.nodes.len() {
        return;
    }
    let mut in_order = vec![false; file.nodes.len()];
    order.iter().for_each(|&i| in_order[i] = true);
    let stuck: Vec<usize> = (0..file.nodes.len()).filter(|&i| !in_order[i]).collect();
    let cycle = find_cycle(wiring, &stuck);
    let names: Vec<&str> = cycle.iter().map(|&i| file.nodes[i].name.as_str()).collect();
    let first = names.first().copied().unwrap_or("?");
    ck.node_error(
        first,
        format!("is part of a cycle: {} → {first}", names.join(" → ")),
    );
}

/// Reports the ops' shape errors and `init` keys naming no parameter; returns what was
/// learned per node (None where inference did not reach or failed).
fn check_shapes(
    ck: &mut Checker<'_>,
    file: &GraphFile,
    wiring: &[infer::Wiring],
    shapes: Vec<infer::NodeShape>,
) -> Vec<Option<NodeInfo>> {
    let mut infos = Vec::with_capacity(shapes.len());
    for ((node, w), shape) in file.nodes.iter().zip(wiring).zip(shapes) {
        let info = match shape.result {
            None => None,
            Some(Err(e)) => {
                ck.node_error(&node.name, e.to_string());
                None
            }
            Some(Ok(out)) => {
                for key in node.init.keys() {
                    if !out.params.iter().any(|p| p.name == key) {
                        ck.node_error(
                            &node.name,
                            format!(
                                "init names parameter `{key}`, but {} has no such parameter",
                                node.op.kind()
                            ),
                        );
                    }
                }
                Some(NodeInfo {
                    sources: w.refs.clone(),
                    shape: out.shape,
                    params: out.params,
                    flops: out.flops,
                    depth: shape.depth,
                    is_loss: node.op.category() == Category::Loss,
                })
            }
        };
        infos.push(info);
    }
    infos
}

/// Layout keys name nodes, inputs or groups; groups have fresh names and hold existing
/// nodes, each node in one group at most.
fn check_layout(ck: &mut Checker<'_>, file: &GraphFile, names: &HashMap<&str, Ref>) {
    let position = |ck: &Checker<'_>, key: &str| {
        ck.text.and_then(|t| {
            t.find(&format!("\"{key}\""))
                .map(|o| super::format::line_col(t, o))
        })
    };
    let mut groups = std::collections::HashSet::new();
    let mut member_of: HashMap<&str, &str> = HashMap::new();
    for g in &file.groups {
        let pos = position(ck, &g.name);
        if g.name.trim().is_empty() {
            ck.error(None, None, pos, "a group has an empty name".to_string());
        } else if names.contains_key(g.name.as_str()) || !groups.insert(g.name.as_str()) {
            let why = format!("group `{}`: the name is already taken", g.name);
            ck.error(None, None, pos, why);
        }
        for n in &g.nodes {
            if !names.contains_key(n.as_str()) {
                let why = format!(
                    "group `{}` names `{n}`, which is neither a node nor an input",
                    g.name
                );
                ck.error(None, None, pos, why);
            } else if let Some(other) = member_of.insert(n, &g.name) {
                let why = if other == g.name {
                    format!("group `{other}` lists `{n}` twice")
                } else {
                    format!("`{n}` is in two groups, `{other}` and `{}`", g.name)
                };
                ck.error(Some(n), None, pos, why);
            }
        }
    }
    for key in file.layout.keys() {
        if !names.contains_key(key.as_str()) && !groups.contains(key.as_str()) {
            let pos = position(ck, key);
            ck.error(
                None,
                None,
                pos,
                format!("layout names `{key}`, which is neither a node, an input nor a group"),
            );
        }
    }
}

fn check_input(ck: &mut Checker<'_>, input: &InputDecl) {
    if input.name.trim().is_empty() {
        ck.error(None, None, None, "an input has an empty name".to_string());
    }
    if input.shape.contains(&0) {
        ck.node_error(
            &input.name,
            format!("input shape {:?} has a zero dimension", input.shape),
        );
    } else if let Some(why) = super::memory::oversized_input(&input.shape) {
        ck.node_error(&input.name, why);
    }
}

/// Phases name loss nodes and nodes with parameters, each node in one phase; errors point
/// at the phase's name in the file.
fn check_phases(ck: &mut Checker<'_>, file: &GraphFile, infos: &[Option<NodeInfo>]) {
    let nodes: Vec<(&str, bool, bool)> = file
        .nodes
        .iter()
        .zip(infos)
        .map(|(n, info)| match info {
            Some(i) => (n.name.as_str(), i.is_loss, !i.params.is_empty()),
            // a node whose shape failed is reported already: no second error through it
            None => (n.name.as_str(), true, true),
        })
        .collect();
    for (phase, message) in super::phases::problems(&file.training.phases, &nodes) {
        let pos = ck.text.and_then(|t| {
            let section = find_key(t, "phases", 0)?;
            let at = t[section..]
                .find(&format!("\"{phase}\""))
                .map_or(section, |k| section + k);
            Some(super::format::line_col(t, at))
        });
        ck.error(
            None,
            None,
            pos,
            format!("training.phases `{phase}`: {message}"),
        );
    }
}

/// Every training setting in its range; errors point at the setting in the file.
fn check_training(ck: &mut Checker<'_>, training: &super::training::Training) {
    for p in training.problems() {
        let pos = ck.text.and_then(|t| {
            let section = find_key(t, "training", 0)?;
            let at = find_key(t, p.field(), section).unwrap_or(section);
            Some(super::format::line_col(t, at))
        });
        ck.error(
            None,
            None,
            pos,
            format!("training.{}: {}", p.setting, p.message),
        );
    }
}

/// Offset of `key:` (a RON field, whitespace allowed before the colon) at or after `from`.
fn find_key(text: &str, key: &str, from: usize) -> Option<usize> {
    let mut start = from;
    while let Some(found) = text.get(start..)?.find(key) {
        let at = start + found;
        let before_ok = text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let after_ok = text[at + key.len()..].trim_start().starts_with(':');
        if before_ok && after_ok {
            return Some(at);
        }
        start = at + key.len();
    }
    None
}

/// Position of the `n`-th (0-based) declaration `name: "<name>"`.
fn nth_declaration(text: &str, name: &str, n: usize) -> Option<(usize, usize)> {
    let mut offset = 0;
    for _ in 0..n {
        let (line, _) = GraphFile::find_declaration(&text[offset..], name)?;
        let skip: usize = text[offset..]
            .split_inclusive('\n')
            .take(line)
            .map(str::len)
            .sum();
        offset += skip;
    }
    let (l, c) = GraphFile::find_declaration(&text[offset..], name)?;
    let (base_line, _) = super::format::line_col(text, offset);
    Some((base_line + l - 1, c))
}

/// One cycle among `stuck` nodes (those Kahn's algorithm could not order), in edge order.
fn find_cycle(wiring: &[infer::Wiring], stuck: &[usize]) -> Vec<usize> {
    let Some(&start) = stuck.first() else {
        return Vec::new();
    };
    // Walk backwards along node inputs that are themselves stuck until a node repeats.
    let mut path = vec![start];
    let mut cur = start;
    loop {
        let next = wiring[cur].refs.iter().find_map(|r| match *r {
            Ref::Node(k) if stuck.contains(&k) => Some(k),
            _ => None,
        });
        let Some(next) = next else { return path };
        if let Some(pos) = path.iter().position(|&p| p == next) {
            let mut cycle = path[pos..].to_vec();
            cycle.reverse();
            // Start at the node declared first, so the message reads in file order.
            if let Some(first) = (0..cycle.len()).min_by_key(|&i| cycle[i]) {
                cycle.rotate_left(first);
            }
            return cycle;
        }
        path.push(next);
        cur = next;
    }
}

/// An op's shape error in the user's terms. Validation infers shapes for a batch of one,
/// so the shapes an op names start with a batch dimension of 1 the user never wrote: where
/// both shapes of a mismatch are the node's inputs, they are shown per sample (as declared);
/// elsewhere the batch dimension is labelled.
pub(super) fn per_sample(e: Error, inputs: &[&[usize]]) -> Error {
    // A scalar (a loss's output) has no batch dimension to drop.
    let batch_led = |s: &[usize]| !s.is_empty() && inputs.contains(&s);
    match e {
        Error::ShapeMismatch { op, what, lhs, rhs } if batch_led(&lhs.0) && batch_led(&rhs.0) => {
            Error::ShapeMismatch {
                op,
                what: format!("{what} (per-sample shapes, without the batch dimension)"),
                lhs: ShapeDisplay(lhs.0[1..].to_vec()),
                rhs: ShapeDisplay(rhs.0[1..].to_vec()),
            }
        }
        Error::ShapeMismatch { op, what, lhs, rhs } if batch_led(&lhs.0) || batch_led(&rhs.0) => {
            let side = if batch_led(&lhs.0) { "first" } else { "second" };
            Error::ShapeMismatch {
                op,
                what: format!("{what} (the {side} shape starts with the batch dimension)"),
                lhs,
                rhs,
            }
        }
        Error::BadShape { op, shape, why } if batch_led(&shape.0) => Error::BadShape {
            op,
            why: format!("{why} (the shape starts with the batch dimension)"),
            shape,
        },
        other => other,
    }
}

/// An error when the output or a parameter has more elements than can be addressed (an
/// op's sizes that are each in range can still multiply past `usize`).
pub(super) fn too_large(op: &str, shape: &[usize], params: &[ParamSpec]) -> Result<()> {
    let fits = |s: &[usize]| {
        s.iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .is_some()
    };
    if !fits(shape) {
        return Err(Error::bad_shape(
            op,
            shape,
            "the output is too large to address",
        ));
    }
    match params.iter().find(|p| !fits(&p.shape)) {
        Some(p) => Err(Error::param(op, p.name, "too large to address")),
        None => Ok(()),
    }
}
