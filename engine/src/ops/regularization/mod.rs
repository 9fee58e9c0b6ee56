//! Regularisation layers (train-mode only behaviour).

pub mod dropout;

pub use dropout::Dropout;
