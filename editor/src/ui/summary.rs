//! The summary view: one table of every node's shape, parameters and FLOPs, and totals.

use super::{ERROR_RED, plain};
use crate::app::EditorCore;
use crate::model::infer::shape_text;
use egui::{RichText, Ui};
use hyphae::graph::summary::{group_thousands, human_flops};

pub fn show(ui: &mut Ui, core: &EditorCore) {
    let doc = &core.doc;
    ui.heading("Summary");
    egui::ScrollArea::both().show(ui, |ui| {
        egui::Grid::new("summary")
            .striped(true)
            .num_columns(5)
            .show(ui, |ui| {
                for h in ["node", "op", "output shape", "params", "FLOPs"] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                for n in &doc.file.nodes {
                    let inf = doc.inferred.get(&n.name);
                    ui.label(&n.name);
                    ui.label(n.op.kind());
                    ui.label(
                        inf.and_then(|i| i.sample_shape())
                            .map_or("?".into(), shape_text),
                    );
                    ui.label(group_thousands(inf.map_or(0, |i| i.trainable()) as u64));
                    ui.label(human_flops(inf.map_or(0, |i| i.flops)));
                    ui.end_row();
                }
            });
        ui.separator();
        match &doc.valid {
            Some(v) => {
                let buffers: usize = v.summary().iter().map(|r| r.buffers).sum();
                ui.label(
                    RichText::new(format!(
                        "total: {} trainable parameters, {} buffer values, {} FLOPs per sample (forward)",
                        group_thousands(v.param_count() as u64),
                        group_thousands(buffers as u64),
                        human_flops(v.flops())
                    ))
                    .strong(),
                );
            }
            None => {
                ui.colored_label(ERROR_RED, "the graph has errors:");
                for e in &doc.errors {
                    ui.colored_label(ERROR_RED, plain(&e.to_string()));
                }
            }
        }
    });
}
