//! Folding the selection into a collapsed group, and dissolving groups (model::groups).

use crate::app::EditorApp;
use crate::model::groups;

impl EditorApp {
    /// Folds the selection into a new collapsed group, placed where its top-left member was.
    pub(super) fn group_selection(&mut self) {
        let members = self.core.selection.names().to_vec();
        if members.is_empty() {
            self.error("select the nodes to group first");
            return;
        }
        let layout = &self.core.doc.file.layout;
        let (x, y) = (members.iter().filter_map(|n| layout.get(n)))
            .fold((f32::INFINITY, f32::INFINITY), |(x, y), p| {
                (x.min(p.0), y.min(p.1))
            });
        let pos = if x.is_finite() {
            (x, y)
        } else {
            self.free_spot_in_view()
        };
        let name = self.core.doc.unique_name("group");
        self.core
            .doc
            .edit(|f| groups::group(f, &name, &members, pos));
        self.info(format!(
            "grouped {} nodes as `{name}` (Expand on its box shows them; Ctrl+Shift+G ungroups)",
            members.len()
        ));
    }

    /// Dissolves every group holding a selected node.
    pub(super) fn ungroup_selection(&mut self) {
        let file = &self.core.doc.file;
        let mut names: Vec<String> = (self.core.selection.names().iter())
            .filter_map(|n| groups::group_of(file, n).map(|g| g.name.clone()))
            .collect();
        names.dedup();
        if names.is_empty() {
            self.error("no selected node is in a group");
            return;
        }
        self.core.doc.edit(|f| {
            for g in &names {
                groups::ungroup(f, g);
            }
        });
        self.info(format!("ungrouped {}", names.join(", ")));
    }
}
