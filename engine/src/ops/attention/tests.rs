//! Gradient checks, PyTorch parity and config errors of the attention ops.

use super::*;
use crate::ops::Init;
use crate::ops::testing::*;

fn mha(num_heads: usize, causal: bool, dropout: f32) -> MultiheadAttention {
    MultiheadAttention {
        num_heads,
        causal,
        dropout,
        ..MultiheadAttention::default()
    }
}

fn encoder(norm_first: bool, activation: FeedForwardActivation) -> TransformerEncoderLayer {
    TransformerEncoderLayer {
        nhead: 2,
        dim_feedforward: 6,
        dropout: 0.0,
        activation,
        norm_first,
        ..TransformerEncoderLayer::default()
    }
}

/// Default parameters with every bias and norm affine moved off its constant init, so the
/// check sees their effect.
fn params_off_init(op: &dyn Layer, shape: &[usize]) -> Vec<Tensor> {
    default_params(op, &[shape], 2)
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            if p.rank() == 1 {
                p.add(&randn(p.shape(), 10 + i as u64).scale(0.3)).unwrap()
            } else {
                p
            }
        })
        .collect()
}

fn check(op: &dyn Layer, shape: &[usize], ctx: Ctx) {
    check_with(op, shape, ctx, 1e-2);
}

/// [`check`] with finite-difference step `eps`: smaller for ReLU layers, whose kink a
/// larger step may straddle.
fn check_with(op: &dyn Layer, shape: &[usize], ctx: Ctx, eps: f32) {
    let params = params_off_init(op, shape);
    GradCheck {
        eps,
        max_elems: 24,
        ..GradCheck::default()
    }
    .check(op, &ctx, &[randn(shape, 1)], &params, &[true])
    .unwrap();
}

#[test]
fn attention_gradients() {
    for (heads, causal) in [(1, false), (2, true), (3, false)] {
        check(&mha(heads, causal, 0.0), &[2, 4, 6], Ctx::train(0));
    }
    // dropout on the weights: the same seed gives the same mask in every probe
    let op = mha(2, true, 0.3);
    assert!(op.uses_seed());
    check(&op, &[2, 5, 4], Ctx::train(3));
}

#[test]
fn encoder_layer_gradients() {
    for norm_first in [false, true] {
        for act in [FeedForwardActivation::Relu, FeedForwardActivation::Gelu] {
            check_with(&encoder(norm_first, act), &[2, 3, 4], Ctx::train(0), 1e-3);
        }
    }
    let op = TransformerEncoderLayer {
        dropout: 0.2,
        causal: true,
        ..encoder(true, FeedForwardActivation::Gelu)
    };
    check(&op, &[2, 3, 4], Ctx::train(5));
}

