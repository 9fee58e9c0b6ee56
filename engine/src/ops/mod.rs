//! The layer-op library, one folder per family (`activation/`, `loss/`, `conv/`, `pool/`,
//! `norm/`, `shape/`, `merge/`, `dense/`, `regularization/`, `recurrent/`, `attention/`), one file
//! per op.
//!
//! Every op is a stateless function of (config, parameters, inputs): it states its output
//! shape, the parameters it owns (with PyTorch names, layouts and default initialisation),
//! computes forward, and computes backward from what forward chose to keep in [`Saved`].
//! The [`Op`] enum, which RON graph files (de)serialize, is the registry: adding an op is
//! one file plus one line in the `registry!` list in `registry.rs`; [`schema()`] describes
//! every op and its config fields.
//!
//! Families share their logic through a trait where it really is shared: pointwise
//! activations implement [`activation::Pointwise`] (f and df), pair losses
//! [`loss::PairLoss`], convolutions [`conv::ConvKind`]; each gets its `Layer` from that
//! trait. Code several families use lives in `support/`; test helpers in [`testing`].
//!
//! Conventions: every shape includes the batch dimension first (`[N, C, H, W]` for images,
//! `[N, F]` for features); losses reduce to a scalar `[]` with PyTorch's default `mean`.

pub mod descriptions;
pub mod init;
pub mod layer;
pub mod registry;
pub mod schema;
pub mod support;
pub mod testing;

pub mod activation;
pub mod attention;
pub mod conv;
pub mod dense;
pub mod loss;
pub mod merge;
pub mod norm;
pub mod pool;
pub mod recurrent;
pub mod reduce;
pub mod regularization;
pub mod shape;

pub use init::Init;
pub use layer::*;
pub use registry::{Op, schema};
pub use schema::{FieldSchema, OpSchema};
pub use support::size2::Size2;
