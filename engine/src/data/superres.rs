//! `superres:<image dataset spec>,scale=S`: image-to-image pairs for super-resolution.
//!
//! Each image `[C, H, W]` of the inner dataset (`shapes`, `mnist:DIR`, `images:DIR:…`)
//! becomes a sample whose input is the image shrunk `S` times by averaging each `S×S`
//! block (box filter, PyTorch's `F.interpolate(mode="area")` / `avg_pool2d(S)`), and whose
//! target (the `Labels` input) is the image itself. H and W must be multiples of S. The
//! inner dataset's split and normalisation are kept; the class labels are dropped.
//!
//! [`bicubic_upsample`] is the baseline super-resolution, PyTorch's
//! `F.interpolate(mode="bicubic", align_corners=False)`, and [`PsnrSum`] the score both are
//! measured with.

use super::{Dataset, Features, Preprocessing, Split, spec_error};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Largest scale factor accepted.
const MAX_SCALE: usize = 16;

/// `<inner spec>,scale=S` cut into the inner spec and the value of `scale`, if given.
fn split_scale(rest: &str) -> (&str, Option<&str>) {
    match rest.rsplit_once(',') {
        Some((inner, opt)) => match opt.trim().strip_prefix("scale=") {
            Some(v) => (inner, Some(v)),
            None => (rest, None),
        },
        None => (rest, None),
    }
}

/// `rest` with the inner spec's path made absolute by `resolve` (see `data::resolve_spec`).
pub(crate) fn resolve(rest: &str, resolve: impl FnOnce(&str) -> String) -> String {
    match split_scale(rest) {
        (inner, Some(v)) => format!("superres:{},scale={v}", resolve(inner)),
        (inner, None) => format!("superres:{}", resolve(inner)),
    }
}

/// The inner spec and the scale of `rest` (`<inner spec>,scale=S`; S defaults to 2).
fn parse(rest: &str) -> Result<(&str, usize)> {
    let (inner, scale) = split_scale(rest);
    let scale = match scale {
        None => 2,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|s| (2..=MAX_SCALE).contains(s))
            .ok_or_else(|| {
                spec_error(format!(
                    "`superres`: scale=`{v}` is not valid: expected a whole number from 2 to {MAX_SCALE}"
                ))
            })?,
    };
    if inner.trim().is_empty() {
        return Err(spec_error(
            "`superres` needs an image dataset: `superres:mnist:DIR,scale=2`".into(),
        ));
    }
    Ok((inner.trim(), scale))
}

/// The pairs made from `superres:` + `rest`; `load_inner` loads the inner spec.
pub(crate) fn load(rest: &str, load_inner: impl FnOnce(&str) -> Result<Split>) -> Result<Split> {
    let (inner, scale) = parse(rest)?;
    if inner.starts_with("superres:") {
        return Err(spec_error(
            "`superres` of `superres` is not supported".into(),
        ));
    }
    let split = load_inner(inner)?;
    Ok(Split {
        train: pairs(&split.train, scale)?,
        valid: pairs(&split.valid, scale)?,
        preprocessing: Preprocessing {
            class_names: Vec::new(),
            ..split.preprocessing
        },
        notes: split.notes,
    })
}

/// (downscaled image, image) pairs of every image of `d`.
fn pairs(d: &Dataset, scale: usize) -> Result<Dataset> {
    let shape = d.sample_shape().to_vec();
    let [_, h, w] = shape[..] else {
        return Err(Error::bad_shape(
            "superres",
            &shape,
            "needs images [C, H, W] per sample",
        ));
    };
    if h % scale != 0 || w % scale != 0 {
        return Err(spec_error(format!(
            "`superres`: images of {h}×{w} cannot be shrunk {scale} times (not multiples of {scale})"
        )));
    }
    let all: Vec<usize> = (0..d.len()).collect();
    let full = d.features.take(&all, None)?;
    let small = area_downscale(&full, scale)?;
    Dataset::with_features(
        format!("superres({})", d.name),
        Features::Memory(small),
        full,
        None,
    )
}

/// The sizes of an `[N, C, H, W]` tensor, or an error naming `op`.
fn nchw(op: &str, x: &Tensor) -> Result<[usize; 4]> {
    <[usize; 4]>::try_from(x.shape())
        .map_err(|_| Error::bad_shape(op, x.shape(), "expected [N, C, H, W]"))
}

