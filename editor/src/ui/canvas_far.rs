//! What the canvas draws without the node widgets: the wires that snarl cannot draw because
//! an end of them is culled (off screen), and, zoomed far out, every node as a plain box.
//!
//! Snarl lays out every node it holds each frame (a dozen widgets a node, on screen or
//! not), which made a 500-node graph cost ~25 ms a frame. So the snarl holds only the nodes
//! in view and their neighbours ([`wanted`]); everything else is painted here as shapes,
//! which the tessellator culls for free when off screen.

use super::canvas::severity_color;
use super::{ERROR_RED, plain};
use crate::model::Document;
use crate::model::groups::GroupView;
use crate::session::Badge;
use egui::emath::TSTransform;
use egui::epaint::CubicBezierShape;
use egui::{Align2, Color32, FontId, Painter, Pos2, Rect, Stroke, vec2};
use std::collections::HashMap;

/// Below this zoom node text is unreadable (~6 px): nodes are drawn as boxes, without
/// widgets, and snarl holds none.
pub const FAR_SCALE: f32 = 0.45;
/// Nodes this far outside the view (screen points) are still handed to snarl, so a pan
/// does not show them popping in.
const MARGIN: f32 = 80.0;

const WIRE: Color32 = Color32::from_rgb(130, 200, 255);
const BOX: Color32 = Color32::from_gray(60);
const INPUT_BOX: Color32 = Color32::from_rgb(36, 58, 48);
const LOSS_BOX: Color32 = Color32::from_rgb(60, 44, 30);
const SELECTED: Color32 = Color32::from_rgb(250, 200, 80);

/// The canvas as this module sees it: items in snarl order, graph-space rectangles.
pub struct Scene<'a> {
    pub doc: &'a Document,
    /// The canvas's items (nodes, inputs, groups) and the wires between them.
    pub groups: &'a GroupView,
    pub names: &'a [String],
    pub rects: &'a HashMap<String, Rect>,
    /// Graph → screen.
    pub transform: TSTransform,
    /// The canvas area on screen.
    pub view: Rect,
}

impl Scene<'_> {
    /// Item `i`'s rectangle in graph space (`None` inside a collapsed group).
    pub fn rect(&self, i: usize) -> Option<Rect> {
        if self.groups.hidden.get(i).copied().unwrap_or(true) {
            return None;
        }
        self.rects.get(&self.names[i]).copied()
    }

    /// `(src, dst, port)` of every drawn wire, by item index.
    fn wires(&self) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        (self.groups.wires.iter()).map(|w| (w.src, w.dst, w.dst_pin))
    }
}

/// Which nodes snarl should hold for this view (by name index): those whose rectangle
/// comes within `MARGIN` of the view, and their neighbours, so every wire of a node on
/// screen has both ends in snarl. None at all when zoomed out past [`FAR_SCALE`].
pub fn wanted(s: &Scene<'_>) -> Vec<bool> {
    let mut want = vec![false; s.names.len()];
    if is_far(s.transform) {
        return want;
    }
    let inv = s.transform.inverse();
    let area =
        Rect::from_min_max(inv * s.view.min, inv * s.view.max).expand(MARGIN / s.transform.scaling);
    let hidden = |i: usize| s.groups.hidden.get(i).copied().unwrap_or(true);
    let seen: Vec<bool> = (0..s.names.len())
        .map(|i| !hidden(i) && s.rects.get(&s.names[i]).is_none_or(|r| r.intersects(area)))
        .collect();
    for (i, &v) in seen.iter().enumerate() {
        want[i] |= v;
    }
    for (src, dst, _) in s.wires() {
        if seen[src] || seen[dst] {
            want[src] = true;
            want[dst] = true;
        }
    }
    want
}

/// Whether the view is zoomed out past [`FAR_SCALE`]: boxes instead of node widgets.
pub fn is_far(t: TSTransform) -> bool {
    t.scaling < FAR_SCALE
}

