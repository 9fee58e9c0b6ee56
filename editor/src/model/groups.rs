//! Collapsible groups: what the canvas draws when some nodes are folded into one box.
//!
//! A group is a named set of nodes (`GraphFile::groups`); collapsed, it stands in for its
//! members: one box whose input pins are the wires coming into the group and whose output
//! pins are the members that feed nodes outside it. This module computes that view of the
//! document; it knows nothing of egui, and groups never change what trains.

use super::layout::{self, Size};
use hyphae::graph::{GraphFile, GroupDecl};
use std::collections::{BTreeMap, HashMap};

/// One wire as the canvas draws it, between items of [`GroupView::names`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Wire {
    pub src: usize,
    pub src_pin: usize,
    pub dst: usize,
    pub dst_pin: usize,
}

/// The pins of a collapsed group, each naming the member behind it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupPins {
    /// Input pin k feeds member `.0`'s port `.1`.
    pub inputs: Vec<(String, usize)>,
    /// Output pin k is member `.0`'s output.
    pub outputs: Vec<String>,
    pub members: Vec<String>,
}

/// The canvas's items: the document's inputs and nodes, then its groups.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupView {
    /// Every item, in canvas order (`NodeId(i)` is `names[i]`).
    pub names: Vec<String>,
    /// Items not drawn as nodes: members of collapsed groups, and expanded groups (drawn
    /// as a frame around their members instead).
    pub hidden: Vec<bool>,
    /// Every wire that is drawn; wires inside a collapsed group are not.
    pub wires: Vec<Wire>,
    /// Collapsed groups' pins, by group name.
    pub pins: HashMap<String, GroupPins>,
    /// Expanded groups' members, by group name (for their frames).
    pub expanded: BTreeMap<String, Vec<String>>,
}

impl GroupView {
    pub fn of(file: &GraphFile) -> GroupView {
        let mut names: Vec<String> = file.inputs.iter().map(|i| i.name.clone()).collect();
        names.extend(file.nodes.iter().map(|n| n.name.clone()));
        let items = names.len();
        names.extend(file.groups.iter().map(|g| g.name.clone()));
        let index: HashMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let mut hidden = vec![false; names.len()];
        let mut folded_into: HashMap<&str, &str> = HashMap::new();
        let mut pins = HashMap::new();
        let mut expanded = BTreeMap::new();
        for (k, g) in file.groups.iter().enumerate() {
            let members: Vec<String> = (g.nodes.iter())
                .filter(|n| index.get(n.as_str()).is_some_and(|&i| i < items))
                .cloned()
                .collect();
            if g.collapsed {
                for m in &g.nodes {
                    if let Some(&i) = index.get(m.as_str()).filter(|&&i| i < items) {
                        hidden[i] = true;
                        folded_into.insert(m.as_str(), g.name.as_str());
                    }
                }
                let p = GroupPins {
                    members,
                    ..GroupPins::default()
                };
                pins.insert(g.name.clone(), p);
            } else {
                hidden[items + k] = true;
                expanded.insert(g.name.clone(), members);
            }
        }
        let mut wires = Vec::new();
        for n in &file.nodes {
            for (port, src) in n.inputs.iter().enumerate() {
                let (Some(&s), Some(&d)) = (index.get(src.as_str()), index.get(n.name.as_str()))
                else {
                    continue;
                };
                let sg = folded_into.get(src.as_str()).copied();
                let dg = folded_into.get(n.name.as_str()).copied();
                if sg.is_some() && sg == dg {
                    continue;
                }
                let mut w = Wire {
                    src: s,
                    src_pin: 0,
                    dst: d,
                    dst_pin: port,
                };
                if let Some(g) = dg
                    && let Some(p) = pins.get_mut(g)
                {
                    w.dst = index[g];
                    w.dst_pin = p.inputs.len();
                    p.inputs.push((n.name.clone(), port));
                }
                if let Some(g) = sg
                    && let Some(p) = pins.get_mut(g)
                {
                    w.src = index[g];
                    w.src_pin = match p.outputs.iter().position(|o| o == src) {
                        Some(k) => k,
                        None => {
                            p.outputs.push(src.clone());
                            p.outputs.len() - 1
                        }
                    };
                }
                wires.push(w);
            }
        }
        GroupView {
            names,
            hidden,
            wires,
            pins,
            expanded,
        }
    }

