//! Node placement: a layered DAG layout (Sugiyama style) and free spots for new nodes.
//!
//! Flow is left to right. Each node's layer is its longest path from a source (sources
//! that feed only later layers, like a label input, move next to their first consumer);
//! the order inside each layer comes from barycenter sweeps, which remove most crossings;
//! rows are then pulled towards their inputs so chains run straight.

use hyphae::graph::GraphFile;
use std::collections::{BTreeMap, HashMap};

/// A node's width and height in canvas units.
pub type Size = (f32, f32);

/// Horizontal gap between layers and vertical gap between nodes of a layer.
const LAYER_GAP: f32 = 60.0;
const ROW_GAP: f32 = 36.0;
/// Barycenter sweeps (down then up): a few settle typical graphs.
const SWEEPS: usize = 6;

/// A node's size before it has been drawn: a title, a config line or two and its ports.
pub fn estimated_size(f: &GraphFile, name: &str) -> Size {
    let ports = f
        .nodes
        .iter()
        .find(|n| n.name == name)
        .map(|n| n.inputs.len());
    size_for_ports(ports.unwrap_or(1))
}

/// The estimated size of a node with this many input ports.
pub fn size_for_ports(ports: usize) -> Size {
    (130.0, 74.0 + 22.0 * ports.max(1) as f32)
}

/// Whether some input or node has no stored position.
pub fn positions_missing(f: &GraphFile) -> bool {
    names(f).any(|n| !f.layout.contains_key(n))
}

fn names(f: &GraphFile) -> impl Iterator<Item = &String> {
    f.inputs
        .iter()
        .map(|i| &i.name)
        .chain(f.nodes.iter().map(|n| &n.name))
}

