//! The training panel (settings, controls, live plots), the live section of the inspector
//! and the evaluation window. Everything here only reads [`TrainState`] and sends commands;
//! the trainer thread does the work.

use crate::canvas::ERROR_RED;
use crate::doc::Document;
use crate::train::{Command, Phase, RunHistory, TrainState};
use egui::{Color32, RichText, Ui};
use egui_plot::{Bar, BarChart, GridMark, Legend, Line, Plot, PlotPoints, Points};
use hyphae::ecs::Histogram;
use hyphae::graph::{Optimizer, Schedule};
use std::ops::RangeInclusive;
use std::path::PathBuf;

const PAST: Color32 = Color32::from_gray(110);
const LOSS: Color32 = Color32::from_rgb(120, 170, 255);
const SMOOTH: Color32 = Color32::from_rgb(255, 190, 70);
const ACC: Color32 = Color32::from_rgb(120, 220, 140);
const PLOT_H: f32 = 170.0;
const LOCKED: &str = "🔒 stop training to change these settings";
const LOCKED_WHY: &str = "Dataset, optimizer, schedule, batch size, epochs and seed are fixed \
    for a run (as in PyTorch or Keras, changing them means a new run). The learning rate and \
    the statistics interval change live above.";

/// Settings, buttons and plots. Settings edit the graph's own `training` section.
pub fn training_panel(ui: &mut Ui, st: &mut TrainState, doc: &mut Document) {
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(330.0);
            egui::ScrollArea::vertical()
                .id_salt("train-settings")
                .show(ui, |ui| {
                    controls(ui, st, doc);
                    ui.separator();
                    let active = st.is_active();
                    if active {
                        ui.label(RichText::new(LOCKED).small().weak())
                            .on_hover_text(LOCKED_WHY);
                    }
                    ui.add_enabled_ui(!active, |ui| settings(ui, st, doc, active))
                        .response
                        .on_disabled_hover_text(LOCKED_WHY);
                });
        });
        ui.separator();
        ui.vertical(|ui| {
            progress_line(ui, st, doc.file.training.batch_size);
            plots(ui, st);
        });
    });
}

