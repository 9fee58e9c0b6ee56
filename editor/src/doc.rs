//! The edited document: the engine's `GraphFile` is the only truth. Every edit goes through
//! [`Document::edit`], which snapshots the file for undo and re-runs validation, so the
//! canvas, inspector and status bar always show what the engine would say.

use hyphae::graph::{GraphError, GraphFile, InputDecl, NodeDecl, ValidGraph};
use hyphae::ops::{Op, ParamSpec};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// What shape inference learned about one node, also for graphs that do not validate yet
/// (the engine's `ValidGraph` is all-or-nothing; the canvas needs shapes while editing).
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
}

/// `[1, 28, 28]` style text for a per-sample shape.
pub fn shape_text(shape: &[usize]) -> String {
    hyphae::error::ShapeDisplay(shape.to_vec()).to_string()
}

/// Undo history bound: graphs are small, but an unbounded history would grow forever.
const MAX_UNDO: usize = 500;

pub struct Document {
    pub file: GraphFile,
    pub path: Option<PathBuf>,
    /// The file as last saved or loaded: unsaved changes are a difference from it.
    saved: GraphFile,
    undo: Vec<GraphFile>,
    redo: Vec<GraphFile>,
    /// Key of the last coalescable edit (a drag in the inspector, a node move), so one
    /// gesture is one undo step.
    coalesce: Option<String>,
    /// Bumped on every change of `file`; views rebuild when it moves.
    pub generation: u64,
    /// Errors from the engine's validation, empty when the graph is valid.
    pub errors: Vec<GraphError>,
    pub valid: Option<ValidGraph>,
    /// Shapes and parameters by node or input name.
    pub inferred: HashMap<String, Inferred>,
}

impl Default for Document {
    fn default() -> Self {
        Document::new(GraphFile::default(), None)
    }
}

impl Document {
    pub fn new(file: GraphFile, path: Option<PathBuf>) -> Self {
        let mut doc = Document {
            saved: file.clone(),
            file,
            path,
            undo: Vec::new(),
            redo: Vec::new(),
            coalesce: None,
            generation: 0,
            errors: Vec::new(),
            valid: None,
            inferred: HashMap::new(),
        };
        doc.revalidate();
        doc
    }

    /// Loads a file; the error text is the engine's, with `path:line:column`.
    pub fn load(path: &Path) -> Result<Self, String> {
        let mut file = GraphFile::load(path).map_err(|e| e.to_string())?;
        // Positions computed for a file without any are not an unsaved change worth a
        // prompt; saving writes them.
        if positions_missing(&file) {
            auto_layout(&mut file);
        }
        Ok(Document::new(file, Some(path.to_path_buf())))
    }

    /// Saves to `path` (atomically, via the engine) and remembers it as the document path.
    pub fn save_to(&mut self, path: &Path) -> Result<(), String> {
        self.file.save(path).map_err(|e| e.to_string())?;
        self.path = Some(path.to_path_buf());
        self.saved = self.file.clone();
        Ok(())
    }

