//! Literal, gradient and error tests of the reductions.

use super::*;
use crate::ops::testing::*;

#[test]
fn sum_and_mean_like_pytorch() {
    // torch.arange(24.).reshape(2, 3, 4).sum(1)[0] → [12, 15, 18, 21]; .mean(-1, True)[0]
    // → [1.5, 5.5, 9.5]
    let s = forward_arange(&Sum::default(), &[2, 3, 4]);
    assert_eq!(
        (s.shape(), &s.data()[..4]),
        (&[2, 4][..], &[12., 15., 18., 21.][..])
    );
    let mean_last = Mean {
        dim: -1,
        keepdim: true,
    };
    let m = forward_arange(&mean_last, &[2, 3, 4]);
    assert_eq!(
        (m.shape(), &m.data()[..3]),
        (&[2, 3, 1][..], &[1.5, 5.5, 9.5][..])
    );
}

#[test]
fn gradients() {
    let x = randn(&[2, 3, 4], 1);
    for keepdim in [false, true] {
        let (s, m) = (Sum { dim: 2, keepdim }, Mean { dim: 1, keepdim });
        for op in [&s as &dyn Layer, &m] {
            check_all_inputs(op, &Ctx::train(0), std::slice::from_ref(&x), &[]);
        }
    }
}

#[test]
fn the_batch_dim_stays() {
    let batch = Mean {
        dim: 0,
        keepdim: false,
    };
    assert_shape_errors(&batch, &[(&[&[2, 3]], &["Mean", "batch", "[2, 3]"])]);
    let past_the_end = Sum {
        dim: 2,
        keepdim: false,
    };
    assert_shape_errors(
        &past_the_end,
        &[(&[&[2, 3]], &["Sum", "dim 2", "out of range"])],
    );
}
