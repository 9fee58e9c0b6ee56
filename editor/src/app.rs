//! The editor window: its state and one frame.
//!
//! A frame reads the state, lets every panel draw and queue [`Command`]s, then runs the
//! queue through the handler (`crate::handler`), the only code that changes the
//! document, the selection and the training session.

use crate::command::{Command, Queue};
use crate::model::files::RecentFiles;
use crate::model::{Document, Selection};
use crate::session::TrainState;
use crate::ui::UiState;
use crate::ui::canvas_view::CanvasView;
use egui::Ui;
use std::path::{Path, PathBuf};

/// Something that would discard unsaved changes or a trained model, waiting for the
/// user's answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Pending {
    New,
    Template(PathBuf),
    Open(PathBuf),
    Quit,
    StartTraining,
    FollowRun(PathBuf),
}

/// What the handler owns: the document, the selection, the training session and the
/// editor-wide state around them. Panels only read it.
pub struct EditorCore {
    pub doc: Document,
    pub selection: Selection,
    pub training: TrainState,
    /// Copied items as RON, shared by every graph opened in this window.
    pub clipboard: Option<String>,
    pub recent: RecentFiles,
    /// Folder of templates (`graphs/`).
    pub templates_dir: PathBuf,
    /// Last message for the status bar (and whether it is an error).
    pub status: Option<(String, bool)>,
    pub pending: Option<Pending>,
    /// A file that failed to load: the engine's message.
    pub load_error: Option<String>,
    /// Set when the window may close (changes saved or discarded).
    pub allow_close: bool,
    /// The graph difference of two runs, marked on the canvas (Runs window).
    pub run_diff: Option<crate::model::runs::RunDiff>,
}

/// The editor.
pub struct EditorApp {
    pub core: EditorCore,
    /// Widget state: text being typed, open dialogs, the current view.
    pub ui: UiState,
    pub canvas: CanvasView,
    queue: Queue,
    /// The window title last sent: a viewport command asks for another frame, so sending
    /// the title every frame kept the window repainting flat out, even idle.
    window_title: String,
    /// The context of the last frame: the trainer thread asks it for repaints.
    pub(crate) egui_ctx: Option<egui::Context>,
}

impl EditorApp {
    /// An empty document. `templates_dir` is where New-from-template looks.
    pub fn new(templates_dir: PathBuf) -> Self {
        EditorApp {
            core: EditorCore {
                doc: Document::default(),
                selection: Selection::default(),
                training: TrainState::default(),
                clipboard: None,
                recent: RecentFiles::default(),
                templates_dir,
                status: None,
                pending: None,
                load_error: None,
                allow_close: false,
                run_diff: None,
            },
            ui: UiState::default(),
            canvas: CanvasView::default(),
            queue: Queue::default(),
            window_title: String::new(),
            egui_ctx: None,
        }
    }

    /// Remembers recent files in `path` (one per line), loading what is there.
    pub fn with_recent_store(mut self, path: PathBuf) -> Self {
        self.core.recent = RecentFiles::stored_in(path);
        self
    }

    /// Opens `path` now (start-up, tests); `false` if it failed (the error is shown).
    pub fn open(&mut self, path: &Path) -> bool {
        self.run(Command::Open(path.to_path_buf()));
        self.core.load_error.is_none() && self.core.doc.path.as_deref() == Some(path)
    }

    /// Saves to `path` now; whether it worked.
    pub fn save_as(&mut self, path: &Path) -> bool {
        self.run(Command::SaveAs(path.to_path_buf()));
        self.core.doc.path.as_deref() == Some(path) && !self.core.doc.is_dirty()
    }

    /// Selects these items now.
    pub fn select(&mut self, names: Vec<String>) {
        self.run(Command::Select(names));
    }

    /// Queues a command for the end of this frame.
    pub fn push(&mut self, c: Command) {
        self.queue.push(c);
    }

    /// Where a canvas (graph-space) point is on screen: node widgets report graph-space
    /// rectangles, so tests click through this.
    pub fn graph_to_screen(&self, p: egui::Pos2) -> egui::Pos2 {
        self.canvas.graph_to_screen(p)
    }

    /// Whether the window may close now (no unsaved changes, or the user said so).
    pub fn may_close(&self) -> bool {
        self.core.allow_close || !self.core.doc.is_dirty()
    }

    /// One frame of the whole window.
    pub fn show(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        self.egui_ctx = Some(ctx.clone());
        if ctx.input(|i| i.viewport().close_requested()) && !self.may_close() {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.queue.push(Command::Quit);
        }
        if self.core.allow_close && self.core.pending.is_none() && self.core.doc.is_dirty() {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        crate::ui::shortcuts::read(&ctx, &mut self.queue);
        if !ctx.input(|i| i.pointer.any_down()) {
            self.core.doc.end_gesture();
        }
        // Drain the trainer's messages: never blocks, so frames never wait on training.
        self.core.training.poll();
        if let Some(news) = self.core.training.news.take() {
            self.core.status = Some(news);
        }
        let (core, st, q) = (&self.core, &mut self.ui, &mut self.queue);
        egui::Panel::top("menu").show(ui, |ui| crate::ui::menu::menu_bar(ui, core, st, q));
        egui::Panel::bottom("status").show(ui, |ui| crate::ui::status::status_bar(ui, core));
        if st.show_training {
            egui::Panel::bottom("training")
                .resizable(true)
                .default_size(250.0)
                .show(ui, |ui| crate::ui::training_panel::show(ui, core, st, q));
        }
        egui::Panel::left("palette")
            .default_size(190.0)
            .show(ui, |ui| crate::ui::palette::show(ui, st, q));
        crate::ui::inspector::panel(ui, core, st, q);
        let canvas = &mut self.canvas;
        egui::CentralPanel::no_frame().show(ui, |ui| match st.view {
            crate::ui::View::Canvas => canvas.show(ui, core, q),
            crate::ui::View::Summary => {
                egui::Frame::central_panel(ui.style())
                    .show(ui, |ui| crate::ui::summary::show(ui, core));
            }
        });
        crate::ui::dialogs::show(&ctx, core, st, q);
        crate::ui::evaluation::window(&ctx, core, st);
        crate::ui::data_view::window(&ctx, core, st);
        crate::ui::runs::window(&ctx, core, st, q);
        crate::ui::boundary::window(&ctx, core, st, q);
        crate::ui::node_outputs::windows(&ctx, core, st, q);
        crate::ui::find::show(&ctx, core, st, q);
        for c in self.queue.take() {
            self.run(c);
        }
        let title = format!(
            "hyphae editor - {}{}",
            self.core.doc.display_name(),
            if self.core.doc.is_dirty() { " •" } else { "" }
        );
        if title != self.window_title {
            self.window_title = title.clone();
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title));
        }
    }
}

impl eframe::App for EditorApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}
