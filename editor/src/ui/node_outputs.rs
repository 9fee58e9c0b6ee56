//! The nodes' outputs windows ("Show outputs" in a node's inspector): a live grid of a
//! node's outputs for a fixed batch — generated or reconstructed images, a conv's feature
//! maps. While one is open, the editor asks the trainer for a model snapshot at most
//! every 0.5 s as the step moves, and once more when the run ends (Stop keeps the
//! model); the grids are computed on background jobs (`crate::model::node_outputs`).

use super::{ERROR_RED, UiState, plain};
use crate::app::EditorCore;
use crate::command::{Command, Queue};
use crate::model::node_outputs::{BATCH, NodeOutputs, NodeWindow, REFRESH};
use egui::{ColorImage, Id, TextureHandle, TextureOptions, Ui};
use std::collections::HashMap;
use std::time::Duration;

/// Longest side of a drawn grid, in points (small tiles are magnified up to this).
const SIDE: f32 = 360.0;
/// How often a frame looks for a finished grid while one is computed.
const POLL: Duration = Duration::from_millis(50);

/// The windows' state and their textures.
#[derive(Default)]
pub struct OutputWindows {
    pub state: NodeOutputs,
    tex: HashMap<String, TextureHandle>,
}

impl OutputWindows {
    /// Opens or closes `node`'s window (the handler's `Command::ToggleOutputs`).
    pub fn toggle(&mut self, node: &str) {
        self.state.toggle(node);
        self.tex.remove(node);
    }

    pub fn is_shown(&self, node: &str) -> bool {
        self.state.is_shown(node)
    }
}

pub fn windows(ctx: &egui::Context, core: &EditorCore, st: &mut UiState, q: &mut Queue) {
    if st.outputs.state.windows.is_empty() {
        return;
    }
    let note = refresh(ctx, core, st, q);
    let out = &st.outputs;
    for (k, (node, w)) in out.state.windows.iter().enumerate() {
        let title = match &w.grid {
            Some(g) => format!("{node} outputs · step {}", g.step),
            None => format!("{node} outputs"),
        };
        let mut open = true;
        egui::Window::new(title)
            .id(Id::new(("node-outputs", node)))
            .open(&mut open)
            .resizable(false)
            .default_pos(egui::pos2(230.0 + 30.0 * k as f32, 60.0 + 30.0 * k as f32))
            .min_width(SIDE)
            .show(ctx, |ui| body(ui, w, out.tex.get(node), note.as_deref()));
        if !open {
            q.push(Command::ToggleOutputs(node.clone()));
        }
    }
}

/// Asks for snapshots and starts the jobs; a line to show when there is nothing to run.
fn refresh(
    ctx: &egui::Context,
    core: &EditorCore,
    st: &mut UiState,
    q: &mut Queue,
) -> Option<String> {
    let t = &core.training;
    if t.following.is_some() {
        return Some("a followed run has no model here to run".into());
    }
    if !t.has_model() {
        return Some(if t.is_live() {
            "waiting for the run to start…".into()
        } else {
            format!("train the graph (▶ Start) to see this node's outputs for {BATCH} samples")
        });
    }
    let Some(s) = st.panels.ensure(core) else {
        ctx.request_repaint_after(Duration::from_millis(100));
        return Some(match &st.panels.error {
            Some(e) => format!("cannot load the data: {e}"),
            None => "loading the data…".into(),
        });
    };
    let outputs = &mut st.outputs;
    let batch = match outputs.state.batch((s.spec.clone(), s.seed), &s.split) {
        Ok(b) => b,
        Err(e) => return Some(e),
    };
    if outputs.state.wants_snapshot(t.model.as_ref(), t.step) {
        q.push(Command::SnapshotForOutputs);
    }
    if let Some(m) = &t.model {
        for node in outputs.state.update(m, &batch) {
            let grid = outputs.state.window(&node).and_then(|w| w.grid.as_ref());
            if let Some(g) = grid {
                let size = [g.pixels.width, g.pixels.height];
                let img = ColorImage::from_rgba_unmultiplied(size, &g.rgba());
                let tex = ctx.load_texture(format!("outputs-{node}"), img, TextureOptions::NEAREST);
                outputs.tex.insert(node, tex);
            }
        }
    }
    if outputs.state.busy() {
        ctx.request_repaint_after(POLL);
    } else if t.model.as_ref().is_none_or(|m| m.1 != t.step) {
        // The next snapshot is due within REFRESH, also once the run has ended.
        ctx.request_repaint_after(REFRESH);
    }
    None
}

fn body(ui: &mut Ui, w: &NodeWindow, tex: Option<&TextureHandle>, note: Option<&str>) {
    if let Some(n) = note {
        ui.label(n);
    }
    match &w.grid {
        Some(g) => {
            ui.label(g.caption());
        }
        None if note.is_none() && w.error.is_none() => {
            ui.label("computing…");
        }
        None => {}
    }
    if let Some(e) = &w.error {
        ui.colored_label(ERROR_RED, plain(e));
    }
    if let (Some(g), Some(tex)) = (&w.grid, tex) {
        let (gw, gh) = (g.pixels.width as f32, g.pixels.height as f32);
        let scale = (SIDE / gw.max(gh).max(1.0)).round().clamp(1.0, 6.0);
        ui.add(egui::Image::new(tex).fit_to_exact_size(egui::vec2(gw * scale, gh * scale)));
    }
}
