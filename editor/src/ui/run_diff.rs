//! Two runs' graph difference on the canvas (from the Runs window): nodes the newer run
//! added are outlined green, changed ones yellow; removed ones (not on the canvas) and
//! names the open graph lacks are listed in a box in the canvas's corner.

use super::canvas_far::{self, Scene};
use crate::app::EditorCore;
use crate::command::{Command, Queue};
use egui::{Color32, Id, Painter, Rect, RichText, Stroke, Ui};
use std::collections::HashMap;

pub const ADDED: Color32 = Color32::from_rgb(90, 210, 110);
pub const CHANGED: Color32 = Color32::from_rgb(235, 215, 60);
pub const REMOVED: Color32 = Color32::from_rgb(230, 90, 90);

/// The outline colour of every node the difference names.
pub fn marks(core: &EditorCore) -> HashMap<String, Color32> {
    let Some(d) = &core.run_diff else {
        return HashMap::new();
    };
    let added = d.diff.added.iter().map(|n| (n.clone(), ADDED));
    let changed = d.diff.changed.iter().map(|n| (n.clone(), CHANGED));
    added.chain(changed).collect()
}

/// The legend: what each colour means, what was removed, and a button to clear it. `at`
/// is its bottom-left corner (windows tend to sit at the canvas's top-left).
pub fn legend(ui: &mut Ui, at: egui::Pos2, core: &EditorCore, q: &mut Queue) {
    let Some(d) = &core.run_diff else { return };
    let g = &d.diff;
    let missing: Vec<&String> = (g.added.iter().chain(&g.changed))
        .filter(|n| !core.doc.exists(n))
        .collect();
    egui::Area::new(Id::new("run-diff-legend"))
        .fixed_pos(at)
        .pivot(egui::Align2::LEFT_BOTTOM)
        // Among the windows (not above them), and not a canvas click.
        .order(egui::Order::Middle)
        .show(ui.ctx(), |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.set_max_width(320.0);
                ui.label(
                    RichText::new(format!("graph difference {} -> {}", d.old, d.new)).strong(),
                );
                let line = |ui: &mut Ui, color, what: &str, names: &[String]| {
                    let list = if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    };
                    ui.label(RichText::new(format!("■ {what}: {list}")).color(color));
                };
                line(ui, ADDED, "added", &g.added);
                line(ui, CHANGED, "changed", &g.changed);
                line(ui, REMOVED, "removed", &g.removed);
                if g.training_changed {
                    ui.label("training settings changed");
                }
                if !missing.is_empty() {
                    let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
                    ui.label(
                        RichText::new(format!("not in the open graph: {}", names.join(", ")))
                            .weak(),
                    );
                }
                if ui.button("Clear graph difference").clicked() {
                    q.push(Command::ClearRunDiff);
                }
            });
        });
}

/// Zoomed out past legible text the canvas paints nodes as plain boxes (`canvas_far`):
/// the marked ones keep their outline there.
pub fn draw_far(painter: &Painter, s: &Scene<'_>, marks: &HashMap<String, Color32>) {
    let t = s.transform;
    if marks.is_empty() || !canvas_far::is_far(t) {
        return;
    }
    for (i, name) in s.names.iter().enumerate() {
        let (Some(&c), Some(r)) = (marks.get(name), s.rect(i)) else {
            continue;
        };
        let r = Rect::from_min_max(t * r.min, t * r.max);
        if r.intersects(s.view) {
            let stroke = Stroke::new(2.0, c);
            painter.rect_stroke(r, 3.0 * t.scaling, stroke, egui::StrokeKind::Outside);
        }
    }
}
