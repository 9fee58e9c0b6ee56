//! The one selection: what is highlighted is what Delete, Copy and the inspector act on.

use super::document::Document;

/// Selected inputs and nodes, by name (names survive rebuilds of the canvas).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selection {
    names: Vec<String>,
}

impl Selection {
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn set(&mut self, names: Vec<String>) {
        self.names = names;
        self.names.dedup();
    }

    pub fn clear(&mut self) {
        self.names.clear();
    }

    pub fn contains(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// The single selected item, if exactly one is selected.
    pub fn single(&self) -> Option<&str> {
        match self.names.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Drops names that no longer exist (after delete, undo, open).
    pub fn retain_existing(&mut self, doc: &Document) {
        self.names.retain(|n| doc.exists(n));
    }
}