    pub fn is_group(&self, name: &str) -> bool {
        self.pins.contains_key(name) || self.expanded.contains_key(name)
    }
}

/// The group that holds `name`, if any.
pub fn group_of<'a>(file: &'a GraphFile, name: &str) -> Option<&'a GroupDecl> {
    file.groups
        .iter()
        .find(|g| g.nodes.iter().any(|n| n == name))
}

/// Puts `members` in a new collapsed group `name` at `pos`, taking them out of any group
/// they were in (a node is in one group at most; emptied groups go).
pub fn group(file: &mut GraphFile, name: &str, members: &[String], pos: (f32, f32)) {
    for g in &mut file.groups {
        g.nodes.retain(|n| !members.contains(n));
    }
    prune(file);
    file.groups.push(GroupDecl {
        name: name.to_string(),
        nodes: members.to_vec(),
        collapsed: true,
    });
    file.layout.insert(name.to_string(), pos);
}

/// Gives every group without a position its members' top-left corner (hand-written files,
/// a fresh auto-layout).
pub fn place_missing(file: &mut GraphFile) {
    for g in &file.groups {
        if file.layout.contains_key(&g.name) {
            continue;
        }
        let (x, y) = (g.nodes.iter().filter_map(|n| file.layout.get(n)))
            .fold((f32::INFINITY, f32::INFINITY), |(x, y), p| {
                (x.min(p.0), y.min(p.1))
            });
        let pos = if x.is_finite() { (x, y) } else { (0.0, 0.0) };
        file.layout.insert(g.name.clone(), pos);
    }
}

/// The graph as laid out on the canvas: each collapsed group becomes one node (named like
/// the group, fed by the wires coming into it), so a layout places boxes, not hidden nodes.
pub fn folded(file: &GraphFile) -> GraphFile {
    let mut into: HashMap<&str, &str> = HashMap::new();
    for g in file.groups.iter().filter(|g| g.collapsed) {
        for n in &g.nodes {
            into.insert(n.as_str(), g.name.as_str());
        }
    }
    let outer = |n: &str| into.get(n).copied().unwrap_or(n).to_string();
    let mut out = GraphFile {
        inputs: (file.inputs.iter())
            .filter(|i| !into.contains_key(i.name.as_str()))
            .cloned()
            .collect(),
        ..GraphFile::default()
    };
    let mut group_nodes: BTreeMap<&str, hyphae::graph::NodeDecl> = BTreeMap::new();
    for n in &file.nodes {
        let sources = n.inputs.iter().map(|i| outer(i));
        match into.get(n.name.as_str()) {
            Some(&g) => {
                let node = group_nodes
                    .entry(g)
                    .or_insert_with(|| hyphae::graph::NodeDecl::new(g, n.op.clone(), &[]));
                for src in sources.filter(|s| s != g) {
                    if !node.inputs.contains(&src) {
                        node.inputs.push(src);
                    }
                }
                if !out.nodes.iter().any(|x| x.name == g) {
                    out.nodes
                        .push(hyphae::graph::NodeDecl::new(g, n.op.clone(), &[]));
                }
            }
            None => {
                let mut node = n.clone();
                node.inputs = sources.collect();
                out.nodes.push(node);
            }
        }
    }
    for node in &mut out.nodes {
        if let Some(g) = group_nodes.remove(node.name.as_str()) {
            node.inputs = g.inputs;
        }
    }
    out
}

