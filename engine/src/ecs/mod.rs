//! The ECS runtime: a validated graph becomes a bevy_ecs `World` (node, parameter and
//! data-input entities) and training is a schedule of systems over it.

pub mod components;
pub mod events;
pub mod model;
pub mod runtime;
pub mod stats;
pub mod systems;

pub use events::TrainEvent;
pub use model::Model;
pub use runtime::{Executor, Runtime, StepOutcome};
pub use stats::{Histogram, ParamStats, TensorStats};
