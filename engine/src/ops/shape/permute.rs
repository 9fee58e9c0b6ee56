//! Permute: reorders the dimensions (PyTorch's `x.permute(*dims)`, here written with the
//! batch first, which must stay first: `Permute(dims: [0, 2, 1])`). The data is copied into
//! the new order; backward applies the inverse order. [`Transpose`](super::Transpose) is
//! the two-dimension case.

use super::reorder::{ReorderKind, check_order};
use crate::error::Result;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permute {
    /// The new order of the dimensions, batch (0) first; negative counts from the end.
    pub dims: Vec<i64>,
}

impl ReorderKind for Permute {
    const OP: &'static str = "Permute";

    fn order(&self, shape: &[usize]) -> Result<Vec<usize>> {
        check_order(Self::OP, &self.dims, shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    #[test]
    fn reorders_like_pytorch() {
        // torch.arange(24.).reshape(2, 3, 4).permute(0, 2, 1)[0, 1] → [1, 5, 9]
        let dims = vec![0, -1, 1];
        let y = forward_arange(&Permute { dims }, &[2, 3, 4]);
        assert_eq!(y.shape(), &[2, 4, 3]);
        assert_eq!(y.data()[3..6], [1., 5., 9.]);
        assert_eq!(y.data()[12..15], [12., 16., 20.]);
    }

    #[test]
    fn gradients() {
        let op = Permute {
            dims: vec![0, 3, 1, 2],
        };
        check_all_inputs(&op, &Ctx::train(0), &[randn(&[2, 3, 2, 4], 1)], &[]);
    }

    #[test]
    fn errors_name_the_dims() {
        for dims in [vec![0, 1], vec![0, 1, 1], vec![1, 0, 2], vec![0, 1, 3]] {
            let e = Permute { dims: dims.clone() }
                .output_shape(&[&[2, 3, 4]])
                .unwrap_err();
            assert_mentions(
                &e.to_string(),
                &["Permute", "[2, 3, 4]", &format!("{dims:?}")],
            );
        }
    }
}
