//! Window averages over `[N, C, H, W]` planes, shared by AvgPool2d and AdaptiveAvgPool2d:
//! both average a rectangle of rows × columns per output, differing only in how the
//! windows are placed and what they divide by.

use super::geometry::for_each_plane;
use crate::error::Result;
use crate::tensor::{PARALLEL_MIN_ELEMS, Tensor};

/// One output position's window along an axis: first in-bounds input, in-bounds count,
/// and the count the divisor uses.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    pub first: usize,
    pub len: usize,
    pub div: usize,
}

/// The divisor of a window, or `None` for a window with nothing to average (it outputs 0
/// and passes no gradient).
#[inline]
fn divisor(r: &Span, c: &Span) -> Option<f32> {
    let div = r.div * c.div;
    (r.len > 0 && c.len > 0 && div > 0).then_some(div as f32)
}

/// The averages of every window: `rows` and `cols` give the windows of each output row and
/// column; `out_shape` is `[N, C, rows.len(), cols.len()]`.
pub(crate) fn average_forward(
    x: &Tensor,
    rows: &[Span],
    cols: &[Span],
    out_shape: &[usize],
) -> Result<Tensor> {
    let (h_in, w_in) = (x.dim(2), x.dim(3));
    let mut y = vec![0.0; out_shape.iter().product()];
    for_each_plane(
        x.numel() >= PARALLEL_MIN_ELEMS,
        x.data(),
        h_in * w_in,
        &mut y,
        rows.len() * cols.len(),
        |xp, yp| {
            for (y_row, r) in yp.chunks_mut(cols.len().max(1)).zip(rows) {
                for (yo, c) in y_row.iter_mut().zip(cols) {
                    let Some(div) = divisor(r, c) else {
                        *yo = 0.0;
                        continue;
                    };
                    let mut sum = 0.0f32;
                    for h in r.first..r.first + r.len {
                        let at = h * w_in + c.first;
                        sum += xp[at..at + c.len].iter().sum::<f32>();
                    }
                    *yo = sum / div;
                }
            }
        },
    );
    Tensor::new(out_shape, y)
}

/// The input gradient of [`average_forward`]: each output's gradient shared equally
/// over its window.
pub(crate) fn average_backward(
    x: &Tensor,
    rows: &[Span],
    cols: &[Span],
    grad_output: &Tensor,
) -> Result<Tensor> {
    let (h_in, w_in) = (x.dim(2), x.dim(3));
    let mut dx = vec![0.0; x.numel()];
    // The forward's plane walk with the roles swapped: grad_output planes are read, dx
    // planes written.
    for_each_plane(
        x.numel() >= PARALLEL_MIN_ELEMS,
        grad_output.data(),
        rows.len() * cols.len(),
        &mut dx,
        h_in * w_in,
        |gp, dxp| {
            for (g_row, r) in gp.chunks(cols.len().max(1)).zip(rows) {
                for (&gv, c) in g_row.iter().zip(cols) {
                    let Some(div) = divisor(r, c) else { continue };
                    let share = gv / div;
                    for h in r.first..r.first + r.len {
                        let at = h * w_in + c.first;
                        dxp[at..at + c.len].iter_mut().for_each(|d| *d += share);
                    }
                }
            }
        },
    );
    Tensor::new(x.shape(), dx)
}
