//! The op palette: every op with its default config, grouped and searchable.

use hyphae::ops::{Category, Op};

/// Every op with its default config, grouped by palette category, filtered by `search`
/// (case-insensitive, on the op's name or category).
pub fn ops_by_category(search: &str) -> Vec<(Category, Vec<Op>)> {
    let q = search.trim().to_lowercase();
    let mut groups: Vec<(Category, Vec<Op>)> = Vec::new();
    for op in Op::all_defaults() {
        let cat = op.category();
        if !q.is_empty()
            && !op.kind().to_lowercase().contains(&q)
            && !cat.label().to_lowercase().contains(&q)
        {
            continue;
        }
        match groups.iter_mut().find(|(c, _)| *c == cat) {
            Some((_, v)) => v.push(op),
            None => groups.push((cat, vec![op])),
        }
    }
    groups.sort_by_key(|(c, _)| *c);
    groups
}

/// Whether the palette's "Data input" entry matches `search`.
pub fn data_input_matches(search: &str) -> bool {
    let q = search.trim().to_lowercase();
    q.is_empty() || "data input".contains(&q)
}
