//! The menu bar. Every item is a command, shown with its shortcut.

use super::{UiState, View, command_button};
use crate::app::EditorCore;
use crate::command::{Command, Queue};
use crate::model::files::list_ron;
use egui::Ui;

pub fn menu_bar(ui: &mut Ui, core: &EditorCore, st: &mut UiState, q: &mut Queue) {
    let has_selection = !core.selection.is_empty();
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| {
            command_button(ui, q, Command::NewGraph, true);
            ui.menu_button("New from template", |ui| {
                let templates = list_ron(&core.templates_dir, true);
                if templates.is_empty() {
                    ui.label("no templates found");
                }
                for t in templates {
                    let label = t
                        .strip_prefix(&core.templates_dir)
                        .unwrap_or(&t)
                        .display()
                        .to_string();
                    if ui.button(label).clicked() {
                        q.push(Command::NewFromTemplate(t));
                    }
                }
            });
            command_button(ui, q, Command::OpenDialog, true);
            ui.menu_button("Open recent", |ui| {
                if core.recent.paths.is_empty() {
                    ui.label("no recent files");
                }
                for p in &core.recent.paths {
                    if ui.button(p.display().to_string()).clicked() {
                        q.push(Command::Open(p.clone()));
                    }
                }
            });
            ui.separator();
            command_button(ui, q, Command::Save, true);
            command_button(ui, q, Command::SaveAsDialog, true);
            ui.separator();
            command_button(ui, q, Command::Quit, true);
        });
        ui.menu_button("Edit", |ui| {
            command_button(ui, q, Command::Undo, core.doc.can_undo());
            command_button(ui, q, Command::Redo, core.doc.can_redo());
            ui.separator();
            command_button(ui, q, Command::Copy, has_selection);
            command_button(ui, q, Command::Paste(None), core.clipboard.is_some());
            command_button(ui, q, Command::Duplicate, has_selection);
            command_button(ui, q, Command::Delete, has_selection);
            ui.separator();
            command_button(ui, q, Command::Group, has_selection);
            command_button(ui, q, Command::Ungroup, has_selection);
            ui.separator();
            command_button(ui, q, Command::SelectAll, true);
            command_button(ui, q, Command::Find, true);
            command_button(ui, q, Command::AutoLayout, true);
        });
        ui.menu_button("View", |ui| {
            ui.radio_value(&mut st.view, View::Canvas, "Canvas");
            ui.radio_value(&mut st.view, View::Summary, "Summary table");
            command_button(ui, q, Command::FitView, true);
            ui.checkbox(&mut st.show_training, "Training panel");
            ui.checkbox(&mut st.show_data, "Data");
            ui.checkbox(&mut st.show_boundary, "Decision boundary");
            ui.checkbox(&mut st.show_runs, "Runs");
        });
        ui.separator();
        ui.selectable_value(&mut st.view, View::Canvas, "Canvas");
        ui.selectable_value(&mut st.view, View::Summary, "Summary");
        ui.separator();
        ui.toggle_value(&mut st.show_training, "Training");
        ui.toggle_value(&mut st.show_data, "Data")
            .on_hover_text("the graph's dataset: counts, samples, a training batch");
        ui.toggle_value(&mut st.show_runs, "Runs").on_hover_text(
            "every run of this graph: labels, curves side by side, graph differences",
        );
    });
}
