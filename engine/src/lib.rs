//! hyphae: a deep-learning engine with an ECS-shaped training runtime.
//!
//! Layers, each depending only on those before it: [`tensor`] (the `Tensor` type and CPU
//! kernels) ← [`ops`] (one file per layer op: shape rule, parameters, forward, backward) ←
//! [`graph`] (the RON file format, validation, shape inference) ← [`ecs`] (the bevy_ecs
//! training runtime) ← [`train`] (optimizers, schedules, checkpoints, the training loop)
//! ← [`cli`]. [`data`] holds the datasets and the batch loader.

pub mod alloc;
pub mod cli;
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
