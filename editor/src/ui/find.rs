//! Find a node by name (Ctrl+F): type, pick, and the view centres on it.

use super::UiState;
use crate::app::EditorCore;
use crate::command::{Command, Queue};
use egui::{Id, Key};

/// Matches listed at most.
const MAX_HITS: usize = 30;

pub fn show(ctx: &egui::Context, core: &EditorCore, st: &mut UiState, q: &mut Queue) {
    let Some(mut text) = st.find.take() else {
        return;
    };
    let mut open = true;
    egui::Window::new("Find node")
        .open(&mut open)
        .collapsible(false)
        .default_pos(egui::pos2(300.0, 80.0))
        .show(ctx, |ui| {
            let r = ui.add(
                egui::TextEdit::singleline(&mut text)
                    .id(Id::new("find-field"))
                    .hint_text("node name or op"),
            );
            if !r.has_focus() && text.is_empty() {
                r.request_focus();
            }
            let needle = text.trim().to_lowercase();
            let hits: Vec<String> = core
                .doc
                .names()
                .into_iter()
                .filter(|n| {
                    needle.is_empty()
                        || n.to_lowercase().contains(&needle)
                        || core
                            .doc
                            .node(n)
                            .is_some_and(|d| d.op.kind().to_lowercase().contains(&needle))
                })
                .take(MAX_HITS)
                .collect();
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            if enter && let Some(first) = hits.first() {
                q.push(Command::Reveal(first.clone()));
            }
            for h in hits {
                if ui
                    .selectable_label(core.selection.contains(&h), &h)
                    .clicked()
                {
                    q.push(Command::Reveal(h));
                }
            }
        });
    if open && !ctx.input(|i| i.key_pressed(Key::Escape)) {
        st.find = Some(text);
    }
}
