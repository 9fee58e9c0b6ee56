//! The edited document: the engine's `GraphFile` is the only truth. Every edit goes through
//! [`Document::edit`], which snapshots the file for undo and re-runs validation, so the
//! canvas, inspector and status bar always show what the engine would say.

use super::infer::{Inferred, infer};
use super::layout;
use hyphae::graph::{GraphError, GraphFile, InputDecl, NodeDecl, Source, ValidGraph};
use hyphae::ops::{Arity, Op};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// An input slot with no wire yet, kept in place so that the other slots keep theirs
/// (the engine reports it as unconnected).
pub const EMPTY_SLOT: &str = "";

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
    /// Position of each node in `file.nodes`, and `None` for inputs: lookups by name
    /// are per frame and per port, so they must not scan the graph.
    index: HashMap<String, Option<usize>>,
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
            index: HashMap::new(),
        };
        doc.revalidate();
        doc
    }

    /// Loads a file; the error text is the engine's, with `path:line:column`.
    pub fn load(path: &Path) -> Result<Self, String> {
        let mut file = GraphFile::load(path).map_err(|e| e.to_string())?;
        // Positions computed for a file without any are not an unsaved change worth a
        // prompt; saving writes them.
        if layout::positions_missing(&file) {
            file.layout = super::groups::layered(&file, |n| layout::estimated_size(&file, n));
        }
        super::groups::place_missing(&mut file);
        Ok(Document::new(file, Some(path.to_path_buf())))
    }

    /// Saves to `path` (atomically, via the engine) and remembers it as the document path.
    pub fn save_to(&mut self, path: &Path) -> Result<(), String> {
        self.file.save(path).map_err(|e| e.to_string())?;
        self.path = Some(path.to_path_buf());
        self.saved = self.file.clone();
        // Errors name the file they are in: the new name from now on.
        self.revalidate();
        Ok(())
    }

    /// The file's path as shown to users, or `untitled`.
    pub fn display_name(&self) -> String {
        self.path
            .as_ref()
            .map_or("untitled".to_string(), |p| p.display().to_string())
    }

    /// The state Undo would restore, to check it before undoing.
    pub fn peek_undo(&self) -> Option<&GraphFile> {
        self.undo.last()
    }

    /// The state Redo would restore.
    pub fn peek_redo(&self) -> Option<&GraphFile> {
        self.redo.last()
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
        let origin = self.display_name();
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
        self.index = self
            .file
            .inputs
            .iter()
            .map(|i| (i.name.clone(), None))
            .chain(
                self.file
                    .nodes
                    .iter()
                    .enumerate()
                    .map(|(k, n)| (n.name.clone(), Some(k))),
            )
            .collect();
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
        self.inferred
            .values()
            .fold((0, 0), |(p, f), i| (p + i.trainable(), f + i.flops))
    }

    pub fn exists(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Every input and node name, inputs first, in file order (the canvas order).
    pub fn names(&self) -> Vec<String> {
        self.file
            .inputs
            .iter()
            .map(|i| i.name.clone())
            .chain(self.file.nodes.iter().map(|n| n.name.clone()))
            .collect()
    }

    pub fn is_input(&self, name: &str) -> bool {
        self.index.get(name).is_some_and(Option::is_none)
    }

    pub fn node(&self, name: &str) -> Option<&NodeDecl> {
        let k = (*self.index.get(name)?)?;
        self.file.nodes.get(k)
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
    pub fn add_input(&mut self, shape: Vec<usize>, source: Source, pos: (f32, f32)) -> String {
        let base = if source == Source::Labels {
            "label"
        } else {
            "x"
        };
        let name = unique_name(&self.file, base);
        let n = name.clone();
        self.edit(move |f| {
            f.inputs.push(InputDecl {
                name: n.clone(),
                shape,
                source,
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
                "connecting `{src}` to `{dst}` would make a cycle (`{src}` already depends on `{dst}`)"
            ));
        }
        let node = &self.file.nodes[di];
        let mut inputs = node.inputs.clone();
        if port >= inputs.len() {
            let fill = match node.op.layer().arity() {
                // Variadic ops take their inputs in order: no holes.
                Arity::AtLeast(_) => inputs.len(),
                Arity::Exactly(_) => port,
            };
            inputs.resize(fill, EMPTY_SLOT.to_string());
            inputs.push(src.to_string());
        } else {
            inputs[port] = src.to_string();
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
                return Err(format!("`{src}` to `{dst}` refused: {e}"));
            }
        }
        self.edit(|f| f.nodes[di].inputs = inputs);
        Ok(())
    }

    /// Removes the wire into input port `port` of node `dst`; the other ports keep theirs.
    pub fn disconnect(&mut self, dst: &str, port: usize) {
        self.edit(|f| {
            if let Some(n) = f.nodes.iter_mut().find(|n| n.name == dst)
                && port < n.inputs.len()
            {
                unplug(n, |i| i == port);
            }
        });
    }

    /// Removes every wire out of `src`.
    pub fn disconnect_outputs(&mut self, src: &str) {
        self.edit(|f| {
            for n in &mut f.nodes {
                let ports: Vec<bool> = n.inputs.iter().map(|i| i == src).collect();
                unplug(n, |k| ports[k]);
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
                let ports: Vec<bool> = n.inputs.iter().map(|i| set.contains(i.as_str())).collect();
                unplug(n, |k| ports[k]);
            }
            f.layout.retain(|k, _| !set.contains(k.as_str()));
            super::groups::prune(f);
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
        if self.exists(new) || self.file.groups.iter().any(|g| g.name == new) {
            return Err(format!("`{new}` is already taken"));
        }
        self.edit(|f| rename_in(f, old, new));
        Ok(())
    }

    /// Sets every position from the graph's structure (a layered layout); `size` gives
    /// each node's drawn size.
    pub fn auto_layout(&mut self, size: impl Fn(&str) -> layout::Size) {
        let placed = super::groups::layered(&self.file, size);
        self.edit(|f| {
            f.layout = placed;
            super::groups::place_missing(f);
        });
    }
}

fn unique_name(file: &GraphFile, base: &str) -> String {
    let taken = |n: &str| {
        file.inputs.iter().any(|i| i.name == n)
            || file.nodes.iter().any(|x| x.name == n)
            || file.groups.iter().any(|g| g.name == n)
    };
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
    super::groups::rename(f, old, new);
}

/// Removes the wires into the ports `which` picks: variadic ops close the gap, fixed-arity
/// ops keep an empty slot (unless it is the last), so every other wire keeps its port.
fn unplug(n: &mut NodeDecl, which: impl Fn(usize) -> bool) {
    match n.op.layer().arity() {
        Arity::AtLeast(_) => {
            let mut k = 0;
            n.inputs.retain(|_| {
                k += 1;
                !which(k - 1)
            });
        }
        Arity::Exactly(_) => {
            for (k, i) in n.inputs.iter_mut().enumerate() {
                if which(k) {
                    *i = EMPTY_SLOT.to_string();
                }
            }
            while n.inputs.last().is_some_and(|i| i == EMPTY_SLOT) {
                n.inputs.pop();
            }
        }
    }
}
