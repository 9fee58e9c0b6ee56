//! Plots: the run's curves and a node's live statistics (for the inspector). Plots never
//! take the mouse wheel from the panel they sit in.

use super::fork_marks::{self, Axis};
use crate::session::{RunHistory, TrainState};
use egui::{Color32, RichText, Ui};
use egui_plot::{Bar, BarChart, GridMark, Legend, Line, Plot, PlotPoints, Points};
use hyphae::ecs::Histogram;
use std::ops::RangeInclusive;

pub const PAST: Color32 = Color32::from_gray(110);
pub const LOSS: Color32 = Color32::from_rgb(120, 170, 255);
pub const SMOOTH: Color32 = Color32::from_rgb(255, 190, 70);
/// Curves of a graph's training phases (a GAN's discriminator and generator).
const PHASE_COLORS: [Color32; 3] = [
    Color32::from_rgb(230, 110, 200),
    Color32::from_rgb(110, 220, 160),
    Color32::from_rgb(240, 140, 90),
];
pub const ACC: Color32 = Color32::from_rgb(120, 220, 140);
const PLOT_H: f32 = 170.0;

/// Most points a line hands egui_plot: a few per pixel of a plot's width. A long run's
/// 30k loss points cost a training frame milliseconds to copy and tessellate for no
/// visible difference.
const LINE_POINTS: usize = 1024;

fn line<'a>(name: &str, pts: &[[f64; 2]], color: Color32) -> Line<'a> {
    Line::new(
        name.to_string(),
        PlotPoints::from(decimated(pts, LINE_POINTS)),
    )
    .color(color)
}

/// At most `max` points of `pts` (in x order): each of `max / 2` equal runs of points
/// keeps its lowest and highest, in order, so spikes still show (as TensorBoard and
/// oscilloscopes draw long series).
pub fn decimated(pts: &[[f64; 2]], max: usize) -> Vec<[f64; 2]> {
    let buckets = (max / 2).max(1);
    if pts.len() <= max.max(2) {
        return pts.to_vec();
    }
    let mut out = Vec::with_capacity(2 * buckets);
    for b in 0..buckets {
        let run = &pts[b * pts.len() / buckets..(b + 1) * pts.len() / buckets];
        let lowest = (0..run.len()).min_by(|&i, &j| run[i][1].total_cmp(&run[j][1]));
        let highest = (0..run.len()).max_by(|&i, &j| run[i][1].total_cmp(&run[j][1]));
        if let (Some(lo), Some(hi)) = (lowest, highest) {
            out.push(run[lo.min(hi)]);
            if lo != hi {
                out.push(run[lo.max(hi)]);
            }
        }
    }
    out
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

/// A plot that leaves the mouse wheel and drags to the panel around it (scrolling the
/// panel used to pan the plot away).
pub fn still_plot<'a>(id: impl egui::AsId, height: f32) -> Plot<'a> {
    Plot::new(id)
        .height(height)
        .legend(Legend::default())
        .allow_scroll(false)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
}

/// Sets the plot's bounds to `series` (the current run's): earlier runs drawn in grey
/// never rescale it.
fn bounds(p: &mut egui_plot::PlotUi<'_>, series: &[&[[f64; 2]]], include_zero: bool, x0: f64) {
    let x_max = series
        .iter()
        .flat_map(|s| s.iter().map(|q| q[0]))
        .fold(x0 + 1.0, f64::max);
    p.set_plot_bounds_x(x0..=x_max);
    if let Some((lo, hi)) = y_range(
        series.iter().flat_map(|s| s.iter().map(|q| q[1])),
        include_zero,
    ) {
        let pad = (hi - lo) * 0.05;
        p.set_plot_bounds_y(lo - pad..=hi + pad);
    }
}

pub fn plots(ui: &mut Ui, st: &TrainState) {
    let w = ((ui.available_width() - 30.0) / 4.0).max(140.0);
    let run = &st.run;
    ui.horizontal(|ui| {
        still_plot("loss-plot", PLOT_H)
            .width(w)
            .x_axis_label("step")
            .y_axis_formatter(y_ticks)
            .show(ui, |p| {
                for l in past_lines(&st.past, |r| &r.smoothed) {
                    p.line(l);
                }
                p.line(line("loss", &run.loss, LOSS).width(1.0));
                p.line(line("smoothed", &run.smoothed, SMOOTH).width(2.0));
                // A graph with training phases: one curve per phase (a GAN's D and G).
                for (k, (name, pts)) in run.phase_loss.iter().enumerate() {
                    let color = PHASE_COLORS[k % PHASE_COLORS.len()];
                    p.line(line(&format!("loss {name}"), pts, color).width(1.5));
                }
                fork_marks::draw(p, &run.forks, Axis::Step);
                let mut all: Vec<&[[f64; 2]]> = vec![&run.loss];
                all.extend(run.phase_loss.iter().map(|(_, pts)| pts.as_slice()));
                bounds(p, &all, true, 0.0);
            });
        let epochs = |p: &mut egui_plot::PlotUi<'_>, name: &str, pts: &[[f64; 2]], color| {
            p.line(line(name, pts, color).width(2.0));
            // One point per epoch: markers, or the first epoch's value is invisible.
            p.points(
                Points::new(name.to_string(), PlotPoints::from(pts.to_vec()))
                    .color(color)
                    .radius(3.0),
            );
        };
        still_plot("valid-plot", PLOT_H)
            .width(w)
            .x_axis_label("epoch")
            .y_axis_formatter(y_ticks)
            .show(ui, |p| {
                for l in past_lines(&st.past, |r| &r.valid_loss) {
                    p.line(l);
                }
                epochs(p, "valid loss", &run.valid_loss, LOSS);
                fork_marks::draw(p, &run.forks, Axis::Epoch);
                bounds(p, &[&run.valid_loss], true, 0.0);
            });
        // Accuracy on its own 0–100% axis: next to a large loss it went flat.
        still_plot("acc-plot", PLOT_H)
            .width(w)
            .x_axis_label("epoch")
            .y_axis_formatter(y_ticks)
            .show(ui, |p| {
                for l in past_lines(&st.past, |r| &r.valid_acc) {
                    p.line(l);
                }
                epochs(p, "valid accuracy", &run.valid_acc, ACC);
                fork_marks::draw(p, &run.forks, Axis::Epoch);
                bounds(p, &[&[[0.0, 0.0], [0.0, 1.0]], &run.valid_acc], true, 0.0);
            });
        still_plot("lr-plot", PLOT_H)
            .width(w)
            .x_axis_label("step")
            .y_axis_formatter(y_ticks)
            .show(ui, |p| {
                for l in past_lines(&st.past, |r| &r.lr) {
                    p.line(l);
                }
                p.line(line("learning rate", &run.lr, SMOOTH).width(2.0));
                fork_marks::draw(p, &run.forks, Axis::Step);
                bounds(p, &[&run.lr], true, 0.0);
            });
    });
}

