//! Window geometry and the plane loop the pooling ops share, following PyTorch's
//! `pooling_output_shape` and `pool2d_shape_check`.

use crate::error::{Error, Result};
use crate::ops::Size2;
use crate::ops::support::size2::check_extent;
use rayon::prelude::*;

/// PyTorch's `pooling_output_shape`: floor (or ceil) of the window count, where in ceil
/// mode the last window must start inside the input or its left padding. `None` when no
/// window fits.
pub(crate) fn pooled_len(
    input: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    dilation: usize,
    ceil_mode: bool,
) -> Option<usize> {
    let (i, k, s, p, d) = (
        input as i64,
        kernel as i64,
        stride as i64,
        pad as i64,
        dilation as i64,
    );
    let span = i + 2 * p - d * (k - 1) - 1 + if ceil_mode { s - 1 } else { 0 };
    let mut out = span.div_euclid(s) + 1;
    if ceil_mode && (out - 1) * s >= i + p {
        out -= 1;
    }
    if out >= 1 { Some(out as usize) } else { None }
}

/// Window geometry along one spatial axis.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Axis {
    pub input: usize,
    pub output: usize,
    pub kernel: usize,
    pub stride: usize,
    pub pad: usize,
    pub dilation: usize,
}

impl Axis {
    /// For output position `o`: the first in-bounds input index and how many in-bounds
    /// taps the (dilated) window has. `(0, 0)` for a window lying entirely in padding.
    #[inline]
    pub fn taps(&self, o: usize) -> (usize, usize) {
        let start = (o * self.stride) as isize - self.pad as isize;
        let d = self.dilation as isize;
        // First tap index i with start + i·d ≥ 0.
        let first = if start < 0 { (-start + d - 1) / d } else { 0 };
        let last_in = self.input as isize - 1 - start;
        if last_in < 0 {
            return (0, 0);
        }
        // Taps i with start + i·d ≤ input − 1.
        let end = (last_in / d + 1).min(self.kernel as isize);
        if first >= end {
            return (0, 0);
        }
        ((start + first * d) as usize, (end - first) as usize)
    }
}

/// Validated pooling geometry for a `[N, C, H, W]` input.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geom {
    pub planes: usize,
    pub h: Axis,
    pub w: Axis,
}

impl Geom {
    pub fn in_plane(&self) -> usize {
        self.h.input * self.w.input
    }

    pub fn out_plane(&self) -> usize {
        self.h.output * self.w.output
    }

    /// Checks the config and input like PyTorch's `pool2d_shape_check`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        op: &str,
        input: &[usize],
        kernel: Size2,
        stride: Size2,
        pad: Size2,
        dilation: Size2,
        ceil_mode: bool,
    ) -> Result<Geom> {
        for (name, s) in [
            ("kernel_size", kernel),
            ("stride", stride),
            ("dilation", dilation),
        ] {
            check_extent(op, name, s, 1)?;
        }
        check_extent(op, "padding", pad, 0)?;
        for (k, d, p) in [
            (kernel.h(), dilation.h(), pad.h()),
            (kernel.w(), dilation.w(), pad.w()),
        ] {
            let effective = (k - 1) * d + 1;
            if p > effective / 2 {
                return Err(Error::config(
                    op,
                    format!(
                        "padding {p} must be at most half the effective kernel size {effective}"
                    ),
                ));
            }
        }
        if input.len() != 4 {
            return Err(Error::bad_shape(op, input, "expected [N, C, H, W]"));
        }
        if input[2] == 0 || input[3] == 0 {
            return Err(Error::bad_shape(op, input, "spatial size must be non-zero"));
        }
        let axis = |i: usize, k: usize, s: usize, p: usize, d: usize| -> Result<Axis> {
            let out = pooled_len(i, k, s, p, d, ceil_mode).ok_or_else(|| {
                Error::bad_shape(
                    op,
                    input,
                    format!(
                        "input too small for kernel {} (dilation {}, padding {})",
                        kernel_display(kernel),
                        kernel_display(dilation),
                        kernel_display(pad)
                    ),
                )
            })?;
            Ok(Axis {
                input: i,
                output: out,
                kernel: k,
                stride: s,
                pad: p,
                dilation: d,
            })
        };
        Ok(Geom {
            planes: input[0] * input[1],
            h: axis(input[2], kernel.h(), stride.h(), pad.h(), dilation.h())?,
            w: axis(input[3], kernel.w(), stride.w(), pad.w(), dilation.w())?,
        })
    }

    pub fn out_shape(&self, input: &[usize]) -> Vec<usize> {
        vec![input[0], input[1], self.h.output, self.w.output]
    }

    /// Window taps `(first, count)` for every output column (same for every row/plane).
    pub fn col_taps(&self) -> Vec<(usize, usize)> {
        (0..self.w.output).map(|o| self.w.taps(o)).collect()
    }
}

fn kernel_display(s: Size2) -> String {
    match s {
        Size2::Square(k) => k.to_string(),
        Size2::Rect(h, w) => format!("({h}, {w})"),
    }
}

/// Runs `f(input_plane, output_plane)` over all (n, c) planes, in parallel when the
/// tensor is large enough to amortise it.
pub(crate) fn for_each_plane(
    big: bool,
    input: &[f32],
    in_plane: usize,
    output: &mut [f32],
    out_plane: usize,
    f: impl Fn(&[f32], &mut [f32]) + Sync + Send,
) {
    let (ip, op) = (in_plane.max(1), out_plane.max(1));
    if big {
        input
            .par_chunks(ip)
            .zip(output.par_chunks_mut(op))
            .for_each(|(x, y)| f(x, y));
    } else {
        input
            .chunks(ip)
            .zip(output.chunks_mut(op))
            .for_each(|(x, y)| f(x, y));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_size_formula() {
        // Checked against torch.nn.functional.max_pool2d output sizes.
        // floor((5 + 2 − 3)/2) + 1 = 3.
        assert_eq!(pooled_len(5, 3, 2, 1, 1, false), Some(3));
        assert_eq!(pooled_len(6, 3, 2, 0, 1, false), Some(2));
        // ceil_mode adds the partial window...
        assert_eq!(pooled_len(6, 3, 2, 0, 1, true), Some(3));
        assert_eq!(pooled_len(5, 2, 2, 0, 1, true), Some(3));
        assert_eq!(pooled_len(4, 2, 2, 1, 1, true), Some(3));
        // ...unless it would start in the right padding: 2·3 = 6 ≥ 5 + 1.
        assert_eq!(pooled_len(5, 2, 3, 1, 1, true), Some(2));
        assert_eq!(pooled_len(1, 3, 1, 0, 1, false), None);
        assert_eq!(pooled_len(7, 3, 1, 0, 2, false), Some(3));
    }
}
