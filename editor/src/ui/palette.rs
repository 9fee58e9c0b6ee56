//! The op palette: click to add at a free spot in view, or drag onto the canvas.

use super::UiState;
use crate::command::{Command, Queue};
use crate::model::palette::{data_input_matches, ops_by_category};
use egui::{Id, RichText, Ui};

pub fn show(ui: &mut Ui, st: &mut UiState, q: &mut Queue) {
    ui.heading("Palette");
    ui.horizontal(|ui| {
        let label = ui.label("search").id;
        ui.add(
            egui::TextEdit::singleline(&mut st.search)
                .hint_text("op name…")
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label);
    });
    ui.label(
        RichText::new("click to add, or drag onto the canvas")
            .small()
            .weak(),
    );
    egui::ScrollArea::vertical().show(ui, |ui| {
        if data_input_matches(&st.search) && ui.button("Data input").clicked() {
            q.push(Command::AddInput { pos: None });
        }
        for (cat, ops) in ops_by_category(&st.search) {
            egui::CollapsingHeader::new(cat.label())
                .default_open(true)
                .show(ui, |ui| {
                    for op in ops {
                        let kind = op.kind();
                        let r = ui.add(
                            egui::Button::new(kind)
                                .min_size(egui::vec2(150.0, 0.0))
                                .sense(egui::Sense::click_and_drag()),
                        );
                        if r.drag_started() {
                            egui::DragAndDrop::set_payload(ui.ctx(), op.clone());
                        }
                        if r.dragged() {
                            egui::Tooltip::always_open(
                                ui.ctx().clone(),
                                ui.layer_id(),
                                Id::new("palette-drag"),
                                egui::PopupAnchor::Pointer,
                            )
                            .show(|ui| ui.label(kind));
                        }
                        if r.clicked() {
                            q.push(Command::AddNode {
                                op: Box::new(op),
                                pos: None,
                                wire: None,
                            });
                        }
                    }
                });
        }
    });
}
