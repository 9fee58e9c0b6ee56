//! The Decision boundary window (2-D datasets: xor, spirals, moons), as TensorFlow
//! Playground draws it: the model's class over the plane as a coloured image, the training
//! points on top. While the window is open it asks the trainer for a model snapshot a few
//! times a second; the grid is computed on a background thread with the forward-only
//! model, so neither the frame nor the training step waits for it.

use super::UiState;
use super::data_view::{class_color, point_class};
use crate::app::EditorCore;
use crate::command::{Command, Queue};
use crate::model::background::Background;
use crate::model::data_view::SampleKind;
use egui::{Color32, ColorImage, RichText, Stroke, TextureHandle, TextureOptions, Ui};
use hyphae::train::boundary::{self, BoundaryGrid};
use std::time::{Duration, Instant};

/// Grid side: 64² = 4096 points, one small forward pass.
pub const RES: usize = 64;
/// Time between snapshots while training (a modest rate: the trainer pays a parameter copy).
const REFRESH: Duration = Duration::from_millis(400);
/// No snapshot this long after asking: the model has no class scores to draw.
const NO_ANSWER: Duration = Duration::from_secs(3);
/// Training points drawn at most.
const MAX_POINTS: usize = 3000;

#[derive(Default)]
pub struct BoundaryState {
    job: Option<Background<BoundaryGrid>>,
    pub grid: Option<BoundaryGrid>,
    tex: Option<TextureHandle>,
    asked: Option<Instant>,
    /// When the first unanswered snapshot request went out.
    waiting_since: Option<Instant>,
    pub error: Option<String>,
}

/// Colours of the grid: each cell the probability-weighted mix of the class colours,
/// brighter where the model is sure (as TensorFlow Playground shades it).
pub fn grid_rgba(g: &BoundaryGrid) -> Vec<u8> {
    let bg = Color32::from_gray(30);
    let mut out = Vec::with_capacity(g.res * g.res * 4);
    for row in 0..g.res {
        for col in 0..g.res {
            let p = g.cell(row, col);
            let (mut r, mut gr, mut b) = (0.0, 0.0, 0.0);
            for (k, &q) in p.iter().enumerate() {
                let c = class_color(k);
                r += q * c.r() as f32;
                gr += q * c.g() as f32;
                b += q * c.b() as f32;
            }
            let top = p.iter().copied().fold(0.0f32, f32::max);
            let chance = 1.0 / g.classes.max(1) as f32;
            let sure = ((top - chance) / (1.0 - chance).max(1e-6)).clamp(0.0, 1.0);
            let mix = Color32::from_rgb(r as u8, gr as u8, b as u8);
            let c = bg.lerp_to_gamma(mix, 0.2 + 0.55 * sure);
            out.extend_from_slice(&[c.r(), c.g(), c.b(), 255]);
        }
    }
    out
}

pub fn window(ctx: &egui::Context, core: &EditorCore, st: &mut UiState, q: &mut Queue) {
    if !st.show_boundary {
        return;
    }
    let mut open = true;
    egui::Window::new("Decision boundary")
        .open(&mut open)
        .default_size([430.0, 480.0])
        .show(ctx, |ui| body(ui, core, st, q));
    st.show_boundary &= open;
}

fn body(ui: &mut Ui, core: &EditorCore, st: &mut UiState, q: &mut Queue) {
    let Some(s) = st.panels.ensure(core) else {
        ui.label(if st.panels.loading() {
            "loading the data…"
        } else {
            "no dataset: pick one in the training panel"
        });
        ui.ctx().request_repaint_after(Duration::from_millis(100));
        return;
    };
    if s.kind != SampleKind::Points {
        ui.label("the decision boundary needs a dataset of 2-D points (xor, spirals, moons)");
        return;
    }
    let t = &core.training;
    let b = &mut st.panels.boundary;
    if !t.has_model() {
        ui.label("train the graph or load weights to see its decision over the plane");
        return;
    }
    // Ask for a fresh model while the step moves (and once when none is held).
    let stale = t.classifier.as_ref().is_none_or(|c| c.step != t.step);
    if stale && b.asked.is_none_or(|a| a.elapsed() >= REFRESH) {
        q.push(Command::SnapshotModel);
        b.asked = Some(Instant::now());
        b.waiting_since.get_or_insert_with(Instant::now);
    }
    if t.classifier.is_some() {
        b.waiting_since = None;
    }
    ui.ctx().request_repaint_after(REFRESH);
    let Ok(points) = s.split.train.features.tensor() else {
        return;
    };
    let Some((x, y)) = boundary::data_range(points) else {
        ui.label("no finite points to draw");
        return;
    };
    if let Some(c) = t.classifier.clone()
        && b.grid.as_ref().is_none_or(|g| g.step != c.step)
        && !b.job.as_ref().is_some_and(Background::running)
    {
        b.job = Some(Background::spawn("hyphae-boundary", move || {
            boundary::decision_grid(&c, x, y, RES).map_err(|e| e.to_string())
        }));
    }
    if let Some(r) = b.job.as_mut().and_then(Background::poll) {
        b.job = None;
        match r {
            Ok(g) => {
                let img = ColorImage::from_rgba_unmultiplied([g.res, g.res], &grid_rgba(&g));
                b.tex = Some(
                    ui.ctx()
                        .load_texture("boundary", img, TextureOptions::LINEAR),
                );
                b.grid = Some(g);
                b.error = None;
            }
            Err(e) => b.error = Some(e),
        }
    }
    match (&b.grid, b.waiting_since) {
        (Some(g), _) => ui.label(format!(
            "step {} · {}×{} grid over x {:.2}..{:.2}, y {:.2}..{:.2}",
            g.step, g.res, g.res, g.x.0, g.x.1, g.y.0, g.y.1
        )),
        (None, Some(w)) if w.elapsed() > NO_ANSWER => ui.label(
            "the model gives no class scores (a CrossEntropyLoss on the logits, or one \
             output fitted to 0/1 labels) to draw",
        ),
        _ => ui.label("waiting for the model…"),
    };
    if let Some(e) = &b.error {
        ui.colored_label(super::ERROR_RED, super::plain(e));
    }
    let side = ui.available_width().clamp(200.0, 420.0);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(side, side), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, Color32::from_gray(30));
    if let Some(tex) = &b.tex {
        let uv = egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));
        painter.image(tex.id(), rect, uv, Color32::WHITE);
    }
    let to_screen = |px: f32, py: f32| {
        egui::pos2(
            rect.left() + (px - x.0) / (x.1 - x.0) * rect.width(),
            rect.bottom() - (py - y.0) / (y.1 - y.0) * rect.height(),
        )
    };
    let n = points.dim(0);
    let every = n.div_ceil(MAX_POINTS).max(1);
    for (i, p) in points.data().chunks(2).enumerate().step_by(every) {
        let k = point_class(&s.split.train.labels, i);
        painter.circle(
            to_screen(p[0], p[1]),
            3.0,
            class_color(k),
            Stroke::new(1.0, Color32::from_gray(250)),
        );
    }
    ui.horizontal(|ui| {
        for k in 0..s.class_names.len().max(2) {
            let name = s
                .class_names
                .get(k)
                .cloned()
                .unwrap_or_else(|| k.to_string());
            ui.label(
                RichText::new(format!("class {name}"))
                    .color(class_color(k))
                    .strong(),
            );
        }
    });
}
