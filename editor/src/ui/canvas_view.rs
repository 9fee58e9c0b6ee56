//! The canvas view: keeps the snarl in step with the document, fits and moves the view,
//! and turns clicks, drags and drops into commands.
//!
//! Selection has one owner, the editor's `Selection`. Snarl keeps its own (rectangle and
//! Shift+click) by node index in egui memory; it is adopted when the user changes it, and
//! thrown away (a fresh snarl id) whenever it could disagree: after a rebuild, whose
//! indices mean other nodes, or when the editor's selection no longer contains it.

use super::canvas::{Viewer, build};
use super::canvas_far::{self, Scene};
use super::tint::{self, TintMetric, Tints};
use crate::app::EditorCore;
use crate::command::{Command, Queue};
use crate::model::groups::GroupView;
use crate::model::layout;
use crate::model::reflect;
use crate::session::Badge;
use crate::session::badges::badges;
use egui::emath::TSTransform;
use egui::{Id, Pos2, Rect, Ui};
use egui_snarl::ui::{SnarlStyle, SnarlWidget};
use egui_snarl::{NodeId, Snarl};
use hyphae::graph::{GroupDecl, InputDecl, NodeDecl};
use hyphae::ops::Op;
use std::collections::HashMap;

mod marks;
mod navigation;

const CANVAS_ID: &str = "hyphae-canvas";
const GROUP_FRAME: egui::Color32 = egui::Color32::from_rgb(150, 160, 230);
/// Zoom limits: far enough out for a 500-node chain, close enough to read a port.
const MIN_SCALE: f32 = 0.004;
const MAX_SCALE: f32 = 2.5;
/// Fit-to-view never magnifies a small graph past this (text stays its normal size).
const FIT_MAX_SCALE: f32 = 1.0;
/// The smallest zoom a graph opens at: node titles and ports stay legible. A graph too
/// big to fit at it opens at its start (its inputs) instead of as an unreadable whole;
/// Fit (F) still shows all of it.
const OPEN_MIN_SCALE: f32 = 0.8;

pub struct CanvasView {
    /// The nodes in view and their neighbours (see [`canvas_far`]); `NodeId(i)` is
    /// `names[i]` whether or not it is held.
    snarl: Snarl<String>,
    /// Every item in snarl order (`NodeId(i)` ↔ `names[i]`): inputs, nodes, groups.
    names: Vec<String>,
    /// Which items collapsed groups hide, and the wires as drawn.
    groups: GroupView,
    /// `names` inverted.
    index: HashMap<String, usize>,
    /// Which names the snarl holds now (empty: to be chosen).
    shown: Vec<bool>,
    /// The structure (without layout) the snarl was built from.
    built: Option<(Vec<InputDecl>, Vec<NodeDecl>, Vec<GroupDecl>)>,
    generation: Option<u64>,
    /// Part of snarl's id: a new value gives snarl fresh memory (no stale selection).
    epoch: u64,
    /// Graph → screen, as drawn last frame.
    transform: TSTransform,
    /// A transform to impose on the next frame.
    set_transform: Option<TSTransform>,
    /// The canvas area on screen.
    pub rect: Rect,
    /// Zoom and pan to show the whole graph on the next frame.
    pub fit_view: bool,
    /// Zoom and pan for a newly opened graph on the next frame: the whole graph where it
    /// fits legibly, else its start.
    open_view: bool,
    /// Node rectangles in graph space: as drawn last, moved with the layout since;
    /// estimated for nodes never drawn.
    rects: HashMap<String, Rect>,
    /// Snarl's own selection last frame, by name.
    snarl_selection: Vec<String>,
    /// Node configs as shown on the canvas, for the snarl's build.
    configs: HashMap<String, String>,
    /// Badges computed for this statistics version.
    badges: (u64, HashMap<String, Vec<Badge>>),
    /// The live metric nodes are tinted by (a view setting, not part of the graph).
    pub tint: TintMetric,
    /// Tints computed for this statistics version and metric.
    tints: (u64, TintMetric, Tints),
}

