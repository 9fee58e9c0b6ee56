//! Training maths and plumbing: optimizers, learning-rate schedules (and, with the CLI,
//! data loading, metrics and checkpoints).

pub mod checkpoint;
pub mod optim;
pub mod schedule;
pub mod trainer;
pub mod weights;
