//! The whole network at a glance: every node on the canvas tinted by one live metric of
//! the run (gradient norm, update/weight ratio, dead-unit fraction, activation std), with
//! a legend, so the sick layer shows without clicking through each one.

use crate::session::TrainState;
use egui::{Color32, Pos2, Rect, RichText, Stroke, Ui, vec2};
use std::collections::HashMap;

/// What the canvas tints nodes by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TintMetric {
    #[default]
    None,
    GradNorm,
    UpdateRatio,
    DeadFraction,
    ActivationStd,
}

impl TintMetric {
    pub const ALL: [TintMetric; 5] = [
        TintMetric::None,
        TintMetric::GradNorm,
        TintMetric::UpdateRatio,
        TintMetric::DeadFraction,
        TintMetric::ActivationStd,
    ];

    pub fn label(self) -> &'static str {
        match self {
            TintMetric::None => "none",
            TintMetric::GradNorm => "gradient norm",
            TintMetric::UpdateRatio => "update / weight",
            TintMetric::DeadFraction => "dead units",
            TintMetric::ActivationStd => "activation std",
        }
    }

    /// Norms and ratios span decades: a log scale. Fractions are linear.
    fn log(self) -> bool {
        !matches!(self, TintMetric::DeadFraction)
    }
}

/// Each node's tint for `metric`, and the legend's range (`lo`, `hi`, log or not).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tints {
    pub colors: HashMap<String, Color32>,
    pub range: Option<(f64, f64)>,
    /// Each node's recent values of the metric (oldest first), for its sparkline.
    pub sparks: HashMap<String, Vec<f32>>,
    /// Width of the wires leaving each node, from its activation std (`wire_width`).
    pub widths: HashMap<String, f32>,
}

/// How many recent statistics a node's sparkline shows.
pub const SPARK_LEN: usize = 60;

/// Each node's last `SPARK_LEN` values of `metric`, from the histories the session keeps
/// (computed when statistics arrive, not per frame).
pub fn sparks(tr: &TrainState, metric: TintMetric) -> HashMap<String, Vec<f32>> {
    let mut out = HashMap::new();
    let tail = |n: usize| n.saturating_sub(SPARK_LEN);
    match metric {
        TintMetric::None => {}
        TintMetric::DeadFraction | TintMetric::ActivationStd => {
            for (name, h) in &tr.nodes {
                let v = h.series[tail(h.series.len())..]
                    .iter()
                    .map(|s| {
                        if metric == TintMetric::DeadFraction {
                            s.3
                        } else {
                            s.2
                        }
                    })
                    .collect();
                out.insert(name.clone(), v);
            }
        }
        TintMetric::GradNorm | TintMetric::UpdateRatio => {
            for (param, h) in &tr.params {
                let Some((node, kind)) = param.rsplit_once('.') else {
                    continue;
                };
                if kind != "weight" && out.contains_key(node) {
                    continue;
                }
                let v = h.series[tail(h.series.len())..]
                    .iter()
                    .map(|s| if metric == TintMetric::GradNorm { s.1 } else { s.3 } as f32)
                    .collect();
                out.insert(node.to_string(), v);
            }
        }
    }
    out
}

/// A wire's width from its source's activation magnitude (std), on a log scale: 1 px at
/// 1e-3 or less, 6 px at 10 or more, so dying and exploding signals show on the canvas.
pub fn wire_width(magnitude: f64) -> f32 {
    if !magnitude.is_finite() || magnitude <= 0.0 {
        return 1.0;
    }
    let t = ((magnitude.log10() + 3.0) / 4.0).clamp(0.0, 1.0);
    (1.0 + 5.0 * t) as f32
}

