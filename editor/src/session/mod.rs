//! Live training: the trainer thread (`trainer_thread`, the only code that drives the
//! engine's `Trainer`), a follower of runs other processes write (`follow`), the UI-side
//! state folded from their messages (`state`), and the problems shown on the canvas
//! (`badges`). No widgets here.

pub mod badges;
pub mod follow;
pub mod fork;
pub mod state;
pub mod trainer_thread;

pub use badges::{Badge, Severity};
pub use state::{Phase, RunHistory, TrainState};
pub use trainer_thread::{Msg, TrainerCommand};