fn controls(ui: &mut Ui, st: &mut TrainState, doc: &mut Document) {
    let phase = st.phase.clone();
    ui.horizontal_wrapped(|ui| {
        let can_start = doc.valid.is_some() && !st.is_active();
        if ui
            .add_enabled(can_start, egui::Button::new("▶ Start"))
            .on_disabled_hover_text("fix the graph's errors, or stop the current run")
            .clicked()
            && let Some(g) = doc.valid.clone()
        {
            st.start(g, false, Some(ui.ctx().clone()));
        }
        let running = phase == Phase::Running;
        let paused = matches!(phase, Phase::Paused | Phase::NonFinite(_));
        if ui
            .add_enabled(running, egui::Button::new("⏸ Pause"))
            .clicked()
        {
            st.send(Command::Pause);
        }
        if ui
            .add_enabled(paused, egui::Button::new("⏵ Resume"))
            .clicked()
        {
            st.send(Command::Resume);
        }
        let step_ok = paused || (!st.is_active() && doc.valid.is_some());
        if ui
            .add_enabled(step_ok, egui::Button::new("Step"))
            .on_hover_text("train one batch, then pause")
            .clicked()
        {
            if !st.is_active()
                && let Some(g) = doc.valid.clone()
            {
                st.start(g, true, Some(ui.ctx().clone()));
            }
            st.send(Command::Step);
        }
        if ui
            .add_enabled(st.is_active(), egui::Button::new("⏹ Stop"))
            .clicked()
        {
            st.stop();
        }
    });
    let (text, color) = match &phase {
        Phase::Idle => ("idle".to_string(), None),
        Phase::Loading => ("loading data…".to_string(), None),
        Phase::Running => ("training".to_string(), Some(ACC)),
        Phase::Paused => ("paused".to_string(), Some(SMOOTH)),
        Phase::NonFinite(n) => (
            format!("paused: NaN/Inf first appeared in `{n}`"),
            Some(ERROR_RED),
        ),
        Phase::Finished => ("finished".to_string(), Some(ACC)),
        Phase::Failed(e) => (format!("failed: {e}"), Some(ERROR_RED)),
    };
    let t = RichText::new(text).strong();
    ui.label(match color {
        Some(c) => t.color(c),
        None => t,
    });
    if st.is_active() {
        ui.horizontal(|ui| {
            let id = ui.label("live lr").id;
            let r = ui
                .add(
                    egui::DragValue::new(&mut st.live_lr)
                        .speed(0.0001)
                        .range(0.0..=10.0)
                        .max_decimals(6),
                )
                .labelled_by(id);
            if r.changed() {
                let lr = st.live_lr;
                st.send(Command::SetLr(lr));
            }
        });
        ui.horizontal(|ui| {
            let id = ui.label("stats every").id;
            let r = ui
                .add(egui::DragValue::new(&mut st.live_stats_every).speed(0.1))
                .labelled_by(id)
                .on_hover_text("steps between layer statistics (0: none), from the next step");
            if r.changed() {
                let n = st.live_stats_every;
                st.send(Command::SetStatsEvery(n));
            }
        });
    }
    ui.horizontal(|ui| {
        ui.label("weights");
        ui.add(egui::TextEdit::singleline(&mut st.weights_path).desired_width(230.0));
    });
    ui.horizontal_wrapped(|ui| {
        let path = PathBuf::from(st.weights_path.trim());
        let active = st.is_active();
        if ui
            .add_enabled(active, egui::Button::new("Save weights"))
            .clicked()
        {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            st.send(Command::SaveWeights(path.clone()));
        }
        if ui
            .add_enabled(active, egui::Button::new("Checkpoint"))
            .on_hover_text("full checkpoint (weights and optimizer state) in the run folder")
            .clicked()
        {
            st.send(Command::SaveCheckpoint);
        }
        if ui
            .add_enabled(doc.valid.is_some(), egui::Button::new("Load weights"))
            .on_hover_text("load into the open graph (starts a paused session if none)")
            .clicked()
        {
            ensure_session(ui, st, doc);
            st.send(Command::LoadWeights(path.clone()));
        }
        if ui
            .add_enabled(doc.valid.is_some(), egui::Button::new("Evaluate"))
            .on_hover_text("loss, accuracy and confusion matrix on the validation set")
            .clicked()
        {
            ensure_session(ui, st, doc);
            st.send(Command::Evaluate);
        }
    });
    for (m, bad) in st.messages.iter().rev().take(4) {
        let t = RichText::new(m).small();
        ui.label(if *bad { t.color(ERROR_RED) } else { t.weak() });
    }
}

/// A paused session for loading and evaluating without training.
fn ensure_session(ui: &Ui, st: &mut TrainState, doc: &Document) {
    if !st.is_active()
        && let Some(g) = doc.valid.clone()
    {
        st.start(g, true, Some(ui.ctx().clone()));
    }
}

/// `active`: a run is on, so the statistics interval is edited live in the controls instead.
fn settings(ui: &mut Ui, st: &mut TrainState, doc: &mut Document, active: bool) {
    let mut t = doc.file.training.clone();
    let before = t.clone();
    egui::Grid::new("train-settings-grid")
        .num_columns(2)
        .show(ui, |ui| {
            let id = ui.label("dataset").id;
            let graph_ds = t.dataset.clone().unwrap_or_else(|| "shapes".into());
            ui.add(
                egui::TextEdit::singleline(&mut st.dataset)
                    .hint_text(graph_ds)
                    .desired_width(200.0),
            )
            .labelled_by(id)
            .on_hover_text(hyphae::data::SPECS);
            ui.end_row();
            ui.label("optimizer");
            let lr = t.optimizer.lr();
            egui::ComboBox::from_id_salt("optimizer")
                .selected_text(t.optimizer.name())
                .show_ui(ui, |ui| {
                    for o in optimizers(lr) {
                        let name = o.name();
                        if ui
                            .selectable_label(t.optimizer.name() == name, name)
                            .clicked()
                        {
                            t.optimizer = o;
                        }
                    }
                });
            ui.end_row();
            optimizer_fields(ui, &mut t.optimizer);
            ui.label("schedule");
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
                });
            ui.end_row();
            match &mut t.schedule {
                Schedule::Constant => {}
                Schedule::Step { step_size, gamma } => {
                    num(ui, "step_size", step_size, 1.0);
                    float(ui, "gamma", gamma, 0.01);
                }
                Schedule::Exponential { gamma } => float(ui, "gamma", gamma, 0.001),
                Schedule::Cosine { t_max, eta_min } => {
                    num(ui, "t_max", t_max, 10.0);
                    float(ui, "eta_min", eta_min, 0.0001);
                }
            }
            num(ui, "warmup_steps", &mut t.warmup_steps, 1.0);
            num(ui, "batch size", &mut t.batch_size, 1.0);
            num(ui, "epochs", &mut t.epochs, 0.1);
            let id = ui.label("seed").id;
            ui.add(egui::DragValue::new(&mut t.seed)).labelled_by(id);
            ui.end_row();
            if !active {
                num(ui, "stats every", &mut t.stats_every, 0.1);
            }
        });
    t.batch_size = t.batch_size.max(1);
    t.epochs = t.epochs.max(1);
    if t != before {
        doc.edit_keyed(Some("training".into()), |f| f.training = t);
    }
}

