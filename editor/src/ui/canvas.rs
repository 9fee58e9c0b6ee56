//! The canvas's node drawing: an `egui-snarl` viewer of the document. The snarl holds only
//! names; every gesture on it becomes a [`Command`], never a change to the snarl itself.

use super::{ERROR_RED, SERIOUS_ORANGE, WARN_AMBER, plain};
use crate::command::{Command, WireEnd};
use crate::model::Document;
use crate::model::infer::shape_text;
use crate::model::palette::ops_by_category;
use crate::session::{Badge, Severity};
use egui::emath::TSTransform;
use egui::{Color32, Pos2, RichText, Stroke, Ui};
use egui_snarl::ui::{AnyPins, PinInfo, SnarlViewer};
use egui_snarl::{InPin, InPinId, NodeId, OutPin, OutPinId, Snarl};
use hyphae::ops::{Arity, Category, Op};
use std::collections::HashMap;

const SHAPE_COLOR: Color32 = Color32::from_rgb(130, 200, 255);
const INPUT_FILL: Color32 = Color32::from_rgb(36, 58, 48);
const LOSS_FILL: Color32 = Color32::from_rgb(60, 44, 30);
const SELECTED: Color32 = Color32::from_rgb(250, 200, 80);
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

/// Builds the snarl for the document: inputs then nodes, in file order, so `NodeId(i)` is
/// the i-th name of `names`.
pub fn build(doc: &Document) -> Snarl<String> {
    let mut snarl = Snarl::new();
    let mut ids = std::collections::HashMap::new();
    for name in doc.names() {
        let (x, y) = doc.file.layout.get(&name).copied().unwrap_or((0.0, 0.0));
        let id = snarl.insert_node(Pos2::new(x, y), name.clone());
        ids.insert(name, id);
    }
    for node in &doc.file.nodes {
        let Some(&dst) = ids.get(&node.name) else {
            continue;
        };
        for (port, src) in node.inputs.iter().enumerate() {
            if let Some(&src) = ids.get(src) {
                snarl.connect(
                    OutPinId {
                        node: src,
                        output: 0,
                    },
                    InPinId {
                        node: dst,
                        input: port,
                    },
                );
            }
        }
    }
    snarl
}