impl Default for CanvasView {
    fn default() -> Self {
        CanvasView {
            snarl: Snarl::new(),
            names: Vec::new(),
            groups: GroupView::default(),
            index: HashMap::new(),
            shown: Vec::new(),
            built: None,
            generation: None,
            epoch: 0,
            transform: TSTransform::IDENTITY,
            set_transform: None,
            rect: Rect::from_min_size(Pos2::ZERO, egui::vec2(800.0, 600.0)),
            fit_view: false,
            open_view: true,
            rects: HashMap::new(),
            snarl_selection: Vec::new(),
            configs: HashMap::new(),
            badges: (u64::MAX, HashMap::new()),
            tint: TintMetric::None,
            tints: (u64::MAX, TintMetric::None, Tints::default()),
        }
    }
}

impl CanvasView {
    /// A new document: rebuild, forget snarl's memory, fit the view.
    pub fn reset(&mut self) {
        self.built = None;
        self.generation = None;
        self.epoch += 1;
        self.rects.clear();
        self.snarl_selection.clear();
        self.open_view = true;
    }

    /// Each node's tint under the chosen live metric (empty when not tinting).
    pub fn tint_colors(&self) -> &HashMap<String, egui::Color32> {
        &self.tints.2.colors
    }

    /// Each node's sparkline values of the chosen metric.
    pub fn tint_sparks(&self) -> &HashMap<String, Vec<f32>> {
        &self.tints.2.sparks
    }

    /// Rebuilds the snarl when the graph's structure changed; positions alone are copied.
    fn sync(&mut self, core: &EditorCore) {
        let doc = &core.doc;
        if self.generation == Some(doc.generation) {
            return;
        }
        self.generation = Some(doc.generation);
        let structure = (
            doc.file.inputs.clone(),
            doc.file.nodes.clone(),
            doc.file.groups.clone(),
        );
        if self.built.as_ref() == Some(&structure) {
            let ids: Vec<_> = self.snarl.node_ids().map(|(id, _)| id).collect();
            for id in ids {
                if let Some(info) = self.snarl.get_node_info_mut(id)
                    && let Some(&(x, y)) = doc.file.layout.get(&info.value)
                {
                    info.pos = egui::pos2(x, y);
                }
            }
            self.follow_layout(core);
            return;
        }
        self.groups = GroupView::of(&doc.file);
        self.snarl = build(doc, &self.groups);
        self.names = self.groups.names.clone();
        self.index = (self.names.iter().cloned()).zip(0..).collect();
        self.shown.clear();
        self.configs = doc
            .file
            .nodes
            .iter()
            .filter_map(|n| reflect::short_config(&n.op).map(|c| (n.name.clone(), c)))
            .collect();
        self.built = Some(structure);
        // Snarl's selection is by index: after a rebuild it would name other nodes.
        self.epoch += 1;
        self.snarl_selection.clear();
        let groups = &self.groups;
        self.rects
            .retain(|n, _| doc.exists(n) || groups.is_group(n));
        self.follow_layout(core);
    }

    /// Keeps every node's rectangle at its layout position (nodes snarl does not hold
    /// move without being drawn), with its drawn size or an estimate.
    fn follow_layout(&mut self, core: &EditorCore) {
        let doc = &core.doc;
        for name in &self.names {
            let Some(&(x, y)) = doc.file.layout.get(name) else {
                continue;
            };
            let size = self.rects.get(name).map_or_else(
                || {
                    let ports = match self.groups.pins.get(name) {
                        Some(g) => g.inputs.len().max(g.outputs.len()),
                        None => doc.node(name).map_or(1, |n| n.inputs.len()),
                    };
                    let (w, h) = layout::size_for_ports(ports);
                    egui::vec2(w, h)
                },
                Rect::size,
            );
            self.rects
                .insert(name.clone(), Rect::from_min_size(egui::pos2(x, y), size));
        }
    }

    fn scene<'a>(&'a self, core: &'a EditorCore, transform: TSTransform) -> Scene<'a> {
        Scene {
            doc: &core.doc,
            groups: &self.groups,
            names: &self.names,
            rects: &self.rects,
            transform,
            view: self.rect,
        }
    }

    /// Hands snarl the nodes this view needs. Node ids stay those of the whole graph, so
    /// snarl's per-node memory (sizes, selection, drag) survives nodes coming and going.
    fn cull(&mut self, core: &EditorCore, transform: TSTransform) {
        let want = canvas_far::wanted(&self.scene(core, transform));
        if want == self.shown {
            return;
        }
        let mut snarl = build(&core.doc, &self.groups);
        for (i, _) in want.iter().enumerate().filter(|(_, keep)| !**keep) {
            snarl.remove_node(NodeId(i));
        }
        self.snarl = snarl;
        self.shown = want;
    }