fn num(ui: &mut Ui, label: &str, v: &mut usize, speed: f64) {
    let id = ui.label(label).id;
    ui.add(egui::DragValue::new(v).speed(speed)).labelled_by(id);
    ui.end_row();
}

fn float(ui: &mut Ui, label: &str, v: &mut f32, speed: f64) {
    let id = ui.label(label).id;
    ui.add(egui::DragValue::new(v).speed(speed).max_decimals(6))
        .labelled_by(id);
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
        },
        Optimizer::Adam {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
        },
        Optimizer::AdamW {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 1e-2,
        },
        Optimizer::RmsProp {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            momentum: 0.0,
            weight_decay: 0.0,
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
            float(ui, "lr", lr, 0.0001);
            float(ui, "momentum", momentum, 0.01);
            ui.label("nesterov");
            ui.checkbox(nesterov, "");
            ui.end_row();
            float(ui, "weight_decay", weight_decay, 0.0001);
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
            float(ui, "lr", lr, 0.0001);
            float(ui, "beta1", &mut betas.0, 0.001);
            float(ui, "beta2", &mut betas.1, 0.0001);
            float(ui, "weight_decay", weight_decay, 0.0001);
        }
        Optimizer::RmsProp {
            lr,
            alpha,
            momentum,
            weight_decay,
            ..
        } => {
            float(ui, "lr", lr, 0.0001);
            float(ui, "alpha", alpha, 0.001);
            float(ui, "momentum", momentum, 0.01);
            float(ui, "weight_decay", weight_decay, 0.0001);
        }
    }
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

fn progress_line(ui: &mut Ui, st: &TrainState, batch_size: usize) {
    let eta = st
        .eta_secs(batch_size)
        .filter(|_| st.phase == Phase::Running)
        .map_or("—".to_string(), |s| {
            if s >= 60.0 {
                format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
            } else {
                format!("{s:.0}s")
            }
        });
    let last = st
        .run
        .loss
        .last()
        .map_or("—".to_string(), |p| format!("{:.4}", p[1]));
    ui.label(
        RichText::new(format!(
            "step {} · epoch {}/{} · batch {}/{} · loss {last} · {:.0} samples/s · ETA {eta}",
            st.step,
            (st.epoch + 1).min(st.epochs.max(1) as u64),
            st.epochs,
            st.batch,
            st.batches_per_epoch,
            st.samples_per_sec
        ))
        .monospace(),
    );
}

fn line<'a>(name: &str, pts: &[[f64; 2]], color: Color32) -> Line<'a> {
    Line::new(name.to_string(), PlotPoints::from(pts.to_vec())).color(color)
}

fn past_lines<'a>(
    past: &[RunHistory],
    pick: impl Fn(&RunHistory) -> &Vec<[f64; 2]>,
) -> Vec<Line<'a>> {
    past.iter()
        .filter(|r| !pick(r).is_empty())
        .map(|r| line(&r.label, pick(r), PAST).width(1.0))
        .collect()
}

/// An axis tick label. egui_plot's default rounds to the tick spacing's decimals, which
/// turns a learning rate of 1e-3 into "0"; values under 1e-2 get scientific notation.
pub fn tick_label(value: f64, step: f64) -> String {
    // Ticks are multiples of the step; anything this close to zero is zero.
    if value == 0.0 || value.abs() < step.abs() * 1e-6 {
        return "0".into();
    }
    if value.abs() < 1e-2 {
        return sci(value);
    }
    // Enough decimals to tell neighbouring ticks apart (0.05 apart: two).
    let decimals = (-step.abs().log10() - 1e-9).ceil().clamp(0.0, 6.0) as usize;
    format!("{value:.decimals$}")
}

