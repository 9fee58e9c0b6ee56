//! Seeded augmentation of training images (the `training.augment` section; the settings
//! type lives in `graph::training`). One sample `[C, H, W]` at a time, its random draws
//! taken from a stream derived from (seed, epoch, sample index) alone, so a batch is the
//! same whichever worker thread makes it, and a resumed run sees the same images.

use crate::graph::{Augment, Jitter};
use crate::tensor::Rng;

/// Salt so augmentation draws differ from other streams of the same seed.
const AUGMENT_SALT: u64 = 0x0041_5547_4d45_4e54;

/// Augmentation for one epoch of a training loader.
#[derive(Clone, Debug, PartialEq)]
pub struct Draw {
    pub augment: Augment,
    pub seed: u64,
    pub epoch: u64,
}

impl Draw {
    /// The random stream of `sample` (its index in the training set) in this epoch.
    pub fn rng(&self, sample: usize) -> Rng {
        let epoch_seed = Rng::derived(self.seed ^ AUGMENT_SALT, self.epoch).next_u64();
        Rng::derived(epoch_seed, sample as u64)
    }
}

/// The geometric and colour changes, on pixels in [0, 1] before normalisation, in
/// torchvision's usual order: crop with padding, flip, rotation, jitter.
pub fn before_normalise(a: &Augment, px: &mut [f32], shape: [usize; 3], rng: &mut Rng) {
    let [_, h, w] = shape;
    if a.crop_padding > 0 {
        let p = a.crop_padding;
        // Offsets into the padded image, 0..=2p, as RandomCrop(padding=p) draws them.
        let dy = rng.below(2 * p + 1) as isize - p as isize;
        let dx = rng.below(2 * p + 1) as isize - p as isize;
        remap(px, shape, |y, x| Some((y as isize + dy, x as isize + dx)));
    }
    if a.hflip && rng.unit() < 0.5 {
        for row in px.chunks_exact_mut(w.max(1)) {
            row.reverse();
        }
    }
    if a.rotate_degrees > 0.0 {
        let angle = rng
            .uniform(-a.rotate_degrees, a.rotate_degrees)
            .to_radians();
        let (sin, cos) = angle.sin_cos();
        let (cy, cx) = (h as f32 / 2.0, w as f32 / 2.0);
        // Nearest source pixel of each output pixel centre, rotated about the image centre
        // (positive angles turn the picture anticlockwise, as torchvision's do).
        remap(px, shape, |y, x| {
            let (u, v) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let sx = cos * u - sin * v + cx;
            let sy = sin * u + cos * v + cy;
            Some((sy.floor() as isize, sx.floor() as isize))
        });
    }
    if let Some(j) = &a.jitter {
        jitter(j, px, shape, rng);
    }
}

/// Random erasing, on normalised pixels (as torchvision's `RandomErasing` follows
/// `Normalize`): with probability `erase`, one rectangle of 2–33% of the area and aspect
/// ratio 0.3–3.3 becomes 0 in every channel (up to 10 tries to fit one).
pub fn after_normalise(a: &Augment, px: &mut [f32], shape: [usize; 3], rng: &mut Rng) {
    let [c, h, w] = shape;
    if a.erase <= 0.0 || rng.unit() >= a.erase {
        return;
    }
    let area = (h * w) as f32;
    let (lo, hi) = (0.3f32.ln(), 3.3f32.ln());
    for _ in 0..10 {
        let target = area * rng.uniform(0.02, 0.33);
        let aspect = rng.uniform(lo, hi).exp();
        let eh = (target * aspect).sqrt().round() as usize;
        let ew = (target / aspect).sqrt().round() as usize;
        if eh == 0 || ew == 0 || eh >= h || ew >= w {
            continue;
        }
        let (top, left) = (rng.below(h - eh + 1), rng.below(w - ew + 1));
        for ch in 0..c {
            for y in top..top + eh {
                let start = (ch * h + y) * w + left;
                if let Some(row) = px.get_mut(start..start + ew) {
                    row.fill(0.0);
                }
            }
        }
        return;
    }
}

/// Brightness (scale) then contrast (blend with the mean grey level), each factor drawn
/// from `[max(0, 1 - v), 1 + v]`, results clamped to [0, 1] as torchvision's are.
fn jitter(j: &Jitter, px: &mut [f32], shape: [usize; 3], rng: &mut Rng) {
    let factor = |v: f32, rng: &mut Rng| rng.uniform((1.0 - v).max(0.0), 1.0 + v);
    if j.brightness > 0.0 {
        let b = factor(j.brightness, rng);
        px.iter_mut().for_each(|x| *x = (*x * b).clamp(0.0, 1.0));
    }
    if j.contrast > 0.0 {
        let f = factor(j.contrast, rng);
        let mean = grey_mean(px, shape);
        px.iter_mut()
            .for_each(|x| *x = (f * *x + (1.0 - f) * mean).clamp(0.0, 1.0));
    }
}