/// Positions (top-left corners) for every input and node.
pub fn layered(f: &GraphFile, size: impl Fn(&str) -> Size) -> BTreeMap<String, (f32, f32)> {
    let names: Vec<&String> = names(f).collect();
    let index: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let n = names.len();
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for node in &f.nodes {
        let dst = index[node.name.as_str()];
        for src in &node.inputs {
            if let Some(&s) = index.get(src.as_str())
                && s != dst
            {
                preds[dst].push(s);
                succs[s].push(dst);
            }
        }
    }
    let layer = layers(&preds, &succs);
    let depth = layer.iter().copied().max().map_or(0, |d| d + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (i, &l) in layer.iter().enumerate() {
        rows[l].push(i);
    }
    order_layers(&mut rows, &preds, &succs);
    place(&rows, &preds, &names, &size)
}

/// Longest-path layers; capped so that a cycle (an invalid graph) still terminates.
fn layers(preds: &[Vec<usize>], succs: &[Vec<usize>]) -> Vec<usize> {
    let n = preds.len();
    let mut layer = vec![0usize; n];
    for _ in 0..=n {
        let mut moved = false;
        for i in 0..n {
            let l = preds[i]
                .iter()
                .map(|&p| layer[p] + 1)
                .max()
                .unwrap_or(0)
                .min(n);
            if l != layer[i] {
                layer[i] = l;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    // Sources sit just before their first consumer, not all in the first column.
    for i in 0..n {
        if preds[i].is_empty()
            && let Some(first) = succs[i].iter().map(|&s| layer[s]).min()
        {
            layer[i] = first.saturating_sub(1);
        }
    }
    layer
}

/// Barycenter sweeps: each node moves to the mean position of its neighbours in the
/// layers already ordered (inputs on the way down, consumers on the way up).
fn order_layers(rows: &mut [Vec<usize>], preds: &[Vec<usize>], succs: &[Vec<usize>]) {
    let n = preds.len();
    let mut pos = vec![0.0f32; n];
    let set_pos = |rows: &[Vec<usize>], pos: &mut [f32]| {
        for row in rows {
            let len = row.len().max(1) as f32;
            for (k, &i) in row.iter().enumerate() {
                pos[i] = (k as f32 + 0.5) / len;
            }
        }
    };
    set_pos(rows, &mut pos);
    let sort = |row: &mut Vec<usize>, pos: &[f32], nb: &[Vec<usize>]| {
        let key = |i: usize| {
            let ns = &nb[i];
            if ns.is_empty() {
                pos[i]
            } else {
                ns.iter().map(|&j| pos[j]).sum::<f32>() / ns.len() as f32
            }
        };
        let mut keyed: Vec<(f32, usize)> = row.iter().map(|&i| (key(i), i)).collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
        *row = keyed.into_iter().map(|(_, i)| i).collect();
    };
    for _ in 0..SWEEPS {
        for l in 1..rows.len() {
            sort(&mut rows[l], &pos, preds);
            set_pos(rows, &mut pos);
        }
        for l in (0..rows.len().saturating_sub(1)).rev() {
            sort(&mut rows[l], &pos, succs);
            set_pos(rows, &mut pos);
        }
    }
}

/// Coordinates: layers side by side; in each layer, nodes in order, each pulled towards
/// the mean height of its inputs without overlapping the one above.
fn place(
    rows: &[Vec<usize>],
    preds: &[Vec<usize>],
    names: &[&String],
    size: &impl Fn(&str) -> Size,
) -> BTreeMap<String, (f32, f32)> {
    let sizes: Vec<Size> = names.iter().map(|n| size(n)).collect();
    let mut y = vec![0.0f32; names.len()];
    let mut out = BTreeMap::new();
    let mut x = 0.0f32;
    for row in rows {
        let mut bottom = f32::NEG_INFINITY;
        for &i in row {
            let centres: Vec<f32> = preds[i].iter().map(|&p| y[p] + sizes[p].1 / 2.0).collect();
            let want = if centres.is_empty() {
                bottom.max(0.0)
            } else {
                centres.iter().sum::<f32>() / centres.len() as f32 - sizes[i].1 / 2.0
            };
            y[i] = if bottom.is_finite() {
                want.max(bottom + ROW_GAP)
            } else {
                want
            };
            bottom = y[i] + sizes[i].1;
        }
        let width = row.iter().map(|&i| sizes[i].0).fold(0.0, f32::max);
        for &i in row {
            out.insert(names[i].clone(), (x, y[i]));
        }
        x += width + LAYER_GAP;
    }
    out
}

/// A spot for a new node of `size` near `want` (top-left) that overlaps no placed node:
/// the nearest free one going down, then right.
pub fn free_spot(f: &GraphFile, want: (f32, f32), size: Size) -> (f32, f32) {
    let taken: Vec<(f32, f32, Size)> = names(f)
        .filter_map(|n| f.layout.get(n).map(|&(x, y)| (x, y, estimated_size(f, n))))
        .collect();
    let free = |(x, y): (f32, f32)| {
        taken.iter().all(|&(tx, ty, (tw, th))| {
            x + size.0 + 10.0 <= tx
                || tx + tw + 10.0 <= x
                || y + size.1 + 10.0 <= ty
                || ty + th + 10.0 <= y
        })
    };
    for ring in 0..40 {
        for (dx, dy) in [
            (0, ring),
            (ring, 0),
            (ring, ring),
            (-ring, ring),
            (ring, -ring),
        ] {
            let p = (want.0 + dx as f32 * 60.0, want.1 + dy as f32 * 60.0);
            if free(p) {
                return p;
            }
        }
    }
    want
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyphae::graph::{InputDecl, NodeDecl};
    use hyphae::ops::Op;

    fn relu() -> Op {
        Op::all_defaults()
            .into_iter()
            .find(|o| o.kind() == "ReLU")
            .expect("ReLU op")
    }

    fn graph(edges: &[(&str, &[&str])]) -> GraphFile {
        GraphFile {
            inputs: vec![InputDecl {
                name: "x".into(),
                shape: vec![4],
                source: Default::default(),
            }],
            nodes: edges
                .iter()
                .map(|(n, ins)| {
                    let ins: Vec<&str> = ins.to_vec();
                    NodeDecl::new((*n).to_string(), relu(), &ins)
                })
                .collect(),
            ..GraphFile::default()
        }
    }

    fn crossings(f: &GraphFile, pos: &BTreeMap<String, (f32, f32)>) -> usize {
        let mut edges = Vec::new();
        for n in &f.nodes {
            for i in &n.inputs {
                edges.push((pos[i], pos[&n.name]));
            }
        }
        let mut c = 0;
        for (a, e) in edges.iter().enumerate() {
            for g in &edges[a + 1..] {
                // Same column pair, opposite order at the two ends.
                if e.0.0 == g.0.0 && e.1.0 == g.1.0 && (e.0.1 - g.0.1) * (e.1.1 - g.1.1) < 0.0 {
                    c += 1;
                }
            }
        }
        c
    }

    #[test]
    fn flow_goes_one_way_and_never_wraps() {
        // A chain of 12: the old layout wrapped it into bands of four columns.
        let names: Vec<String> = (0..12).map(|i| format!("n{i}")).collect();
        let mut edges: Vec<(&str, Vec<&str>)> = vec![("n0", vec!["x"])];
        for i in 1..12 {
            edges.push((names[i].as_str(), vec![names[i - 1].as_str()]));
        }
        let edges: Vec<(&str, &[&str])> = edges.iter().map(|(a, b)| (*a, b.as_slice())).collect();
        let f = graph(&edges);
        let pos = layered(&f, |n| estimated_size(&f, n));
        for n in &f.nodes {
            for i in &n.inputs {
                assert!(pos[i].0 < pos[&n.name].0, "{i} left of {}", n.name);
            }
        }
        // A chain is one straight row.
        assert!(
            pos.values().all(|p| (p.1 - pos["x"].1).abs() < 1e-3),
            "{pos:?}"
        );
    }

    #[test]
    fn barycenter_sweeps_remove_crossings_that_file_order_makes() {
        // a1 feeds b2 and a2 feeds b1: in file order the two wires cross.
        let f = graph(&[
            ("a1", &["x"]),
            ("a2", &["x"]),
            ("b1", &["a2"]),
            ("b2", &["a1"]),
        ]);
        let pos = layered(&f, |n| estimated_size(&f, n));
        assert_eq!(crossings(&f, &pos), 0, "{pos:?}");
    }

    #[test]
    fn nodes_of_a_layer_never_overlap_and_free_spots_are_free() {
        let f = graph(&[
            ("a", &["x"]),
            ("b", &["x"]),
            ("c", &["x"]),
            ("d", &["a", "b"]),
        ]);
        let pos = layered(&f, |n| estimated_size(&f, n));
        let mut col: Vec<(f32, f32)> = ["a", "b", "c"].iter().map(|n| pos[*n]).collect();
        col.sort_by(|p, q| p.1.total_cmp(&q.1));
        for w in col.windows(2) {
            assert!(w[1].1 >= w[0].1 + estimated_size(&f, "a").1, "{col:?}");
        }
        let mut g = f.clone();
        g.layout = pos;
        let at = g.layout["a"];
        let spot = free_spot(&g, at, (190.0, 100.0));
        assert_ne!(spot, at, "a's own spot is taken");
    }
}