/// A tick label for an axis that plots log10 of the value: shows the value itself.
pub fn log_tick_label(log10: f64) -> String {
    let v = 10f64.powf(log10);
    if (1e-2..1e4).contains(&v) {
        // Three significant digits.
        let decimals = (2.0 - v.log10().floor()).max(0.0) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        sci(v)
    }
}

/// Up to three significant digits, without trailing zeros: `1e-3`, `2.5e-4`.
fn sci(v: f64) -> String {
    let s = format!("{v:.2e}");
    match s.split_once('e') {
        Some((m, e)) if m.contains('.') => {
            format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.'))
        }
        _ => s,
    }
}

fn y_ticks(mark: GridMark, _range: &RangeInclusive<f64>) -> String {
    tick_label(mark.value, mark.step_size)
}

fn log_y_ticks(mark: GridMark, _range: &RangeInclusive<f64>) -> String {
    log_tick_label(mark.value)
}

/// The y-range to show for these values. egui_plot gives a flat line a height equal to the
/// x-range, so a constant learning rate of 1e-3 over 500 steps sat on a ±250 axis, drawn
/// at "0". `include_zero` anchors linear plots at zero; flat data is padded.
pub fn y_range(values: impl IntoIterator<Item = f64>, include_zero: bool) -> Option<(f64, f64)> {
    let (mut lo, mut hi) =
        values
            .into_iter()
            .filter(|v| v.is_finite())
            .fold(None, |acc: Option<(f64, f64)>, v| match acc {
                None => Some((v, v)),
                Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
            })?;
    if include_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if hi - lo <= 1e-12 * hi.abs().max(lo.abs()) {
        let pad = if hi == 0.0 { 1.0 } else { hi.abs() * 0.5 };
        lo -= pad;
        hi += pad;
    }
    Some((lo, hi))
}

/// Applies [`y_range`] of the given series to a plot's automatic bounds.
fn fit_y<'a>(plot: Plot<'a>, series: &[&[[f64; 2]]], include_zero: bool) -> Plot<'a> {
    match y_range(
        series.iter().flat_map(|s| s.iter().map(|p| p[1])),
        include_zero,
    ) {
        Some((lo, hi)) => plot.include_y(lo).include_y(hi),
        None => plot,
    }
}

fn plots(ui: &mut Ui, st: &TrainState) {
    let w = ((ui.available_width() - 20.0) / 3.0).max(150.0);
    let all = |pick: fn(&RunHistory) -> &Vec<[f64; 2]>| -> Vec<&[[f64; 2]]> {
        st.past
            .iter()
            .chain(std::iter::once(&st.run))
            .map(|r| pick(r).as_slice())
            .collect()
    };
    ui.horizontal(|ui| {
        let loss = Plot::new("loss-plot")
            .width(w)
            .height(PLOT_H)
            .legend(Legend::default())
            .x_axis_label("step")
            .y_axis_formatter(y_ticks);
        fit_y(loss, &all(|r| &r.loss), true).show(ui, |p| {
            for l in past_lines(&st.past, |r| &r.smoothed) {
                p.line(l);
            }
            p.line(line("loss", &st.run.loss, LOSS).width(1.0));
            p.line(line("smoothed", &st.run.smoothed, SMOOTH).width(2.0));
        });
        let mut valid = all(|r| &r.valid_loss);
        valid.extend(all(|r| &r.valid_acc));
        let valid_plot = Plot::new("valid-plot")
            .width(w)
            .height(PLOT_H)
            .legend(Legend::default())
            .x_axis_label("epoch")
            .include_x(0.0)
            .y_axis_formatter(y_ticks);
        fit_y(valid_plot, &valid, true).show(ui, |p| {
            for l in past_lines(&st.past, |r| &r.valid_loss) {
                p.line(l);
            }
            for l in past_lines(&st.past, |r| &r.valid_acc) {
                p.line(l);
            }
            p.line(line("valid loss", &st.run.valid_loss, LOSS).width(2.0));
            p.line(line("valid accuracy", &st.run.valid_acc, ACC).width(2.0));
            // One point per epoch: markers, or the first epoch's values are invisible.
            for (name, pts, color) in [
                ("valid loss", &st.run.valid_loss, LOSS),
                ("valid accuracy", &st.run.valid_acc, ACC),
            ] {
                p.points(
                    Points::new(name, PlotPoints::from(pts.clone()))
                        .color(color)
                        .radius(3.0),
                );
            }
        });
        let lr = Plot::new("lr-plot")
            .width(w)
            .height(PLOT_H)
            .legend(Legend::default())
            .x_axis_label("step")
            .y_axis_formatter(y_ticks);
        fit_y(lr, &all(|r| &r.lr), true).show(ui, |p| {
            for l in past_lines(&st.past, |r| &r.lr) {
                p.line(l);
            }
            p.line(line("learning rate", &st.run.lr, SMOOTH).width(2.0));
        });
    });
}

