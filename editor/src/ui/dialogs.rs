//! Dialogs: a file that failed to load, "discard?" confirmations, the file dialog.

use super::{DialogMode, ERROR_RED, UiState};
use crate::app::{EditorCore, Pending};
use crate::command::{Command, Queue};
use crate::model::files::list_dir;
use egui::{Id, RichText};
use std::path::{Path, PathBuf};

pub fn show(ctx: &egui::Context, core: &EditorCore, st: &mut UiState, q: &mut Queue) {
    load_error(ctx, core, q);
    if let Some(p) = &core.pending {
        confirm(ctx, core, p, q);
    }
    file_dialog(ctx, st, q);
}

fn load_error(ctx: &egui::Context, core: &EditorCore, q: &mut Queue) {
    let Some(err) = &core.load_error else { return };
    let mut open = true;
    let mut ok = false;
    egui::Window::new("Could not open the file")
        .collapsible(false)
        .open(&mut open)
        .show(ctx, |ui| {
            ui.colored_label(ERROR_RED, RichText::new(err).monospace());
            ui.label("The current graph is unchanged.");
            ok = ui.button("OK").clicked();
        });
    if ok || !open {
        q.push(Command::DismissLoadError);
    }
}

/// Asks before unsaved changes or a trained model are thrown away.
fn confirm(ctx: &egui::Context, core: &EditorCore, p: &Pending, q: &mut Queue) {
    let dirty = core.doc.is_dirty() && *p != Pending::StartTraining;
    let model = core.training.has_model() || core.training.is_live();
    egui::Modal::new(Id::new("discard")).show(ctx, |ui| {
        if dirty {
            ui.heading("Unsaved changes");
            ui.label("Save the current graph first?");
        } else {
            ui.heading("Discard the trained model?");
        }
        if model {
            ui.label(
                "The trained model (weights and optimizer state) will be dropped. \
                 Save weights or a checkpoint in the training panel to keep it.",
            );
        }
        ui.horizontal(|ui| {
            if dirty && ui.button("Save").clicked() {
                q.push(Command::ConfirmPending { save: true });
            }
            if ui.button("Discard").clicked() {
                q.push(Command::ConfirmPending { save: false });
            }
            if ui.button("Cancel").clicked() {
                q.push(Command::CancelPending);
            }
        });
    });
}

fn file_dialog(ctx: &egui::Context, st: &mut UiState, q: &mut Queue) {
    let Some(mut dialog) = st.dialog.take() else {
        return;
    };
    let mut keep = true;
    let title = match dialog.mode {
        DialogMode::Open => "Open graph",
        DialogMode::SaveAs => "Save graph as",
    };
    egui::Window::new(title)
        .collapsible(false)
        .default_width(460.0)
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                let label = ui.label("path").id;
                ui.add(
                    egui::TextEdit::singleline(&mut dialog.path)
                        .id(Id::new("dialog-path"))
                        .desired_width(360.0),
                )
                .labelled_by(label);
            });
            let typed = PathBuf::from(&dialog.path);
            let dir = if dialog.path.ends_with('/') || typed.is_dir() {
                typed.clone()
            } else {
                typed
                    .parent()
                    .map(Path::to_path_buf)
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or_else(|| PathBuf::from("."))
            };
            ui.label(RichText::new(dir.display().to_string()).weak());
            egui::ScrollArea::vertical()
                .max_height(260.0)
                .show(ui, |ui| {
                    if let Some(parent) = dir.parent()
                        && ui.selectable_label(false, "📁 ..").clicked()
                    {
                        dialog.path = format!("{}/", parent.display());
                    }
                    for entry in list_dir(&dir) {
                        let is_dir = entry.is_dir();
                        let name = entry
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        let label = if is_dir { format!("📁 {name}") } else { name };
                        if ui.selectable_label(false, label).clicked() {
                            dialog.path = if is_dir {
                                format!("{}/", entry.display())
                            } else {
                                entry.display().to_string()
                            };
                        }
                    }
                });
            ui.horizontal(|ui| {
                let ok = match dialog.mode {
                    DialogMode::Open => "Open",
                    DialogMode::SaveAs => "Save",
                };
                if ui.button(ok).clicked() {
                    let path = PathBuf::from(dialog.path.trim());
                    keep = false;
                    q.push(match dialog.mode {
                        DialogMode::Open => Command::Open(path),
                        DialogMode::SaveAs => Command::SaveAs(path),
                    });
                }
                if ui.button("Cancel").clicked() {
                    keep = false;
                }
            });
        });
    if keep {
        st.dialog = Some(dialog);
    }
}
