//! 2-D pooling and its shared window geometry.

pub mod adaptive_avg_pool2d;
pub mod average;
pub mod avg_pool2d;
pub mod geometry;
pub mod max_pool2d;

pub use adaptive_avg_pool2d::AdaptiveAvgPool2d;
pub use avg_pool2d::AvgPool2d;
pub use max_pool2d::MaxPool2d;
