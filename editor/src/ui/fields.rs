//! Input widgets: a number field that applies only on Enter or focus loss and refuses bad
//! values with a message, and widgets for op-config values in their RON form.

use super::ERROR_RED;
use crate::model::reflect::Val;
use egui::{Id, Ui};
use std::fmt::Display;
use std::str::FromStr;

/// A text field for a number. Typing changes nothing; Enter or leaving the field applies
/// the text if it parses and `check` accepts it, else the refusal is shown next to the
/// field and the old value stays. Returns the new value when one is applied.
pub fn number_field<T>(
    ui: &mut Ui,
    id: Id,
    label: Id,
    value: T,
    check: impl Fn(T) -> Result<(), String>,
) -> Option<T>
where
    T: FromStr + Display + PartialEq + Copy,
{
    let (buf_id, err_id) = (id.with("text"), id.with("error"));
    let mut text: String = ui
        .data(|d| d.get_temp(buf_id))
        .unwrap_or_else(|| value.to_string());
    let mut out = None;
    ui.horizontal(|ui| {
        let r = ui
            .add(
                egui::TextEdit::singleline(&mut text)
                    .id(id)
                    .desired_width(90.0),
            )
            .labelled_by(label);
        if r.has_focus() {
            ui.data_mut(|d| d.insert_temp(buf_id, text.clone()));
        }
        if r.lost_focus() {
            ui.data_mut(|d| d.remove_temp::<String>(buf_id));
            let result = match text.trim().parse::<T>() {
                Ok(v) => check(v).map(|()| v),
                Err(_) => Err(format!("`{}` is not a number", text.trim())),
            };
            match result {
                Ok(v) => {
                    ui.data_mut(|d| d.remove_temp::<String>(err_id));
                    if v != value {
                        out = Some(v);
                    }
                }
                Err(e) => ui.data_mut(|d| {
                    d.insert_temp(err_id, e);
                }),
            };
        }
        if let Some(e) = ui.data(|d| d.get_temp::<String>(err_id)) {
            ui.colored_label(ERROR_RED, e);
        }
    });
    out
}

/// A finite float.
pub fn finite(v: f32) -> Result<(), String> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(format!("{v} is not a finite number"))
    }
}

/// A widget for one RON value; returns whether it changed.
pub fn value_widget(
    ui: &mut Ui,
    v: &mut Val,
    signed: bool,
    variants: Option<&[String]>,
    label: Id,
) -> bool {
    match v {
        Val::Bool(b) => ui.checkbox(b, "").labelled_by(label).changed(),
        Val::Int(i) => {
            let range = if signed {
                i64::MIN..=i64::MAX
            } else {
                0..=i64::MAX
            };
            ui.add(egui::DragValue::new(i).range(range).speed(0.1))
                .labelled_by(label)
                .changed()
        }
        Val::Float(f) => ui
            .add(egui::DragValue::new(f).speed(0.01).max_decimals(6))
            .labelled_by(label)
            .changed(),
        Val::Str(s) => ui.text_edit_singleline(s).labelled_by(label).changed(),
        Val::Ident(id) => match variants {
            Some(vs) => {
                let mut changed = false;
                egui::ComboBox::from_id_salt(ui.next_auto_id())
                    .selected_text(id.clone())
                    .show_ui(ui, |ui| {
                        for name in vs {
                            changed |= ui.selectable_value(id, name.clone(), name).changed();
                        }
                    })
                    .response
                    .labelled_by(label);
                changed
            }
            None => {
                ui.label(id.as_str());
                false
            }
        },
        Val::Call(name, items) => {
            let mut changed = false;
            if let Some(n) = name {
                match variants {
                    Some(vs) => {
                        egui::ComboBox::from_id_salt(ui.next_auto_id())
                            .selected_text(n.clone())
                            .show_ui(ui, |ui| {
                                for vname in vs {
                                    changed |=
                                        ui.selectable_value(n, vname.clone(), vname).changed();
                                }
                            });
                    }
                    None => {
                        ui.label(n.as_str());
                    }
                }
            }
            for (k, item) in items.iter_mut() {
                if let Some(k) = k {
                    ui.label(k.as_str());
                }
                changed |= value_widget(ui, item, signed, None, label);
            }
            changed
        }
        Val::List(items) => {
            let mut changed = false;
            for item in items.iter_mut() {
                changed |= value_widget(ui, item, signed, None, label);
            }
            if ui.small_button("+").clicked() {
                let next = items.last().cloned().unwrap_or(Val::Int(1));
                items.push(next);
                changed = true;
            }
            if !items.is_empty() && ui.small_button("−").clicked() {
                items.pop();
                changed = true;
            }
            changed
        }
    }
}