/// A layered layout that places each collapsed group as one box (a layout of
/// [`folded`]); members keep the arrangement a layout of the whole graph gives them, moved
/// inside their box, ready for when it is expanded.
pub fn layered(file: &GraphFile, size: impl Fn(&str) -> Size) -> BTreeMap<String, (f32, f32)> {
    let whole = layout::layered(file, &size);
    let mut placed = layout::layered(&folded(file), &size);
    for g in file.groups.iter().filter(|g| g.collapsed) {
        let Some(&(gx, gy)) = placed.get(&g.name) else {
            continue;
        };
        let inner: Vec<(&String, (f32, f32))> = (g.nodes.iter())
            .filter_map(|n| whole.get(n).map(|&p| (n, p)))
            .collect();
        let (x0, y0) = (inner.iter().map(|(_, p)| *p))
            .fold((f32::INFINITY, f32::INFINITY), |(x, y), p| {
                (x.min(p.0), y.min(p.1))
            });
        for (n, (x, y)) in inner {
            placed.insert(n.clone(), (gx + x - x0, gy + y - y0));
        }
    }
    for g in file.groups.iter().filter(|g| !g.collapsed) {
        placed.remove(&g.name);
    }
    placed
}

/// Dissolves group `name`; its members stay where they are.
pub fn ungroup(file: &mut GraphFile, name: &str) {
    file.groups.retain(|g| g.name != name);
    file.layout.remove(name);
}

/// Collapses an expanded group or expands a collapsed one. Everything to the right of the
/// group moves by the difference between the members' width and the box's, so expanded
/// members do not land on the nodes after them (the flow is left to right).
pub fn toggle(file: &mut GraphFile, name: &str) {
    let Some(k) = file.groups.iter().position(|g| g.name == name) else {
        return;
    };
    let expanding = file.groups[k].collapsed;
    file.groups[k].collapsed = !expanding;
    let members = &file.groups[k].nodes;
    let xs: Vec<f32> = members
        .iter()
        .filter_map(|n| file.layout.get(n).map(|p| p.0))
        .collect();
    let (Some(&(gx, _)), false) = (file.layout.get(name), xs.is_empty()) else {
        return;
    };
    let (left, right) = xs
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let grow = (right - left).max(0.0);
    let shift = if expanding { grow } else { -grow };
    let after = gx.max(right) - 1.0;
    let moved: Vec<String> = (file.layout.keys())
        .filter(|n| *n != name && !members.contains(n))
        .filter(|n| file.layout[*n].0 > if expanding { gx } else { after })
        .cloned()
        .collect();
    for n in moved {
        if let Some(p) = file.layout.get_mut(&n) {
            p.0 += shift;
        }
    }
}

/// Drops deleted members, and groups left empty (with their positions).
pub fn prune(file: &mut GraphFile) {
    let exists =
        |n: &str| file.inputs.iter().any(|i| i.name == n) || file.nodes.iter().any(|x| x.name == n);
    let mut gone = Vec::new();
    let mut groups = std::mem::take(&mut file.groups);
    for g in &mut groups {
        g.nodes.retain(|n| exists(n));
        if g.nodes.is_empty() {
            gone.push(g.name.clone());
        }
    }
    groups.retain(|g| !g.nodes.is_empty());
    file.groups = groups;
    for g in gone {
        file.layout.remove(&g);
    }
}