/// Paints the wires snarl does not draw (an end not in `shown`) and, zoomed out past
/// [`FAR_SCALE`], every node as a box with its name.
pub fn draw(
    painter: &Painter,
    s: &Scene<'_>,
    shown: &[bool],
    selected: &[String],
    badges: &HashMap<String, Vec<Badge>>,
    tints: &HashMap<String, Color32>,
    widths: &HashMap<String, f32>,
) {
    let t = s.transform;
    let width = (2.0 * t.scaling).clamp(0.6, 2.0);
    for (src, dst, port) in s.wires() {
        if shown[src] && shown[dst] {
            continue;
        }
        let (Some(a), Some(b)) = (s.rect(src), s.rect(dst)) else {
            continue;
        };
        let from = t * out_pin(a);
        let to = t * in_pin(b, port);
        if !Rect::from_two_pos(from, to).intersects(s.view) {
            continue;
        }
        let bend = ((to.x - from.x).abs() * 0.5).max(30.0 * t.scaling);
        let points = [from, from + vec2(bend, 0.0), to - vec2(bend, 0.0), to];
        painter.add(CubicBezierShape::from_points_stroke(
            points,
            false,
            Color32::TRANSPARENT,
            Stroke::new(
                s.names
                    .get(src)
                    .and_then(|n| widths.get(n))
                    .map_or(width, |w| w * t.scaling.clamp(0.3, 1.0)),
                WIRE.gamma_multiply(0.8),
            ),
        ));
    }
    if !is_far(t) {
        return;
    }
    for (i, name) in s.names.iter().enumerate() {
        let Some(r) = s.rect(i).map(|r| Rect::from_min_max(t * r.min, t * r.max)) else {
            continue;
        };
        if !r.intersects(s.view) {
            continue;
        }
        let color = tints
            .get(name)
            .map_or_else(|| fill(s.doc, name), |&c| super::tint::fill(c));
        painter.rect_filled(r, 3.0 * t.scaling, color);
        let worst = badges
            .get(name)
            .and_then(|b| b.iter().map(Badge::severity).max());
        let stroke = if selected.iter().any(|n| n == name) {
            Some(Stroke::new(2.0, SELECTED))
        } else if !s.doc.errors_for(name).is_empty() {
            Some(Stroke::new(1.5, ERROR_RED))
        } else {
            worst.map(|w| Stroke::new(1.5, severity_color(w)))
        };
        if let Some(stroke) = stroke {
            painter.rect_stroke(r, 3.0 * t.scaling, stroke, egui::StrokeKind::Outside);
        }
        // Titles only where a few letters fit; clipped to the box.
        let size = (14.0 * t.scaling).max(7.0);
        if r.width() > 4.0 * size {
            painter.with_clip_rect(r.intersect(s.view)).text(
                r.left_top() + vec2(3.0, 2.0),
                Align2::LEFT_TOP,
                plain(name),
                FontId::proportional(size),
                Color32::from_gray(220),
            );
        }
    }
}

fn fill(doc: &Document, name: &str) -> Color32 {
    if doc.is_input(name) {
        INPUT_BOX
    } else if doc
        .node(name)
        .is_some_and(|n| n.op.category() == hyphae::ops::Category::Loss)
    {
        LOSS_BOX
    } else {
        BOX
    }
}

/// Where snarl's output pin sits on a node (right edge, near the bottom), roughly: the
/// wires drawn here end off screen or at a boxed node, where a few points do not show.
fn out_pin(r: Rect) -> Pos2 {
    Pos2::new(r.right(), r.bottom() - 16.0)
}

/// Where snarl's input pin `port` sits (left edge, one row per port under the header).
fn in_pin(r: Rect, port: usize) -> Pos2 {
    Pos2::new(
        r.left(),
        (r.top() + 48.0 + 22.0 * port as f32).min(r.bottom()),
    )
}
