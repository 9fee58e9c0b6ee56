//! The training settings (the graph's own `training` section) and the dataset picker.
//! Numbers apply on Enter or focus loss; values that cannot train are refused with the
//! reason, never clamped.

use super::fields::{finite, number_field};
use super::{UiState, plain};
use crate::app::EditorCore;
use crate::command::{Command, Queue};
use crate::model::dataset::{self, BUILT_IN, FILE_KINDS};
use crate::model::infer::shape_text;
use egui::{Id, RichText, Ui};
use hyphae::graph::{Optimizer, Schedule, Training};
use std::path::Path;

pub fn show(ui: &mut Ui, core: &EditorCore, st: &mut UiState, q: &mut Queue) {
    dataset_picker(ui, core, st, q);
    ui.separator();
    let mut t = core.doc.file.training.clone();
    let before = t.clone();
    egui::Grid::new("train-settings-grid")
        .num_columns(2)
        .show(ui, |ui| {
            let label = ui.label("optimizer").id;
            let (lr, ema) = (t.optimizer.lr(), t.optimizer.ema_momentum());
            egui::ComboBox::from_id_salt("optimizer")
                .selected_text(t.optimizer.name())
                .show_ui(ui, |ui| {
                    for mut o in optimizers(lr) {
                        o.set_ema_momentum(ema);
                        let name = o.name();
                        if ui
                            .selectable_label(t.optimizer.name() == name, name)
                            .clicked()
                        {
                            t.optimizer = o;
                        }
                    }
                })
                .response
                .labelled_by(label);
            ui.end_row();
            optimizer_fields(ui, &mut t.optimizer);
            let label = ui.label("schedule").id;
            egui::ComboBox::from_id_salt("schedule")
                .selected_text(schedule_name(&t.schedule))
                .show_ui(ui, |ui| {
                    for s in schedules() {
                        let name = schedule_name(&s);
                        if ui
                            .selectable_label(schedule_name(&t.schedule) == name, name)
                            .clicked()
                        {
                            t.schedule = s;
                        }
                    }
                })
                .response
                .labelled_by(label);
            ui.end_row();
            match &mut t.schedule {
                Schedule::Constant => {}
                Schedule::Step { step_size, gamma } => {
                    num(ui, "step_size", step_size);
                    float(ui, "gamma", gamma);
                }
                Schedule::Exponential { gamma } => float(ui, "gamma", gamma),
                Schedule::Cosine { t_max, eta_min } => {
                    num(ui, "t_max", t_max);
                    float(ui, "eta_min", eta_min);
                }
            }
            num(ui, "warmup_steps", &mut t.warmup_steps);
            num(ui, "batch size", &mut t.batch_size);
            num(ui, "epochs", &mut t.epochs);
            let id = ui.label("seed").id;
            ui.add(egui::DragValue::new(&mut t.seed).update_while_editing(false))
                .labelled_by(id);
            ui.end_row();
            if !core.training.is_live() {
                num(ui, "stats every", &mut t.stats_every);
            }
        });
    if t != before {
        q.push(Command::SetTraining(Box::new(t)));
    }
}

/// The graph's dataset: a built-in set (with its sample shape and classes) or a file set
/// by path, saved in `training.dataset`; and a button that fits the data inputs to it.
fn dataset_picker(ui: &mut Ui, core: &EditorCore, st: &mut UiState, q: &mut Queue) {
    let t = &core.doc.file.training;
    let current = t.dataset.clone();
    let set = |spec: String| {
        let mut n: Training = t.clone();
        n.dataset = Some(spec);
        Command::SetTraining(Box::new(n))
    };
    ui.horizontal(|ui| {
        let label = ui.label("dataset").id;
        egui::ComboBox::from_id_salt("dataset")
            .selected_text(current.clone().unwrap_or_else(|| "— pick one —".into()))
            .width(200.0)
            .show_ui(ui, |ui| {
                for ((spec, what), info) in BUILT_IN.iter().zip(dataset::built_in()) {
                    let detail = match info {
                        Ok(i) => format!(
                            "{} · {}",
                            shape_text(&i.sample_shape),
                            i.classes
                                .map_or("regression".to_string(), |c| format!("{c} classes"))
                        ),
                        Err(e) => plain(e),
                    };
                    let text = format!("{spec}  ({what}; {detail})");
                    if ui
                        .selectable_label(current.as_deref() == Some(*spec), text)
                        .clicked()
                    {
                        q.push(set((*spec).to_string()));
                    }
                }
            })
            .response
            .labelled_by(label);
    });
    ui.horizontal(|ui| {
        let label = ui.label("or a file").id;
        ui.add(
            egui::TextEdit::singleline(&mut st.data_path)
                .id(Id::new("data-path"))
                .hint_text("MNIST or image folder, CSV file")
                .desired_width(160.0),
        )
        .labelled_by(label);
        for kind in FILE_KINDS {
            if ui
                .add_enabled(!st.data_path.trim().is_empty(), egui::Button::new(kind))
                .on_hover_text(format!(
                    "use `{kind}:PATH`, saved relative to the graph file"
                ))
                .clicked()
            {
                let spec = dataset::file_spec(
                    kind,
                    Path::new(st.data_path.trim()),
                    core.doc.path.as_deref(),
                );
                q.push(set(spec));
            }
        }
    });
    if current.is_some() {
        super::command_button(ui, q, Command::FitInputsToDataset, true).on_hover_text(
            "set the data inputs' shapes (and the classes of the last layer) to the dataset's",
        );
    } else {
        ui.label(RichText::new("no dataset: training needs one").weak());
    }
}

