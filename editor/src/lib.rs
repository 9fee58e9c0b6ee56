//! hyphae-editor: the desktop node-graph editor. A library so that tests can drive the
//! real window with `egui_kittest`; `main.rs` only opens it.

pub mod app;
pub mod canvas;
pub mod doc;
pub mod panel;
pub mod reflect;
pub mod train;

pub use app::EditorApp;
pub use doc::Document;