/// Live statistics of one node, for the inspector: activations over time and their current
/// histogram; per parameter, gradient/weight norms and update ratio over time and the
/// gradient histogram.
pub fn node_live(ui: &mut Ui, st: &TrainState, name: &str, params: &[String]) {
    let Some(h) = st.nodes.get(name) else {
        if st.is_active() {
            ui.label(RichText::new("no statistics yet (every `stats every` steps)").weak());
        }
        return;
    };
    ui.label(RichText::new("Live statistics").strong());
    let s = &h.latest;
    egui::Grid::new("live-act").num_columns(2).show(ui, |ui| {
        for (k, v) in [
            ("activation mean", format!("{:.4}", s.mean)),
            ("activation std", format!("{:.4}", s.std)),
            ("zero fraction", format!("{:.1}%", s.zero_fraction * 100.0)),
            ("min / max", format!("{:.3} / {:.3}", s.min, s.max)),
            ("non-finite", s.non_finite.to_string()),
        ] {
            ui.label(k);
            ui.label(RichText::new(v).monospace());
            ui.end_row();
        }
    });
    let pts = |f: fn(&(u64, f32, f32, f32)) -> f32| -> Vec<[f64; 2]> {
        h.series.iter().map(|e| [e.0 as f64, f(e) as f64]).collect()
    };
    let (mean, std, zero) = (pts(|e| e.1), pts(|e| e.2), pts(|e| e.3));
    let act = Plot::new(("act-plot", name))
        .height(120.0)
        .legend(Legend::default())
        .y_axis_formatter(y_ticks);
    fit_y(act, &[&mean, &std, &zero], true).show(ui, |p| {
        p.line(line("mean", &mean, LOSS));
        p.line(line("std", &std, SMOOTH));
        p.line(line("zero fraction", &zero, ACC));
    });
    histogram(ui, ("act-hist", name), "activations", &s.histogram, LOSS);
    for p in params {
        let Some(ph) = st.params.get(p) else { continue };
        ui.separator();
        let l = &ph.latest;
        ui.label(RichText::new(p).strong());
        egui::Grid::new(("live-param", p))
            .num_columns(2)
            .show(ui, |ui| {
                for (k, v) in [
                    ("grad norm", format!("{:.3e}", l.grad_norm)),
                    ("weight norm", format!("{:.3e}", l.weight_norm)),
                    ("update/weight", format!("{:.3e}", l.update_ratio)),
                ] {
                    ui.label(k);
                    ui.label(RichText::new(v).monospace());
                    ui.end_row();
                }
            });
        // Norms span decades: plot log10.
        let series = |f: fn(&(u64, f64, f64, f64)) -> f64| -> Vec<[f64; 2]> {
            ph.series
                .iter()
                .map(|e| [e.0 as f64, f(e).max(1e-30).log10()])
                .collect()
        };
        let (grad, weight, ratio) = (series(|e| e.1), series(|e| e.2), series(|e| e.3));
        let plot = Plot::new(("param-plot", p))
            .height(110.0)
            .legend(Legend::default())
            .y_axis_label("log scale")
            .y_axis_formatter(log_y_ticks);
        fit_y(plot, &[&grad, &weight, &ratio], false).show(ui, |pl| {
            pl.line(line("grad norm", &grad, LOSS));
            pl.line(line("weight norm", &weight, SMOOTH));
            pl.line(line("update ratio", &ratio, ACC));
        });
        histogram(ui, ("grad-hist", p), "gradient", &l.grad.histogram, SMOOTH);
    }
}

fn histogram(ui: &mut Ui, id: impl egui::AsId, name: &str, h: &Histogram, color: Color32) {
    if h.counts.is_empty() {
        return;
    }
    let width = ((h.hi - h.lo) as f64 / h.counts.len() as f64).max(1e-12);
    let bars: Vec<Bar> = h
        .counts
        .iter()
        .enumerate()
        .map(|(i, &c)| Bar::new(h.lo as f64 + (i as f64 + 0.5) * width, c as f64).width(width))
        .collect();
    Plot::new(id)
        .height(90.0)
        .show_y(false)
        .x_axis_formatter(|m, _| tick_label(m.value, m.step_size))
        .legend(Legend::default())
        .show(ui, |p| {
            p.bar_chart(BarChart::new(format!("{name} histogram"), bars).color(color))
        });
}