/// Reads the document for display and collects commands.
pub struct Viewer<'a> {
    pub doc: &'a Document,
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
    /// Names the editor has selected (highlighted here; snarl only knows its own).
    pub selected: &'a [String],
    /// The view transform snarl used this frame (graph → screen).
    pub transform: TSTransform,
    /// A transform to impose this frame (fit the graph in view).
    pub set_transform: Option<TSTransform>,
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
        let kind = match self.doc.node(name) {
            Some(n) => n.op.kind().to_string(),
            None => "Input".to_string(),
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
        if self.doc.is_input(name) {
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
        // The selection wins: what is highlighted is exactly what Delete acts on.
        if self.selected.iter().any(|s| s == name) {
            frame = frame.stroke(Stroke::new(3.0, SELECTED));
        } else if !self.doc.errors_for(name).is_empty() {
            frame = frame.stroke(Stroke::new(2.0, ERROR_RED));
        } else if let Some(s) = worst {
            frame = frame.stroke(Stroke::new(2.0, severity_color(s)));
        }
        frame
    }

    fn inputs(&mut self, node: &String) -> usize {
        self.doc
            .node(node)
            .map_or(0, |n| port_count(n.op.layer().arity(), n.inputs.len()))
    }

    fn outputs(&mut self, _node: &String) -> usize {
        1
    }

    fn show_input(
        &mut self,
        pin: &InPin,
        ui: &mut Ui,
        snarl: &mut Snarl<String>,
    ) -> impl egui_snarl::ui::SnarlPin + 'static {
        let name = &snarl[pin.id.node];
        let Some(node) = self.doc.node(name) else {
            return PinInfo::circle();
        };
        let port = node.op.layer().input_name(pin.id.input);
        let port_bad = self
            .doc
            .errors_for(name)
            .iter()
            .any(|e| e.port.as_deref() == Some(port.as_str()));
        let src = node.inputs.get(pin.id.input).filter(|s| !s.is_empty());
        let shape = src
            .and_then(|s| self.doc.inferred.get(s))
            .and_then(|i| i.sample_shape().map(shape_text));
        ui.horizontal(|ui| {
            ui.label(RichText::new(&port).small());
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
        let name = &snarl[pin.id.node];
        match self.doc.inferred.get(name).and_then(|i| i.sample_shape()) {
            Some(shape) => {
                let text = if shape.is_empty() && !self.doc.is_input(name) {
                    "scalar".to_string()
                } else {
                    shape_text(shape)
                };
                // Output rows lay out right to left: this space lands between the shape's
                // last character and the pin drawn on the node's edge.
                ui.add_space(6.0);
                ui.label(RichText::new(text).monospace().color(SHAPE_COLOR));
                PinInfo::circle().with_fill(SHAPE_COLOR)
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
        });
    }

    fn connect(&mut self, from: &OutPin, to: &InPin, snarl: &mut Snarl<String>) {
        self.commands.push(Command::Connect {
            src: snarl[from.id.node].clone(),
            dst: snarl[to.id.node].clone(),
            port: to.id.input,
        });
    }

    fn disconnect(&mut self, _from: &OutPin, to: &InPin, snarl: &mut Snarl<String>) {
        self.commands.push(Command::Disconnect {
            dst: snarl[to.id.node].clone(),
            port: to.id.input,
        });
    }

    fn drop_inputs(&mut self, pin: &InPin, snarl: &mut Snarl<String>) {
        if !pin.remotes.is_empty() {
            self.commands.push(Command::Disconnect {
                dst: snarl[pin.id.node].clone(),
                port: pin.id.input,
            });
        }
    }

    fn drop_outputs(&mut self, pin: &OutPin, snarl: &mut Snarl<String>) {
        self.commands.push(Command::DisconnectOutputs {
            src: snarl[pin.id.node].clone(),
        });
    }

    fn has_graph_menu(&mut self, _pos: Pos2, _snarl: &mut Snarl<String>) -> bool {
        true
    }

    fn show_graph_menu(&mut self, pos: Pos2, ui: &mut Ui, _snarl: &mut Snarl<String>) {
        ui.label("Add node");
        if ui.button("Data input").clicked() {
            self.commands.push(Command::AddInput {
                pos: Some((pos.x, pos.y)),
            });
            ui.close();
        }
        for (cat, ops) in ops_by_category("") {
            ui.menu_button(cat.label(), |ui| {
                for op in ops {
                    if ui.button(op.kind()).clicked() {
                        self.commands.push(Command::AddNode {
                            op: Box::new(op),
                            pos: Some((pos.x, pos.y)),
                            wire: None,
                        });
                        ui.close();
                    }
                }
            });
        }
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
                    self.commands.push(Command::Disconnect {
                        dst: snarl[p.node].clone(),
                        port: p.input,
                    });
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
        let wire = match src {
            AnyPins::Out(pins) => pins
                .first()
                .map(|p| WireEnd::FromOutput(snarl[p.node].clone())),
            AnyPins::In(pins) => pins.first().map(|p| WireEnd::ToInput {
                node: snarl[p.node].clone(),
                port: p.input,
            }),
        };
        let id = egui::Id::new("wire-menu-search");
        let mut search: String = ui.data(|d| d.get_temp(id)).unwrap_or_default();
        ui.label("Add a connected node");
        let r = ui.add(
            egui::TextEdit::singleline(&mut search)
                .hint_text("search ops…")
                .id(id.with("field")),
        );
        if !r.has_focus() && search.is_empty() {
            r.request_focus();
        }
        egui::ScrollArea::vertical()
            .max_height(300.0)
            .show(ui, |ui| {
                let ops: Vec<Op> = ops_by_category(&search)
                    .into_iter()
                    .flat_map(|(_, ops)| ops)
                    .take(WIRE_MENU_OPS)
                    .collect();
                for op in ops {
                    if ui.button(op.kind()).clicked() {
                        self.commands.push(Command::AddNode {
                            op: Box::new(op),
                            pos: Some((pos.x, pos.y)),
                            wire: wire.clone(),
                        });
                        search.clear();
                        ui.close();
                    }
                }
            });
        ui.data_mut(|d| d.insert_temp(id, search));
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
        let name = snarl[node].clone();
        if ui.button("Duplicate").clicked() {
            self.commands.push(Command::Select(vec![name.clone()]));
            self.commands.push(Command::Duplicate);
            ui.close();
        }
        if ui.button("Delete").clicked() {
            self.commands.push(Command::Select(vec![name]));
            self.commands.push(Command::Delete);
            ui.close();
        }
    }
}
