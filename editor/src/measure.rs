//! `HYPHAE_MEASURE=SECS hyphae-editor FILE`: times the editor on a graph and prints one
//! line per phase, then closes. Phases: idle (nothing happens: frames should stop),
//! pan/zoom (the view moves every frame), training (a run started at once; frame times
//! and steps/s). How the README's figures are taken.

use crate::EditorApp;
use crate::command::Command;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Idle,
    Pan,
    Train,
}

/// Wraps the editor to time its frames.
pub struct Measure {
    app: EditorApp,
    secs: f64,
    phase: Phase,
    started: Option<Instant>,
    /// eframe's CPU time per frame (UI and tessellation), seconds.
    cpu: Vec<f64>,
    frames: usize,
    steps_at_start: u64,
    /// When the step count last changed: a run that ends before the phase does is
    /// timed to its last step, not to the end of the phase.
    last_step: Option<(u64, Instant)>,
}

impl Measure {
    pub fn new(app: EditorApp, secs: f64) -> Self {
        Measure {
            app,
            secs,
            phase: Phase::Idle,
            started: None,
            cpu: Vec::new(),
            frames: 0,
            steps_at_start: 0,
            last_step: None,
        }
    }

    fn report(&mut self, el: f64) {
        let n = self.app.core.doc.file.nodes.len();
        let med = median(&mut self.cpu) * 1e3;
        match self.phase {
            Phase::Idle => println!(
                "idle     · {n} nodes · {} frames in {el:.1} s · median cpu {med:.2} ms",
                self.frames
            ),
            Phase::Pan => println!(
                "pan/zoom · {n} nodes · {} frames in {el:.1} s · median cpu {med:.2} ms",
                self.frames
            ),
            Phase::Train => {
                let steps = self.app.core.training.step - self.steps_at_start;
                let el = match (self.started, self.last_step) {
                    (Some(t0), Some((_, t))) => (t - t0).as_secs_f64(),
                    _ => el,
                };
                let bs = self.app.core.doc.file.training.batch_size;
                println!(
                    "training · {n} nodes · {} frames · median cpu {med:.2} ms · {steps} steps in {el:.1} s = {:.1} steps/s, {:.0} samples/s",
                    self.frames,
                    steps as f64 / el,
                    steps as f64 * bs as f64 / el
                );
            }
        }
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

impl eframe::App for Measure {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let now = Instant::now();
        let t0 = *self.started.get_or_insert(now);
        if self.phase == Phase::Pan {
            // Pan one way and zoom a little, every frame.
            let k = self.frames as f32;
            self.app.canvas.pan_zoom(
                egui::vec2(3.0, (k * 0.1).sin() * 3.0),
                1.0 + (k * 0.05).sin() * 0.01,
            );
            ui.ctx().request_repaint();
        }
        if self.phase == Phase::Train
            && !self.app.core.training.is_live()
            && self.app.core.training.step == 0
            && self.app.core.training.session.is_none()
        {
            self.app.run(Command::StartTraining);
        }
        self.app.show(ui);
        if self.phase == Phase::Train && self.steps_at_start == 0 && self.app.core.training.step > 0
        {
            // Count from the first step: data loading is not the editor's frame rate.
            self.steps_at_start = self.app.core.training.step;
            self.started = Some(now);
            self.cpu.clear();
            self.frames = 0;
        }
        let step = self.app.core.training.step;
        if self.phase == Phase::Train && self.last_step.is_none_or(|(s, _)| s != step) {
            self.last_step = Some((step, now));
        }
        self.frames += 1;
        if let Some(c) = frame.info().cpu_usage {
            self.cpu.push(c as f64);
        }
        let el = t0.elapsed().as_secs_f64();
        let limit = if self.phase == Phase::Idle {
            self.secs.min(3.0)
        } else {
            self.secs
        };
        if el >= limit {
            self.report(el);
            self.cpu.clear();
            self.frames = 0;
            self.started = None;
            self.phase = match self.phase {
                Phase::Idle => Phase::Pan,
                Phase::Pan => Phase::Train,
                Phase::Train => {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                    Phase::Train
                }
            };
        }
        // Only makes sure each deadline is noticed; frames otherwise come as in normal use.
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(250));
    }
}