/// Follows a rename into group membership and group names.
pub fn rename(file: &mut GraphFile, old: &str, new: &str) {
    for g in &mut file.groups {
        if g.name == old {
            g.name = new.to_string();
        }
        for n in &mut g.nodes {
            if n == old {
                *n = new.to_string();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyphae::graph::{InputDecl, NodeDecl, Source};
    use hyphae::ops::Op;

    /// x → a → b → c, and x → c: grouping a and b folds two nodes into one box.
    fn chain() -> GraphFile {
        let mut f = GraphFile::default();
        f.inputs.push(InputDecl {
            name: "x".into(),
            shape: vec![4],
            source: Source::Features,
        });
        for (n, ins) in [("a", vec!["x"]), ("b", vec!["a"]), ("c", vec!["b", "x"])] {
            f.nodes
                .push(NodeDecl::new(n, Op::Add(Default::default()), &ins));
        }
        f
    }

    #[test]
    fn a_collapsed_group_stands_in_for_its_members() {
        let mut f = chain();
        group(&mut f, "g", &["a".into(), "b".into()], (1.0, 2.0));
        let v = GroupView::of(&f);
        assert_eq!(v.names, ["x", "a", "b", "c", "g"]);
        assert_eq!(v.hidden, [false, true, true, false, false]);
        let p = &v.pins["g"];
        assert_eq!(p.inputs, [("a".to_string(), 0)]);
        assert_eq!(p.outputs, ["b"]);
        // x → g(pin 0), g(pin 0) → c.0, x → c.1; the a → b wire is inside.
        let w = |src, src_pin, dst, dst_pin| Wire {
            src,
            src_pin,
            dst,
            dst_pin,
        };
        assert_eq!(v.wires, [w(0, 0, 4, 0), w(4, 0, 3, 0), w(0, 0, 3, 1)]);
        assert_eq!(f.layout["g"], (1.0, 2.0));
    }

    #[test]
    fn an_expanded_group_draws_its_members() {
        let mut f = chain();
        group(&mut f, "g", &["a".into(), "b".into()], (0.0, 0.0));
        f.layout.insert("a".into(), (0.0, 0.0));
        f.layout.insert("b".into(), (200.0, 0.0));
        f.layout.insert("c".into(), (150.0, 0.0));
        toggle(&mut f, "g");
        assert_eq!(f.layout["c"].0, 350.0, "c moved right to make room");
        let v = GroupView::of(&f);
        assert_eq!(v.hidden, [false, false, false, false, true]);
        assert_eq!(v.expanded["g"], ["a", "b"]);
        assert_eq!(v.wires.len(), 4);
    }

    #[test]
    fn layout_places_a_collapsed_group_as_one_node() {
        let mut f = chain();
        f.layout.insert("a".into(), (100.0, 0.0));
        f.layout.insert("b".into(), (300.0, 40.0));
        group(&mut f, "g", &["a".into(), "b".into()], (100.0, 0.0));
        let folded = folded(&f);
        let names: Vec<&str> = folded.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["g", "c"]);
        assert_eq!(folded.nodes[0].inputs, ["x"]);
        assert_eq!(folded.nodes[1].inputs, ["g", "x"]);
        let placed = layered(&f, |_| (100.0, 50.0));
        assert!(placed["c"].0 > placed["g"].0, "c comes after the box");
        let (a, b) = (placed["a"], placed["b"]);
        assert_eq!(a.0.min(b.0), placed["g"].0, "members sit inside their box");
        assert!(b.0 > a.0, "members keep a left-to-right arrangement");
    }

    #[test]
    fn deleting_every_member_removes_the_group() {
        let mut f = chain();
        group(&mut f, "g", &["a".into()], (0.0, 0.0));
        f.nodes.retain(|n| n.name != "a");
        prune(&mut f);
        assert!(f.groups.is_empty());
        assert!(!f.layout.contains_key("g"));
    }

    #[test]
    fn regrouping_moves_a_node_out_of_its_old_group() {
        let mut f = chain();
        group(&mut f, "g", &["a".into(), "b".into()], (0.0, 0.0));
        group(&mut f, "h", &["b".into(), "c".into()], (0.0, 0.0));
        assert_eq!(f.groups[0].nodes, ["a"]);
        assert_eq!(f.groups[1].nodes, ["b", "c"]);
        rename(&mut f, "b", "bee");
        assert_eq!(f.groups[1].nodes, ["bee", "c"]);
    }
}
