//! The editor's model: everything it edits and knows, with no UI in it (no egui imports).
//! The UI reads it; only the command handler (`crate::handler`) changes it.

pub mod background;
pub mod clipboard;
pub mod data_view;
pub mod dataset;
pub mod document;
pub mod files;
pub mod fit;
pub mod groups;
pub mod infer;
pub mod layout;
pub mod node_outputs;
pub mod palette;
pub mod reflect;
pub mod run_bands;
pub mod runs;
pub mod sample;
pub mod selection;
pub mod settings;

pub use document::Document;
pub use selection::Selection;