/// The last evaluation: loss, accuracy and the confusion matrix (rows: true class).
pub fn confusion_window(ctx: &egui::Context, st: &mut TrainState) {
    if !st.show_confusion {
        return;
    }
    let Some(r) = st.last_eval.clone() else {
        return;
    };
    let mut open = true;
    egui::Window::new("Evaluation")
        .open(&mut open)
        .collapsible(false)
        .show(ctx, |ui| {
            ui.label(format!(
                "validation loss {:.4} on {} samples",
                r.loss, r.samples
            ));
            if let Some(a) = r.accuracy {
                ui.label(format!("accuracy {:.2}%", a * 100.0));
            }
            let Some(conf) = &r.confusion else {
                return;
            };
            ui.label(RichText::new("confusion matrix (rows: true, columns: predicted)").weak());
            let max = conf.iter().flatten().copied().max().unwrap_or(1).max(1) as f32;
            egui::Grid::new("confusion").striped(false).show(ui, |ui| {
                ui.label("");
                for j in 0..conf.len() {
                    ui.label(RichText::new(j.to_string()).strong());
                }
                ui.end_row();
                for (i, row) in conf.iter().enumerate() {
                    ui.label(RichText::new(i.to_string()).strong());
                    for (j, &c) in row.iter().enumerate() {
                        let k = c as f32 / max;
                        let bg = if i == j {
                            Color32::from_rgb(30, (60.0 + 150.0 * k) as u8, 40)
                        } else {
                            Color32::from_rgb((40.0 + 180.0 * k) as u8, 30, 30)
                        };
                        ui.label(
                            RichText::new(c.to_string())
                                .monospace()
                                .background_color(bg),
                        );
                    }
                    ui.end_row();
                }
            });
        });
    if !open {
        st.show_confusion = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_tick_values_are_not_rounded_to_zero() {
        // egui_plot's default: as many decimals as the tick spacing has, so "0" here.
        assert_eq!(egui::emath::format_with_decimals_in_range(1e-3, 0..=0), "0");
        assert_eq!(tick_label(1e-3, 0.5), "1e-3");
        assert_eq!(tick_label(1e-3, 2e-4), "1e-3");
        assert_eq!(tick_label(2.5e-4, 5e-5), "2.5e-4");
        assert_eq!(tick_label(-3e-5, 1e-5), "-3e-5");
        assert_eq!(tick_label(0.0, 2e-4), "0");
        // Larger values stay plain, with the tick spacing's decimals.
        assert_eq!(tick_label(0.25, 0.05), "0.25");
        assert_eq!(tick_label(2.0, 0.5), "2.0");
        assert_eq!(tick_label(300.0, 100.0), "300");
        assert_eq!(tick_label(0.3, 0.1), "0.3");
    }

    #[test]
    fn log_axis_ticks_show_the_value() {
        assert_eq!(log_tick_label(-3.0), "1e-3");
        assert_eq!(log_tick_label(-7.0), "1e-7");
        assert_eq!(log_tick_label(0.0), "1");
        assert_eq!(log_tick_label(1.5), "31.6");
        assert_eq!(log_tick_label(5.0), "1e5");
    }

    #[test]
    fn a_flat_learning_rate_gets_a_y_range_of_its_own_size() {
        // egui_plot alone gives a flat line the x-range's height (±250 for 500 steps).
        let lr: Vec<f64> = vec![1e-3; 500];
        let (lo, hi) = y_range(lr.iter().copied(), true).expect("range");
        assert_eq!(lo, 0.0);
        assert!((1e-3..1e-2).contains(&hi), "{hi}");
        let (lo, hi) = y_range([-3.0, -3.0], false).expect("range");
        assert!(lo < -3.0 && hi > -3.0 && hi - lo < 5.0);
        assert_eq!(y_range([0.0, 0.0], true), Some((-1.0, 1.0)));
        assert_eq!(y_range([f64::NAN], true), None);
        assert_eq!(y_range([0.2, 0.7], true), Some((0.0, 0.7)));
    }
}
