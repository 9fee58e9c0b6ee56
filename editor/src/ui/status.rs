//! The status bar: file, validity, totals, the last message.

use super::{ERROR_RED, OK_GREEN, plain};
use crate::app::EditorCore;
use egui::Ui;
use hyphae::graph::summary::{group_thousands, human_flops};

pub fn status_bar(ui: &mut Ui, core: &EditorCore) {
    let doc = &core.doc;
    ui.horizontal(|ui| {
        let dirty = if doc.is_dirty() { " •" } else { "" };
        ui.label(format!("{}{dirty}", doc.display_name()));
        ui.separator();
        if doc.errors.is_empty() {
            ui.colored_label(OK_GREEN, "valid");
        } else {
            ui.colored_label(ERROR_RED, format!("{} error(s)", doc.errors.len()));
        }
        ui.separator();
        let (params, flops) = doc.totals();
        ui.label(format!(
            "{} nodes · {} params · {} FLOPs/sample",
            doc.file.nodes.len(),
            group_thousands(params as u64),
            human_flops(flops)
        ));
        if let Some((msg, bad)) = &core.status {
            ui.separator();
            let msg = plain(msg);
            if *bad {
                ui.colored_label(ERROR_RED, msg);
            } else {
                ui.label(msg);
            }
        }
    });
}
