//! Random layers: Dropout (train mode only) and the VAE's reparameterised sample.

pub mod dropout;
pub mod reparameterize;

pub use dropout::Dropout;
pub use reparameterize::Reparameterize;
