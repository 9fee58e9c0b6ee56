//! What is drawn over the canvas: frames of expanded groups and the legend.

use super::{CanvasView, GROUP_FRAME};
use crate::app::EditorCore;
use crate::command::{Command, Queue};
use crate::ui::canvas::severity_color;
use egui::{Id, Rect, RichText, Ui};

impl CanvasView {
    /// A frame around each expanded group's members, titled with its name; clicking the
    /// title collapses it.
    pub(super) fn group_frames(&self, ui: &mut Ui, q: &mut Queue) {
        for (name, members) in &self.groups.expanded {
            let bb = (members.iter().filter_map(|m| self.rects.get(m)))
                .fold(Rect::NOTHING, |bb, r| bb.union(*r));
            if !bb.is_finite() {
                continue;
            }
            let t = self.transform;
            let r = Rect::from_min_max(t * bb.min, t * bb.max).expand(12.0 * t.scaling.max(0.3));
            if !r.intersects(self.rect) {
                continue;
            }
            let painter = ui.painter_at(self.rect);
            painter.rect_stroke(
                r,
                6.0,
                egui::Stroke::new(1.5, GROUP_FRAME),
                egui::StrokeKind::Outside,
            );
            // Above the canvas's own layers, so the click is the button's, not snarl's.
            let at = r.left_top() - egui::vec2(0.0, 22.0);
            let response = egui::Area::new(Id::new("group-frame").with(name))
                .fixed_pos(at)
                .order(egui::Order::Foreground)
                .constrain(false)
                .show(ui.ctx(), |ui| {
                    ui.add(
                        egui::Button::new(RichText::new(format!("⊟ {name}")).color(GROUP_FRAME))
                            .frame(false),
                    )
                })
                .inner;
            if response
                .on_hover_text("collapse this group into one box")
                .clicked()
            {
                q.push(Command::ToggleGroup(name.clone()));
            }
        }
    }

    /// The empty-graph hint, and the badge colours while a run shows badges.
    pub(super) fn legend(&self, ui: &mut Ui, core: &EditorCore) {
        if core.doc.file.nodes.is_empty() && core.doc.file.inputs.is_empty() {
            ui.put(
                Rect::from_center_size(self.rect.center(), egui::vec2(420.0, 60.0)),
                egui::Label::new(
                    RichText::new(
                        "Empty graph: add a Data input and ops from the palette,\n\
                         or right-click the canvas. Drag from an output to an input to connect.",
                    )
                    .weak(),
                ),
            );
        }
        if !self.badges.1.is_empty() && core.training.is_live() {
            let at = self.rect.left_top() + egui::vec2(10.0, 8.0);
            let painter = ui.painter();
            let mut x = at.x;
            for (s, text) in [
                (crate::session::Severity::Warning, "warning"),
                (crate::session::Severity::Serious, "serious"),
                (crate::session::Severity::Fatal, "NaN/Inf"),
            ] {
                let r = painter.text(
                    egui::pos2(x, at.y),
                    egui::Align2::LEFT_TOP,
                    format!("■ {text}"),
                    egui::FontId::proportional(12.0),
                    severity_color(s),
                );
                x = r.right() + 12.0;
            }
        }
    }
}
