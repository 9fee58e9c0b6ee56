//! Flatten: merges dimensions `start_dim..=end_dim` into one (PyTorch's `nn.Flatten`,
//! defaults 1 and −1: everything but the batch). A view: no data is copied either way.

use super::ViewKind;
use crate::error::{Error, Result};
use crate::ops::support::defaults;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flatten {
    /// First dimension to merge; negative counts from the end.
    #[serde(default = "defaults::dim_one")]
    pub start_dim: i64,
    /// Last dimension to merge (inclusive); negative counts from the end.
    #[serde(default = "defaults::last_dim")]
    pub end_dim: i64,
}

impl Default for Flatten {
    fn default() -> Self {
        Flatten {
            start_dim: 1,
            end_dim: -1,
        }
    }
}

const OP: &str = "Flatten";

/// `dim` resolved against `rank` (negative counts from the end), or None if out of range.
fn resolve(dim: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let d = if dim < 0 { dim + r } else { dim };
    (0..r).contains(&d).then_some(d as usize)
}

impl ViewKind for Flatten {
    const OP: &'static str = OP;

    fn view_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        // PyTorch treats a 0-d tensor as 1-d here.
        let rank = s.len().max(1);
        let range = format!("[-{rank}, {}]", rank - 1);
        let start = resolve(self.start_dim, rank).ok_or_else(|| {
            Error::bad_shape(
                OP,
                s,
                format!("start_dim {} is out of range {range}", self.start_dim),
            )
        })?;
        let end = resolve(self.end_dim, rank).ok_or_else(|| {
            Error::bad_shape(
                OP,
                s,
                format!("end_dim {} is out of range {range}", self.end_dim),
            )
        })?;
        if start > end {
            return Err(Error::bad_shape(
                OP,
                s,
                format!(
                    "start_dim {} (dim {start}) comes after end_dim {} (dim {end})",
                    self.start_dim, self.end_dim
                ),
            ));
        }
        if s.is_empty() {
            return Ok(vec![1]);
        }
        let mut out = s[..start].to_vec();
        out.push(s[start..=end].iter().product());
        out.extend_from_slice(&s[end + 1..]);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    fn flat(start_dim: i64, end_dim: i64) -> Flatten {
        Flatten { start_dim, end_dim }
    }

    #[test]
    fn shapes_like_pytorch() {
        let s: &[usize] = &[2, 3, 4, 5];
        assert_eq!(Flatten::default().output_shape(&[s]).unwrap(), vec![2, 60]);
        assert_eq!(flat(0, -1).output_shape(&[s]).unwrap(), vec![120]);
        assert_eq!(flat(1, 2).output_shape(&[s]).unwrap(), vec![2, 12, 5]);
        assert_eq!(flat(-2, -1).output_shape(&[s]).unwrap(), vec![2, 3, 20]);
        assert_eq!(flat(2, 2).output_shape(&[s]).unwrap(), vec![2, 3, 4, 5]);
        // Like PyTorch: nn.Flatten() on a 1-d tensor is a dimension-out-of-range error.
        let err = Flatten::default().output_shape(&[&[7]]).unwrap_err();
        assert!(err.to_string().contains("[7]"), "{err}");
        assert_eq!(flat(0, -1).output_shape(&[&[7]]).unwrap(), vec![7]);
        assert_eq!(flat(0, -1).output_shape(&[&[]]).unwrap(), vec![1]);
    }

    #[test]
    fn forward_is_a_view_and_gradients() {
        let x = randn(&[2, 3, 4], 1);
        let f = Flatten::default()
            .forward(&Ctx::eval(), &[&x], &[])
            .unwrap();
        assert_eq!(f.output.shape(), &[2, 12]);
        assert!(f.output.shares_storage(&x));
        for p in [Flatten::default(), flat(0, 1)] {
            check_all_inputs(&p, &Ctx::train(0), std::slice::from_ref(&x), &[]);
        }
    }

    #[test]
    fn errors_name_op_and_shape() {
        let err = shape_error(&flat(1, 5), &[&[2, 3, 4]]);
        assert_mentions(&err, &["Flatten", "[2, 3, 4]", "end_dim 5"]);
        let err = shape_error(&flat(2, 1), &[&[2, 3, 4]]);
        assert_mentions(&err, &["Flatten", "start_dim 2"]);
    }
}
