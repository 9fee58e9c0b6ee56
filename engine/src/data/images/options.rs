//! The options of an `images:DIR[:key=value,...]` spec, read with the generated sets'
//! option parser (`data::Options`): a typo is an error listing the keys.

use super::super::Options;
use crate::error::Result;
use std::str::FromStr;

/// The keys an images spec takes.
pub const KEYS: [&str; 7] = [
    "size",
    "channels",
    "mean",
    "std",
    "normalize",
    "cache",
    "workers",
];

/// Default decoded-image cache: enough for ~100k 28×28 grey or ~10k 96×96 RGB images.
pub const DEFAULT_CACHE_MB: usize = 256;

/// Pixel channels of the samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channels {
    Gray,
    Rgb,
}

impl Channels {
    pub fn count(self) -> usize {
        match self {
            Channels::Gray => 1,
            Channels::Rgb => 3,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Channels::Gray => "gray",
            Channels::Rgb => "rgb",
        }
    }
}

impl FromStr for Channels {
    type Err = ();
    fn from_str(s: &str) -> std::result::Result<Self, ()> {
        match s {
            "gray" | "grey" | "l" | "1" => Ok(Channels::Gray),
            "rgb" | "3" => Ok(Channels::Rgb),
            _ => Err(()),
        }
    }
}

/// `HxW` (or `N` for a square).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    pub height: usize,
    pub width: usize,
}

impl FromStr for Size {
    type Err = ();
    fn from_str(s: &str) -> std::result::Result<Self, ()> {
        let (h, w) = s.split_once(['x', 'X', '×']).unwrap_or((s, s));
        let (height, width) = (
            h.trim().parse().map_err(drop)?,
            w.trim().parse().map_err(drop)?,
        );
        // 1..=8192 per side: a typo can't ask for gigabytes per image.
        let ok = |v: usize| (1..=8192).contains(&v);
        if ok(height) && ok(width) {
            Ok(Size { height, width })
        } else {
            Err(())
        }
    }
}

/// Per-channel numbers, `/`-separated (`0.485/0.456/0.406`; `,` separates options).
#[derive(Clone, Debug, Default, PartialEq)]
struct PerChannel(Vec<f32>);

impl FromStr for PerChannel {
    type Err = ();
    fn from_str(s: &str) -> std::result::Result<Self, ()> {
        let v: Vec<f32> = s
            .split('/')
            .map(|x| x.trim().parse::<f32>())
            .collect::<std::result::Result<_, _>>()
            .map_err(drop)?;
        if v.is_empty() || v.iter().any(|x| !x.is_finite()) {
            return Err(());
        }
        Ok(PerChannel(v))
    }
}

/// How pixels in [0, 1] are normalised per channel.
#[derive(Clone, Debug, PartialEq)]
pub enum Normalize {
    /// Mean and std of the training split (the default).
    Fitted,
    /// Given constants (`mean=`, `std=`), like torchvision's `Normalize`.
    Fixed { mean: Vec<f32>, std: Vec<f32> },
    /// Pixels stay in [0, 1].
    None,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ImageOptions {
    /// Resize every image to this; default: the first image's size (others must match).
    pub size: Option<Size>,
    /// Default: the first image's (gray for L/LA images, else rgb).
    pub channels: Option<Channels>,
    pub normalize: Normalize,
    /// Byte cap of the decoded-image cache (`cache=MB`, fractions allowed).
    pub cache_bytes: usize,
    /// Loader threads decoding batches.
    pub workers: usize,
}

impl ImageOptions {
    pub fn parse(rest: Option<&str>) -> Result<ImageOptions> {
        let mut o = Options::parse("images", rest)?;
        let size = o.maybe::<Size>("size", "HxW with sides 1 to 8192")?;
        let channels = o.maybe::<Channels>("channels", "gray or rgb")?;
        let mean = o.maybe::<PerChannel>("mean", "numbers separated by /")?;
        let std = o.maybe::<PerChannel>("std", "positive numbers separated by /")?;
        let normalize = o.take("normalize", true)?;
        let normalize = match (mean, std, normalize) {
            (None, None, true) => Normalize::Fitted,
            (None, None, false) => Normalize::None,
            (Some(PerChannel(mean)), Some(PerChannel(std)), true) => {
                if std.iter().any(|s| *s <= 0.0) || mean.len() != std.len() {
                    return Err(bad(format!(
                        "std= must be positive, one per mean= value (mean has {}, std {})",
                        mean.len(),
                        std.len()
                    )));
                }
                Normalize::Fixed { mean, std }
            }
            (_, _, false) => return Err(bad("normalize=false with mean=/std= given".into())),
            _ => return Err(bad("mean= and std= go together".into())),
        };
        let cache_mb: f64 = o.take("cache", DEFAULT_CACHE_MB as f64)?;
        if !(0.0..=(1u64 << 20) as f64).contains(&cache_mb) {
            return Err(bad(format!(
                "cache={cache_mb} is out of range (0 to 1048576 MB)"
            )));
        }
        let workers = o.count("workers", default_workers(), 1, 64)?;
        o.finish(&KEYS)?;
        Ok(ImageOptions {
            size,
            channels,
            normalize,
            cache_bytes: (cache_mb * (1u64 << 20) as f64) as usize,
            workers,
        })
    }
}

/// Decoding threads by default: the machine's cores, at most 4 (decoding a batch of small
/// images takes less time than a training step; more threads would compete with it).
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

fn bad(why: String) -> crate::error::Error {
    super::super::spec_error(format!("`images`: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_and_the_defaults() {
        let o = ImageOptions::parse(Some(
            "size=32x24,channels=rgb,mean=0.5/0.4/0.3,std=0.2/0.2/0.2,cache=8,workers=2",
        ))
        .unwrap();
        assert_eq!(
            o.size,
            Some(Size {
                height: 32,
                width: 24
            })
        );
        assert_eq!(o.channels, Some(Channels::Rgb));
        assert_eq!(
            o.normalize,
            Normalize::Fixed {
                mean: vec![0.5, 0.4, 0.3],
                std: vec![0.2; 3]
            }
        );
        assert_eq!((o.cache_bytes, o.workers), (8 << 20, 2));
        let d = ImageOptions::parse(None).unwrap();
        assert_eq!((d.size, d.channels), (None, None));
        assert_eq!(d.normalize, Normalize::Fitted);
        assert_eq!(d.cache_bytes, DEFAULT_CACHE_MB << 20);
        let sq = ImageOptions::parse(Some("size=16,normalize=false")).unwrap();
        assert_eq!(sq.size.map(|s| (s.height, s.width)), Some((16, 16)));
        assert_eq!(sq.normalize, Normalize::None);
    }

    #[test]
    fn mistakes_are_named() {
        for (text, want) in [
            ("size=0x4", "size=`0x4`"),
            ("size=big", "size=`big`"),
            ("channels=cmyk", "channels=`cmyk`"),
            ("mean=0.5", "mean= and std= go together"),
            ("mean=0.5,std=0", "std= must be positive"),
            ("mean=0.5/0.5,std=0.2", "one per mean="),
            ("workers=0", "workers=0 is out of range"),
            ("cache=-1", "cache=-1 is out of range"),
            ("colour=rgb", "unknown option `colour`"),
        ] {
            let e = ImageOptions::parse(Some(text)).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
