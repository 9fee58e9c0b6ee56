//! Property tests for shape inference: for random configs and input shapes, the shape
//! validation infers is the shape forward produces, the parameters it declares are the ones
//! forward accepts, and backward returns one gradient per input of the input's shape. A
//! config that inference rejects must be rejected by forward too (an error, not a panic).

use hyphae::ops::{Ctx, Op};
use hyphae::{Rng, Tensor};

/// An op from its graph-file text (`Conv2d(out_channels: 2, ...)`).
fn op(text: &str) -> Op {
    ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES)
        .from_str(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// `lo..=hi`.
fn int(rng: &mut Rng, lo: usize, hi: usize) -> usize {
    lo + rng.below(hi - lo + 1)
}

/// `n` or `(h, w)`, each in `lo..=hi`.
fn size2(rng: &mut Rng, lo: usize, hi: usize) -> String {
    if rng.below(3) == 0 {
        format!("({}, {})", int(rng, lo, hi), int(rng, lo, hi))
    } else {
        int(rng, lo, hi).to_string()
    }
}

/// A random op config and an input shape it may (or may not) accept.
fn case(rng: &mut Rng) -> (String, Vec<usize>) {
    let n = int(rng, 1, 3);
    let (h, w) = (int(rng, 1, 9), int(rng, 1, 9));
    match rng.below(7) {
        0 => {
            let mut shape = vec![n];
            shape.extend((0..rng.below(3)).map(|_| int(rng, 1, 3)));
            let inf = int(rng, 1, 6);
            shape.push(inf);
            let bias = rng.below(2) == 0;
            (
                format!("Linear(out_features: {}, bias: {bias})", int(rng, 1, 6)),
                shape,
            )
        }
        1 | 2 => {
            let groups = int(rng, 1, 2);
            let c_in = groups * int(rng, 1, 2);
            let transposed = rng.below(2) == 0;
            let kind = if transposed {
                "ConvTranspose2d"
            } else {
                "Conv2d"
            };
            let extra = if transposed {
                format!(", output_padding: {}", rng.below(2))
            } else {
                String::new()
            };
            let text = format!(
                "{kind}(out_channels: {}, kernel_size: {}, stride: {}, padding: {}, \
                 dilation: {}, groups: {groups}, bias: {}{extra})",
                groups * int(rng, 1, 2),
                size2(rng, 1, 4),
                size2(rng, 1, 3),
                size2(rng, 0, 2),
                size2(rng, 1, 2),
                rng.below(2) == 0
            );
            (text, vec![n, c_in, h, w])
        }
        3 => (
            format!(
                "MaxPool2d(kernel_size: {}, stride: Some({}), padding: {}, dilation: {}, ceil_mode: {})",
                size2(rng, 1, 3),
                size2(rng, 1, 3),
                size2(rng, 0, 1),
                size2(rng, 1, 2),
                rng.below(2) == 0
            ),
            vec![n, 2, h, w],
        ),
        4 => (
            format!(
                "AvgPool2d(kernel_size: {}, stride: Some({}), padding: {}, ceil_mode: {}, \
                 count_include_pad: {})",
                size2(rng, 1, 3),
                size2(rng, 1, 3),
                size2(rng, 0, 1),
                rng.below(2) == 0,
                rng.below(2) == 0
            ),
            vec![n, 2, h, w],
        ),
        5 => (
            format!("AdaptiveAvgPool2d(output_size: {})", size2(rng, 1, 4)),
            vec![n, 3, h, w],
        ),
        _ => {
            let r = int(rng, 1, 3);
            (
                format!("PixelShuffle(upscale_factor: {r})"),
                vec![n, r * r * int(rng, 1, 2), h, w],
            )
        }
    }
}

#[test]
fn inferred_shapes_are_the_shapes_forward_and_backward_produce() {
    let mut rng = Rng::seed(14);
    let (mut accepted, mut rejected) = (0, 0);
    for _ in 0..400 {
        let (text, shape) = case(&mut rng);
        let op = op(&text);
        let layer = op.layer();
        let x = Tensor::normal(&shape, 0.0, 1.0, &mut rng);
        let ctx = Ctx::train(0);
        let inferred = layer
            .output_shape(&[&shape])
            .and_then(|out| Ok((out, layer.params(&[&shape])?)));
        let Ok((out_shape, specs)) = inferred else {
            rejected += 1;
            let forward = layer.forward(&ctx, &[&x], &[]);
            assert!(
                forward.is_err(),
                "{text} on {shape:?}: inference rejects, forward accepts"
            );
            continue;
        };
        accepted += 1;
        let params: Vec<Tensor> = specs
            .iter()
            .map(|s| Tensor::normal(&s.shape, 0.0, 0.1, &mut rng))
            .collect();
        let refs: Vec<&Tensor> = params.iter().collect();
        let fwd = layer.forward(&ctx, &[&x], &refs).unwrap_or_else(|e| {
            panic!("{text} on {shape:?}: inferred {out_shape:?}, forward: {e}")
        });
        assert_eq!(
            fwd.output.shape(),
            out_shape.as_slice(),
            "{text} on {shape:?}"
        );
        let dy = Tensor::normal(&out_shape, 0.0, 1.0, &mut rng);
        let bwd = layer
            .backward(&ctx, &[&x], &refs, &fwd, &dy)
            .unwrap_or_else(|e| panic!("{text} on {shape:?}: backward: {e}"));
        let dx = bwd.inputs[0].as_ref().expect("input gradient");
        assert_eq!(dx.shape(), shape.as_slice(), "{text}: input gradient");
        for (spec, g) in specs.iter().zip(&bwd.params) {
            if let Some(g) = g {
                assert_eq!(g.shape(), spec.shape.as_slice(), "{text}: {}", spec.name);
            }
        }
    }
    // Both sides of the property were exercised.
    assert!(
        accepted > 200 && rejected > 10,
        "{accepted} accepted, {rejected} rejected"
    );
}
