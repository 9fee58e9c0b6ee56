//! The canvas's node drawing: an `egui-snarl` viewer of the document. The snarl holds only
//! names; every gesture on it becomes a [`Command`], never a change to the snarl itself.

use super::{ERROR_RED, SERIOUS_ORANGE, WARN_AMBER, plain};
use crate::command::Command;
use crate::model::Document;
use crate::model::groups::{GroupPins, GroupView};
use crate::model::infer::shape_text;
use crate::session::{Badge, Severity};
use egui::emath::TSTransform;
use egui::{Color32, Pos2, RichText, Stroke, Ui};
use egui_snarl::ui::{AnyPins, PinInfo, SnarlViewer};
use egui_snarl::{InPin, InPinId, NodeId, OutPin, OutPinId, Snarl};
use hyphae::ops::{Arity, Category};
use std::collections::HashMap;

mod menus;

const SHAPE_COLOR: Color32 = Color32::from_rgb(130, 200, 255);
const INPUT_FILL: Color32 = Color32::from_rgb(36, 58, 48);
const LOSS_FILL: Color32 = Color32::from_rgb(60, 44, 30);
const SELECTED: Color32 = Color32::from_rgb(250, 200, 80);
const GROUP_FILL: Color32 = Color32::from_rgb(40, 44, 70);
/// Ops listed at most in the dropped-wire menu (type to narrow).
const WIRE_MENU_OPS: usize = 40;

/// The colour of a badge's severity.
pub fn severity_color(s: Severity) -> Color32 {
    match s {
        Severity::Warning => WARN_AMBER,
        Severity::Serious => SERIOUS_ORANGE,
        Severity::Fatal => ERROR_RED,
    }
}

/// Number of input ports a node shows: its connections, at least the arity's minimum,
/// and one spare for ops taking any number of inputs.
pub fn port_count(arity: Arity, connected: usize) -> usize {
    match arity {
        Arity::Exactly(k) => k.max(connected),
        Arity::AtLeast(k) => k.max(connected + 1),
    }
}

/// Builds the snarl for the document as `view` shows it: every item of `view.names`, so
/// `NodeId(i)` is `view.names[i]` (hidden items are removed by the caller), and the wires
/// as drawn (into and out of collapsed groups).
pub fn build(doc: &Document, view: &GroupView) -> Snarl<String> {
    let mut snarl = Snarl::new();
    for name in &view.names {
        let (x, y) = doc.file.layout.get(name).copied().unwrap_or((0.0, 0.0));
        snarl.insert_node(Pos2::new(x, y), name.clone());
    }
    for w in &view.wires {
        snarl.connect(
            OutPinId {
                node: NodeId(w.src),
                output: w.src_pin,
            },
            InPinId {
                node: NodeId(w.dst),
                input: w.dst_pin,
            },
        );
    }
    snarl
}

/// Reads the document for display and collects commands.
pub struct Viewer<'a> {
    pub doc: &'a Document,
    /// Collapsed groups and where their pins lead.
    pub groups: &'a GroupView,
    /// Training problems per node (dead units, vanishing/exploding gradients, NaN).
    pub badges: &'a HashMap<String, Vec<Badge>>,
    pub commands: Vec<Command>,
    /// Each node's config fields that differ from the op's defaults (computed once per
    /// change of the graph, not per frame).
    pub configs: &'a HashMap<String, String>,
    /// Node rectangles in graph space, for click-to-select.
    pub rects: Vec<(NodeId, egui::Rect)>,
    /// Node colours of the chosen live metric (empty when not tinting).
    pub tints: &'a HashMap<String, Color32>,
    /// Each node's recent values of the chosen metric (empty when not tinting).
    pub sparks: &'a HashMap<String, Vec<f32>>,
    /// Outline colours of the nodes two runs' graph difference names (`run_diff`).
    pub marks: &'a HashMap<String, Color32>,
    /// Wire widths by source node; snarl has no per-wire width, so they set the wire's alpha.
    pub widths: &'a HashMap<String, f32>,
    /// Names the editor has selected (highlighted here; snarl only knows its own).
    pub selected: &'a [String],
    /// The view transform snarl used this frame (graph → screen).
    pub transform: TSTransform,
    /// A transform to impose this frame (fit the graph in view).
    pub set_transform: Option<TSTransform>,
}

