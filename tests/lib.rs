//! End-to-end tests across the hyphae crates live in `tests/tests/`: every example graph
//! opens in the editor's document and round-trips to the engine, validates, and trains
//! through the engine's one training loop into a run folder. This crate has no library
//! code of its own.
