//! hyphae: a deep-learning engine with an ECS-shaped training runtime.
//!
//! Layers: [`tensor`] (the `Tensor` type and CPU kernels) ← [`ops`] (one file per layer op:
//! shape rule, parameters, forward, backward).

pub mod data;
pub mod ecs;
pub mod error;
pub mod graph;
pub mod ops;
pub mod tensor;
pub mod train;
pub mod util;

pub use error::{Error, Result};
pub use tensor::{Rng, Tensor};

/// The engine version, for `--version` and file metadata.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