/// `[N, C, H, W]` → `[N, C, H/s, W/s]`, each output pixel the mean of its `s×s` block.
pub fn area_downscale(x: &Tensor, s: usize) -> Result<Tensor> {
    let [n, c, h, w] = nchw("area_downscale", x)?;
    let (oh, ow) = (h / s, w / s);
    let src = x.data();
    let mut out = Vec::with_capacity(n * c * oh * ow);
    let k = 1.0 / (s * s) as f32;
    for plane in src.chunks_exact(h * w) {
        for y in 0..oh {
            for xo in 0..ow {
                let mut sum = 0.0f32;
                for dy in 0..s {
                    let row = &plane[(y * s + dy) * w + xo * s..][..s];
                    sum += row.iter().sum::<f32>();
                }
                out.push(sum * k);
            }
        }
    }
    Tensor::new(&[n, c, oh, ow], out)
}

/// Keys' cubic convolution weights for a sample at fraction `t` past its left neighbour,
/// for the neighbours at -1, 0, 1, 2 (A = -0.75, as PyTorch).
fn cubic_weights(t: f32) -> [f32; 4] {
    const A: f32 = -0.75;
    let near = |x: f32| ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    let far = |x: f32| ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
    [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)]
}

/// Per output index along one axis: the four clamped source indices and their weights.
fn taps(out: usize, inp: usize) -> Vec<([usize; 4], [f32; 4])> {
    let scale = inp as f32 / out as f32;
    (0..out)
        .map(|o| {
            let src = (o as f32 + 0.5) * scale - 0.5;
            let x0 = src.floor();
            let t = src - x0;
            let idx = [-1, 0, 1, 2].map(|d| (x0 as i64 + d).clamp(0, inp as i64 - 1) as usize);
            (idx, cubic_weights(t))
        })
        .collect()
}

/// `[N, C, h, w]` → `[N, C, h·s, w·s]` by bicubic interpolation, as PyTorch's
/// `F.interpolate(x, scale_factor=s, mode="bicubic", align_corners=False)` (borders
/// replicated, values not clamped).
pub fn bicubic_upsample(x: &Tensor, s: usize) -> Result<Tensor> {
    let [n, c, h, w] = nchw("bicubic_upsample", x)?;
    let (oh, ow) = (h * s, w * s);
    let (ty, tx) = (taps(oh, h), taps(ow, w));
    let mut out = Vec::with_capacity(n * c * oh * ow);
    for plane in x.data().chunks_exact(h * w) {
        for (ys, wy) in &ty {
            for (xs, wx) in &tx {
                let mut v = 0.0f32;
                for (&yi, &ky) in ys.iter().zip(wy) {
                    let row = &plane[yi * w..][..w];
                    let r: f32 = xs.iter().zip(wx).map(|(&xi, &kx)| row[xi] * kx).sum();
                    v += ky * r;
                }
                out.push(v);
            }
        }
    }
    Tensor::new(&[n, c, oh, ow], out)
}

/// Running squared error of predictions against targets, and the targets' value range,
/// for a PSNR over a whole set: `10·log10(R² / MSE)` with R = max − min of the targets
/// (1 for pixels in [0, 1]; the same figure for standardised pixels, since R and the
/// error scale together).
#[derive(Clone, Debug)]
pub struct PsnrSum {
    squared_error: f64,
    count: usize,
    low: f32,
    high: f32,
}

impl Default for PsnrSum {
    fn default() -> Self {
        PsnrSum {
            squared_error: 0.0,
            count: 0,
            low: f32::INFINITY,
            high: f32::NEG_INFINITY,
        }
    }
}

impl PsnrSum {
    /// Adds a batch; `pred` and `target` must have the same shape.
    pub fn add(&mut self, pred: &Tensor, target: &Tensor) -> Result<()> {
        if pred.shape() != target.shape() {
            return Err(Error::shape_mismatch(
                "PSNR",
                "prediction and target must have the same shape",
                pred.shape(),
                target.shape(),
            ));
        }
        for (&p, &t) in pred.data().iter().zip(target.data()) {
            self.squared_error += ((p - t) as f64).powi(2);
            self.low = self.low.min(t);
            self.high = self.high.max(t);
        }
        self.count += pred.numel();
        Ok(())
    }

