//! The inspector's node section: the op's config field by field, its input ports, its
//! training settings, and what the engine inferred (shape, FLOPs, parameters).

use super::canvas::port_count;
use super::fields::{number_field, value_widget};
use super::{ERROR_RED, UiState};
use crate::app::EditorCore;
use crate::command::{Command, Queue};
use crate::model::fit;
use crate::model::infer::shape_text;
use crate::model::reflect::{self, Val};
use egui::{Id, RichText, Ui};
use hyphae::graph::NodeDecl;
use hyphae::graph::summary::{group_thousands, human_flops};
use hyphae::ops::FieldSchema;
use hyphae::ops::ParamKind;
use hyphae::train::node_outputs::drawn_as;

pub fn show(ui: &mut Ui, core: &EditorCore, st: &mut UiState, q: &mut Queue, name: &str) {
    let Some(node) = core.doc.node(name) else {
        return;
    };
    let kind = node.op.kind();
    ui.label(RichText::new(format!("{kind} · {}", node.op.category().label())).strong());
    outputs_toggle(ui, core, st, q, name);
    ui.separator();
    config(ui, core, st, q, node);
    ui.separator();
    ports(ui, core, q, node);
    ui.separator();
    settings(ui, q, node);
    ui.separator();
    inferred(ui, core, name);
}

/// "Show outputs", for a node whose per-sample output draws as pictures (images, or a
/// conv's feature maps; a flat output as large as the image input): a live grid of its
/// outputs for a fixed batch.
fn outputs_toggle(ui: &mut Ui, core: &EditorCore, st: &UiState, q: &mut Queue, name: &str) {
    let inf = core.doc.inferred.get(name);
    let Some(shape) = inf.and_then(|i| i.sample_shape()) else {
        return;
    };
    if drawn_as(shape, &core.doc.file.inputs).is_none() {
        return;
    }
    let mut on = st.outputs.is_shown(name);
    let help = "a live grid of this node's outputs for the first validation samples (noise \
                inputs: a fixed draw), or the first sample's feature maps, as training goes";
    if ui
        .checkbox(&mut on, "Show outputs")
        .on_hover_text(help)
        .changed()
    {
        q.push(Command::ToggleOutputs(name.to_string()));
    }
}

