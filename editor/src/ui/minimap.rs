//! The minimap: the whole graph in a corner of the canvas, with the visible part framed.
//! Click or drag in it to move the view there.

use super::canvas_view::CanvasView;
use crate::app::EditorCore;
use egui::{Color32, Rect, Sense, Stroke, Ui};

const SIZE: egui::Vec2 = egui::vec2(200.0, 130.0);
/// Graphs this small fit on screen anyway: no minimap.
const MIN_NODES: usize = 12;
/// The map's shortest side, so that a long chain's strip can still be clicked.
const MIN_SIDE: f32 = 24.0;

pub fn show(ui: &mut Ui, view: &mut CanvasView, core: &EditorCore) {
    let rects = view.graph_rects(core);
    if rects.len() < MIN_NODES {
        return;
    }
    let bb = rects
        .iter()
        .fold(Rect::NOTHING, |bb, (_, r)| bb.union(*r))
        .expand(40.0);
    if !bb.is_finite() {
        return;
    }
    // The map takes the graph's proportions (a long chain is a strip, not a dot in a box).
    let scale = (SIZE.x / bb.width()).min(SIZE.y / bb.height());
    let size = (bb.size() * scale).max(egui::vec2(MIN_SIDE, MIN_SIDE));
    let area = Rect::from_min_size(
        view.rect.right_bottom() - size - egui::vec2(12.0, 12.0),
        size,
    );
    let origin = area.min + (area.size() - bb.size() * scale) / 2.0;
    let to_map = |p: egui::Pos2| origin + (p - bb.min) * scale;
    let r = ui.interact(area, ui.id().with("minimap"), Sense::click_and_drag());
    let painter = ui.painter_at(area);
    painter.rect_filled(area, 4.0, Color32::from_black_alpha(170));
    for (name, nr) in &rects {
        let color = if core.selection.contains(name) {
            Color32::from_rgb(250, 200, 80)
        } else if core.doc.is_input(name) {
            Color32::from_rgb(90, 160, 120)
        } else {
            Color32::from_gray(150)
        };
        // At least a pixel: nodes of a long graph are thinner than that on the map.
        let r = Rect::from_min_max(to_map(nr.min), to_map(nr.max));
        let r = Rect::from_center_size(r.center(), r.size().max(egui::vec2(1.0, 1.0)));
        painter.rect_filled(r, 0.0, color);
    }
    let visible = Rect::from_min_max(
        view.screen_to_graph(view.rect.min),
        view.screen_to_graph(view.rect.max),
    );
    painter.rect_stroke(
        Rect::from_min_max(to_map(visible.min), to_map(visible.max)),
        0.0,
        Stroke::new(1.5, Color32::WHITE),
        egui::StrokeKind::Inside,
    );
    if (r.clicked() || r.dragged())
        && let Some(p) = r.interact_pointer_pos()
    {
        view.center_on(bb.min + (p - origin) / scale);
    }
}
