//! Copy, paste and duplicate: fragments of the graph as RON text (model::clipboard).

use crate::app::EditorApp;
use crate::model::clipboard;

impl EditorApp {
    pub(super) fn copy(&mut self) {
        let names = self.core.selection.names().to_vec();
        if let Some(text) = clipboard::copy(&self.core.doc, &names) {
            if let Some(ctx) = &self.egui_ctx {
                ctx.copy_text(text.clone());
            }
            self.info(format!("copied {} item(s)", names.len()));
            self.core.clipboard = Some(text);
        }
    }

    /// Pastes into the middle of the view, so the pasted nodes are seen.
    pub(super) fn paste(&mut self, text: Option<String>) {
        let candidate = text
            .filter(|t| clipboard::is_fragment(t))
            .or_else(|| self.core.clipboard.clone());
        let Some(t) = candidate else { return };
        let at = self.canvas.view_center();
        let at = (at.0 - 100.0, at.1 - 60.0);
        match clipboard::paste(&mut self.core.doc, &t, at) {
            Ok(names) => {
                self.info(format!("pasted {} item(s)", names.len()));
                self.core.selection.set(names);
            }
            Err(e) => self.error(e),
        }
    }

    /// Copies of the selection, just below and right of it.
    pub(super) fn duplicate(&mut self) {
        let names = self.core.selection.names().to_vec();
        let Some(text) = clipboard::copy(&self.core.doc, &names) else {
            return;
        };
        let f = &self.core.doc.file;
        let (x, y) = names
            .iter()
            .filter_map(|n| f.layout.get(n))
            .fold((f32::INFINITY, f32::INFINITY), |(x, y), p| {
                (x.min(p.0), y.min(p.1))
            });
        let at = if x.is_finite() {
            (x + 40.0, y + 40.0)
        } else {
            self.canvas.view_center()
        };
        match clipboard::paste(&mut self.core.doc, &text, at) {
            Ok(new) => self.core.selection.set(new),
            Err(e) => self.error(e),
        }
    }
}
