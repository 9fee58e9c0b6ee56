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

fn main() -> eframe::Result {
    // Software GL (Mesa's llvmpipe: under Xvfb, or with no GPU) rasterises on a thread per
    // core. On 2 cores a frame then pre-empts both trainer threads at once and each
    // fork/join of the step waits for it; one painting thread leaves a core to training
    // (MNIST CNN: 0.86 -> 0.99 of `hyphae train`'s steps/s). No effect on a GPU.
    if std::env::var_os("LP_NUM_THREADS").is_none() {
        // SAFETY: the first statement of main, before any other thread exists.
        unsafe { std::env::set_var("LP_NUM_THREADS", "1") };
    }
    // Training steps reuse their freed buffers instead of faulting fresh pages in.
    hyphae::alloc::keep_freed_memory();
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
        if app.core.doc.exists(&node) {
            app.select(vec![node]);
        } else {
            eprintln!("HYPHAE_INSPECT: no node `{node}` in the graph");
        }
    }
    // The window is big enough for the training panel; tests start without it.
    app.ui.show_training = true;
    let measure = std::env::var("HYPHAE_MEASURE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok());
    if let Ok(spec) = std::env::var("HYPHAE_DATA") {
        // Measuring only: the document is not saved with it.
        app.core.doc.file.training.dataset = Some(spec);
        app.core.doc.revalidate();
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
            Some(secs) => Ok(Box::new(hyphae_editor::measure::Measure::new(app, secs))),
            None => Ok(Box::new(app)),
        }),
    )
}
