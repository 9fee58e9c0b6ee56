//! The node canvas: an `egui-snarl` view of the document. The snarl holds only names; it
//! is rebuilt from the `GraphFile` whenever the graph's structure changes, and every
//! user gesture on it becomes an [`Action`] applied to the document, never a change to
//! the snarl itself.

use crate::doc::{Document, shape_text};
use egui::emath::TSTransform;
use egui::{Color32, Pos2, RichText, Stroke, Ui};
use egui_snarl::ui::{AnyPins, PinInfo, SnarlViewer};
use egui_snarl::{InPin, InPinId, NodeId, OutPin, OutPinId, Snarl};
use hyphae::ops::{Arity, Category, Op};

/// An edit requested on the canvas.
#[derive(Clone, Debug)]
pub enum Action {
    Connect {
        src: String,
        dst: String,
        port: usize,
    },
    Disconnect {
        dst: String,
        port: usize,
    },
    DropOutputs {
        src: String,
    },
    Add {
        op: Box<Op>,
        pos: (f32, f32),
    },
    AddInput {
        pos: (f32, f32),
    },
    Delete(Vec<String>),
    Duplicate(Vec<String>),
}

pub const ERROR_RED: Color32 = Color32::from_rgb(230, 70, 70);
const SHAPE_COLOR: Color32 = Color32::from_rgb(130, 200, 255);
const BADGE_AMBER: Color32 = Color32::from_rgb(240, 170, 50);
const INPUT_FILL: Color32 = Color32::from_rgb(36, 58, 48);

/// Number of input ports a node shows: its connections, at least the arity's minimum,
/// and one spare for ops taking any number of inputs.
pub fn port_count(arity: Arity, connected: usize) -> usize {
    match arity {
        Arity::Exactly(k) => k.max(connected),
        Arity::AtLeast(k) => k.max(connected + 1),
    }
}

/// Builds the snarl for the document: inputs then nodes, in file order, so `NodeId(i)` is
/// the i-th name of [`names`].
pub fn build(doc: &Document) -> Snarl<String> {
    let mut snarl = Snarl::new();
    let mut ids = std::collections::HashMap::new();
    for name in names(doc) {
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

/// Every input and node name, in canvas order.
pub fn names(doc: &Document) -> Vec<String> {
    doc.file
        .inputs
        .iter()
        .map(|i| i.name.clone())
        .chain(doc.file.nodes.iter().map(|n| n.name.clone()))
        .collect()
}

/// Reads the document for display and collects actions.
pub struct Viewer<'a> {
    pub doc: &'a Document,
    /// Training problems per node (dead units, vanishing/exploding gradients, NaN).
    pub badges: &'a std::collections::HashMap<String, Vec<crate::train::Badge>>,
    pub actions: Vec<Action>,
    /// Node rectangles in graph space, for click-to-select.
    pub rects: Vec<(NodeId, egui::Rect)>,
    /// Names the editor has selected (highlighted here; snarl only knows its own).
    pub selected: &'a [String],
    /// The view transform snarl used this frame (graph → screen).
    pub transform: TSTransform,
    /// A transform to impose this frame (fit the graph in view).
    pub set_transform: Option<TSTransform>,
}

impl Viewer<'_> {
    /// The config fields that differ from the op's defaults, one per line.
    fn short_config(&self, name: &str) -> Option<String> {
        let node = self.doc.node(name)?;
        let fields = |op: &Op| match crate::reflect::op_to_val(op) {
            Ok(crate::reflect::Val::Call(_, items)) => items,
            _ => Vec::new(),
        };
        let defaults = Op::all_defaults()
            .into_iter()
            .find(|d| d.kind() == node.op.kind())
            .map(|d| fields(&d))
            .unwrap_or_default();
        let lines: Vec<String> = fields(&node.op)
            .into_iter()
            .filter(|item| !defaults.contains(item))
            .map(|(k, v)| match k {
                Some(k) => format!("{k}: {}", v.to_ron()),
                None => v.to_ron(),
            })
            .collect();
        (!lines.is_empty()).then(|| lines.join("\n"))
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
        let kind = match self.doc.node(name) {
            Some(n) => n.op.kind().to_string(),
            None => "Input".to_string(),
        };
        let title = RichText::new(name).strong();
        ui.label(if bad { title.color(ERROR_RED) } else { title });
        ui.label(RichText::new(kind).weak());
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
            frame = frame.fill(Color32::from_rgb(60, 44, 30));
        }
        let badged = self.badges.get(name).is_some_and(|b| !b.is_empty());
        if !self.doc.errors_for(name).is_empty()
            || self
                .badges
                .get(name)
                .is_some_and(|b| b.contains(&crate::train::Badge::NonFinite))
        {
            frame = frame.stroke(Stroke::new(2.0, ERROR_RED));
        } else if badged {
            frame = frame.stroke(Stroke::new(2.0, BADGE_AMBER));
        } else if self.selected.contains(name) {
            frame = frame.stroke(Stroke::new(2.0, Color32::from_rgb(250, 200, 80)));
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
        let src = node.inputs.get(pin.id.input);
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
            } else if let Some(cfg) = self.short_config(name) {
                ui.label(RichText::new(cfg).small().monospace());
            }
            for e in self.doc.errors_for(name) {
                ui.add(egui::Label::new(RichText::new(&e.message).small().color(ERROR_RED)).wrap());
            }
            for b in self.badges.get(name).into_iter().flatten() {
                let color = match b {
                    crate::train::Badge::NonFinite => ERROR_RED,
                    _ => BADGE_AMBER,
                };
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
        self.actions.push(Action::Connect {
            src: snarl[from.id.node].clone(),
            dst: snarl[to.id.node].clone(),
            port: to.id.input,
        });
    }

    fn disconnect(&mut self, _from: &OutPin, to: &InPin, snarl: &mut Snarl<String>) {
        self.actions.push(Action::Disconnect {
            dst: snarl[to.id.node].clone(),
            port: to.id.input,
        });
    }

    fn drop_inputs(&mut self, pin: &InPin, snarl: &mut Snarl<String>) {
        if !pin.remotes.is_empty() {
            self.actions.push(Action::Disconnect {
                dst: snarl[pin.id.node].clone(),
                port: pin.id.input,
            });
        }
    }

    fn drop_outputs(&mut self, pin: &OutPin, snarl: &mut Snarl<String>) {
        self.actions.push(Action::DropOutputs {
            src: snarl[pin.id.node].clone(),
        });
    }

    fn has_graph_menu(&mut self, _pos: Pos2, _snarl: &mut Snarl<String>) -> bool {
        true
    }

    fn show_graph_menu(&mut self, pos: Pos2, ui: &mut Ui, _snarl: &mut Snarl<String>) {
        ui.label("Add node");
        if ui.button("Data input").clicked() {
            self.actions.push(Action::AddInput {
                pos: (pos.x, pos.y),
            });
            ui.close();
        }
        for (cat, ops) in crate::app::ops_by_category("") {
            ui.menu_button(cat.label(), |ui| {
                for op in ops {
                    if ui.button(op.kind()).clicked() {
                        self.actions.push(Action::Add {
                            op: Box::new(op),
                            pos: (pos.x, pos.y),
                        });
                        ui.close();
                    }
                }
            });
        }
    }

    fn has_dropped_wire_menu(&mut self, _src: AnyPins, _snarl: &mut Snarl<String>) -> bool {
        false
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
            self.actions.push(Action::Duplicate(vec![name.clone()]));
            ui.close();
        }
        if ui.button("Delete").clicked() {
            self.actions.push(Action::Delete(vec![name]));
            ui.close();
        }
    }
}
