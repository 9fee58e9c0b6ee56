//! Attention and transformer layers, batch first (per-sample `[T, D]` in and out):
//! `MultiheadAttention` (self-attention, optionally causal), `TransformerEncoderLayer`
//! (attention and feed-forward blocks with residuals and LayerNorms, pre- or post-norm) and
//! the learned `PositionalEmbedding`. PyTorch's config names, parameter names and layouts
//! and default initialisation, so a PyTorch `state_dict` loads as is.
//!
//! The attention maths lives in [`kernels`] (one GEMM per sample and head); projections,
//! normalisation, activations and dropout are the existing ops, composed with [`chain`].

pub mod chain;
pub mod encoder_layer;
pub mod kernels;
pub mod multihead;
pub mod positional;

pub use encoder_layer::{FeedForwardActivation, TransformerEncoderLayer};
pub use multihead::MultiheadAttention;
pub use positional::PositionalEmbedding;

#[cfg(test)]
mod tests;