/// Mean grey level: the mean of a grey image, of ITU-R 601 luma for RGB.
fn grey_mean(px: &[f32], [c, h, w]: [usize; 3]) -> f32 {
    let plane = h * w;
    if plane == 0 {
        return 0.0;
    }
    let sum = |k: usize| -> f32 { px.iter().skip(k * plane).take(plane).sum() };
    let total = if c == 3 {
        0.299 * sum(0) + 0.587 * sum(1) + 0.114 * sum(2)
    } else {
        (0..c).map(sum).sum::<f32>() / c.max(1) as f32
    };
    total / plane as f32
}

/// Rebuilds every channel: output pixel (y, x) takes the source pixel `from(y, x)`, or 0
/// (black) where that lies outside the image.
fn remap(
    px: &mut [f32],
    [c, h, w]: [usize; 3],
    from: impl Fn(usize, usize) -> Option<(isize, isize)>,
) {
    let src = px.to_vec();
    for ch in 0..c {
        let plane = &src[ch * h * w..(ch + 1) * h * w];
        for y in 0..h {
            for x in 0..w {
                let v = from(y, x)
                    .filter(|&(sy, sx)| {
                        sy >= 0 && sx >= 0 && (sy as usize) < h && (sx as usize) < w
                    })
                    .map_or(0.0, |(sy, sx)| plane[sy as usize * w + sx as usize]);
                px[(ch * h + y) * w + x] = v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(c: usize, h: usize, w: usize) -> Vec<f32> {
        (0..c * h * w)
            .map(|i| i as f32 / (c * h * w) as f32)
            .collect()
    }

    #[test]
    fn crop_padding_shifts_with_black_fill() {
        let a = Augment {
            crop_padding: 1,
            ..Augment::default()
        };
        // Find a draw that shifts, then check the content moved by exactly that offset.
        for seed in 0..20 {
            let mut px = ramp(1, 4, 4);
            let orig = px.clone();
            before_normalise(&a, &mut px, [1, 4, 4], &mut Rng::seed(seed));
            let zeros = px.iter().filter(|v| **v == 0.0).count();
            // A shift by (dy, dx) blanks |dy|·4 + |dx|·4 − |dy·dx| pixels (+1 for ramp's 0).
            let kept: Vec<f32> = px.iter().copied().filter(|v| *v != 0.0).collect();
            assert!(
                kept.iter().all(|v| orig.contains(v)),
                "values come from the image"
            );
            assert!(zeros <= 8, "{zeros}");
        }
    }

    #[test]
    fn flip_rotate_jitter_erase_keep_shape_and_range() {
        let a = Augment {
            crop_padding: 2,
            hflip: true,
            rotate_degrees: 30.0,
            jitter: Some(Jitter {
                brightness: 0.5,
                contrast: 0.5,
            }),
            erase: 1.0,
        };
        let mut flipped = 0;
        for seed in 0..16 {
            let mut px = ramp(3, 8, 6);
            let mut rng = Rng::seed(seed);
            before_normalise(&a, &mut px, [3, 8, 6], &mut rng);
            assert!(px.iter().all(|v| (0.0..=1.0).contains(v)));
            after_normalise(&a, &mut px, [3, 8, 6], &mut rng);
            assert_eq!(px.len(), 3 * 8 * 6);
            flipped += usize::from(px != ramp(3, 8, 6));
        }
        assert_eq!(flipped, 16, "every sample changed");
    }

    #[test]
    fn hflip_mirrors_rows_and_rotation_by_zero_is_identity() {
        let a = Augment {
            hflip: true,
            ..Augment::default()
        };
        let mut seen = [false; 2];
        for seed in 0..20 {
            let mut px = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
            before_normalise(&a, &mut px, [1, 2, 3], &mut Rng::seed(seed));
            if px == [3.0, 2.0, 1.0, 6.0, 5.0, 4.0] {
                seen[1] = true;
            } else {
                assert_eq!(px, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
                seen[0] = true;
            }
        }
        assert_eq!(seen, [true, true], "both outcomes occur");
        let a = Augment {
            rotate_degrees: 1e-6,
            ..Augment::default()
        };
        let mut px = ramp(1, 5, 5);
        before_normalise(&a, &mut px, [1, 5, 5], &mut Rng::seed(0));
        assert_eq!(px, ramp(1, 5, 5));
    }

    #[test]
    fn draws_depend_on_seed_epoch_and_sample_only() {
        let d = |seed, epoch| Draw {
            augment: Augment::default(),
            seed,
            epoch,
        };
        let v = |mut r: Rng| r.next_u64();
        assert_eq!(v(d(1, 2).rng(3)), v(d(1, 2).rng(3)));
        assert_ne!(v(d(1, 2).rng(3)), v(d(1, 2).rng(4)));
        assert_ne!(v(d(1, 2).rng(3)), v(d(1, 3).rng(3)));
        assert_ne!(v(d(1, 2).rng(3)), v(d(2, 2).rng(3)));
    }
}
