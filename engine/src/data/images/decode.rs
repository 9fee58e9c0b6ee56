//! One image file to channel-first bytes `[C, H, W]`, with the `image` crate (PNG, JPEG).
//! Every failure names the file.

use super::options::Channels;
use crate::error::{Error, Result};
use image::imageops::FilterType;
use image::{DynamicImage, ImageReader};
use std::path::Path;

/// How every image of a set becomes a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decode {
    pub channels: Channels,
    pub height: usize,
    pub width: usize,
    /// Resize images of another size (bilinear, like torchvision's `Resize`); without it,
    /// another size is an error.
    pub resize: bool,
}

impl Decode {
    /// Bytes of one decoded sample.
    pub fn bytes(&self) -> usize {
        self.channels.count() * self.height * self.width
    }
}

pub fn file_err(path: &Path, why: impl Into<String>) -> Error {
    Error::File {
        path: path.display().to_string(),
        why: why.into(),
    }
}

/// Opens and decodes `path` (format from its contents; the `image` crate's default limits
/// refuse a header that would need more than 512 MiB).
pub fn open(path: &Path) -> Result<DynamicImage> {
    ImageReader::open(path)
        .map_err(|e| file_err(path, format!("cannot read: {e}")))?
        .with_guessed_format()
        .map_err(|e| file_err(path, format!("cannot read: {e}")))?
        .decode()
        .map_err(|e| file_err(path, format!("not a readable PNG or JPEG image: {e}")))
}

/// The channels an image has by nature: gray for L and LA images, else RGB.
pub fn natural_channels(img: &DynamicImage) -> Channels {
    if img.color().has_color() {
        Channels::Rgb
    } else {
        Channels::Gray
    }
}

/// Decodes `path` to `[C, H, W]` bytes as `how` says.
pub fn decode(path: &Path, how: &Decode) -> Result<Vec<u8>> {
    to_bytes(path, open(path)?, how)
}

/// `img` (read from `path`) to `[C, H, W]` bytes: converted to `how.channels` (alpha
/// dropped), resized or checked against `how`'s size.
pub fn to_bytes(path: &Path, img: DynamicImage, how: &Decode) -> Result<Vec<u8>> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let img = if (h, w) == (how.height, how.width) {
        img
    } else if how.resize {
        img.resize_exact(how.width as u32, how.height as u32, FilterType::Triangle)
    } else {
        return Err(file_err(
            path,
            format!(
                "image is {h}×{w} but the first image is {}×{}: resize all with size={}x{}",
                how.height, how.width, how.height, how.width
            ),
        ));
    };
    Ok(match how.channels {
        Channels::Gray => img.into_luma8().into_raw(),
        Channels::Rgb => {
            // Interleaved RGB to channel planes.
            let rgb = img.into_rgb8().into_raw();
            let plane = how.height * how.width;
            let mut out = vec![0u8; 3 * plane];
            for (i, px) in rgb.chunks_exact(3).enumerate() {
                for (c, &v) in px.iter().enumerate() {
                    out[c * plane + i] = v;
                }
            }
            out
        }
    })
}
