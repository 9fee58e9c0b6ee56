//! A batch of images as one PNG: a near-square grid, 2 black pixels between and around the
//! images (torchvision's `make_grid(padding=2)` + `save_image`), grayscale for one channel,
//! RGB for three. Pixel values are mapped from a given range to 0–255 and clamped.

use crate::error::{Error, Result};
use crate::tensor::Tensor;
use image::{ImageBuffer, ImageFormat, Luma, Rgb};
use std::io::Cursor;

/// Pixels between and around the images.
const PADDING: usize = 2;
/// Largest grid side accepted, in pixels: a PNG larger than this is not for looking at.
const MAX_SIDE: usize = 16_384;

/// The value range mapped to black..white; values outside it are clamped.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PixelRange {
    pub low: f32,
    pub high: f32,
}

impl PixelRange {
    /// Parses `LOW,HIGH` (e.g. `0,1` or `-1,1`): finite, `LOW < HIGH`.
    pub fn parse(s: &str) -> std::result::Result<PixelRange, String> {
        let (a, b) = s
            .split_once(',')
            .ok_or_else(|| format!("`{s}`: expected LOW,HIGH (e.g. 0,1 or -1,1)"))?;
        let num = |v: &str| {
            v.trim()
                .parse::<f32>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("`{v}` is not a finite number"))
        };
        let (low, high) = (num(a)?, num(b)?);
        if low >= high {
            return Err(format!("`{s}`: LOW must be less than HIGH"));
        }
        Ok(PixelRange { low, high })
    }

    fn byte(&self, v: f32) -> u8 {
        let t = (v - self.low) / (self.high - self.low);
        // NaN maps to 0 (black), like torchvision's clamp of a NaN.
        (t.clamp(0.0, 1.0) * 255.0).round() as u8
    }
}

/// The per-sample image shape `[C, H, W]` (C = 1 or 3) of a node whose per-sample output
/// is `per_sample`: the shape given (`--image-shape`; its size must match), else the
/// output itself when it is `[1|3, H, W]`, else `[1, s, s]` for a flat output of a square
/// size `s²` (a VAE's 784 outputs are 28×28). An error otherwise, naming the shape.
pub fn image_shape(per_sample: &[usize], given: Option<[usize; 3]>) -> Result<[usize; 3]> {
    let numel: usize = per_sample.iter().product();
    let bad = |why: String| Error::Other(format!("per-sample output shape {per_sample:?} {why}"));
    if let Some(s) = given {
        if s[0] != 1 && s[0] != 3 {
            return Err(Error::Other(format!(
                "--image-shape {}x{}x{}: the channel count must be 1 or 3",
                s[0], s[1], s[2]
            )));
        }
        if s.iter().product::<usize>() != numel {
            return Err(bad(format!(
                "has {numel} values, but --image-shape {}x{}x{} has {}",
                s[0],
                s[1],
                s[2],
                s.iter().product::<usize>()
            )));
        }
        return Ok(s);
    }
    match *per_sample {
        [c @ (1 | 3), h, w] if h > 0 && w > 0 => Ok([c, h, w]),
        [n] if n > 0 && n.isqrt() * n.isqrt() == n => Ok([1, n.isqrt(), n.isqrt()]),
        _ => Err(bad(
            "is not an image: expected [1|3, H, W] or a flat square size; pass \
             --image-shape CxHxW (e.g. 1x28x28)"
                .into(),
        )),
    }
}

/// A grid's pixels, row-major, `channels` (1 or 3) bytes each: what the PNG holds, and
/// what the editor's outputs view turns into a texture.
#[derive(Clone, Debug, PartialEq)]
pub struct GridPixels {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub pixels: Vec<u8>,
}

/// `images` (`[N, C·H·W]` values, any leading layout) as a PNG grid of `N` images of shape
/// `shape`, `columns` per row (0: ⌈√N⌉).
pub fn grid_png(
    images: &Tensor,
    shape: [usize; 3],
    columns: usize,
    range: PixelRange,
) -> Result<Vec<u8>> {
    let g = grid_pixels(images, shape, columns, range)?;
    let mut out = Cursor::new(Vec::new());
    let (gw, gh) = (g.width as u32, g.height as u32);
    let encoded = if g.channels == 1 {
        ImageBuffer::<Luma<u8>, _>::from_raw(gw, gh, g.pixels)
            .map(|b| b.write_to(&mut out, ImageFormat::Png))
    } else {
        ImageBuffer::<Rgb<u8>, _>::from_raw(gw, gh, g.pixels)
            .map(|b| b.write_to(&mut out, ImageFormat::Png))
    };
    match encoded {
        Some(Ok(())) => Ok(out.into_inner()),
        Some(Err(e)) => Err(Error::Other(format!("cannot encode the PNG: {e}"))),
        None => Err(Error::Other("image buffer size mismatch".into())),
    }
}