    /// The PSNR in dB (None before any value, or for constant targets).
    pub fn db(&self) -> Option<f64> {
        let range = (self.high - self.low) as f64;
        if self.count == 0 || range <= 0.0 {
            return None;
        }
        let mse = self.squared_error / self.count as f64;
        Some(10.0 * (range * range / mse).log10())
    }

    /// The target range R the PSNR is relative to.
    pub fn range(&self) -> f32 {
        self.high - self.low
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::assert_close;

    #[test]
    fn specs_parse_with_scale_last() {
        assert_eq!(parse("shapes").unwrap(), ("shapes", 2));
        assert_eq!(parse("mnist:/d,scale=4").unwrap(), ("mnist:/d", 4));
        assert_eq!(
            parse("images:/d:size=32x32,channels=rgb,scale=2").unwrap(),
            ("images:/d:size=32x32,channels=rgb", 2)
        );
        for bad in [
            "shapes,scale=1",
            "shapes,scale=x",
            "shapes,scale=17",
            ",scale=2",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn area_downscale_averages_blocks() {
        let x = Tensor::new(&[1, 1, 2, 4], vec![1., 2., 3., 4., 5., 6., 7., 8.]).unwrap();
        let y = area_downscale(&x, 2).unwrap();
        assert_eq!(y.shape(), &[1, 1, 1, 2]);
        assert_close(y.data(), &[3.5, 5.5], 1e-6);
    }

    /// ```python
    /// x = torch.tensor([[1., 2., 0.], [4., -1., 3.]]).view(1, 1, 2, 3)
    /// F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False).flatten().tolist()
    /// ```
    #[allow(clippy::excessive_precision)]
    #[test]
    fn bicubic_matches_pytorch() {
        let x = Tensor::new(&[1, 1, 2, 3], vec![1., 2., 0., 4., -1., 3.]).unwrap();
        let y = bicubic_upsample(&x, 2).unwrap();
        assert_eq!(y.shape(), &[1, 1, 4, 6]);
        assert_close(
            y.data(),
            &[
                0.511383056640625,
                1.146087646484375,
                2.224151611328125,
                1.892120361328125,
                0.337493896484375,
                -0.594085693359375,
                1.71759033203125,
                1.62078857421875,
                1.46929931640625,
                1.13726806640625,
                0.81219482421875,
                0.61212158203125,
                3.70428466796875,
                2.40264892578125,
                0.22601318359375,
                -0.10601806640625,
                1.59405517578125,
                2.59881591796875,
                4.910491943359375,
                2.877349853515625,
                -0.528839111328125,
                -0.860870361328125,
                2.068756103515625,
                3.805023193359375,
            ],
            1e-5,
        );
    }

    #[test]
    fn psnr_of_known_error() {
        let t = Tensor::new(&[4], vec![0., 1., 0., 1.]).unwrap();
        let p = Tensor::new(&[4], vec![0.1, 0.9, 0.1, 0.9]).unwrap();
        let mut s = PsnrSum::default();
        s.add(&p, &t).unwrap();
        // MSE 0.01, R = 1: 20 dB; the same data scaled keeps its PSNR
        assert!((s.db().unwrap() - 20.0).abs() < 1e-5);
        let mut scaled = PsnrSum::default();
        scaled.add(&p.scale(3.0), &t.scale(3.0)).unwrap();
        assert!((scaled.db().unwrap() - 20.0).abs() < 1e-5);
        assert!(PsnrSum::default().db().is_none());
        assert!(s.add(&p, &Tensor::zeros(&[3])).is_err());
    }

    #[test]
    fn pairs_from_shapes() {
        let s = load("shapes:train=3,valid=2,scale=2", |spec| {
            super::super::load(spec, 0)
        })
        .unwrap();
        assert_eq!(s.train.features.shape(), &[3, 1, 14, 14]);
        assert_eq!(s.train.labels.shape(), &[3, 1, 28, 28]);
        assert_eq!(s.valid.len(), 2);
        assert!(s.train.num_classes.is_none());
        let base = std::path::Path::new("/data/graphs");
        assert_eq!(
            super::super::resolve_spec("superres:mnist:../m:normalize=false,scale=3", base),
            "superres:mnist:/data/graphs/../m:normalize=false,scale=3"
        );
        let e = load("xor", |spec| super::super::load(spec, 0)).unwrap_err();
        assert!(e.to_string().contains("[C, H, W]"), "{e}");
    }
}
