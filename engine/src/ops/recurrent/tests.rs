//! Gradient checks and config errors of the recurrent ops.

use super::*;
use crate::ops::testing::*;

fn check_grads(op: &dyn Layer, shape: &[usize], ctx: Ctx) {
    let x = randn(shape, 1);
    let params = default_params(op, &[shape], 2);
    GradCheck {
        max_elems: 24,
        ..GradCheck::default()
    }
    .check(op, &ctx, &[x], &params, &[true])
    .unwrap();
}

/// A recurrent op of one kind with `hidden_size` units, `num_layers` deep, one or two
/// directions; everything else its default. The three kinds share these fields.
macro_rules! sized {
    ($op:ident, $hidden_size:expr, $num_layers:expr, $bidirectional:expr) => {
        $op {
            hidden_size: $hidden_size,
            num_layers: $num_layers,
            bidirectional: $bidirectional,
            ..$op::default()
        }
    };
}

fn lstm(hidden_size: usize, num_layers: usize, bidirectional: bool) -> Lstm {
    sized!(Lstm, hidden_size, num_layers, bidirectional)
}

fn gru(hidden_size: usize, num_layers: usize, bidirectional: bool) -> Gru {
    sized!(Gru, hidden_size, num_layers, bidirectional)
}

fn rnn(nonlinearity: Nonlinearity, num_layers: usize, bidirectional: bool) -> Rnn {
    Rnn {
        nonlinearity,
        ..sized!(Rnn, 3, num_layers, bidirectional)
    }
}

#[test]
fn lstm_and_gru_gradients() {
    for (layers, bi) in [(1, false), (2, false), (1, true), (2, true)] {
        check_grads(&lstm(3, layers, bi), &[2, 4, 3], Ctx::train(0));
        check_grads(&gru(3, layers, bi), &[2, 4, 3], Ctx::train(0));
    }
}

#[test]
fn rnn_gradients() {
    for (layers, bi) in [(1, false), (2, true)] {
        check_grads(
            &rnn(Nonlinearity::Tanh, layers, bi),
            &[2, 4, 3],
            Ctx::train(0),
        );
    }
    // relu: inputs away from the kink, where finite differences are valid
    let op = rnn(Nonlinearity::Relu, 2, true);
    let shape = [2, 3, 3];
    let x = randn(&shape, 4);
    let params = default_params(&op, &[&shape], 5);
    GradCheck {
        eps: 1e-3,
        max_elems: 24,
        ..GradCheck::default()
    }
    .check(&op, &Ctx::train(0), &[x], &params, &[true])
    .unwrap();
}

#[test]
fn without_bias_and_with_dropout_between_layers() {
    let op = Lstm {
        bias: false,
        ..lstm(3, 2, true)
    };
    check_grads(&op, &[2, 3, 2], Ctx::train(0));
    let op = Gru {
        dropout: 0.4,
        ..gru(3, 2, false)
    };
    assert!(op.uses_seed());
    check_grads(&op, &[2, 3, 2], Ctx::train(7));
    // eval: no dropout, so a different seed gives the same output
    let x = randn(&[2, 3, 2], 1);
    let params = default_params(&op, &[&[2, 3, 2]], 2);
    let p: Vec<&Tensor> = params.iter().collect();
    let run = |ctx: Ctx| op.forward(&ctx, &[&x], &p).unwrap().output;
    let (a, b) = (
        run(Ctx {
            training: false,
            ..Ctx::train(1)
        }),
        run(Ctx {
            training: false,
            ..Ctx::train(2)
        }),
    );
    assert_eq!(a.data(), b.data());
    assert_ne!(run(Ctx::train(1)).data(), a.data());
}

#[test]
fn params_follow_pytorch_names_shapes_and_init() {
    let op = lstm(4, 2, true);
    let specs = op.params(&[&[1, 7, 5]]).unwrap();
    let got: Vec<(&str, Vec<usize>)> = specs.iter().map(|s| (s.name, s.shape.clone())).collect();
    assert_eq!(got[0], ("weight_ih_l0", vec![16, 5]));
    assert_eq!(got[1], ("weight_hh_l0", vec![16, 4]));
    assert_eq!(got[2], ("bias_ih_l0", vec![16]));
    assert_eq!(got[4], ("weight_ih_l0_reverse", vec![16, 5]));
    assert_eq!(got[8], ("weight_ih_l1", vec![16, 8]));
    assert_eq!(got[15], ("bias_hh_l1_reverse", vec![16]));
    assert_eq!(specs.len(), 16);
    // PyTorch: U(−1/√H, 1/√H) for every parameter
    assert!(
        specs
            .iter()
            .all(|s| s.init == Init::FanInUniform && s.fan_in == 4)
    );
    assert_eq!(op.output_shape(&[&[3, 7, 5]]).unwrap(), vec![3, 7, 8]);
    let g = gru(6, 1, false).params(&[&[1, 2, 3]]).unwrap();
    assert_eq!(g[0].shape, vec![18, 3]);
}

