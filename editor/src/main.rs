//! `hyphae-editor [FILE]`: opens the editor window, with FILE if given.

use hyphae_editor::EditorApp;
use std::path::PathBuf;

fn main() -> eframe::Result {
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
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_inner_size([1400.0, 900.0])
            .with_title("hyphae editor"),
        ..Default::default()
    };
    eframe::run_native("hyphae-editor", options, Box::new(|_cc| Ok(Box::new(app))))
}
