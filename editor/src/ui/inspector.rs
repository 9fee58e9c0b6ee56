//! The inspector: what is selected, editable. Fixed width (buttons never move under the
//! cursor), the node's settings first, its live statistics after, and a scroll position
//! of its own per node.

use super::{ERROR_RED, UiState, plain};
use crate::app::EditorCore;
use crate::command::{Command, Queue};
use crate::model::fit;
use crate::model::infer::{parse_shape, shape_text};
use egui::{Id, RichText, Ui};
use hyphae::graph::Source;

const WIDTH: f32 = 330.0;

pub fn panel(ui: &mut Ui, core: &EditorCore, st: &mut UiState, q: &mut Queue) {
    egui::Panel::right("inspector")
        .resizable(false)
        .exact_size(WIDTH)
        .show(ui, |ui| {
            ui.heading("Inspector");
            let key = core.selection.single().unwrap_or("").to_string();
            egui::ScrollArea::vertical()
                .id_salt(("inspector", key))
                .show(ui, |ui| match core.selection.len() {
                    0 => graph(ui, core, q),
                    1 => {
                        let name = core.selection.names()[0].clone();
                        one(ui, core, st, q, &name);
                    }
                    n => {
                        ui.label(format!("{n} items selected"));
                        super::command_button(ui, q, Command::Duplicate, true);
                        super::command_button(ui, q, Command::Delete, true);
                    }
                });
        });
}

/// Nothing selected: the graph's description and errors.
fn graph(ui: &mut Ui, core: &EditorCore, q: &mut Queue) {
    ui.label("Select a node to edit it.");
    ui.separator();
    ui.label("Description");
    let mut d = core.doc.file.description.clone();
    if ui
        .add(egui::TextEdit::multiline(&mut d).desired_rows(3))
        .changed()
    {
        q.push(Command::SetDescription(d));
    }
    if !core.doc.errors.is_empty() {
        ui.separator();
        ui.label(RichText::new("Errors").strong());
        for e in &core.doc.errors {
            ui.colored_label(ERROR_RED, plain(&e.to_string()));
        }
    }
}

fn one(ui: &mut Ui, core: &EditorCore, st: &mut UiState, q: &mut Queue, name: &str) {
    if !core.doc.exists(name) {
        return;
    }
    // Name: renamed on Enter or focus loss.
    if st.rename.0 != name {
        st.rename = (name.to_string(), name.to_string());
    }
    ui.horizontal(|ui| {
        ui.label("name");
        let r = ui.add(
            egui::TextEdit::singleline(&mut st.rename.1)
                .id(Id::new("inspector-name"))
                .desired_width(160.0),
        );
        if r.lost_focus() && st.rename.1 != name {
            q.push(Command::Rename {
                old: name.to_string(),
                new: st.rename.1.clone(),
            });
            st.rename.0.clear();
        }
    });
    if core.doc.is_input(name) {
        input(ui, core, q, name);
    } else {
        super::inspect_node::show(ui, core, st, q, name);
        ui.separator();
        let params: Vec<String> = core
            .doc
            .inferred
            .get(name)
            .map(|i| {
                i.params
                    .iter()
                    .filter(|p| p.kind == hyphae::ops::ParamKind::Trainable)
                    .map(|p| format!("{name}.{}", p.name))
                    .collect()
            })
            .unwrap_or_default();
        super::plots::node_live(ui, &core.training, name, &params);
    }
    let errors: Vec<String> = core
        .doc
        .errors_for(name)
        .iter()
        .map(|e| match &e.port {
            Some(p) if e.message.contains("refers to ``") => {
                format!("input `{p}` is not connected")
            }
            Some(p) => format!("input `{p}`: {}", plain(&e.message)),
            None => plain(&e.message),
        })
        .collect();
    if !errors.is_empty() {
        ui.separator();
        for e in errors {
            ui.colored_label(ERROR_RED, e);
        }
    }
}

/// A data input: where its values come from and their per-sample shape.
fn input(ui: &mut Ui, core: &EditorCore, q: &mut Queue, name: &str) {
    let Some(decl) = core.doc.file.inputs.iter().find(|i| i.name == name) else {
        return;
    };
    let mut input = decl.clone();
    ui.label(RichText::new("Data input").weak());
    let mut changed = false;
    ui.horizontal(|ui| {
        let label = ui.label("source").id;
        egui::ComboBox::from_id_salt("input-source")
            .selected_text(format!("{:?}", input.source))
            .show_ui(ui, |ui| {
                for s in Source::ALL {
                    if ui
                        .selectable_label(input.source == s, format!("{s:?}"))
                        .clicked()
                        && input.source != s
                    {
                        input.source = s;
                        // Labels take the shape the loss expects of them (`[]` for
                        // class indices).
                        if s == Source::Labels {
                            input.shape = fit::label_shape(&core.doc, name);
                        }
                        changed = true;
                    }
                }
            })
            .response
            .labelled_by(label);
    });
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("shape").id;
        let id = Id::new(("input-shape", name));
        let buf = id.with("text");
        let mut text: String = ui
            .data(|d| d.get_temp(buf))
            .unwrap_or_else(|| shape_text(&input.shape));
        let r = ui
            .add(
                egui::TextEdit::singleline(&mut text)
                    .id(id)
                    .desired_width(120.0),
            )
            .labelled_by(label)
            .on_hover_text("per-sample shape, e.g. [2], [1, 28, 28], or [] for class labels");
        if r.has_focus() {
            ui.data_mut(|d| d.insert_temp(buf, text.clone()));
        }
        if r.lost_focus() {
            ui.data_mut(|d| d.remove_temp::<String>(buf));
            match parse_shape(&text) {
                Ok(s) if s != input.shape => {
                    input.shape = s;
                    changed = true;
                }
                Ok(_) => {}
                Err(e) => ui.data_mut(|d| {
                    d.insert_temp(id.with("error"), e);
                }),
            };
        }
        if ui
            .small_button("+")
            .on_hover_text("add a dimension")
            .clicked()
        {
            input.shape.push(1);
            changed = true;
        }
        if !input.shape.is_empty()
            && ui
                .small_button("−")
                .on_hover_text("drop the last dimension")
                .clicked()
        {
            input.shape.pop();
            changed = true;
        }
        if let Some(e) = ui.data(|d| d.get_temp::<String>(id.with("error"))) {
            ui.colored_label(ERROR_RED, e);
        }
        if changed {
            ui.data_mut(|d| d.remove_temp::<String>(id.with("error")));
        }
    });
    if changed {
        q.push(Command::SetInput {
            name: name.to_string(),
            input,
        });
    }
}