/// Live statistics of one node, for the inspector: activations over time and their current
/// histogram; per parameter, gradient/weight norms and update ratio over time and the
/// gradient histogram.
pub fn node_live(ui: &mut Ui, st: &TrainState, name: &str, params: &[String]) {
    let Some(h) = st.nodes.get(name) else {
        if st.is_live() {
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
    let x0 = mean.first().map_or(0.0, |p| p[0]);
    still_plot(("act-plot", name), 120.0)
        .y_axis_formatter(y_ticks)
        .show(ui, |p| {
            p.line(line("mean", &mean, LOSS));
            p.line(line("std", &std, SMOOTH));
            p.line(line("zero fraction", &zero, ACC));
            bounds(p, &[&mean, &std, &zero], true, x0);
        });
    histogram(ui, ("act-hist", name), "activations", &s.histogram, LOSS);
    super::step_plot::show(ui, h, name);
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
        let x0 = grad.first().map_or(0.0, |p| p[0]);
        still_plot(("param-plot", p), 110.0)
            .y_axis_label("log scale")
            .y_axis_formatter(log_y_ticks)
            .show(ui, |pl| {
                pl.line(line("grad norm", &grad, LOSS));
                pl.line(line("weight norm", &weight, SMOOTH));
                pl.line(line("update ratio", &ratio, ACC));
                bounds(pl, &[&grad, &weight, &ratio], false, x0);
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
    still_plot(id, 90.0)
        .show_y(false)
        .x_axis_formatter(|m, _| tick_label(m.value, m.step_size))
        .show(ui, |p| {
            p.bar_chart(BarChart::new(format!("{name} histogram"), bars).color(color))
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_decimated_keeping_their_spikes() {
        let mut pts: Vec<[f64; 2]> = (0..30_000).map(|i| [i as f64, 1.0]).collect();
        pts[12_345][1] = 50.0;
        pts[20_000][1] = -3.0;
        let d = decimated(&pts, 1024);
        assert!(d.len() <= 1024, "{} points", d.len());
        assert!(d.windows(2).all(|w| w[0][0] < w[1][0]), "x order kept");
        assert!(d.contains(&[12_345.0, 50.0]) && d.contains(&[20_000.0, -3.0]));
        assert_eq!(d[0], [0.0, 1.0]);
        let short = &pts[..500];
        assert_eq!(decimated(short, 1024), short);
    }

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
