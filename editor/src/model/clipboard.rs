//! Copy and paste of graph fragments: a fragment is a RON graph file holding the copied
//! inputs, nodes and positions, so it travels between graphs and editor windows.

use super::document::Document;
use hyphae::graph::GraphFile;
use std::collections::{HashMap, HashSet};

/// The named items as a RON graph file fragment.
pub fn copy(doc: &Document, names: &[String]) -> Option<String> {
    let set: HashSet<&str> = names.iter().map(String::as_str).collect();
    let f = &doc.file;
    let part = GraphFile {
        inputs: f
            .inputs
            .iter()
            .filter(|i| set.contains(i.name.as_str()))
            .cloned()
            .collect(),
        nodes: f
            .nodes
            .iter()
            .filter(|n| set.contains(n.name.as_str()))
            .cloned()
            .collect(),
        layout: f
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

/// Whether `text` is a fragment [`paste`] accepts.
pub fn is_fragment(text: &str) -> bool {
    GraphFile::from_ron(text, "clipboard").is_ok()
}

/// Pastes a fragment from [`copy`] (possibly from another graph) so that its top-left
/// corner lands at `at` (canvas units): names that collide are renamed, connections inside
/// the fragment follow them, and connections to names that exist in neither are dropped.
/// Returns the new names.
pub fn paste(doc: &mut Document, text: &str, at: (f32, f32)) -> Result<Vec<String>, String> {
    let part = GraphFile::from_ron(text, "clipboard").map_err(|e| e.to_string())?;
    let mut taken: HashSet<String> = doc
        .file
        .inputs
        .iter()
        .map(|i| i.name.clone())
        .chain(doc.file.nodes.iter().map(|n| n.name.clone()))
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
    // The fragment keeps its own arrangement, moved as a whole to `at`.
    let (min_x, min_y) = part
        .layout
        .values()
        .fold(None, |acc: Option<(f32, f32)>, &(x, y)| match acc {
            None => Some((x, y)),
            Some((a, b)) => Some((a.min(x), b.min(y))),
        })
        .unwrap_or((0.0, 0.0));
    let layout = part.layout.clone();
    let pos_of = |old: &str, i: usize| {
        layout.get(old).map_or(
            (at.0 + 40.0 * i as f32, at.1 + 40.0 * i as f32),
            |&(x, y)| (x - min_x + at.0, y - min_y + at.1),
        )
    };
    let mut names = Vec::new();
    doc.edit(|f| {
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
