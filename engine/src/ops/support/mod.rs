//! Code several op families share: serde defaults, scalar maths, spatial sizes.

pub mod defaults;
pub mod dims;
pub mod erf;
pub mod maths;
pub mod size2;
