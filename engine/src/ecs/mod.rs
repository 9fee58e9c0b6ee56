//! The ECS runtime: a validated graph becomes a bevy_ecs `World` (node, parameter and
//! data-input entities; `world.rs`) and training is a schedule of systems over it
//! (`schedules.rs`, `systems.rs`); `Runtime` holds both.

pub mod components;
pub mod events;
pub mod model;
pub mod runtime;
pub mod schedules;
pub mod stats;
pub mod systems;
pub mod world;

pub use events::TrainEvent;
pub use model::Model;
pub use runtime::{Executor, Runtime, StepOutcome};
pub use stats::{Histogram, ParamStats, PerStep, TensorStats};
