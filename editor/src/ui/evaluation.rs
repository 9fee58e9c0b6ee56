//! The Evaluation window: loss and accuracy, a confusion matrix with class names whose
//! cells list their samples (pictures or rows, with the predicted probabilities),
//! per-class precision/recall/F1, and ROC and PR curves for two classes. Opens when a new
//! evaluation arrives.

use super::UiState;
use super::data_view::{DataPanels, class_color, image_grid, sample_table, textures};
use super::plots::still_plot;
use crate::app::EditorCore;
use crate::model::data_view::{SampleKind, Samples, label_text};
use egui::{Align2, Color32, FontId, RichText, Sense, Ui, WidgetInfo, WidgetType};
use egui_plot::{Line, PlotPoints};
use hyphae::train::eval_report::{self, Predictions};

/// Samples listed for one confusion cell.
const CELL_SAMPLES: usize = 40;

pub fn window(ctx: &egui::Context, core: &EditorCore, st: &mut UiState) {
    let t = &core.training;
    if t.evaluations != st.seen_evaluations {
        st.seen_evaluations = t.evaluations;
        st.show_evaluation = true;
        st.panels.cell = None;
    }
    if !st.show_evaluation {
        return;
    }
    let Some(r) = t.last_eval.clone() else {
        return;
    };
    let mut open = true;
    egui::Window::new("Evaluation")
        .open(&mut open)
        .default_size([640.0, 700.0])
        .vscroll(true)
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
            // Class names and the samples behind the cells come from the data view's copy
            // of the same split (loaded in the background on first need).
            let summary = st.panels.ensure(core);
            let names: Vec<String> = (0..conf.len())
                .map(|k| {
                    summary
                        .as_ref()
                        .and_then(|s| s.class_names.get(k).cloned())
                        .unwrap_or_else(|| k.to_string())
                })
                .collect();
            ui.label(RichText::new("confusion matrix (rows: true, columns: predicted)").weak());
            confusion(ui, conf, &names, &mut st.panels.cell);
            if let Some(p) = &t.last_predictions
                && let Some(cell) = st.panels.cell
            {
                // The predictions index the run's validation split: another dataset or
                // seed now would list the wrong samples.
                if t.data_key.is_some() && t.data_key.as_ref() != st.panels.key() {
                    ui.colored_label(
                        super::WARN_AMBER,
                        "the dataset or seed changed since this run: evaluate again to list samples",
                    );
                } else {
                    cell_samples(ui, p, cell, &names, &mut st.panels);
                }
            }
            ui.separator();
            metrics_table(ui, conf, &names);
            if let Some(p) = &t.last_predictions {
                curves(ui, p);
            }
            if summary.is_some_and(|s| s.kind == SampleKind::Points)
                && ui.button("Decision boundary").clicked()
            {
                st.show_boundary = true;
            }
        });
    st.show_evaluation &= open;
}

/// Cell colour: the share of its row (its true class), green on the diagonal and red off
/// it, so a small class's errors show as strongly as a big one's.
pub fn cell_colors(count: u64, row_total: u64, diagonal: bool) -> (Color32, Color32) {
    let k = if row_total == 0 {
        0.0
    } else {
        count as f32 / row_total as f32
    };
    let base = Color32::from_gray(40);
    let hue = if diagonal {
        Color32::from_rgb(70, 200, 110)
    } else {
        Color32::from_rgb(240, 90, 70)
    };
    let bg = base.lerp_to_gamma(hue, k.sqrt().min(1.0));
    // Text contrast: dark text on a bright cell.
    let lum = 0.299 * bg.r() as f32 + 0.587 * bg.g() as f32 + 0.114 * bg.b() as f32;
    let fg = if lum > 140.0 {
        Color32::BLACK
    } else {
        Color32::WHITE
    };
    (bg, fg)
}

fn short(name: &str) -> String {
    let mut s: String = name.chars().take(9).collect();
    if name.chars().count() > 9 {
        s.push('…');
    }
    s
}

