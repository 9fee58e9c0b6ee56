//! The training panel: run controls, live values, the training settings and the plots.
//! It reads the session and queues commands; the trainer thread does the work.

use super::fields::number_field;
use super::plots::{ACC, SMOOTH};
use super::{ERROR_RED, UiState, command_button, plain};
use crate::app::EditorCore;
use crate::command::{Command, Queue};
use crate::session::{Phase, TrainState};
use egui::{Id, RichText, Ui};
use std::path::PathBuf;

const LOCKED: &str = "🔒 stop training to change these settings";
const LOCKED_WHY: &str = "Dataset, optimizer, schedule, batch size, epochs and seed are fixed \
    for a run (as in PyTorch or Keras, changing them means a new run). The learning rate and \
    the statistics interval change live above.";

/// Controls and settings on the left, progress and plots on the right.
pub fn show(ui: &mut Ui, core: &EditorCore, st: &mut UiState, q: &mut Queue) {
    let tr = &core.training;
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(340.0);
            egui::ScrollArea::vertical()
                .id_salt("train-settings")
                .show(ui, |ui| {
                    controls(ui, core, st, q);
                    ui.separator();
                    let live = tr.is_live();
                    if live {
                        ui.label(RichText::new(LOCKED).small().weak())
                            .on_hover_text(LOCKED_WHY);
                    }
                    ui.add_enabled_ui(!live, |ui| super::train_settings::show(ui, core, st, q))
                        .response
                        .on_disabled_hover_text(LOCKED_WHY);
                });
        });
        ui.separator();
        ui.vertical(|ui| {
            progress_line(ui, tr, core.doc.file.training.batch_size);
            super::plots::plots(ui, tr);
        });
    });
}

fn controls(ui: &mut Ui, core: &EditorCore, st: &mut UiState, q: &mut Queue) {
    let tr = &core.training;
    let valid = core.doc.valid.is_some();
    let phase = &tr.phase;
    let live = tr.is_live();
    ui.horizontal_wrapped(|ui| {
        command_button(ui, q, Command::StartTraining, valid && !live).on_disabled_hover_text(
            if live {
                "a run is on: Stop it first"
            } else {
                "fix the graph's errors first"
            },
        );
        // A followed run belongs to another process: nothing to pause or step here.
        let own = tr.following.is_none();
        let paused = own && matches!(phase, Phase::Paused | Phase::NonFinite(_));
        command_button(ui, q, Command::Pause, own && *phase == Phase::Running);
        command_button(ui, q, Command::Resume, paused);
        command_button(ui, q, Command::Step, paused || (!live && valid))
            .on_hover_text("train one batch, then pause");
        command_button(ui, q, Command::StopTraining, live)
            .on_hover_text("end the run; the model is kept for Save weights and Evaluate");
    });
    let (text, color) = match phase {
        Phase::Idle => ("idle".to_string(), None),
        Phase::Loading => ("loading data…".to_string(), None),
        Phase::Running if tr.following.is_some() => {
            ("following (read-only)".to_string(), Some(ACC))
        }
        Phase::Running => ("training".to_string(), Some(ACC)),
        Phase::Paused => ("paused".to_string(), Some(SMOOTH)),
        Phase::NonFinite(n) => (
            format!("paused: NaN/Inf first appeared in `{n}`"),
            Some(ERROR_RED),
        ),
        Phase::Finished => ("finished: model kept".to_string(), Some(ACC)),
        Phase::Stopped => ("stopped: model kept".to_string(), Some(SMOOTH)),
        Phase::Failed(e) => (format!("failed: {}", plain(e)), Some(ERROR_RED)),
    };
    let t = RichText::new(text).strong();
    ui.label(match color {
        Some(c) => t.color(c),
        None => t,
    });
    if live && tr.following.is_none() {
        live_values(ui, tr, q);
    }
    super::fork_marks::notes(ui, core);
    ui.horizontal(|ui| {
        ui.label("weights");
        ui.add(egui::TextEdit::singleline(&mut st.weights_path).desired_width(230.0));
    });
    let path = PathBuf::from(st.weights_path.trim());
    let model = tr.has_model();
    ui.horizontal_wrapped(|ui| {
        command_button(ui, q, Command::SaveWeights(path.clone()), model)
            .on_disabled_hover_text("train or load weights first");
        command_button(ui, q, Command::SaveCheckpoint, model)
            .on_hover_text("full checkpoint (weights and optimizer state) in the run folder");
        command_button(ui, q, Command::LoadWeights(path.clone()), valid && !live)
            .on_hover_text("load into the open graph (a paused session holds them)");
        command_button(ui, q, Command::Evaluate, model)
            .on_hover_text("loss, accuracy and confusion matrix on the validation set")
            .on_disabled_hover_text("nothing to evaluate: train or load weights first");
    });
    ui.horizontal(|ui| {
        let label = ui.label("run folder").id;
        ui.add(
            egui::TextEdit::singleline(&mut st.follow_path)
                .id(Id::new("follow-path"))
                .hint_text("runs/<graph>/latest")
                .desired_width(160.0),
        )
        .labelled_by(label);
        let dir = PathBuf::from(st.follow_path.trim());
        command_button(
            ui,
            q,
            Command::FollowRun(dir),
            !live && !st.follow_path.trim().is_empty(),
        )
        .on_hover_text(
            "show the curves and layer statistics of a run that `hyphae train` is writing \
             (another terminal, another machine's shared disk), live; Stop ends following",
        );
    });
    for (m, bad) in tr.messages.iter().rev().take(4) {
        let t = RichText::new(plain(m)).small();
        ui.label(if *bad { t.color(ERROR_RED) } else { t.weak() });
    }
}

/// Values that change a live run: applied on Enter or focus loss, checked first.
fn live_values(ui: &mut Ui, tr: &TrainState, q: &mut Queue) {
    ui.horizontal(|ui| {
        let label = ui.label("live lr").id;
        if let Some(lr) = number_field(
            ui,
            Id::new("live-lr"),
            label,
            tr.live_lr,
            crate::model::settings::lr,
        ) {
            q.push(Command::SetLiveLr(lr));
        }
    });
    ui.horizontal(|ui| {
        let label = ui
            .label("stats every")
            .on_hover_text("steps between layer statistics (0: none), from the next step")
            .id;
        if let Some(n) = number_field(
            ui,
            Id::new("live-stats"),
            label,
            tr.live_stats_every,
            |_| Ok(()),
        ) {
            q.push(Command::SetStatsEvery(n));
        }
    });
}

fn progress_line(ui: &mut Ui, st: &TrainState, batch_size: usize) {
    let eta = st
        .eta_secs(batch_size)
        .filter(|_| st.phase == Phase::Running)
        .map_or("—".to_string(), |s| {
            if s >= 60.0 {
                format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
            } else {
                format!("{s:.0}s")
            }
        });
    let last = st
        .run
        .loss
        .last()
        .map_or("—".to_string(), |p| format!("{:.4}", p[1]));
    if let Some(dir) = &st.following {
        // The run's own settings (epochs, batches) are not known here.
        let text = format!(
            "step {} · loss {last} · following {}",
            st.step,
            dir.display()
        );
        ui.label(RichText::new(text).monospace());
        return;
    }
    ui.label(
        RichText::new(format!(
            "step {} · epoch {}/{} · batch {}/{} · loss {last} · {:.0} samples/s · ETA {eta}",
            st.step,
            (st.epoch + 1).min(st.epochs.max(1) as u64),
            st.epochs,
            st.batch,
            st.batches_per_epoch,
            st.samples_per_sec
        ))
        .monospace(),
    );
}
