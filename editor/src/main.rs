//! `hyphae-editor [FILE]`: opens the editor window, with FILE if given.
//!
//! `HYPHAE_MEASURE=SECS` (with FILE; optional `HYPHAE_DATA=SPEC`) starts training at once
//! and after SECS prints the median frame times and the training
//! throughput, then closes: how the README's figures were taken.
//!
//! `HYPHAE_INSPECT=NODE` selects that node at start-up, so the inspector shows its live
//! statistics from the first frame (for screenshots).

use hyphae_editor::EditorApp;
use std::path::PathBuf;
use std::time::Instant;

fn main() -> eframe::Result {
    // Software GL (Mesa's llvmpipe: under Xvfb, or with no GPU) rasterises on a thread per
    // core. On 2 cores a frame then pre-empts both trainer threads at once and each
    // fork/join of the step waits for it; one painting thread leaves a core to training
    // (MNIST CNN: 0.86 -> 0.99 of `hyphae train`'s steps/s). No effect on a GPU.
    if std::env::var_os("LP_NUM_THREADS").is_none() {
        // SAFETY: the first statement of main, before any other thread exists.
        unsafe { std::env::set_var("LP_NUM_THREADS", "1") };
    }
    let file = std::env::args_os().nth(1).map(PathBuf::from);
    let templates = std::env::var_os("HYPHAE_GRAPHS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("graphs"));
    let mut app = EditorApp::new(templates);
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(dir) = config {
        app = app.with_recent_store(dir.join("hyphae-editor").join("recent"));
    }
    if let Some(f) = &file {
        // A file that fails to load is reported in the window; nothing is overwritten.
        app.open(f);
    }
    if let Ok(node) = std::env::var("HYPHAE_INSPECT") {
        if app.doc.exists(&node) {
            app.select(vec![node]);
        } else {
            eprintln!("HYPHAE_INSPECT: no node `{node}` in the graph");
        }
    }
    // The window is big enough for the training panel; tests start without it.
    app.training.show_panel = true;
    let measure = std::env::var("HYPHAE_MEASURE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok());
    if let Ok(spec) = std::env::var("HYPHAE_DATA") {
        app.training.dataset = spec;
    }
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_inner_size([1400.0, 900.0])
            .with_title("hyphae editor"),
        ..Default::default()
    };
    eframe::run_native(
        "hyphae-editor",
        options,
        Box::new(move |_cc| match measure {
            Some(secs) => Ok(Box::new(Measure::new(app, secs))),
            None => Ok(Box::new(app)),
        }),
    )
}

/// Wraps the editor to time its frames while it trains.
struct Measure {
    app: EditorApp,
    secs: f64,
    started: Option<Instant>,
    last: Option<Instant>,
    /// eframe's CPU time per frame (UI and tessellation), seconds.
    cpu: Vec<f32>,
    /// Time between consecutive frames (includes painting), seconds.
    interval: Vec<f64>,
    steps_at_start: u64,
}

impl Measure {
    fn new(app: EditorApp, secs: f64) -> Self {
        Measure {
            app,
            secs,
            started: None,
            last: None,
            cpu: Vec::new(),
            interval: Vec::new(),
            steps_at_start: 0,
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
        if !self.app.training.is_active()
            && self.started.is_none()
            && let Some(g) = self.app.doc.valid.clone()
        {
            self.app.training.start(g, false, Some(ui.ctx().clone()));
        }
        self.app.show(ui);
        // Start counting once data is loaded and steps flow.
        if self.started.is_none() && self.app.training.step > 0 {
            self.started = Some(now);
            self.steps_at_start = self.app.training.step;
        }
        if let Some(t0) = self.started {
            if let Some(cpu) = frame.info().cpu_usage {
                self.cpu.push(cpu);
            }
            if let Some(last) = self.last {
                self.interval.push((now - last).as_secs_f64());
            }
            let el = t0.elapsed().as_secs_f64();
            if el >= self.secs {
                let mut cpu: Vec<f64> = self.cpu.iter().map(|&c| c as f64).collect();
                let steps = self.app.training.step - self.steps_at_start;
                let bs = self.app.doc.file.training.batch_size;
                println!(
                    "frames {} · median cpu {:.2} ms · median frame interval {:.2} ms · {} steps in {:.1} s = {:.1} steps/s, {:.0} samples/s",
                    self.interval.len(),
                    median(&mut cpu) * 1e3,
                    median(&mut self.interval) * 1e3,
                    steps,
                    el,
                    steps as f64 / el,
                    steps as f64 * bs as f64 / el
                );
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
        self.last = Some(now);
        // Frames come when the trainer reports (as in normal use); this only makes sure the
        // deadline is noticed.
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(250));
    }
}