fn confusion(ui: &mut Ui, conf: &[Vec<u64>], names: &[String], sel: &mut Option<(usize, usize)>) {
    let size = egui::vec2(if conf.len() > 12 { 34.0 } else { 54.0 }, 24.0);
    egui::Grid::new("confusion")
        .spacing([2.0, 2.0])
        .show(ui, |ui| {
            ui.label(RichText::new("true \\ predicted").small().weak());
            for n in names {
                // Centred over its column of cells.
                let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
                ui.painter().text(
                    rect.center_bottom(),
                    Align2::CENTER_BOTTOM,
                    short(n),
                    FontId::proportional(13.0),
                    ui.visuals().strong_text_color(),
                );
            }
            ui.end_row();
            for (t, row) in conf.iter().enumerate() {
                ui.label(RichText::new(short(&names[t])).strong());
                let total: u64 = row.iter().sum();
                for (p, &c) in row.iter().enumerate() {
                    let (rect, resp) = ui.allocate_exact_size(size, Sense::click());
                    let label = format!("true {}, predicted {}: {c}", names[t], names[p]);
                    resp.widget_info(|| WidgetInfo::labeled(WidgetType::Button, true, &label));
                    let (bg, fg) = cell_colors(c, total, t == p);
                    let painter = ui.painter();
                    painter.rect_filled(rect, 3.0, bg);
                    if *sel == Some((t, p)) || resp.hovered() {
                        painter.rect_stroke(
                            rect,
                            3.0,
                            egui::Stroke::new(2.0, Color32::WHITE),
                            egui::StrokeKind::Inside,
                        );
                    }
                    painter.text(
                        rect.center(),
                        Align2::CENTER_CENTER,
                        c.to_string(),
                        FontId::monospace(13.0),
                        fg,
                    );
                    let share = if total == 0 {
                        0.0
                    } else {
                        c as f64 / total as f64
                    };
                    let resp = resp.on_hover_text(format!(
                        "{c} samples of {} predicted as {} ({:.1}% of {}); click to list them",
                        names[t],
                        names[p],
                        share * 100.0,
                        names[t]
                    ));
                    if resp.clicked() {
                        *sel = Some((t, p));
                    }
                }
                ui.end_row();
            }
        });
}

fn cell_samples(
    ui: &mut Ui,
    preds: &Predictions,
    (t, p): (usize, usize),
    names: &[String],
    panels: &mut DataPanels,
) {
    let idx = preds.cell(t, p);
    let shown = &idx[..idx.len().min(CELL_SAMPLES)];
    let more = if idx.len() > shown.len() {
        format!(" (the first {})", shown.len())
    } else {
        String::new()
    };
    let (tn, pn) = (&names[t], &names[p]);
    ui.label(
        RichText::new(format!(
            "{} samples of true {tn} predicted as {pn}{more}",
            idx.len()
        ))
        .strong(),
    );
    if preds.dropped > 0 {
        ui.label(
            RichText::new(format!(
                "{} samples beyond the kept predictions are not listed",
                preds.dropped
            ))
            .weak(),
        );
    }
    let prob_text = |i: usize| {
        let q = preds.probs_of(i);
        format!(
            "P({}) {:.2}",
            short(pn),
            q.get(p).copied().unwrap_or(f32::NAN)
        )
    };
    let Some(s) = panels.summary.clone() else {
        ui.label("loading the samples…");
        return;
    };
    let valid = &s.split.valid;
    if let SampleKind::Image { .. } = s.kind {
        if panels.cell_tex.as_ref().map(|(c, _)| *c) != Some((t, p)) {
            let tex = valid
                .features
                .take(shown, None)
                .map(|f| {
                    let samples = Samples {
                        features: f,
                        labels: Vec::new(),
                    };
                    textures(ui.ctx(), "cell", &samples)
                })
                .unwrap_or_default();
            panels.cell_tex = Some(((t, p), tex));
        }
        if let Some((_, tex)) = &panels.cell_tex {
            let caps: Vec<String> = shown
                .iter()
                .map(|&i| format!("#{i} {}", prob_text(i)))
                .collect();
            image_grid(ui, tex, &caps);
        }
        return;
    }
    let Ok(x) = valid.features.tensor() else {
        return;
    };
    let f = x.numel() / x.dim(0).max(1);
    let rows: Vec<(usize, Vec<f32>, Vec<String>)> = shown
        .iter()
        .map(|&i| {
            let v = x.data().get(i * f..(i + 1) * f).unwrap_or(&[]).to_vec();
            let probs: Vec<String> = preds
                .probs_of(i)
                .iter()
                .map(|q| format!("{q:.2}"))
                .collect();
            let truth = label_text(&valid.labels, i, &s.class_names);
            (i, v, vec![truth, probs.join(" / ")])
        })
        .collect();
    sample_table(
        ui,
        "cell-rows",
        &rows,
        &s.feature_names,
        &["true", "probabilities"],
    );
}

fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1}%", v * 100.0)
    } else {
        "–".into()
    }
}

fn metrics_table(ui: &mut Ui, conf: &[Vec<u64>], names: &[String]) {
    let m = eval_report::class_metrics(conf);
    ui.label(RichText::new("per class (– : undefined, no samples predicted or present)").weak());
    egui::Grid::new("class-metrics")
        .striped(true)
        .show(ui, |ui| {
            for h in ["class", "precision", "recall", "F1", "support"] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for (k, c) in m.iter().enumerate() {
                ui.colored_label(class_color(k), &names[k]);
                ui.monospace(pct(c.precision));
                ui.monospace(pct(c.recall));
                ui.monospace(pct(c.f1));
                ui.monospace(c.support.to_string());
                ui.end_row();
            }
            ui.label(RichText::new("macro average").italics());
            ui.monospace(pct(eval_report::macro_mean(m.iter().map(|c| c.precision))));
            ui.monospace(pct(eval_report::macro_mean(m.iter().map(|c| c.recall))));
            ui.monospace(pct(eval_report::macro_mean(m.iter().map(|c| c.f1))));
            ui.monospace(m.iter().map(|c| c.support).sum::<u64>().to_string());
            ui.end_row();
        });
}

/// ROC and PR curves of class 1's probability (binary tasks).
fn curves(ui: &mut Ui, p: &Predictions) {
    let Some((s, y)) = p.binary_scores() else {
        return;
    };
    let roc = eval_report::roc_curve(&s, &y);
    let pr = eval_report::pr_curve(&s, &y);
    if roc.is_empty() || pr.is_empty() {
        return;
    }
    let auc = eval_report::trapezoid_area(&roc);
    let ap = eval_report::average_precision(&pr);
    ui.separator();
    ui.columns(2, |cols| {
        cols[0].label(RichText::new(format!("ROC (class 1 positive) · AUC {auc:.3}")).strong());
        still_plot("roc", 200.0)
            .data_aspect(1.0)
            .include_x(0.0)
            .include_x(1.0)
            .include_y(0.0)
            .include_y(1.0)
            .x_axis_label("false positive rate")
            .y_axis_label("true positive rate")
            .show(&mut cols[0], |pl| {
                pl.line(
                    Line::new("chance", PlotPoints::from(vec![[0.0, 0.0], [1.0, 1.0]]))
                        .color(Color32::GRAY),
                );
                pl.line(
                    Line::new("ROC", PlotPoints::from(roc))
                        .color(class_color(1))
                        .width(2.0),
                );
            });
        cols[1].label(RichText::new(format!("precision-recall · AP {ap:.3}")).strong());
        still_plot("pr", 200.0)
            .data_aspect(1.0)
            .include_x(0.0)
            .include_x(1.0)
            .include_y(0.0)
            .include_y(1.0)
            .x_axis_label("recall")
            .y_axis_label("precision")
            .show(&mut cols[1], |pl| {
                pl.line(
                    Line::new("PR", PlotPoints::from(pr))
                        .color(class_color(0))
                        .width(2.0),
                );
            });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_text_contrasts_with_its_shade() {
        let (bg, fg) = cell_colors(0, 10, true);
        assert_eq!((bg, fg), (Color32::from_gray(40), Color32::WHITE));
        let (bg, fg) = cell_colors(10, 10, true);
        assert_eq!(fg, Color32::BLACK, "bright green {bg:?} takes dark text");
        assert_ne!(cell_colors(3, 10, false).0, cell_colors(3, 10, true).0);
        assert_eq!(cell_colors(0, 0, false).1, Color32::WHITE);
    }
}
