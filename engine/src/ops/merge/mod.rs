//! Ops that combine several inputs into one.

pub mod add;
pub mod concat;
pub mod mul;

pub use add::Add;
pub use concat::Concat;
pub use mul::Mul;

use crate::error::{Error, Result};
use crate::ops::{Arity, check_arity};

/// Checks the arity and that every input has input0's shape, which it returns; the error
/// names the op, the port and both shapes.
pub(crate) fn same_shapes(op: &str, arity: Arity, inputs: &[&[usize]]) -> Result<Vec<usize>> {
    check_arity(op, arity, inputs.len())?;
    for (i, s) in inputs.iter().enumerate().skip(1) {
        if *s != inputs[0] {
            return Err(Error::shape_mismatch(
                op,
                format!("input{i} must have the shape of input0"),
                inputs[0],
                s,
            ));
        }
    }
    Ok(inputs[0].to_vec())
}