/// The pixels of [`grid_png`]'s grid, unencoded.
pub fn grid_pixels(
    images: &Tensor,
    shape: [usize; 3],
    columns: usize,
    range: PixelRange,
) -> Result<GridPixels> {
    let [c, h, w] = shape;
    let per = c * h * w;
    let n = images.numel().checked_div(per).unwrap_or(0);
    if n == 0 || n * per != images.numel() {
        return Err(Error::Other(format!(
            "cannot cut {} values into images of shape [{c}, {h}, {w}]",
            images.numel()
        )));
    }
    let cols = if columns == 0 {
        n.isqrt() + usize::from(n.isqrt() * n.isqrt() < n)
    } else {
        columns
    }
    .min(n);
    let rows = n.div_ceil(cols);
    let (gw, gh) = (
        cols * (w + PADDING) + PADDING,
        rows * (h + PADDING) + PADDING,
    );
    if gw > MAX_SIDE || gh > MAX_SIDE {
        return Err(Error::Other(format!(
            "a grid of {n} images of {h}×{w} would be {gw}×{gh} pixels (at most {MAX_SIDE} a side): ask for fewer"
        )));
    }
    let mut pixels = vec![0u8; gw * gh * c];
    for (i, img) in images.data().chunks_exact(per).enumerate() {
        let (x0, y0) = (
            PADDING + (i % cols) * (w + PADDING),
            PADDING + (i / cols) * (h + PADDING),
        );
        for ch in 0..c {
            for y in 0..h {
                for x in 0..w {
                    let v = img[(ch * h + y) * w + x];
                    pixels[((y0 + y) * gw + x0 + x) * c + ch] = range.byte(v);
                }
            }
        }
    }
    Ok(GridPixels {
        width: gw,
        height: gh,
        channels: c,
        pixels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_taken_inferred_or_refused() {
        assert_eq!(image_shape(&[3, 8, 4], None).unwrap(), [3, 8, 4]);
        assert_eq!(image_shape(&[784], None).unwrap(), [1, 28, 28]);
        assert_eq!(image_shape(&[784], Some([1, 14, 56])).unwrap(), [1, 14, 56]);
        let e = image_shape(&[10], None).unwrap_err().to_string();
        assert!(e.contains("[10]") && e.contains("not an image"), "{e}");
        let e = image_shape(&[2, 5, 5], None).unwrap_err().to_string();
        assert!(e.contains("--image-shape"), "{e}");
        let e = image_shape(&[784], Some([1, 28, 27]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("784") && e.contains("756"), "{e}");
        assert!(image_shape(&[12], Some([2, 2, 3])).is_err());
    }

    #[test]
    fn ranges_parse_and_map_to_bytes() {
        let r = PixelRange::parse("-1,1").unwrap();
        assert_eq!(
            (r.byte(-1.0), r.byte(0.0), r.byte(1.0), r.byte(7.0)),
            (0, 128, 255, 255)
        );
        assert_eq!(r.byte(f32::NAN), 0);
        for bad in ["1", "1,0", "0,nan", "a,b"] {
            assert!(PixelRange::parse(bad).is_err(), "{bad}");
        }
    }

    const UNIT: PixelRange = PixelRange {
        low: 0.0,
        high: 1.0,
    };

    #[test]
    fn grid_layout_and_pixels() {
        // five 1×2×3 images: a 3-column, 2-row grid
        let data: Vec<f32> = (0..5).flat_map(|i| vec![i as f32 / 4.0; 6]).collect();
        let t = Tensor::new(&[5, 6], data).unwrap();
        let png = grid_png(&t, [1, 2, 3], 0, UNIT).unwrap();
        let img = image::load_from_memory(&png).unwrap().to_luma8();
        assert_eq!(img.dimensions(), (3 * 5 + 2, 2 * 4 + 2));
        assert_eq!(img.get_pixel(0, 0).0, [0]);
        // image 4 (value 1.0) is the second row's second: x = 2 + 5, y = 2 + 4
        assert_eq!(img.get_pixel(7, 6).0, [255]);
        assert_eq!(img.get_pixel(2 + 5 * 2, 2).0, [128]);
        // RGB: one 3×1×1 image
        let rgb = Tensor::new(&[1, 3, 1, 1], vec![1.0, 0.0, 0.5]).unwrap();
        let png = grid_png(&rgb, [3, 1, 1], 0, UNIT).unwrap();
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(img.get_pixel(2, 2).0, [255, 0, 128]);
        assert!(
            grid_png(
                &t,
                [1, 2, 4],
                0,
                PixelRange {
                    low: 0.0,
                    high: 1.0
                }
            )
            .is_err()
        );
    }
}
