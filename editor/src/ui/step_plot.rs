//! A recurrent node's norms per time step, for the inspector: the hidden state's and the
//! gradient's (the total one backpropagation through time brings to each step), so a
//! gradient vanishing back through the sequence shows at a glance.

use super::plots::{LOSS, SMOOTH, log_tick_label, still_plot, y_range};
use crate::session::state::NodeHistory;
use egui::{RichText, Ui};
use egui_plot::{GridMark, Line, PlotPoints};
use std::ops::RangeInclusive;

/// Norms at or below this plot at it (log axis).
const FLOOR: f64 = 1e-30;

/// Points `[t, log10 v]`, t from 1.
fn log_points(values: &[f32]) -> Vec<[f64; 2]> {
    values
        .iter()
        .enumerate()
        .map(|(t, &v)| [(t + 1) as f64, (v as f64).max(FLOOR).log10()])
        .collect()
}

/// How much of the last step's gradient reaches the first step, as text.
pub fn reach_text(grad_norm: &[f32]) -> String {
    match (grad_norm.first(), grad_norm.last()) {
        (Some(&first), Some(&last)) if last > 0.0 => format!("{:.2e}", first / last),
        _ => "—".into(),
    }
}

/// The section; nothing for a node without per-step norms (not recurrent, or no
/// statistics step has run its backward yet).
pub fn show(ui: &mut Ui, h: &NodeHistory, name: &str) {
    let Some(p) = &h.latest.per_step else {
        return;
    };
    ui.separator();
    let steps = p.grad_norm.len();
    ui.label(
        RichText::new(format!(
            "Per time step: {steps} steps (statistics of step {})",
            h.latest_step
        ))
        .strong(),
    );
    ui.horizontal(|ui| {
        ui.label("gradient t=1 / t=T");
        ui.label(RichText::new(reach_text(&p.grad_norm)).monospace());
    });
    let (hidden, grad) = (log_points(&p.hidden_norm), log_points(&p.grad_norm));
    let range = y_range(hidden.iter().chain(&grad).map(|q| q[1]), false);
    still_plot(("per-step-plot", name), 120.0)
        .x_axis_label("time step t")
        .y_axis_label("log scale")
        .y_axis_formatter(|m: GridMark, _: &RangeInclusive<f64>| log_tick_label(m.value))
        .show(ui, |pl| {
            let line = |label: &str, pts: &[[f64; 2]]| {
                Line::new(label.to_string(), PlotPoints::from(pts.to_vec()))
            };
            pl.line(line("hidden-state norm", &hidden).color(LOSS));
            pl.line(line("gradient norm", &grad).color(SMOOTH));
            pl.set_plot_bounds_x(0.5..=steps as f64 + 0.5);
            if let Some((lo, hi)) = range {
                let pad = (hi - lo) * 0.05;
                pl.set_plot_bounds_y(lo - pad..=hi + pad);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reach_is_first_over_last() {
        assert_eq!(reach_text(&[1e-3, 0.1, 1.0]), "1.00e-3");
        assert_eq!(reach_text(&[]), "—");
        assert_eq!(reach_text(&[0.0, 0.0]), "—");
        assert_eq!(log_points(&[10.0, 0.0])[1], [2.0, -30.0]);
    }
}