    pub fn is_dirty(&self) -> bool {
        self.file != self.saved
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Applies one edit as one undo step. Returns what `f` returned.
    pub fn edit<R>(&mut self, f: impl FnOnce(&mut GraphFile) -> R) -> R {
        self.edit_keyed(None, f)
    }

    /// Like [`Document::edit`], but consecutive edits with the same `key` merge into one
    /// undo step (dragging a value or a node).
    pub fn edit_keyed<R>(&mut self, key: Option<String>, f: impl FnOnce(&mut GraphFile) -> R) -> R {
        let before = self.file.clone();
        let r = f(&mut self.file);
        if self.file != before {
            if key.is_none() || key != self.coalesce {
                self.undo.push(before);
                if self.undo.len() > MAX_UNDO {
                    self.undo.remove(0);
                }
            }
            self.redo.clear();
            self.changed();
        }
        self.coalesce = key;
        r
    }

    /// Ends a coalesced gesture: the next keyed edit starts a new undo step.
    pub fn end_gesture(&mut self) {
        self.coalesce = None;
    }

    pub fn undo(&mut self) -> bool {
        match self.undo.pop() {
            Some(prev) => {
                let cur = std::mem::replace(&mut self.file, prev);
                self.redo.push(cur);
                self.coalesce = None;
                self.changed();
                true
            }
            None => false,
        }
    }

    pub fn redo(&mut self) -> bool {
        match self.redo.pop() {
            Some(next) => {
                let cur = std::mem::replace(&mut self.file, next);
                self.undo.push(cur);
                self.coalesce = None;
                self.changed();
                true
            }
            None => false,
        }
    }

    fn changed(&mut self) {
        self.generation += 1;
        self.revalidate();
    }

    /// Runs the engine's validation and the editor's partial shape inference.
    pub fn revalidate(&mut self) {
        let origin = self
            .path
            .as_ref()
            .map_or("untitled".to_string(), |p| p.display().to_string());
        match ValidGraph::validate(self.file.clone(), &origin, None) {
            Ok(v) => {
                self.valid = Some(v);
                self.errors.clear();
            }
            Err(e) => {
                self.valid = None;
                self.errors = e;
            }
        }
        self.inferred = infer(&self.file);
    }

    /// Errors that name this node or input.
    pub fn errors_for(&self, name: &str) -> Vec<&GraphError> {
        self.errors
            .iter()
            .filter(|e| e.node.as_deref() == Some(name))
            .collect()
    }

    /// Totals over the nodes whose shapes are known: (trainable parameters, FLOPs).
    pub fn totals(&self) -> (usize, u64) {
        self.inferred.values().fold((0, 0), |(p, f), i| {
            let params: usize = i
                .params
                .iter()
                .filter(|s| s.kind == hyphae::ops::ParamKind::Trainable)
                .map(ParamSpec::numel)
                .sum();
            (p + params, f + i.flops)
        })
    }

    pub fn exists(&self, name: &str) -> bool {
        self.file.inputs.iter().any(|i| i.name == name)
            || self.file.nodes.iter().any(|n| n.name == name)
    }

    pub fn is_input(&self, name: &str) -> bool {
        self.file.inputs.iter().any(|i| i.name == name)
    }

    pub fn node(&self, name: &str) -> Option<&NodeDecl> {
        self.file.nodes.iter().find(|n| n.name == name)
    }

    /// `base`, or `base2`, `base3`… — the first name not taken.
    pub fn unique_name(&self, base: &str) -> String {
        unique_name(&self.file, base)
    }

    /// Adds a node with `op`'s config at `pos`; returns its name (`linear1`, `relu2`, …).
    pub fn add_node(&mut self, op: Op, pos: (f32, f32)) -> String {
        let base = op.kind().to_lowercase();
        let name = unique_name(&self.file, &base);
        let n = name.clone();
        self.edit(move |f| {
            f.nodes.push(NodeDecl::new(n.clone(), op, &[]));
            f.layout.insert(n, pos);
        });
        name
    }

    /// Adds a data input (a source node on the canvas).
    pub fn add_input(&mut self, shape: Vec<usize>, pos: (f32, f32)) -> String {
        let name = unique_name(&self.file, "x");
        let n = name.clone();
        self.edit(move |f| {
            f.inputs.push(InputDecl {
                name: n.clone(),
                shape,
                source: Default::default(),
            });
            f.layout.insert(n, pos);
        });
        name
    }

    /// Connects `src`'s output to input port `port` of node `dst` (replacing what was
    /// there, or appending when `port` is past the end). Refuses, with the reason, a
    /// connection the graph could not accept: unknown names, a cycle, or input shapes the
    /// op rejects.
    pub fn connect(&mut self, src: &str, dst: &str, port: usize) -> Result<(), String> {
        if !self.exists(src) {
            return Err(format!("`{src}` does not exist"));
        }
        let Some(di) = self.file.nodes.iter().position(|n| n.name == dst) else {
            return Err(format!("`{dst}` is a data input: it has no input ports"));
        };
        if src == dst {
            return Err(format!("cannot connect `{dst}` to itself"));
        }
        if self.depends_on(src, dst) {
            return Err(format!(
                "connecting `{src}` → `{dst}` would make a cycle (`{src}` already depends on `{dst}`)"
            ));
        }
        let node = &self.file.nodes[di];
        let mut inputs = node.inputs.clone();
        if port < inputs.len() {
            inputs[port] = src.to_string();
        } else {
            inputs.push(src.to_string());
        }
        // Shape check with the shapes known now, once every input's shape is known.
        let shapes: Option<Vec<Vec<usize>>> = inputs
            .iter()
            .map(|i| self.inferred.get(i).and_then(|x| x.shape.clone()))
            .collect();
        let layer = node.op.layer();
        if let Some(shapes) = shapes
            && layer.arity().accepts(shapes.len())
        {
            let refs: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
            if let Err(e) = layer.output_shape(&refs) {
                return Err(format!("`{src}` → `{dst}` refused: {e}"));
            }
        }
        self.edit(|f| f.nodes[di].inputs = inputs);
        Ok(())
    }

    /// Removes input port `port` of node `dst`.
    pub fn disconnect(&mut self, dst: &str, port: usize) {
        self.edit(|f| {
            if let Some(n) = f.nodes.iter_mut().find(|n| n.name == dst)
                && port < n.inputs.len()
            {
                n.inputs.remove(port);
            }
        });
    }

    /// Whether `a` (transitively) takes input from `b`.
    pub fn depends_on(&self, a: &str, b: &str) -> bool {
        let mut stack = vec![a.to_string()];
        let mut seen = HashSet::new();
        while let Some(n) = stack.pop() {
            if n == b {
                return true;
            }
            if !seen.insert(n.clone()) {
                continue;
            }
            if let Some(node) = self.node(&n) {
                stack.extend(node.inputs.iter().cloned());
            }
        }
        false
    }

    /// Deletes nodes and inputs by name, with every connection to them.
    pub fn delete(&mut self, names: &[String]) {
        let set: HashSet<&str> = names.iter().map(String::as_str).collect();
        self.edit(|f| {
            f.inputs.retain(|i| !set.contains(i.name.as_str()));
            f.nodes.retain(|n| !set.contains(n.name.as_str()));
            for n in &mut f.nodes {
                n.inputs.retain(|i| !set.contains(i.as_str()));
            }
            f.layout.retain(|k, _| !set.contains(k.as_str()));
        });
    }

    /// Renames a node or input, updating every reference and its position.
    pub fn rename(&mut self, old: &str, new: &str) -> Result<(), String> {
        let new = new.trim();
        if new.is_empty() {
            return Err("a name cannot be empty".into());
        }
        if new == old {
            return Ok(());
        }
        if self.exists(new) {
            return Err(format!("`{new}` is already taken"));
        }
        self.edit(|f| rename_in(f, old, new));
        Ok(())
    }

    /// The named items as a RON graph file fragment (for the clipboard).
    pub fn copy(&self, names: &[String]) -> Option<String> {
        let set: HashSet<&str> = names.iter().map(String::as_str).collect();
        let part = GraphFile {
            inputs: self
                .file
                .inputs
                .iter()
                .filter(|i| set.contains(i.name.as_str()))
                .cloned()
                .collect(),
            nodes: self
                .file
                .nodes
                .iter()
                .filter(|n| set.contains(n.name.as_str()))
                .cloned()
                .collect(),
            layout: self
                .file
                .layout
                .iter()
                .filter(|(k, _)| set.contains(k.as_str()))
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            ..GraphFile::default()
        };
        if part.inputs.is_empty() && part.nodes.is_empty() {
            return None;
        }
        part.to_ron().ok()
    }

    /// Pastes a fragment from [`Document::copy`] (possibly from another graph), moved by
    /// `offset`: names that collide are renamed, connections inside the fragment follow
    /// them, and connections to names that exist in neither are dropped. Returns the new
    /// names.
    pub fn paste(&mut self, text: &str, offset: (f32, f32)) -> Result<Vec<String>, String> {
        let part = GraphFile::from_ron(text, "clipboard").map_err(|e| e.to_string())?;
        let mut taken: HashSet<String> = self
            .file
            .inputs
            .iter()
            .map(|i| i.name.clone())
            .chain(self.file.nodes.iter().map(|n| n.name.clone()))
            .collect();
        let mut map: HashMap<String, String> = HashMap::new();
        for name in part
            .inputs
            .iter()
            .map(|i| &i.name)
            .chain(part.nodes.iter().map(|n| &n.name))
        {
            let mut new = name.clone();
            if taken.contains(&new) {
                let base = new
                    .trim_end_matches(|c: char| c.is_ascii_digit())
                    .to_string();
                let base = if base.is_empty() { "node".into() } else { base };
                let mut k = 2;
                while taken.contains(&format!("{base}{k}")) {
                    k += 1;
                }
                new = format!("{base}{k}");
            }
            taken.insert(new.clone());
            map.insert(name.clone(), new);
        }
        let exists: HashSet<String> = taken;
        let mut names = Vec::new();
        let layout = part.layout.clone();
        let pos_of = |old: &str, i: usize| {
            layout
                .get(old)
                .map_or((40.0 * i as f32, 40.0 * i as f32), |&(x, y)| {
                    (x + offset.0, y + offset.1)
                })
        };
        self.edit(|f| {
            for (i, mut input) in part.inputs.into_iter().enumerate() {
                let old = input.name.clone();
                input.name = map[&old].clone();
                f.layout.insert(input.name.clone(), pos_of(&old, i));
                names.push(input.name.clone());
                f.inputs.push(input);
            }
            for (i, mut node) in part.nodes.into_iter().enumerate() {
                let old = node.name.clone();
                node.name = map[&old].clone();
                node.inputs = node
                    .inputs
                    .iter()
                    .filter_map(|s| match map.get(s) {
                        Some(m) => Some(m.clone()),
                        None if exists.contains(s) => Some(s.clone()),
                        None => None,
                    })
                    .collect();
                f.layout.insert(node.name.clone(), pos_of(&old, i));
                names.push(node.name.clone());
                f.nodes.push(node);
            }
        });
        Ok(names)
    }

    /// Sets positions from the graph's structure (columns by depth).
    pub fn auto_layout(&mut self) {
        self.edit(auto_layout);
    }
}

fn unique_name(file: &GraphFile, base: &str) -> String {
    let taken =
        |n: &str| file.inputs.iter().any(|i| i.name == n) || file.nodes.iter().any(|x| x.name == n);
    (1..)
        .map(|k| format!("{base}{k}"))
        .find(|n| !taken(n))
        .unwrap_or_else(|| base.to_string())
}

fn rename_in(f: &mut GraphFile, old: &str, new: &str) {
    for i in &mut f.inputs {
        if i.name == old {
            i.name = new.to_string();
        }
    }
    for n in &mut f.nodes {
        if n.name == old {
            n.name = new.to_string();
        }
        for i in &mut n.inputs {
            if i == old {
                *i = new.to_string();
            }
        }
    }
    if let Some(p) = f.layout.remove(old) {
        f.layout.insert(new.to_string(), p);
    }
}

/// Whether some input or node has no stored position.
pub fn positions_missing(f: &GraphFile) -> bool {
    f.inputs
        .iter()
        .map(|i| &i.name)
        .chain(f.nodes.iter().map(|n| &n.name))
        .any(|n| !f.layout.contains_key(n))
}

/// Horizontal and vertical spacing of the auto-layout grid, in canvas units.
const COLUMN: f32 = 230.0;
const ROW: f32 = 150.0;
/// Depth columns per band: long chains wrap into bands so the graph stays readable at
/// full zoom instead of becoming one thin line.
const BAND: usize = 4;

/// Places every input and node in columns by depth (inputs first), rows in file order;
/// after [`BAND`] columns the flow wraps into a new band below.
pub fn auto_layout(f: &mut GraphFile) {
    let mut depth: BTreeMap<String, usize> = BTreeMap::new();
    for i in &f.inputs {
        depth.insert(i.name.clone(), 0);
    }
    // Relaxation terminates even on cycles: depth is capped by the node count.
    let cap = f.nodes.len() + 1;
    for n in &f.nodes {
        depth.entry(n.name.clone()).or_insert(1);
    }
    for _ in 0..cap {
        let mut moved = false;
        for n in &f.nodes {
            let d = n
                .inputs
                .iter()
                .filter_map(|i| depth.get(i))
                .map(|d| d + 1)
                .max()
                .unwrap_or(1)
                .min(cap);
            if depth.get(&n.name) != Some(&d) {
                depth.insert(n.name.clone(), d);
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    let names: Vec<String> = f
        .inputs
        .iter()
        .map(|i| i.name.clone())
        .chain(f.nodes.iter().map(|n| n.name.clone()))
        .collect();
    // Rows per depth, then each band as tall as its fullest column.
    let mut row_of: HashMap<String, usize> = HashMap::new();
    let mut count: HashMap<usize, usize> = HashMap::new();
    for name in &names {
        let d = depth.get(name).copied().unwrap_or(0);
        let r = count.entry(d).or_insert(0);
        row_of.insert(name.clone(), *r);
        *r += 1;
    }
    let max_depth = depth.values().copied().max().unwrap_or(0);
    let mut band_top = vec![0.0f32; max_depth / BAND + 2];
    for b in 0..=max_depth / BAND {
        let rows = (b * BAND..(b + 1) * BAND)
            .map(|d| count.get(&d).copied().unwrap_or(0))
            .max()
            .unwrap_or(0);
        band_top[b + 1] = band_top[b] + rows as f32 * ROW + ROW * 0.3;
    }
    f.layout.clear();
    for name in names {
        let d = depth.get(&name).copied().unwrap_or(0);
        let r = row_of.get(&name).copied().unwrap_or(0);
        let x = (d % BAND) as f32 * COLUMN;
        let y = band_top[d / BAND] + r as f32 * ROW;
        f.layout.insert(name, (x, y));
    }
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
