//! Resolving a `dim` setting (negative counts from the end, as in PyTorch) against a shape
//! whose first dimension is the batch, which ops that pick or reduce a dimension must keep.

use crate::error::{Error, Result};

/// `dim` of the setting `field` resolved against `shape`: an error naming the op, the
/// field and the shape when it is out of range or names the batch dimension 0.
pub fn sample_dim(op: &str, field: &str, dim: i64, shape: &[usize]) -> Result<usize> {
    let rank = shape.len() as i64;
    let d = if dim < 0 { dim + rank } else { dim };
    if d < 1 || d >= rank {
        let why = if d == 0 {
            format!("{field} {dim} is the batch dimension, which must stay")
        } else {
            format!(
                "{field} {dim} is out of range for a tensor of rank {rank} (1..{rank} or -{}..-1; \
                 dimension 0 is the batch)",
                rank - 1
            )
        };
        return Err(Error::bad_shape(op, shape, why));
    }
    Ok(d as usize)
}

/// Checks a size the config may give (`in_features`, `embed_dim`, `d_model`) against the
/// input's last dimension `got`; an error names the field and both sizes.
pub fn check_given_size(
    op: &str,
    field: &str,
    given: Option<usize>,
    got: usize,
    input: &[usize],
) -> Result<()> {
    match given {
        Some(want) if want != got => Err(Error::shape_mismatch(
            op,
            format!("{field} is {want} but the input's last dimension is {got}"),
            &[want],
            input,
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_dims_count_from_the_end_and_the_batch_stays() {
        assert_eq!(sample_dim("X", "dim", -1, &[2, 3, 4]).unwrap(), 2);
        assert_eq!(sample_dim("X", "dim", 1, &[2, 3, 4]).unwrap(), 1);
        let e = sample_dim("X", "dim", -3, &[2, 3, 4])
            .unwrap_err()
            .to_string();
        assert!(e.contains("batch"), "{e}");
        let e = sample_dim("X", "dim", 3, &[2, 3, 4])
            .unwrap_err()
            .to_string();
        assert!(e.contains("out of range") && e.contains("[2, 3, 4]"), "{e}");
    }
}