#[test]
fn config_and_shape_errors_name_the_field() {
    let cases: [(Lstm, &str); 4] = [
        (lstm(0, 1, false), "hidden_size"),
        (lstm(3, 0, false), "num_layers"),
        (lstm(3, 17, false), "num_layers"),
        (
            Lstm {
                dropout: 1.0,
                ..lstm(3, 2, false)
            },
            "dropout",
        ),
    ];
    for (op, field) in cases {
        let err = shape_error(&op, &[&[2, 3, 4]]);
        assert_mentions(&err, &["LSTM", field]);
    }
    let op = Lstm {
        input_size: Some(5),
        ..lstm(3, 1, false)
    };
    assert_mentions(
        &op.output_shape(&[&[2, 3, 4]]).unwrap_err().to_string(),
        &["input_size", "5"],
    );
    assert_mentions(
        &lstm(3, 1, false)
            .output_shape(&[&[2, 4]])
            .unwrap_err()
            .to_string(),
        &["LSTM", "[2, 4]"],
    );
    let huge = lstm(usize::MAX / 8, 1, false);
    assert_mentions(
        &huge.output_shape(&[&[2, 3, 4]]).unwrap_err().to_string(),
        &["hidden_size", "too large"],
    );
}

/// PyTorch parity against engine/tests/fixtures/recurrent (see [`pytorch_parity`]).
fn parity(name: &str, op: &dyn Layer) -> f32 {
    pytorch_parity("recurrent", name, op)
}

#[test]
fn matches_pytorch() {
    let errors = [
        parity("lstm", &lstm(4, 2, true)),
        parity("gru", &gru(4, 2, true)),
        parity(
            "rnn_tanh",
            &Rnn {
                hidden_size: 4,
                ..rnn(Nonlinearity::Tanh, 2, true)
            },
        ),
        parity(
            "rnn_relu",
            &Rnn {
                hidden_size: 4,
                ..rnn(Nonlinearity::Relu, 1, false)
            },
        ),
    ];
    eprintln!("max relative errors (lstm, gru, rnn tanh, rnn relu): {errors:?}");
}

#[test]
fn memory_estimate_counts_every_step() {
    let op = lstm(8, 2, true);
    let one = op.saved_numel(&[&[1, 10, 5]]).unwrap();
    let two = op.saved_numel(&[&[1, 20, 5]]).unwrap();
    assert!(two > 2 * one - one / 4, "{one} {two}");
    assert!(one >= 2 * 2 * 10 * 8 * 7, "{one}");
}

/// A batch big enough for the rows to run in parallel gives every sample what it gets
/// alone (on the serial path): outputs, input gradients and summed weight gradients.
#[test]
fn parallel_rows_match_samples_run_alone() {
    let op = lstm(16, 1, true);
    let (n, shape) = (80, [80, 3, 2]);
    let x = randn(&shape, 3);
    let g = randn(&[n, 3, 32], 4);
    let params = default_params(&op, &[&shape], 5);
    let p: Vec<&Tensor> = params.iter().collect();
    let ctx = Ctx::train(0);
    let fwd = op.forward(&ctx, &[&x], &p).unwrap();
    let bwd = op.backward(&ctx, &[&x], &p, &fwd, &g).unwrap();
    let mut dw = Tensor::zeros(params[1].shape());
    for i in 0..n {
        let xi = Tensor::new(&[1, 3, 2], x.data()[i * 6..][..6].to_vec()).unwrap();
        let gi = Tensor::new(&[1, 3, 32], g.data()[i * 96..][..96].to_vec()).unwrap();
        let f = op.forward(&ctx, &[&xi], &p).unwrap();
        let b = op.backward(&ctx, &[&xi], &p, &f, &gi).unwrap();
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(u, v)| (u - v).abs() < 1e-5);
        assert!(
            close(f.output.data(), &fwd.output.data()[i * 96..][..96]),
            "sample {i}"
        );
        let dx = bwd.inputs[0].as_ref().unwrap();
        assert!(close(
            b.inputs[0].as_ref().unwrap().data(),
            &dx.data()[i * 6..][..6]
        ));
        dw.axpy(1.0, b.params[1].as_ref().unwrap()).unwrap();
    }
    assert!(dw.max_abs_diff(bwd.params[1].as_ref().unwrap()).unwrap() < 1e-4);
}