/// The config, field by field: which fields exist, their types, defaults, accepted names
/// and docs come from the engine's op schema; values are edited in their RON form and
/// every edit is re-read as the typed config, so nothing invalid reaches the document.
fn config(ui: &mut Ui, core: &EditorCore, st: &mut UiState, q: &mut Queue, node: &NodeDecl) {
    let kind = node.op.kind();
    let name = &node.name;
    let schema = node.op.schema();
    let fields: Vec<(String, Val)> = match reflect::op_to_val(&node.op) {
        Ok(Val::Call(_, items)) => items
            .into_iter()
            .filter_map(|(k, v)| k.map(|k| (k, v)))
            .collect(),
        _ => Vec::new(),
    };
    let mut new_fields = fields.clone();
    let mut changed_field: Option<String> = None;
    egui::Grid::new("config").num_columns(2).show(ui, |ui| {
        if schema.fields.is_empty() {
            ui.label(RichText::new("no settings").weak());
            ui.end_row();
        }
        for f in schema.fields {
            let field = f.name.to_string();
            let label = ui.label(f.name).on_hover_text(field_help(f)).id;
            match new_fields.iter().position(|(k, _)| *k == field) {
                Some(i) => {
                    ui.horizontal(|ui| {
                        if f.is_absent_by_default() {
                            let mut on = true;
                            if ui.checkbox(&mut on, "").changed() && !on {
                                new_fields.remove(i);
                                changed_field = Some(field.clone());
                                return;
                            }
                        }
                        let variants = f
                            .variants()
                            .map(|v| v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
                        if value_widget(
                            ui,
                            &mut new_fields[i].1,
                            f.accepts_negative(),
                            variants.as_deref(),
                            label,
                        ) {
                            changed_field = Some(field.clone());
                        }
                    });
                }
                None => {
                    let mut on = false;
                    ui.horizontal(|ui| {
                        if ui.checkbox(&mut on, "unset").changed() && on {
                            // The value that fits the node's input (`in_features` from
                            // the inferred width), else a plain one of the field's type.
                            let v = fit::fitting_value(&core.doc, name, &new_fields, f)
                                .unwrap_or_else(|| reflect::start_value(f));
                            new_fields.push((field.clone(), v));
                            changed_field = Some(field.clone());
                        }
                    });
                }
            }
            ui.end_row();
        }
    });
    if let Some(field) = changed_field {
        match reflect::with_fields(kind, &new_fields) {
            Ok(op) => {
                st.field_error = None;
                q.push(Command::SetOp {
                    node: name.clone(),
                    field,
                    op: Box::new(op),
                });
            }
            Err(e) => st.field_error = Some(format!("{field}: {e}")),
        }
    }
    if let Some(e) = &st.field_error {
        ui.colored_label(ERROR_RED, e);
    }
}

/// A field's hover text: its doc, type and default, as `hyphae ops` prints them.
fn field_help(f: &FieldSchema) -> String {
    let default = match f.default {
        None => "required".to_string(),
        Some("None") => "optional".to_string(),
        Some(d) => format!("default {d}"),
    };
    format!("{}\n{} · {default}", f.doc, f.ty)
}

/// Input ports as drop-downs of possible sources: connecting without dragging a wire.
fn ports(ui: &mut Ui, core: &EditorCore, q: &mut Queue, node: &NodeDecl) {
    ui.label(RichText::new("Inputs").strong());
    let name = &node.name;
    let layer = node.op.layer();
    let count = port_count(layer.arity(), node.inputs.len());
    let candidates: Vec<String> = core.doc.names().into_iter().filter(|n| n != name).collect();
    egui::Grid::new("ports").num_columns(2).show(ui, |ui| {
        for port in 0..count {
            let label = ui.label(layer.input_name(port)).id;
            let current = node.inputs.get(port).filter(|s| !s.is_empty()).cloned();
            egui::ComboBox::from_id_salt(("port", port))
                .selected_text(current.clone().unwrap_or_else(|| "—".into()))
                .show_ui(ui, |ui| {
                    if current.is_some() && ui.selectable_label(false, "— (disconnect)").clicked()
                    {
                        q.push(Command::Disconnect {
                            dst: name.clone(),
                            port,
                        });
                    }
                    for c in &candidates {
                        if ui
                            .selectable_label(current.as_ref() == Some(c), c)
                            .clicked()
                            && current.as_ref() != Some(c)
                        {
                            q.push(Command::Connect {
                                src: c.clone(),
                                dst: name.clone(),
                                port,
                            });
                        }
                    }
                })
                .response
                .labelled_by(label);
            ui.end_row();
        }
    });
}

/// Per-node training settings.
fn settings(ui: &mut Ui, q: &mut Queue, node: &NodeDecl) {
    let name = &node.name;
    egui::Grid::new("node-settings")
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("frozen");
            let mut frozen = node.frozen;
            if ui.checkbox(&mut frozen, "").changed() {
                q.push(Command::SetFrozen {
                    node: name.clone(),
                    frozen,
                });
            }
            ui.end_row();
            let label = ui.label("lr_mult").id;
            let check = |v: f32| {
                if v.is_finite() && v >= 0.0 {
                    Ok(())
                } else {
                    Err(format!("must be a number ≥ 0, not {v}"))
                }
            };
            if let Some(lr_mult) =
                number_field(ui, Id::new(("lr_mult", name)), label, node.lr_mult, check)
            {
                q.push(Command::SetLrMult {
                    node: name.clone(),
                    lr_mult,
                });
            }
            ui.end_row();
            if !node.init.is_empty() {
                ui.label("init");
                ui.label(RichText::new(reflect::init_text(node)).monospace());
                ui.end_row();
            }
        });
}

/// What the engine inferred for the node.
fn inferred(ui: &mut Ui, core: &EditorCore, name: &str) {
    let inf = core.doc.inferred.get(name).cloned().unwrap_or_default();
    ui.horizontal(|ui| {
        ui.label("output shape");
        ui.label(RichText::new(inf.sample_shape().map_or("?".into(), shape_text)).monospace());
    });
    ui.label(format!("FLOPs/sample: {}", human_flops(inf.flops)));
    if inf.params.is_empty() {
        return;
    }
    ui.label(RichText::new("Parameters").strong());
    egui::Grid::new("params").striped(true).show(ui, |ui| {
        for p in &inf.params {
            ui.label(p.name);
            ui.label(RichText::new(shape_text(&p.shape)).monospace());
            ui.label(group_thousands(p.numel() as u64));
            ui.label(if p.kind == ParamKind::Buffer {
                "buffer"
            } else {
                ""
            });
            ui.end_row();
        }
        ui.label(RichText::new("total").strong());
        ui.label("");
        ui.label(RichText::new(group_thousands(inf.trainable() as u64)).strong());
        ui.end_row();
    });
}