impl Viewer<'_> {
    fn group(&self, name: &str) -> Option<&GroupPins> {
        self.groups.pins.get(name)
    }

    /// The node and port behind input pin `pin` of canvas item `name` (a collapsed group's
    /// pin leads to one of its members).
    fn input_target(&self, name: &str, pin: usize) -> (String, usize) {
        match self.group(name) {
            Some(g) => g.inputs.get(pin).cloned().unwrap_or_default(),
            None => (name.to_string(), pin),
        }
    }

    /// The node behind output pin `pin` of canvas item `name`.
    fn output_source(&self, name: &str, pin: usize) -> String {
        match self.group(name) {
            Some(g) => g.outputs.get(pin).cloned().unwrap_or_default(),
            None => name.to_string(),
        }
    }

    /// A group is highlighted when all its members are selected (clicking it selects them).
    fn is_selected(&self, name: &str) -> bool {
        let sel = |n: &str| self.selected.iter().any(|s| s == n);
        match self.group(name) {
            Some(g) => !g.members.is_empty() && g.members.iter().all(|m| sel(m)),
            None => sel(name),
        }
    }
}

impl SnarlViewer<String> for Viewer<'_> {
    fn title(&mut self, node: &String) -> String {
        node.clone()
    }

    fn show_header(
        &mut self,
        node: NodeId,
        _inputs: &[InPin],
        _outputs: &[OutPin],
        ui: &mut Ui,
        snarl: &mut Snarl<String>,
    ) {
        let name = &snarl[node];
        let bad = !self.doc.errors_for(name).is_empty();
        let kind = match (self.doc.node(name), self.group(name)) {
            (Some(n), _) => n.op.kind().to_string(),
            (None, Some(g)) => format!("Group · {} nodes", g.members.len()),
            (None, None) => "Input".to_string(),
        };
        let title = RichText::new(name).strong();
        // Not selectable: dragging a node by its title moves it instead of selecting text.
        ui.add(
            egui::Label::new(if bad { title.color(ERROR_RED) } else { title }).selectable(false),
        );
        ui.add(egui::Label::new(RichText::new(kind).weak()).selectable(false));
    }

    fn node_frame(
        &mut self,
        default: egui::Frame,
        node: NodeId,
        _inputs: &[InPin],
        _outputs: &[OutPin],
        snarl: &Snarl<String>,
    ) -> egui::Frame {
        let name = &snarl[node];
        let mut frame = default;
        if self.group(name).is_some() {
            frame = frame.fill(GROUP_FILL);
        } else if self.doc.is_input(name) {
            frame = frame.fill(INPUT_FILL);
        } else if self
            .doc
            .node(name)
            .is_some_and(|n| n.op.category() == Category::Loss)
        {
            frame = frame.fill(LOSS_FILL);
        }
        if let Some(&t) = self.tints.get(name) {
            frame = frame.fill(super::tint::fill(t));
        }
        let worst = self
            .badges
            .get(name)
            .and_then(|b| b.iter().map(Badge::severity).max());
        let mark = self.marks.get(name);
        if let Some(&m) = mark {
            frame = frame.fill(m.gamma_multiply(0.25));
        }
        // The selection wins: what is highlighted is exactly what Delete acts on.
        if self.is_selected(name) {
            frame = frame.stroke(Stroke::new(3.0, SELECTED));
        } else if let Some(&m) = mark {
            frame = frame.stroke(Stroke::new(3.0, m));
        } else if !self.doc.errors_for(name).is_empty() {
            frame = frame.stroke(Stroke::new(2.0, ERROR_RED));
        } else if let Some(s) = worst {
            frame = frame.stroke(Stroke::new(2.0, severity_color(s)));
        }
        frame
    }

    fn inputs(&mut self, node: &String) -> usize {
        if let Some(g) = self.group(node) {
            return g.inputs.len();
        }
        self.doc
            .node(node)
            .map_or(0, |n| port_count(n.op.layer().arity(), n.inputs.len()))
    }

    fn outputs(&mut self, node: &String) -> usize {
        self.group(node).map_or(1, |g| g.outputs.len())
    }

    fn show_input(
        &mut self,
        pin: &InPin,
        ui: &mut Ui,
        snarl: &mut Snarl<String>,
    ) -> impl egui_snarl::ui::SnarlPin + 'static {
        let item = &snarl[pin.id.node];
        let (name, input) = self.input_target(item, pin.id.input);
        let Some(node) = self.doc.node(&name) else {
            return PinInfo::circle();
        };
        let port = node.op.layer().input_name(input);
        let port_bad = self
            .doc
            .errors_for(&name)
            .iter()
            .any(|e| e.port.as_deref() == Some(port.as_str()));
        let src = node.inputs.get(input).filter(|s| !s.is_empty());
        let shape = src
            .and_then(|s| self.doc.inferred.get(s))
            .and_then(|i| i.sample_shape().map(shape_text));
        let label = if &name == item {
            port
        } else {
            format!("{name}.{port}")
        };
        ui.horizontal(|ui| {
            ui.label(RichText::new(label).small());
            if let Some(shape) = shape {
                ui.label(RichText::new(shape).small().monospace().color(SHAPE_COLOR));
            }
        });
        let fill = if port_bad {
            ERROR_RED
        } else if src.is_some() {
            SHAPE_COLOR
        } else {
            Color32::GRAY
        };
        PinInfo::circle().with_fill(fill)
    }

    fn show_output(
        &mut self,
        pin: &OutPin,
        ui: &mut Ui,
        snarl: &mut Snarl<String>,
    ) -> impl egui_snarl::ui::SnarlPin + 'static {
        let item = &snarl[pin.id.node];
        let name = self.output_source(item, pin.id.output);
        match self.doc.inferred.get(&name).and_then(|i| i.sample_shape()) {
            Some(shape) => {
                let mut text = if shape.is_empty() && !self.doc.is_input(&name) {
                    "scalar".to_string()
                } else {
                    shape_text(shape)
                };
                if &name != item {
                    text = format!("{name} {text}");
                }
                // Output rows lay out right to left: this space lands between the shape's
                // last character and the pin drawn on the node's edge.
                ui.add_space(6.0);
                ui.label(RichText::new(text).monospace().color(SHAPE_COLOR));
                let pin = PinInfo::circle().with_fill(SHAPE_COLOR);
                match self.widths.get(&name) {
                    Some(w) => pin.with_wire_color(SHAPE_COLOR.gamma_multiply(w / 6.0)),
                    None => pin,
                }
            }
            None => {
                ui.label(RichText::new("?").monospace().weak());
                PinInfo::circle().with_fill(Color32::GRAY)
            }
        }
    }

    fn final_node_rect(
        &mut self,
        node: NodeId,
        rect: egui::Rect,
        _ui: &mut Ui,
        _snarl: &mut Snarl<String>,
    ) {
        self.rects.push((node, rect));
    }

    fn current_transform(&mut self, to_global: &mut TSTransform, _snarl: &mut Snarl<String>) {
        if let Some(t) = self.set_transform.take() {
            *to_global = t;
        }
        self.transform = *to_global;
    }

    fn has_body(&mut self, _node: &String) -> bool {
        true
    }

    fn show_body(
        &mut self,
        node: NodeId,
        _inputs: &[InPin],
        _outputs: &[OutPin],
        ui: &mut Ui,
        snarl: &mut Snarl<String>,
    ) {
        let name = &snarl[node];
        if let Some(g) = self.group(name) {
            let mut members = g
                .members
                .iter()
                .take(4)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if g.members.len() > 4 {
                members.push_str(", …");
            }
            ui.vertical(|ui| {
                ui.set_max_width(220.0);
                ui.label(RichText::new(members).small().weak());
                if ui.button("⊞ Expand").clicked() {
                    self.commands.push(Command::ToggleGroup(name.clone()));
                }
            });
            return;
        }
        ui.vertical(|ui| {
            ui.set_max_width(220.0);
            if let Some(input) = self.doc.file.inputs.iter().find(|i| &i.name == name) {
                ui.label(RichText::new(format!("{:?}", input.source)).small().weak());
            } else if let Some(cfg) = self.configs.get(name.as_str()) {
                ui.label(RichText::new(cfg).small().monospace());
            }
            for e in self.doc.errors_for(name) {
                let text = RichText::new(plain(&e.message)).small().color(ERROR_RED);
                ui.add(egui::Label::new(text).wrap());
            }
            for b in self.badges.get(name).into_iter().flatten() {
                let color = severity_color(b.severity());
                ui.label(
                    RichText::new(format!("⚠ {}", b.text()))
                        .small()
                        .strong()
                        .color(color),
                );
            }
            if let Some(v) = self.sparks.get(name).filter(|v| v.len() >= 2) {
                let (rect, _) =
                    ui.allocate_exact_size(egui::vec2(100.0, 18.0), egui::Sense::hover());
                let color = self.tints.get(name).copied().unwrap_or(Color32::LIGHT_GRAY);
                super::tint::sparkline(ui, rect, v, color);
            }
        });
    }

    fn connect(&mut self, from: &OutPin, to: &InPin, snarl: &mut Snarl<String>) {
        let (dst, port) = self.input_target(&snarl[to.id.node], to.id.input);
        self.commands.push(Command::Connect {
            src: self.output_source(&snarl[from.id.node], from.id.output),
            dst,
            port,
        });
    }

    fn disconnect(&mut self, _from: &OutPin, to: &InPin, snarl: &mut Snarl<String>) {
        let (dst, port) = self.input_target(&snarl[to.id.node], to.id.input);
        self.commands.push(Command::Disconnect { dst, port });
    }

    fn drop_inputs(&mut self, pin: &InPin, snarl: &mut Snarl<String>) {
        if !pin.remotes.is_empty() {
            let (dst, port) = self.input_target(&snarl[pin.id.node], pin.id.input);
            self.commands.push(Command::Disconnect { dst, port });
        }
    }

    fn drop_outputs(&mut self, pin: &OutPin, snarl: &mut Snarl<String>) {
        self.commands.push(Command::DisconnectOutputs {
            src: self.output_source(&snarl[pin.id.node], pin.id.output),
        });
    }

    fn has_graph_menu(&mut self, _pos: Pos2, _snarl: &mut Snarl<String>) -> bool {
        true
    }

    fn show_graph_menu(&mut self, pos: Pos2, ui: &mut Ui, _snarl: &mut Snarl<String>) {
        self.graph_menu(pos, ui);
    }

    /// A wire pulled off a connected input and dropped on the canvas disconnects it; any
    /// other dropped wire opens a searchable menu that creates a connected node.
    fn has_dropped_wire_menu(&mut self, src: AnyPins, snarl: &mut Snarl<String>) -> bool {
        if let AnyPins::In(pins) = src {
            let connected: Vec<InPinId> = pins
                .iter()
                .copied()
                .filter(|p| !snarl.in_pin(*p).remotes.is_empty())
                .collect();
            if !connected.is_empty() {
                for p in connected {
                    let (dst, port) = self.input_target(&snarl[p.node], p.input);
                    self.commands.push(Command::Disconnect { dst, port });
                }
                return false;
            }
        }
        true
    }

    fn show_dropped_wire_menu(
        &mut self,
        pos: Pos2,
        ui: &mut Ui,
        src: AnyPins,
        snarl: &mut Snarl<String>,
    ) {
        self.wire_menu(pos, ui, src, snarl);
    }

    fn has_node_menu(&mut self, _node: &String) -> bool {
        true
    }

    fn show_node_menu(
        &mut self,
        node: NodeId,
        _inputs: &[InPin],
        _outputs: &[OutPin],
        ui: &mut Ui,
        snarl: &mut Snarl<String>,
    ) {
        self.node_menu(node, ui, snarl);
    }
}
