//! Reshape: gives each sample a new shape, `[N, ...] → [N, ...shape]`, keeping the batch
//! dimension (like `x.view(x.size(0), *shape)`). One entry may be −1, inferred from the
//! others. A view: no data is copied either way.

use super::ViewKind;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reshape {
    /// The per-sample shape, without the batch dimension; at most one −1.
    pub shape: Vec<i64>,
}

impl Default for Reshape {
    fn default() -> Self {
        Reshape { shape: vec![-1] }
    }
}

const OP: &str = "Reshape";

impl ViewKind for Reshape {
    const OP: &'static str = OP;

    fn view_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        if let Some(&bad) = self.shape.iter().find(|&&d| d == 0 || d < -1) {
            return Err(Error::config(
                OP,
                format!(
                    "shape {:?}: every entry must be positive or -1, got {bad}",
                    self.shape
                ),
            ));
        }
        if self.shape.iter().filter(|&&d| d == -1).count() > 1 {
            return Err(Error::config(
                OP,
                format!("shape {:?}: at most one entry may be -1", self.shape),
            ));
        }
        let Some((&n, rest)) = s.split_first() else {
            return Err(Error::bad_shape(OP, s, "expected [N, ...]"));
        };
        let per_sample: usize = rest.iter().product();
        let known = self
            .shape
            .iter()
            .filter(|&&d| d > 0)
            .try_fold(1usize, |acc, &d| acc.checked_mul(d as usize));
        let mismatch = || {
            Error::bad_shape(
                OP,
                s,
                format!(
                    "cannot reshape {per_sample} elements per sample into {:?}",
                    self.shape
                ),
            )
        };
        let known = known.ok_or_else(mismatch)?;
        let inferred = if self.shape.contains(&-1) {
            if !per_sample.is_multiple_of(known) {
                return Err(mismatch());
            }
            per_sample / known
        } else {
            if known != per_sample {
                return Err(mismatch());
            }
            0
        };
        let mut out = Vec::with_capacity(self.shape.len() + 1);
        out.push(n);
        out.extend(
            self.shape
                .iter()
                .map(|&d| if d == -1 { inferred } else { d as usize }),
        );
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    fn r(shape: &[i64]) -> Reshape {
        Reshape {
            shape: shape.to_vec(),
        }
    }

    #[test]
    fn shapes() {
        let s: &[usize] = &[4, 3, 8];
        assert_eq!(r(&[-1]).output_shape(&[s]).unwrap(), vec![4, 24]);
        assert_eq!(r(&[6, 4]).output_shape(&[s]).unwrap(), vec![4, 6, 4]);
        assert_eq!(r(&[2, -1, 3]).output_shape(&[s]).unwrap(), vec![4, 2, 4, 3]);
        assert_eq!(
            r(&[24, 1, 1]).output_shape(&[s]).unwrap(),
            vec![4, 24, 1, 1]
        );
        // An empty batch keeps its per-sample shape.
        assert_eq!(
            r(&[-1, 4]).output_shape(&[&[0, 3, 8]]).unwrap(),
            vec![0, 6, 4]
        );
    }

    #[test]
    fn forward_is_a_view_and_gradients() {
        let x = randn(&[2, 3, 4], 1);
        let p = r(&[4, -1]);
        let y = p.forward(&Ctx::eval(), &[&x], &[]).unwrap().output;
        assert_eq!(y.shape(), &[2, 4, 3]);
        assert!(y.shares_storage(&x));
        check_all_inputs(&p, &Ctx::train(0), &[x], &[]);
    }

    #[test]
    fn errors_name_op_and_shapes() {
        let err = shape_error(&r(&[5, -1]), &[&[4, 3, 8]]);
        assert_mentions(&err, &["Reshape", "[4, 3, 8]", "[5, -1]"]);
        let err = shape_error(&r(&[7]), &[&[4, 3, 8]]);
        assert_mentions(&err, &["[4, 3, 8]", "[7]"]);
        assert!(r(&[-1, -1]).output_shape(&[&[4, 3, 8]]).is_err());
        assert!(r(&[0, 24]).output_shape(&[&[4, 3, 8]]).is_err());
        assert!(r(&[-2]).output_shape(&[&[4, 3, 8]]).is_err());
        assert!(r(&[-1]).output_shape(&[&[]]).is_err());
    }
}
