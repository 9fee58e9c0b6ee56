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
    // 130 units run as two blocks of units, in parallel (blocks.rs, phased.rs)
    check_grads(&lstm(130, 2, true), &[2, 3, 2], Ctx::train(0));
    check_grads(&gru(130, 1, true), &[2, 3, 2], Ctx::train(0));
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

/// A batch big enough for its steps to run in parallel (130 hidden units: two blocks of
/// units, see blocks.rs) gives every sample what it gets alone (on the serial path):
/// outputs, input gradients and summed weight gradients.
#[test]
fn parallel_blocks_match_samples_run_alone() {
    let op = lstm(130, 1, true);
    let (n, shape) = (8, [8, 3, 2]);
    let x = randn(&shape, 3);
    let g = randn(&[n, 3, 260], 4);
    let params = default_params(&op, &[&shape], 5);
    let p: Vec<&Tensor> = params.iter().collect();
    let ctx = Ctx::train(0);
    let fwd = op.forward(&ctx, &[&x], &p).unwrap();
    let bwd = op.backward(&ctx, &[&x], &p, &fwd, &g).unwrap();
    let mut dw = Tensor::zeros(params[1].shape());
    for i in 0..n {
        let xi = Tensor::new(&[1, 3, 2], x.data()[i * 6..][..6].to_vec()).unwrap();
        let gi = Tensor::new(&[1, 3, 260], g.data()[i * 780..][..780].to_vec()).unwrap();
        let f = op.forward(&ctx, &[&xi], &p).unwrap();
        let b = op.backward(&ctx, &[&xi], &p, &f, &gi).unwrap();
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(u, v)| (u - v).abs() < 1e-5);
        assert!(
            close(f.output.data(), &fwd.output.data()[i * 780..][..780]),
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

/// The per-step gradient norms backward reports, for input `x`, output gradient `dy`.
fn step_norms(
    op: &dyn Layer,
    x: &Tensor,
    params: &[Tensor],
    dy: &Tensor,
    stats: bool,
) -> Option<Vec<f32>> {
    let p: Vec<&Tensor> = params.iter().collect();
    let ctx = Ctx {
        stats,
        ..Ctx::train(0)
    };
    let fwd = op.forward(&ctx, &[x], &p).unwrap();
    op.backward(&ctx, &[x], &p, &fwd, dy)
        .unwrap()
        .step_grad_norms
}

/// BPTT of a tanh RNN's top layer written out by hand, independently of `bptt.rs`: per
/// time step, the batch mean of ‖dL/dh_t‖ over both directions. `y` is the op's output
/// `[N, T, dirs·H]` (the top layer's states), `dy` its gradient.
fn tanh_rnn_norms_by_hand(y: &Tensor, dy: &Tensor, w_hh: &[&Tensor], h: usize) -> Vec<f32> {
    let &[n, t_len, width] = y.shape() else {
        panic!("{:?}", y.shape())
    };
    let at = |v: &Tensor, i: usize, t: usize, dir: usize, k: usize| {
        v.data()[(i * t_len + t) * width + dir * h + k]
    };
    // per sample, per time step: ‖dL/dh_t‖² summed over the directions
    let mut sq = vec![vec![0.0f64; t_len]; n];
    for (dir, w) in w_hh.iter().enumerate() {
        for (i, sample_sq) in sq.iter_mut().enumerate() {
            let mut from_next = vec![0.0f64; h];
            // forward runs t = 0..T, reverse T..0; backward the other way round
            let order: Vec<usize> = if dir == 0 {
                (0..t_len).rev().collect()
            } else {
                (0..t_len).collect()
            };
            for t in order {
                let dh: Vec<f64> = (0..h)
                    .map(|k| at(dy, i, t, dir, k) as f64 + from_next[k])
                    .collect();
                sample_sq[t] += dh.iter().map(|g| g * g).sum::<f64>();
                // h_t = tanh(a_t), a_t = … + W_hh·h_prev: dL/dh_prev = W_hhᵀ (dh ⊙ (1 − h_t²))
                let da: Vec<f64> = (0..h)
                    .map(|k| dh[k] * (1.0 - (at(y, i, t, dir, k) as f64).powi(2)))
                    .collect();
                from_next = (0..h)
                    .map(|j| (0..h).map(|k| w.data()[k * h + j] as f64 * da[k]).sum())
                    .collect();
            }
        }
    }
    (0..t_len)
        .map(|t| (sq.iter().map(|s| s[t].sqrt()).sum::<f64>() / n as f64) as f32)
        .collect()
}

/// The per-step norms are the total gradient reaching each h_t (from the output at t and
/// back through time), on the top layer of a stacked, bidirectional RNN too; nothing is
/// computed unless statistics are due.
#[test]
fn step_gradient_norms_match_bptt_by_hand() {
    for (layers, bi) in [(1, false), (2, true)] {
        let op = rnn(Nonlinearity::Tanh, layers, bi);
        let dirs = 1 + bi as usize;
        let shape = [2, 6, 3];
        let x = randn(&shape, 3);
        let params = default_params(&op, &[&shape], 4);
        let p: Vec<&Tensor> = params.iter().collect();
        let y = op.forward(&Ctx::train(0), &[&x], &p).unwrap().output;
        let dy = randn(y.shape(), 5);
        let got = step_norms(&op, &x, &params, &dy, true).expect("norms on a statistics step");
        // the top layer's W_hh of each direction (4 tensors per direction: w_ih, w_hh, biases)
        let top = (layers - 1) * dirs;
        let w_hh: Vec<&Tensor> = (0..dirs).map(|d| &params[(top + d) * 4 + 1]).collect();
        let want = tanh_rnn_norms_by_hand(&y, &dy, &w_hh, 3);
        assert_eq!(got.len(), 6);
        for (t, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-5 * w.max(1.0),
                "layers {layers}, bi {bi}, t {t}: {g} vs {w}"
            );
        }
        assert_eq!(step_norms(&op, &x, &params, &dy, false), None);
    }
}

/// Many-to-one (only the last step's output has a gradient, as in mnist_rnn): the last
/// step's norm is the output gradient's, and with small recurrent weights the gradient
/// vanishes back through time, for every kind of cell.
#[test]
fn many_to_one_gradient_vanishes_back_through_time() {
    // (op, whether each step must fall below the next: for a tanh RNN with a contracting
    // W_hh it must; gated cells' gates vary with the input, so only the trend is checked)
    let ops: [(Box<dyn Layer>, bool); 3] = [
        (Box::new(lstm(4, 1, false)), false),
        (Box::new(gru(4, 1, false)), false),
        (Box::new(sized!(Rnn, 4, 1, false)), true),
    ];
    let (n, t_len) = (3, 8);
    for (op, monotone) in ops {
        let shape = [n, t_len, 2];
        let x = randn(&shape, 6);
        let mut params = default_params(op.as_ref(), &[&shape], 7);
        // W_hh ≈ 0.3 of its default scale: a contracting recurrence
        params[1] = params[1].map(|w| w * 0.3);
        let dy_last = randn(&[n, 4], 8);
        let mut dy = vec![0.0; n * t_len * 4];
        for i in 0..n {
            dy[(i * t_len + t_len - 1) * 4..][..4].copy_from_slice(&dy_last.data()[i * 4..][..4]);
        }
        let dy = Tensor::new(&[n, t_len, 4], dy).unwrap();
        let norms = step_norms(op.as_ref(), &x, &params, &dy, true).unwrap();
        let last: f32 = dy_last
            .data()
            .chunks(4)
            .map(|r| r.iter().map(|v| v * v).sum::<f32>().sqrt())
            .sum::<f32>()
            / n as f32;
        assert!(
            (norms[t_len - 1] - last).abs() < 1e-6,
            "{norms:?} vs {last}"
        );
        assert!(norms.iter().all(|&v| v > 0.0 && v.is_finite()), "{norms:?}");
        assert!(
            !monotone || norms.windows(2).all(|w| w[0] < w[1]),
            "falls at every step back through time: {norms:?}"
        );
        assert!(norms[..t_len - 1].iter().all(|&v| v < last), "{norms:?}");
        // seven steps back: LSTM ~2e-4 of the last step's, RNN less, GRU ~2e-2 (its
        // update gate passes dh straight back, the reason GRUs vanish more slowly)
        assert!(norms[0] < 0.05 * last, "vanished: {norms:?}");
    }
}

/// The blocks of units depend on the sizes only, so one pool thread and three give the
/// same numbers bit for bit: outputs, input and weight gradients.
#[test]
fn same_numbers_on_any_thread_count() {
    let op = lstm(130, 2, true);
    let shape = [8, 3, 2];
    let x = randn(&shape, 6);
    let g = randn(&[8, 3, 260], 7);
    let params = default_params(&op, &[&shape], 8);
    let p: Vec<&Tensor> = params.iter().collect();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let ctx = Ctx::train(0);
            let fwd = op.forward(&ctx, &[&x], &p).unwrap();
            let bwd = op.backward(&ctx, &[&x], &p, &fwd, &g).unwrap();
            let mut all = fwd.output.into_vec();
            for t in bwd.inputs.into_iter().chain(bwd.params).flatten() {
                all.extend(t.into_vec());
            }
            all
        })
    };
    let (one, three) = (run(1), run(3));
    assert_eq!(one.len(), three.len());
    assert!(
        one.iter()
            .zip(&three)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
}