#[test]
fn positional_embedding_adds_rows_and_checks_length() {
    let op = PositionalEmbedding { max_len: Some(5) };
    check_all_inputs(
        &op,
        &Ctx::train(0),
        &[randn(&[2, 3, 4], 1)],
        &[randn(&[5, 4], 2)],
    );
    let x = Tensor::new(&[2, 2, 1], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    let w = Tensor::new(&[5, 1], vec![10.0, 20.0, 30.0, 40.0, 50.0]).unwrap();
    let y = op.forward(&Ctx::eval(), &[&x], &[&w]).unwrap().output;
    assert_eq!(y.data(), &[11.0, 22.0, 13.0, 24.0]);
    assert_mentions(&shape_error(&op, &[&[2, 6, 4]]), &["max_len", "5", "6"]);
    let specs = PositionalEmbedding::default()
        .params(&[&[1, 7, 3]])
        .unwrap();
    assert_eq!(
        (specs[0].name, specs[0].shape.clone()),
        ("weight", vec![7, 3])
    );
}

#[test]
fn params_follow_pytorch_names_shapes_and_init() {
    let specs = mha(2, false, 0.0).params(&[&[1, 3, 8]]).unwrap();
    let got: Vec<(&str, Vec<usize>)> = specs.iter().map(|s| (s.name, s.shape.clone())).collect();
    assert_eq!(
        got,
        [
            ("in_proj_weight", vec![24, 8]),
            ("in_proj_bias", vec![24]),
            ("out_proj.weight", vec![8, 8]),
            ("out_proj.bias", vec![8]),
        ]
    );
    assert_eq!(specs[0].init, Init::XavierUniform { gain: 1.0 });
    assert_eq!((specs[0].fan_in, specs[0].fan_out), (8, 24));
    assert_eq!(specs[1].init, Init::Zeros);
    let specs = encoder(false, FeedForwardActivation::Relu)
        .params(&[&[1, 3, 4]])
        .unwrap();
    let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
    assert_eq!(names[0], "self_attn.in_proj_weight");
    assert_eq!(names[3], "self_attn.out_proj.bias");
    // PyTorch's state_dict order and names: linear1, linear2, norm1, norm2
    let joined = names[4..].join(" ");
    assert_eq!(
        joined,
        "linear1.weight linear1.bias linear2.weight linear2.bias norm1.weight norm1.bias norm2.weight norm2.bias"
    );
    assert_eq!(specs[6].shape, vec![4, 6]);
    assert_eq!(
        (specs[8].init.clone(), specs[9].init.clone()),
        (Init::Ones, Init::Zeros)
    );
}

#[test]
fn config_and_shape_errors_name_the_field() {
    assert_mentions(
        &shape_error(&mha(4, false, 0.0), &[&[2, 3, 6]]),
        &["MultiheadAttention", "num_heads", "6"],
    );
    assert_mentions(
        &shape_error(&mha(0, false, 0.0), &[&[2, 3, 6]]),
        &["num_heads"],
    );
    assert_mentions(
        &shape_error(&mha(1, false, 1.0), &[&[2, 3, 6]]),
        &["dropout"],
    );
    assert_mentions(
        &shape_error(&mha(1, false, 0.0), &[&[2, 6]]),
        &["MultiheadAttention", "[2, 6]"],
    );
    let sized = MultiheadAttention {
        embed_dim: Some(5),
        ..mha(1, false, 0.0)
    };
    assert_mentions(&shape_error(&sized, &[&[2, 3, 6]]), &["embed_dim", "5"]);
    let huge = shape_error(&mha(1, false, 0.0), &[&[2, usize::MAX / 2, 6]]);
    assert_mentions(&huge, &["too long"]);
    let enc = TransformerEncoderLayer {
        nhead: 3,
        ..encoder(false, FeedForwardActivation::Relu)
    };
    assert_mentions(
        &shape_error(&enc, &[&[2, 3, 4]]),
        &["TransformerEncoderLayer", "nhead"],
    );
    let enc = TransformerEncoderLayer {
        d_model: Some(8),
        ..encoder(false, FeedForwardActivation::Relu)
    };
    assert_mentions(&shape_error(&enc, &[&[2, 3, 4]]), &["d_model", "8"]);
}

/// PyTorch parity (fixtures made by engine/tests/fixtures/attention/make_fixtures.py).
fn parity(name: &str, op: &dyn Layer) -> f32 {
    pytorch_parity("attention", name, op)
}

#[test]
fn matches_pytorch() {
    let errors = [
        parity("mha_causal", &mha(2, true, 0.0)),
        parity("mha", &mha(3, false, 0.0)),
        parity(
            "encoder_post_relu_causal",
            &TransformerEncoderLayer {
                dim_feedforward: 12,
                causal: true,
                ..encoder(false, FeedForwardActivation::Relu)
            },
        ),
        parity(
            "encoder_pre_gelu",
            &TransformerEncoderLayer {
                nhead: 4,
                dim_feedforward: 12,
                ..encoder(true, FeedForwardActivation::Gelu)
            },
        ),
    ];
    eprintln!(
        "max relative errors (mha causal, mha, encoder post relu causal, encoder pre gelu): {errors:?}"
    );
}
