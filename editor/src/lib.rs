//! hyphae-editor: the desktop node-graph editor. A library so that tests can drive the
//! real window with `egui_kittest`; `main.rs` only opens it.
//!
//! - [`model`]: the document, selection, clipboard, layout, palette (no egui).
//! - [`session`]: live training (the trainer thread and what it reports).
//! - [`command`]: everything a user can do, as one type.
//! - [`handler`]: runs commands; the only code that changes model and session.
//! - [`ui`]: the panels, one file each; they read state and queue commands.
//! - [`app`]: the window's state and one frame.

pub mod app;
pub mod command;
pub mod handler;
pub mod measure;
pub mod model;
pub mod session;
pub mod ui;

pub use app::EditorApp;
pub use command::Command;
pub use model::Document;
