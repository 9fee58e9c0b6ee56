//! Shapes as the canvas shows them while a graph is still being built: the engine's own
//! partial inference (`hyphae::graph::infer`, which validation also runs, so the canvas and
//! `hyphae check` never disagree), and shapes as users read and type them.

pub use hyphae::graph::{Inferred, infer};

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
