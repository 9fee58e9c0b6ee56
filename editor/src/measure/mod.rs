//! `HYPHAE_MEASURE=SECS hyphae-editor FILE`: times the editor on a graph and prints one
//! line per phase, then closes. Phases: idle (nothing happens: frames should stop, and
//! the CPU the drawing threads use is counted over 3 s), pan/zoom (the view moves every
//! frame), training (a run started at once; frame costs and steps/s). How the README's
//! figures are taken.
//!
//! A frame's cost is given twice: `cpu`, what the UI thread and the software rasteriser
//! used between two frames (`cpu_time`), and `wall`, eframe's time around the frame,
//! which also counts waiting for a core the trainer holds.

mod cpu_time;

use crate::EditorApp;
use crate::command::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Frames settle after start-up (fit to view, first layout) before idle is counted.
const IDLE_SETTLE: Duration = Duration::from_secs(1);
const IDLE_SPAN: Duration = Duration::from_secs(3);

/// What the idle watcher saw: frames drawn and drawing-thread CPU over `IDLE_SPAN`.
#[derive(Clone, Copy, Debug)]
struct IdleResult {
    frames: usize,
    cpu_ns: Option<u64>,
}

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
    /// eframe's time per frame (UI, tessellation, painting; not the buffer swap), seconds.
    wall: Vec<f64>,
    /// Drawing-thread CPU between consecutive frames, seconds: UI thread and rasteriser.
    cpu: Vec<f64>,
    ui_cpu: Vec<f64>,
    /// (UI, rasteriser) CPU at the last frame, nanoseconds.
    cpu_mark: Option<(u64, u64)>,
    frames: usize,
    /// Frames drawn so far, for the idle watcher thread.
    frame_count: Arc<AtomicUsize>,
    idle: Arc<Mutex<Option<IdleResult>>>,
    idle_watcher: bool,
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
            wall: Vec::new(),
            cpu: Vec::new(),
            ui_cpu: Vec::new(),
            cpu_mark: None,
            frames: 0,
            frame_count: Arc::new(AtomicUsize::new(0)),
            idle: Arc::new(Mutex::new(None)),
            idle_watcher: false,
            steps_at_start: 0,
            last_step: None,
        }
    }

    /// Starts the thread that counts idle frames and CPU, then wakes the UI once.
    fn watch_idle(&mut self, ctx: &egui::Context) {
        self.idle_watcher = true;
        let (frames, out, ctx) = (self.frame_count.clone(), self.idle.clone(), ctx.clone());
        let spawned = std::thread::Builder::new()
            .name("hyphae-measure".into())
            .spawn(move || {
                std::thread::sleep(IDLE_SETTLE);
                let (f0, c0) = (
                    frames.load(Ordering::Relaxed),
                    cpu_time::drawing_threads_ns(),
                );
                std::thread::sleep(IDLE_SPAN);
                let (f1, c1) = (
                    frames.load(Ordering::Relaxed),
                    cpu_time::drawing_threads_ns(),
                );
                let result = IdleResult {
                    frames: f1 - f0,
                    cpu_ns: c0
                        .zip(c1)
                        .map(|(a, b)| (b.0 + b.1).saturating_sub(a.0 + a.1)),
                };
                if let Ok(mut slot) = out.lock() {
                    *slot = Some(result);
                }
                ctx.request_repaint();
            });
        if spawned.is_err() {
            eprintln!("measure: could not start the idle watcher thread");
        }
    }

    fn report(&mut self, el: f64) {
        let n = self.app.core.doc.file.nodes.len();
        let wall = median(&mut self.wall) * 1e3;
        let med = median(&mut self.cpu) * 1e3;
        let ui_med = median(&mut self.ui_cpu) * 1e3;
        match self.phase {
            Phase::Idle => {
                let seen = self.idle.lock().ok().and_then(|r| *r);
                let secs = IDLE_SPAN.as_secs_f64();
                match seen {
                    Some(IdleResult { frames, cpu_ns }) => println!(
                        "idle     · {n} nodes · {frames} frames drawn in {secs:.0} s after settling · drawing threads {} ms cpu per second",
                        cpu_ns.map_or("?".into(), |c| format!("{:.2}", c as f64 / 1e6 / secs))
                    ),
                    None => println!("idle     · {n} nodes · not measured"),
                }
            }
            Phase::Pan => println!(
                "pan/zoom · {n} nodes · {} frames in {el:.1} s · median frame {wall:.2} ms · cpu {ui_med:.2} ms UI thread, {med:.2} ms with rasteriser",
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
                    "training · {n} nodes · {} frames · median frame {wall:.2} ms · cpu {ui_med:.2} ms UI thread, {med:.2} ms with rasteriser · {steps} steps in {el:.1} s = {:.1} steps/s, {:.0} samples/s",
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
            self.ui_cpu.clear();
            self.wall.clear();
            self.frames = 0;
        }
        let step = self.app.core.training.step;
        if self.phase == Phase::Train && self.last_step.is_none_or(|(s, _)| s != step) {
            self.last_step = Some((step, now));
        }
        self.frames += 1;
        self.frame_count.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = frame.info().cpu_usage {
            self.wall.push(c as f64);
        }
        let cpu = cpu_time::drawing_threads_ns();
        if let (Some(a), Some(b)) = (self.cpu_mark, cpu) {
            let ui = b.0.saturating_sub(a.0) as f64 * 1e-9;
            self.ui_cpu.push(ui);
            self.cpu.push(ui + b.1.saturating_sub(a.1) as f64 * 1e-9);
        }
        self.cpu_mark = cpu;
        let el = t0.elapsed().as_secs_f64();
        let done = match self.phase {
            Phase::Idle => {
                if !self.idle_watcher {
                    self.watch_idle(ui.ctx());
                }
                self.idle.lock().is_ok_and(|r| r.is_some())
            }
            _ => el >= self.secs,
        };
        if done {
            self.report(el);
            self.cpu.clear();
            self.ui_cpu.clear();
            self.wall.clear();
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
        // Makes sure the phase's end is noticed; frames otherwise come as in normal use
        // (while training: when the trainer reports); a wake-up every 250 ms here added
        // frames a user's window does not draw. Idle is woken by its watcher thread alone.
        if self.phase != Phase::Idle {
            let left = (self.secs - t0.elapsed().as_secs_f64()).max(0.05);
            ui.ctx()
                .request_repaint_after(Duration::from_secs_f64(left));
        }
    }
}