/// A whole number; applied when editing ends.
fn num(ui: &mut Ui, label: &str, v: &mut usize) {
    let id = ui.label(label).id;
    ui.add(
        egui::DragValue::new(v)
            .speed(0.2)
            .update_while_editing(false),
    )
    .labelled_by(id);
    ui.end_row();
}

/// A real number typed as text: applied on Enter or focus loss; the handler refuses what
/// cannot train (a learning rate ≤ 0, say) with the reason.
fn float(ui: &mut Ui, label: &str, v: &mut f32) {
    let id = ui.label(label).id;
    if let Some(new) = number_field(ui, Id::new(("setting", label)), id, *v, finite) {
        *v = new;
    }
    ui.end_row();
}

fn optimizers(lr: f32) -> [Optimizer; 4] {
    [
        Optimizer::Sgd {
            lr,
            momentum: 0.9,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            ema_momentum: None,
        },
        Optimizer::Adam {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            ema_momentum: None,
        },
        Optimizer::AdamW {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 1e-2,
            ema_momentum: None,
        },
        Optimizer::RmsProp {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            momentum: 0.0,
            weight_decay: 0.0,
            ema_momentum: None,
        },
    ]
}

fn optimizer_fields(ui: &mut Ui, o: &mut Optimizer) {
    match o {
        Optimizer::Sgd {
            lr,
            momentum,
            nesterov,
            weight_decay,
            ..
        } => {
            float(ui, "lr", lr);
            float(ui, "momentum", momentum);
            ui.label("nesterov");
            ui.checkbox(nesterov, "");
            ui.end_row();
            float(ui, "weight_decay", weight_decay);
        }
        Optimizer::Adam {
            lr,
            betas,
            weight_decay,
            ..
        }
        | Optimizer::AdamW {
            lr,
            betas,
            weight_decay,
            ..
        } => {
            float(ui, "lr", lr);
            float(ui, "beta1", &mut betas.0);
            float(ui, "beta2", &mut betas.1);
            float(ui, "weight_decay", weight_decay);
        }
        Optimizer::RmsProp {
            lr,
            alpha,
            momentum,
            weight_decay,
            ..
        } => {
            float(ui, "lr", lr);
            float(ui, "alpha", alpha);
            float(ui, "momentum", momentum);
            float(ui, "weight_decay", weight_decay);
        }
    }
    // The weights a run writes hold the parameters' moving average; 0 keeps none.
    let mut m = o.ema_momentum().unwrap_or(0.0);
    float(ui, "ema_momentum", &mut m);
    o.set_ema_momentum((m != 0.0).then_some(m));
}

fn schedules() -> [Schedule; 4] {
    [
        Schedule::Constant,
        Schedule::Step {
            step_size: 100,
            gamma: 0.5,
        },
        Schedule::Exponential { gamma: 0.999 },
        Schedule::Cosine {
            t_max: 1000,
            eta_min: 0.0,
        },
    ]
}

fn schedule_name(s: &Schedule) -> &'static str {
    match s {
        Schedule::Constant => "Constant",
        Schedule::Step { .. } => "Step",
        Schedule::Exponential { .. } => "Exponential",
        Schedule::Cosine { .. } => "Cosine",
    }
}
