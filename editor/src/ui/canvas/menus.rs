//! The canvas's context menus: add a node, add a node on a dropped wire, a node's menu.

use super::{Viewer, WIRE_MENU_OPS};
use crate::command::{Command, WireEnd};
use crate::model::palette::ops_by_category;
use egui::{Pos2, Ui};
use egui_snarl::ui::AnyPins;
use egui_snarl::{NodeId, Snarl};
use hyphae::ops::Op;

impl Viewer<'_> {
    /// Right-click on the canvas: add a data input or any op there.
    pub(super) fn graph_menu(&mut self, pos: Pos2, ui: &mut Ui) {
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

    /// A wire dropped on the canvas: a searchable list of ops; the one picked is created
    /// at the drop point, wired to the wire's end.
    pub(super) fn wire_menu(
        &mut self,
        pos: Pos2,
        ui: &mut Ui,
        src: AnyPins,
        snarl: &mut Snarl<String>,
    ) {
        let wire = match src {
            AnyPins::Out(pins) => pins
                .first()
                .map(|p| WireEnd::FromOutput(self.output_source(&snarl[p.node], p.output))),
            AnyPins::In(pins) => pins.first().map(|p| {
                let (node, port) = self.input_target(&snarl[p.node], p.input);
                WireEnd::ToInput { node, port }
            }),
        };
        let id = egui::Id::new("wire-menu-search");
        let mut search: String = ui.data(|d| d.get_temp(id)).unwrap_or_default();
        let label = ui.label("Add a connected node").id;
        let r = ui
            .add(
                egui::TextEdit::singleline(&mut search)
                    .hint_text("search ops…")
                    .id(id.with("field")),
            )
            .labelled_by(label);
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

    /// Right-click on a node (or a collapsed group).
    pub(super) fn node_menu(&mut self, node: NodeId, ui: &mut Ui, snarl: &mut Snarl<String>) {
        let name = snarl[node].clone();
        if let Some(g) = self.group(&name) {
            let members = g.members.clone();
            if ui.button("Expand").clicked() {
                self.commands.push(Command::ToggleGroup(name));
                ui.close();
            } else if ui.button("Ungroup").clicked() {
                self.commands.push(Command::Select(members));
                self.commands.push(Command::Ungroup);
                ui.close();
            } else if ui.button("Delete the group's nodes").clicked() {
                self.commands.push(Command::Select(members));
                self.commands.push(Command::Delete);
                ui.close();
            }
            return;
        }
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