/// Draws `values` as a small polyline in `rect` (scaled to their own range).
pub fn sparkline(ui: &Ui, rect: Rect, values: &[f32], color: Color32) {
    let finite: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.len() < 2 {
        return;
    }
    let (lo, hi) = finite
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let span = (hi - lo).max(1e-12);
    let n = (finite.len() - 1) as f32;
    let points = finite
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            Pos2::new(
                rect.left() + rect.width() * i as f32 / n,
                rect.bottom() - rect.height() * (v - lo) / span,
            )
        })
        .collect();
    let painter = ui.painter();
    painter.rect_stroke(
        rect,
        2.0,
        Stroke::new(0.5, Color32::from_gray(90)),
        egui::StrokeKind::Inside,
    );
    painter.add(egui::Shape::line(points, Stroke::new(1.2, color)));
}

/// The metric's value per node: activation statistics by node, parameter statistics by
/// the node's weight (its largest-gradient parameter when it has no `weight`).
pub fn values(tr: &TrainState, metric: TintMetric) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    match metric {
        TintMetric::None => {}
        TintMetric::DeadFraction | TintMetric::ActivationStd => {
            for (name, h) in &tr.nodes {
                let s = &h.latest;
                let v = if metric == TintMetric::DeadFraction {
                    s.zero_fraction
                } else {
                    s.std
                };
                out.insert(name.clone(), v as f64);
            }
        }
        TintMetric::GradNorm | TintMetric::UpdateRatio => {
            for (param, h) in &tr.params {
                let Some((node, kind)) = param.rsplit_once('.') else {
                    continue;
                };
                let v = if metric == TintMetric::GradNorm {
                    h.latest.grad_norm
                } else {
                    h.latest.update_ratio
                };
                // The weight speaks for the node; other parameters only where it has none.
                let e = out.entry(node.to_string()).or_insert(v);
                if kind == "weight" {
                    *e = v;
                }
            }
        }
    }
    out.retain(|_, v| v.is_finite());
    out
}

/// The colours of `values` on one scale (log where the metric spans decades).
pub fn tints(values: &HashMap<String, f64>, metric: TintMetric) -> Tints {
    let log = metric.log();
    // Zeros (a scalar loss's std, an all-dead layer) get the scale's bottom colour without
    // stretching the scale: a 1e-12 floor squashed every real layer into one colour.
    let floor = (values.values().copied())
        .filter(|&v| v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let floor = if floor.is_finite() { floor } else { 1e-12 };
    let key = |v: f64| if log { v.max(floor).log10() } else { v };
    let (lo, hi) = values
        .values()
        .map(|&v| key(v))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return Tints::default();
    }
    let (lo, hi) = if metric == TintMetric::DeadFraction {
        (0.0, 1.0)
    } else {
        (lo, hi)
    };
    let span = (hi - lo).max(1e-9);
    let colors = values
        .iter()
        .map(|(n, &v)| (n.clone(), ramp(((key(v) - lo) / span) as f32)))
        .collect();
    let back = |k: f64| if log { 10f64.powf(k) } else { k };
    Tints {
        colors,
        range: Some((back(lo), back(hi))),
        sparks: HashMap::new(),
        widths: HashMap::new(),
    }
}

/// A perceptual dark-blue → teal → yellow ramp (viridis-like), `t` in 0..=1.
pub fn ramp(t: f32) -> Color32 {
    const STOPS: [(f32, [u8; 3]); 5] = [
        (0.0, [68, 1, 84]),
        (0.25, [59, 82, 139]),
        (0.5, [33, 145, 140]),
        (0.75, [94, 201, 98]),
        (1.0, [253, 231, 37]),
    ];
    let t = t.clamp(0.0, 1.0);
    let i = STOPS
        .windows(2)
        .position(|w| t <= w[1].0)
        .unwrap_or(STOPS.len() - 2);
    let ((t0, a), (t1, b)) = (STOPS[i], STOPS[i + 1]);
    let f = (t - t0) / (t1 - t0).max(1e-6);
    let mix = |x: u8, y: u8| (x as f32 + (y as f32 - x as f32) * f).round() as u8;
    Color32::from_rgb(mix(a[0], b[0]), mix(a[1], b[1]), mix(a[2], b[2]))
}

/// A node's frame fill under a tint: dark enough for its white text to stay readable.
pub fn fill(tint: Color32) -> Color32 {
    // (gamma_multiply scales alpha too, and to_opaque undoes it: darken the channels.)
    let dark = |c: u8| (c as f32 * 0.45).round() as u8;
    Color32::from_rgb(dark(tint.r()), dark(tint.g()), dark(tint.b()))
}