    /// Positions the user dragged, as one move command; dragging one of several selected
    /// nodes moves them all.
    fn moves(&self, core: &EditorCore) -> Vec<(String, (f32, f32))> {
        let layout = &core.doc.file.layout;
        let mut moved: Vec<(String, (f32, f32), egui::Vec2)> = Vec::new();
        for (id, pos, _) in self.snarl.nodes_pos_ids() {
            if let Some(name) = self.names.get(id.0) {
                let old = layout.get(name).copied().unwrap_or((pos.x, pos.y));
                let d = egui::vec2(pos.x - old.0, pos.y - old.1);
                if d.length() > 0.01 {
                    moved.push((name.clone(), (pos.x, pos.y), d));
                }
            }
        }
        if let [(name, _, d)] = moved.as_slice()
            && let Some(g) = self.groups.pins.get(name)
        {
            // A collapsed group carries its members along.
            let (x, y) = layout.get(name).copied().unwrap_or_default();
            let mut all = vec![(name.clone(), (x + d.x, y + d.y))];
            all.extend(
                g.members
                    .iter()
                    .filter_map(|n| layout.get(n).map(|&(x, y)| (n.clone(), (x + d.x, y + d.y)))),
            );
            return all;
        }
        if let [(name, _, d)] = moved.as_slice()
            && core.selection.contains(name)
        {
            // Snarl moved only the dragged node (it did not know the selection).
            return core
                .selection
                .names()
                .iter()
                .filter_map(|n| layout.get(n).map(|&(x, y)| (n.clone(), (x + d.x, y + d.y))))
                .collect();
        }
        moved.into_iter().map(|(n, p, _)| (n, p)).collect()
    }

