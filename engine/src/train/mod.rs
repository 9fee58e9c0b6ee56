//! Training maths and plumbing: optimizers, learning-rate schedules, the training loop,
//! its metrics log and checkpoints.

pub mod boundary;
pub mod checkpoint;
pub mod eval_report;
pub mod metrics;
pub mod node_outputs;
pub mod optim;
pub mod run_dir;
pub mod runs;
pub mod schedule;
pub mod tensorboard;
pub mod trainer;
pub mod weights;