/// The metric picker and, while tinting, the legend: a colour bar from `lo` to `hi`.
pub fn controls(ui: &mut Ui, at: Pos2, metric: &mut TintMetric, tints: &Tints) {
    let area = egui::Area::new(egui::Id::new("canvas-tint"))
        .fixed_pos(at)
        .order(egui::Order::Foreground);
    area.show(ui.ctx(), |ui| {
        egui::Frame::popup(ui.style()).show(ui, |ui| {
            egui::ComboBox::from_label("tint")
                .selected_text(metric.label())
                .show_ui(ui, |ui| {
                    for m in TintMetric::ALL {
                        ui.selectable_value(metric, m, m.label());
                    }
                });
            if *metric == TintMetric::None {
                return;
            }
            let Some((lo, hi)) = tints.range else {
                ui.label(RichText::new("no statistics yet: train to see them").small());
                return;
            };
            let (rect, _) = ui.allocate_exact_size(vec2(160.0, 10.0), egui::Sense::hover());
            bar(ui, rect);
            let scale = if metric.log() { " (log scale)" } else { "" };
            ui.label(
                RichText::new(format!("{} {lo:.2e} … {hi:.2e}{scale}", metric.label())).small(),
            );
        });
    });
}

fn bar(ui: &Ui, rect: Rect) {
    let painter = ui.painter();
    let n = 32;
    let w = rect.width() / n as f32;
    for i in 0..n {
        let r = Rect::from_min_size(
            rect.min + vec2(i as f32 * w, 0.0),
            vec2(w + 0.5, rect.height()),
        );
        painter.rect_filled(r, 0.0, ramp(i as f32 / (n - 1) as f32));
    }
    painter.rect_stroke(
        rect,
        0.0,
        Stroke::new(1.0, Color32::GRAY),
        egui::StrokeKind::Outside,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_scale_spans_the_values_and_ends_at_the_ramp_ends() {
        let values: HashMap<String, f64> = [
            ("a".to_string(), 1e-4),
            ("b".to_string(), 1e-2),
            ("c".to_string(), 1.0),
        ]
        .into();
        let t = tints(&values, TintMetric::GradNorm);
        let (lo, hi) = t.range.unwrap();
        assert!((lo - 1e-4).abs() < 1e-9 && (hi - 1.0).abs() < 1e-9);
        assert_eq!(t.colors["a"], ramp(0.0));
        assert_eq!(t.colors["b"], ramp(0.5));
        assert_eq!(t.colors["c"], ramp(1.0));
        // Dead fractions are on a fixed 0..1 scale.
        let dead: HashMap<String, f64> = [("r".to_string(), 0.5)].into();
        assert_eq!(
            tints(&dead, TintMetric::DeadFraction).colors["r"],
            ramp(0.5)
        );
        assert!(tints(&HashMap::new(), TintMetric::GradNorm).range.is_none());
        // A zero (the loss's std) does not stretch the log scale down to 1e-12.
        let stds: HashMap<String, f64> = [
            ("loss".to_string(), 0.0),
            ("fc1".to_string(), 0.1),
            ("fc2".to_string(), 10.0),
        ]
        .into();
        let t = tints(&stds, TintMetric::ActivationStd);
        let (lo, _) = t.range.unwrap();
        assert!((lo - 0.1).abs() < 1e-9, "{lo}");
        assert_eq!(t.colors["loss"], ramp(0.0));
        assert_eq!(t.colors["fc1"], ramp(0.0));
        assert_eq!(t.colors["fc2"], ramp(1.0));
    }

    /// The brightest tint (yellow) as a node fill stays dark enough for white text.
    #[test]
    fn fills_are_dark() {
        let f = fill(ramp(1.0));
        assert!(f.r() < 120 && f.g() < 120 && f.b() < 120, "{f:?}");
        assert_eq!(f.a(), 255);
    }
}
