//! Hot edits in the training panel: a dashed vertical line on every curve where the graph
//! changed during the run, a note while a paused run's graph is edited, and the last
//! fork's list of what was carried and what was reset.

use crate::app::EditorCore;
use crate::session::TrainState;
use crate::session::fork::ForkMark;
use egui::{Color32, RichText, Ui};
use egui_plot::{LineStyle, PlotUi, VLine};

/// The colour of fork markers (apart from every curve's).
pub const FORK: Color32 = Color32::from_rgb(235, 90, 90);

/// Which axis a plot's x is.
#[derive(Clone, Copy)]
pub enum Axis {
    Step,
    Epoch,
}

/// One dashed line per fork; the legend names it once.
pub fn draw(p: &mut PlotUi<'_>, forks: &[ForkMark], axis: Axis) {
    for (k, f) in forks.iter().enumerate() {
        let x = match axis {
            Axis::Step => f.step,
            Axis::Epoch => f.epoch,
        };
        let line = VLine::new("graph edited", x)
            .id(egui::Id::new(("fork", k)))
            .color(FORK)
            .width(1.5)
            .style(LineStyle::dashed_loose());
        p.vline(line);
    }
}

/// Under the run controls: what Resume will do with an edited graph, and what the last
/// fork carried.
pub fn notes(ui: &mut Ui, core: &EditorCore) {
    let tr: &TrainState = &core.training;
    if tr.paused_for_edits() && tr.edited(&core.doc.file) {
        ui.label(
            RichText::new(
                "✏ graph edited: Resume continues on it (same-named layers of the same shape \
                 keep their weights and optimizer state; new or changed ones start fresh)",
            )
            .color(FORK),
        );
    }
    let Some(fork) = &tr.last_fork else { return };
    let c = &fork.carry;
    let title = format!(
        "last edit at step {}: {} kept, {} reset, {} dropped",
        fork.step,
        c.carried.len(),
        c.reinitialised.len(),
        c.dropped.len()
    );
    egui::CollapsingHeader::new(title)
        .id_salt("fork-list")
        .show(ui, |ui| {
            for (what, names) in [
                ("kept", &c.carried),
                ("reset", &c.reinitialised),
                ("dropped", &c.dropped),
            ] {
                if !names.is_empty() {
                    ui.label(format!("{what}: {}", names.join(", ")));
                }
            }
            if let Some(g) = &fork.graph {
                ui.label(RichText::new(format!("graph version: {g}")).weak());
            }
        });
}
