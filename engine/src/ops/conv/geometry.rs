//! Checks and shapes every 2-D convolution shares (Conv2d and ConvTranspose2d).

use crate::error::{Error, Result};
use crate::ops::Size2;
use crate::ops::support::size2::check_extent;
use crate::tensor::conv::ConvGeom;

/// The input as `[N, C, H, W]`, or an error naming the op and the shape.
pub(crate) fn nchw(op: &str, input: &[usize]) -> Result<[usize; 4]> {
    match *input {
        [n, c, h, w] if c > 0 && h > 0 && w > 0 => Ok([n, c, h, w]),
        [_, _, _, _] => Err(Error::bad_shape(
            op,
            input,
            "channels, height and width must be at least 1",
        )),
        _ => Err(Error::bad_shape(op, input, "expected [N, C, H, W]")),
    }
}

/// Checks the settings every 2-D convolution shares, for input channels `c`; `weight` is
/// the weight shape these settings imply (named in the channel-mismatch error).
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_settings(
    op: &str,
    input: &[usize],
    in_channels: Option<usize>,
    out_channels: usize,
    kernel: Size2,
    stride: Size2,
    dilation: Size2,
    groups: usize,
    weight: &[usize],
) -> Result<()> {
    let c = input.get(1).copied().unwrap_or(0);
    if let Some(want) = in_channels
        && want != c
    {
        return Err(Error::shape_mismatch(
            op,
            format!("in_channels is {want} but the input has {c} channel(s) (input vs weight)"),
            input,
            weight,
        ));
    }
    if out_channels == 0 {
        return Err(Error::config(op, "out_channels must be at least 1"));
    }
    for (name, s) in [
        ("kernel_size", kernel),
        ("stride", stride),
        ("dilation", dilation),
    ] {
        check_extent(op, name, s, 1)?;
    }
    check_extent(op, "groups", Size2::Square(groups), 1)?;
    if !c.is_multiple_of(groups) {
        return Err(Error::bad_shape(
            op,
            input,
            format!("in_channels ({c}) must be divisible by groups ({groups})"),
        ));
    }
    if !out_channels.is_multiple_of(groups) {
        return Err(Error::config(
            op,
            format!("out_channels ({out_channels}) must be divisible by groups ({groups})"),
        ));
    }
    Ok(())
}

/// Rejects geometry whose buffers (output, column matrix) could not even be sized.
pub(crate) fn check_sizes(op: &str, input: &[usize], g: &ConvGeom) -> Result<()> {
    let product = |dims: &[usize]| dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let out = [g.batch, g.c_out, g.oh, g.ow];
    let image = [g.batch, g.c_in, g.h, g.w];
    let cols = [g.c_in / g.groups.max(1), g.kh, g.kw, g.oh, g.ow];
    if product(&out).is_none() || product(&image).is_none() || product(&cols).is_none() {
        return Err(Error::bad_shape(
            op,
            input,
            "the output or the unfolded input is too large to allocate",
        ));
    }
    Ok(())
}

/// `(kh, kw)` of `kernel` as a pair.
pub(crate) fn pair(s: Size2) -> (usize, usize) {
    (s.h(), s.w())
}
