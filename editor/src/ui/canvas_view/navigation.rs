//! Where the canvas looks: graph ↔ screen, fit-to-view from the nodes' real sizes,
//! reveal, pan/zoom and centring.

use super::{CanvasView, FIT_MAX_SCALE, MIN_SCALE};
use crate::app::EditorCore;
use crate::model::layout::{self, Size};
use egui::emath::TSTransform;
use egui::{Pos2, Rect};

impl CanvasView {
    pub fn graph_to_screen(&self, p: Pos2) -> Pos2 {
        self.transform * p
    }

    pub fn screen_to_graph(&self, p: Pos2) -> Pos2 {
        self.transform.inverse() * p
    }

    /// The middle of the view, in graph space.
    pub fn view_center(&self) -> (f32, f32) {
        let c = self.screen_to_graph(self.rect.center());
        (c.x, c.y)
    }

    /// A node's rectangle in graph space, as drawn last frame.
    pub fn node_rect(&self, name: &str) -> Option<Rect> {
        self.rects.get(name).copied()
    }

    /// A node's size as drawn last frame.
    pub fn node_size(&self, name: &str) -> Option<Size> {
        self.rects.get(name).map(|r| (r.width(), r.height()))
    }

    /// Centres the view on a node (zooming in to a legible scale if needed).
    pub fn reveal(&mut self, name: &str) {
        let Some(r) = self.rects.get(name).copied() else {
            return;
        };
        let scale = self.transform.scaling.max(0.8);
        let t = self.rect.center().to_vec2() - r.center().to_vec2() * scale;
        self.set_transform = Some(TSTransform::new(t, scale));
    }

    /// Moves the view by `delta` screen points and zooms by `zoom` around its middle
    /// (the measure command's pan/zoom phase).
    pub fn pan_zoom(&mut self, delta: egui::Vec2, zoom: f32) {
        let c = self.rect.center().to_vec2();
        let t = TSTransform::from_translation(c + delta)
            * TSTransform::from_scaling(zoom)
            * TSTransform::from_translation(-c)
            * self.transform;
        self.set_transform = Some(t);
    }

    /// Pans so that graph point `p` is in the middle of the view (minimap clicks).
    pub fn center_on(&mut self, p: Pos2) {
        let scale = self.transform.scaling;
        let t = self.rect.center().to_vec2() - p.to_vec2() * scale;
        self.set_transform = Some(TSTransform::new(t, scale));
    }

    /// Every node's rectangle in graph space: as drawn, or estimated before the first
    /// frame.
    pub fn graph_rects(&self, core: &EditorCore) -> Vec<(String, Rect)> {
        let f = &core.doc.file;
        (self.names.iter().zip(&self.groups.hidden))
            .filter(|(_, hidden)| !**hidden)
            .filter_map(|(n, _)| {
                let r = self.rects.get(n).copied().or_else(|| {
                    let &(x, y) = f.layout.get(n)?;
                    let (w, h) = layout::estimated_size(f, n);
                    Some(Rect::from_min_size(egui::pos2(x, y), egui::vec2(w, h)))
                })?;
                Some((n.clone(), r))
            })
            .collect()
    }

    /// The view that shows the whole graph, from the nodes' real sizes; with
    /// `min_scale`, never smaller than that, showing the graph's start (left, and top
    /// when it is also too tall) where the whole does not fit.
    pub(super) fn fitted(&self, core: &EditorCore, min_scale: f32) -> Option<TSTransform> {
        let bb = self
            .graph_rects(core)
            .into_iter()
            .fold(Rect::NOTHING, |bb, (_, r)| bb.union(r));
        if !bb.is_finite() || bb.width() <= 0.0 {
            return None;
        }
        let bb = bb.expand(30.0);
        let r = self.rect;
        let fit = (r.width() / bb.width()).min(r.height() / bb.height());
        let scale = fit.max(min_scale).clamp(MIN_SCALE, FIT_MAX_SCALE);
        let mut translation = r.center().to_vec2() - bb.center().to_vec2() * scale;
        if bb.width() * scale > r.width() {
            translation.x = r.left() - bb.left() * scale;
        }
        if bb.height() * scale > r.height() {
            translation.y = r.top() - bb.top() * scale;
        }
        Some(TSTransform::new(translation, scale))
    }
}
