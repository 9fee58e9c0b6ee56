//! Fully connected layers and lookups.

pub mod embedding;
pub mod linear;

pub use embedding::Embedding;
pub use linear::Linear;
