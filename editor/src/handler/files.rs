//! Opening, saving and replacing the document: what may discard work asks first
//! (`request` → a pending action → `confirm`).

use crate::app::{EditorApp, Pending};
use crate::command::Command;
use crate::model::Document;
use crate::ui::{DialogMode, FileDialog};
use std::path::Path;

impl EditorApp {
    /// Runs `p` now, or asks first when it would discard unsaved changes or a model.
    pub(super) fn request(&mut self, p: Pending) {
        let loses_model = self.core.training.has_model() || self.core.training.is_live();
        if self.core.doc.is_dirty() || loses_model {
            self.core.pending = Some(p);
        } else {
            self.run_pending(p);
        }
    }

    pub(super) fn confirm(&mut self, save: bool) {
        let Some(p) = self.core.pending.clone() else {
            return;
        };
        if save && self.core.doc.is_dirty() {
            // Saving an untitled graph opens the dialog; the pending action waits for it.
            self.run(Command::Save);
            if self.core.doc.is_dirty() {
                return;
            }
        }
        self.core.pending = None;
        self.run_pending(p);
    }

    pub(super) fn run_pending(&mut self, p: Pending) {
        match p {
            Pending::New => {
                self.set_document(Document::default());
                self.info("new graph");
            }
            Pending::Template(path) => match Document::load(&path) {
                Ok(doc) => {
                    // The template's graph, unsaved and not dirty: Save asks where.
                    self.set_document(Document::new(doc.file, None));
                    self.info(format!("new graph from template {}", path.display()));
                }
                Err(e) => self.load_failed(e),
            },
            Pending::Open(path) => match Document::load(&path) {
                Ok(doc) => {
                    self.set_document(doc);
                    self.core.recent.remember(&path);
                    self.info(format!("opened {}", path.display()));
                }
                Err(e) => self.load_failed(e),
            },
            Pending::Quit => {
                self.core.allow_close = true;
                if let Some(ctx) = &self.egui_ctx {
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
            }
            Pending::StartTraining => {
                self.core.training.discard();
                self.start_training(false);
            }
            Pending::FollowRun(dir) => {
                self.core.training.discard();
                self.follow_run(dir);
            }
        }
    }

    pub(super) fn load_failed(&mut self, e: String) {
        self.core.load_error = Some(e.clone());
        self.error(e);
    }

    pub(super) fn set_document(&mut self, doc: Document) {
        self.core.doc = doc;
        self.core.load_error = None;
        self.core.selection.clear();
        self.core.training.discard();
        self.core.training.clear_statistics();
        self.ui.field_error = None;
        self.ui.outputs = Default::default();
        self.canvas.reset();
    }

    pub(super) fn save_to(&mut self, path: &Path) {
        match self.core.doc.save_to(path) {
            Ok(()) => {
                self.core.recent.remember(path);
                self.info(format!("saved {}", path.display()));
            }
            Err(e) => self.error(format!("cannot save: {e}")),
        }
    }

    pub(super) fn open_dialog(&mut self, mode: DialogMode) {
        let path = match (&self.core.doc.path, mode) {
            (Some(p), _) => p.display().to_string(),
            (None, DialogMode::SaveAs) => "untitled.ron".to_string(),
            (None, DialogMode::Open) => format!("{}/", self.core.templates_dir.display()),
        };
        self.ui.dialog = Some(FileDialog { mode, path });
    }
}