    pub fn show(&mut self, ui: &mut Ui, core: &EditorCore, q: &mut Queue) {
        // Snarl's selection must never show more than the editor's.
        if !self
            .snarl_selection
            .iter()
            .all(|n| core.selection.contains(n))
        {
            self.epoch += 1;
            self.snarl_selection.clear();
            self.set_transform.get_or_insert(self.transform);
        }
        let epoch = self.epoch;
        self.sync(core);
        if self.epoch != epoch {
            self.set_transform.get_or_insert(self.transform);
        }
        self.rect = ui.max_rect();
        if std::mem::take(&mut self.fit_view)
            && let Some(t) = self.fitted(core, MIN_SCALE)
        {
            self.set_transform = Some(t);
            self.open_view = false;
        }
        if std::mem::take(&mut self.open_view)
            && let Some(t) = self.fitted(core, OPEN_MIN_SCALE)
        {
            self.set_transform = Some(t);
        }
        self.cull(core, self.set_transform.unwrap_or(self.transform));
        let id = Id::new(CANVAS_ID).with(self.epoch);
        let style = SnarlStyle {
            collapsible: Some(false),
            node_layout: Some(egui_snarl::ui::NodeLayout::sandwich()),
            crisp_magnified_text: Some(false),
            min_scale: Some(MIN_SCALE),
            max_scale: Some(MAX_SCALE),
            // The editor draws the selection itself (one highlight, one truth).
            select_style: Some(egui_snarl::ui::SelectionStyle {
                margin: egui::Margin::ZERO,
                rounding: egui::CornerRadius::ZERO,
                fill: egui::Color32::TRANSPARENT,
                stroke: egui::Stroke::NONE,
            }),
            ..SnarlStyle::new()
        };
        let tr = &core.training;
        // Badges describe the run in progress: gone after Stop, a new run or an edit.
        if tr.is_live() && self.badges.0 != tr.stats_version {
            let doc = &core.doc;
            let b = badges(tr, |n| doc.node(n).is_some_and(|d| d.op.kind() == "ReLU"));
            self.badges = (tr.stats_version, b);
        }
        if (self.tints.0, self.tints.1) != (tr.stats_version, self.tint) {
            let mut t = tint::tints(&tint::values(tr, self.tint), self.tint);
            t.sparks = tint::sparks(tr, self.tint);
            if self.tint != TintMetric::None {
                let std = tint::values(tr, TintMetric::ActivationStd);
                t.widths = std
                    .into_iter()
                    .map(|(n, v)| (n, tint::wire_width(v)))
                    .collect();
            }
            self.tints = (tr.stats_version, self.tint, t);
        }
        let empty = HashMap::new();
        let shown = if tr.is_live() { &self.badges.1 } else { &empty };
        let marks = super::run_diff::marks(core);
        let mut viewer = Viewer {
            marks: &marks,
            badges: shown,
            doc: &core.doc,
            groups: &self.groups,
            commands: Vec::new(),
            configs: &self.configs,
            tints: &self.tints.2.colors,
            sparks: &self.tints.2.sparks,
            widths: &self.tints.2.widths,
            rects: Vec::new(),
            selected: core.selection.names(),
            transform: self.transform,
            set_transform: self.set_transform.take(),
        };
        let response =
            SnarlWidget::new()
                .id(id)
                .style(style)
                .show(&mut self.snarl, &mut viewer, ui);
        self.transform = viewer.transform;
        let commands = std::mem::take(&mut viewer.commands);
        for (id, r) in std::mem::take(&mut viewer.rects) {
            if let Some(n) = self.names.get(id.0) {
                self.rects.insert(n.clone(), r);
            }
        }
        let selected = viewer.selected;
        canvas_far::draw(
            &ui.painter_at(self.rect),
            &self.scene(core, self.transform),
            &self.shown,
            selected,
            shown,
            &self.tints.2.colors,
            &self.tints.2.widths,
        );
        super::run_diff::draw_far(
            &ui.painter_at(self.rect),
            &self.scene(core, self.transform),
            &marks,
        );
        if canvas_far::wanted(&self.scene(core, self.transform)) != self.shown {
            // The view moved to nodes snarl does not hold yet: draw them next frame.
            ui.ctx().request_repaint();
        }
        self.group_frames(ui, q);
        self.click_select(ui, q);
        if let Some(op) = response.dnd_release_payload::<Op>() {
            let p = ui
                .ctx()
                .pointer_interact_pos()
                .map(|p| self.screen_to_graph(p))
                .unwrap_or_default();
            q.push(Command::AddNode {
                op: Box::new((*op).clone()),
                pos: Some((p.x, p.y)),
                wire: None,
            });
        }
        let moves = self.moves(core);
        if !moves.is_empty() {
            q.push(Command::Move(moves));
        }
        for c in commands {
            q.push(c);
        }
        let sel: Vec<String> = egui_snarl::ui::get_selected_nodes(id, ui.ctx())
            .into_iter()
            .filter_map(|n| self.names.get(n.0).cloned())
            .collect();
        if sel != self.snarl_selection {
            if !sel.is_empty() {
                q.push(Command::Select(sel.clone()));
            }
            self.snarl_selection = sel;
        }
        super::minimap::show(ui, self, core);
        if !core.doc.file.nodes.is_empty() {
            let at = self.rect.right_top() + egui::vec2(-250.0, 8.0);
            tint::controls(ui, at, &mut self.tint, &self.tints.2);
        }
        self.legend(ui, core);
        let at = self.rect.left_bottom() + egui::vec2(10.0, -10.0);
        super::run_diff::legend(ui, at, core, q);
    }

    /// A plain click on a node selects it alone; on the background, selects nothing.
    fn click_select(&self, ui: &Ui, q: &mut Queue) {
        let click = ui.ctx().input(|i| {
            (i.pointer.primary_clicked() && i.modifiers.is_none())
                .then(|| i.pointer.interact_pos())
                .flatten()
        });
        let Some(p) = click else { return };
        if !self.rect.contains(p) || egui::Popup::is_any_open(ui.ctx()) {
            return;
        }
        // Clicks on floating windows (find, dialogs, the Data and Runs windows: egui puts
        // windows in the Middle order) are not canvas clicks; the canvas and snarl's
        // layer are Background.
        if ui
            .ctx()
            .layer_id_at(p)
            .is_some_and(|l| l.order != egui::Order::Background)
        {
            return;
        }
        let g = self.screen_to_graph(p);
        let shown = |n: &str| self.index.get(n).is_some_and(|&i| !self.groups.hidden[i]);
        let hit = self
            .rects
            .iter()
            .find(|(n, r)| r.contains(g) && shown(n))
            .map(|(n, _)| n.clone());
        q.push(match hit {
            // A collapsed group stands for its members: Delete, Copy, Ungroup act on them.
            Some(n) => match self.groups.pins.get(&n) {
                Some(group) => Command::Select(group.members.clone()),
                None => Command::Select(vec![n]),
            },
            None => Command::ClearSelection,
        });
    }
}
