//! Graphs as files: the RON format, validation, shape inference, the memory estimate and
//! the summary table.

pub mod format;
pub mod infer;
pub mod memory;
mod optimizer_checks;
pub mod phases;
pub mod summary;
pub mod training;
pub mod validate;

pub use format::{FORMAT_VERSION, GraphFile, GroupDecl, InputDecl, NodeDecl, Source};
pub use infer::{Inferred, infer};
pub use training::{Augment, Clip, Jitter, Optimizer, Schedule, Training};
pub use validate::{GraphError, NodeInfo, Ref, ValidGraph};
