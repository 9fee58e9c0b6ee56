//! The training runtime end to end: convergence, whole-graph gradients, PyTorch parity,
//! determinism, events, NaN detection and the thread-safe inference model.

use hyphae::Tensor;
use hyphae::ecs::{Executor, Runtime, TrainEvent};
use hyphae::graph::ValidGraph;
use hyphae::tensor::Rng;

fn xor_graph(seed: u64) -> ValidGraph {
    let text = format!(
        r#"(
    version: 1,
    inputs: [(name: "x", shape: [2]), (name: "y", shape: [1], source: Labels)],
    nodes: [
        (name: "fc1", op: Linear(out_features: 8), inputs: ["x"]),
        (name: "act", op: Tanh(), inputs: ["fc1"]),
        (name: "fc2", op: Linear(out_features: 1), inputs: ["act"]),
        (name: "loss", op: MSELoss(), inputs: ["fc2", "y"]),
    ],
    training: (optimizer: Sgd(lr: 0.1, momentum: 0.9), batch_size: 4, seed: {seed}),
)"#
    );
    ValidGraph::from_ron(&text, "xor.ron").unwrap()
}

fn xor_batch() -> Vec<Tensor> {
    vec![
        Tensor::new(&[4, 2], vec![0., 0., 0., 1., 1., 0., 1., 1.]).unwrap(),
        Tensor::new(&[4, 1], vec![0., 1., 1., 0.]).unwrap(),
    ]
}

/// The seed milestone: a 2-8-1 Tanh MLP learns XOR for every seed.
#[test]
fn xor_converges_for_seeds_0_to_4() {
    for seed in 0..5 {
        let mut rt = Runtime::new(xor_graph(seed)).unwrap();
        let mut last = f64::INFINITY;
        let mut steps = 0;
        while steps < 2000 {
            last = rt.train_step(xor_batch()).unwrap().loss;
            steps += 1;
            if last < 0.01 {
                break;
            }
        }
        assert!(last < 0.01, "seed {seed}: loss {last} after {steps} steps");
        println!("seed {seed}: loss < 0.01 after {steps} steps");
    }
}

/// Same graph, data and seed: a bit-identical loss curve, whichever executor runs it.
#[test]
fn training_is_deterministic() {
    let curve = |executor| {
        let mut rt = Runtime::with_executor(xor_graph(3), executor).unwrap();
        (0..50)
            .map(|_| rt.train_step(xor_batch()).unwrap().loss.to_bits())
            .collect::<Vec<_>>()
    };
    let a = curve(Executor::MultiThreaded);
    assert_eq!(a, curve(Executor::MultiThreaded));
    assert_eq!(a, curve(Executor::SingleThreaded));
}

/// Parallel kernels (batch-parallel conv backward, BatchNorm and LayerNorm reductions,
/// chunked loss sums) add their partial sums in a fixed order: bit-identical runs.
#[test]
fn cnn_training_is_deterministic() {
    let text = r#"(
    version: 1,
    inputs: [(name: "img", shape: [3, 16, 16]), (name: "label", shape: [], source: Labels)],
    nodes: [
        (name: "conv", op: Conv2d(out_channels: 16, kernel_size: 3, padding: 1), inputs: ["img"]),
        (name: "bn", op: BatchNorm2d(), inputs: ["conv"]),
        (name: "relu", op: ReLU(), inputs: ["bn"]),
        (name: "pool", op: MaxPool2d(kernel_size: 2), inputs: ["relu"]),
        (name: "flat", op: Flatten(), inputs: ["pool"]),
        (name: "ln", op: LayerNorm(), inputs: ["flat"]),
        (name: "drop", op: Dropout(p: 0.2), inputs: ["ln"]),
        (name: "fc", op: Linear(out_features: 10), inputs: ["drop"]),
        (name: "loss", op: CrossEntropyLoss(), inputs: ["fc", "label"]),
    ],
    training: (optimizer: Adam(lr: 0.01), seed: 9),
)"#;
    let mut rng = Rng::seed(4);
    let x = Tensor::normal(&[64, 3, 16, 16], 0.0, 1.0, &mut rng);
    let y = Tensor::from_fn(&[64], |i| (i % 10) as f32);
    let curve = || {
        let mut rt = Runtime::new(ValidGraph::from_ron(text, "cnn.ron").unwrap()).unwrap();
        let losses: Vec<u64> = (0..6)
            .map(|_| {
                rt.train_step(vec![x.clone(), y.clone()])
                    .unwrap()
                    .loss
                    .to_bits()
            })
            .collect();
        (losses, rt.state_dict())
    };
    let (a, wa) = curve();
    let (b, wb) = curve();
    assert_eq!(a, b);
    for ((n, ta), (_, tb)) in wa.iter().zip(&wb) {
        assert_eq!(ta.data(), tb.data(), "{n}");
    }
}

/// Clipping acts on the gradients the optimizer sees: by value clamps every element, by
/// norm rescales all gradients together to the given global L2 norm.
#[test]
fn gradient_clipping() {
    use hyphae::graph::Clip;
    let big = || {
        vec![
            Tensor::new(&[4, 2], vec![0., 0., 0., 10., 10., 0., 10., 10.]).unwrap(),
            Tensor::new(&[4, 1], vec![0., 50., 50., 0.]).unwrap(),
        ]
    };
    let mut rt = Runtime::new(xor_graph(0)).unwrap();
    rt.compute_grads(big()).unwrap();
    let raw: f64 = rt
        .grads()
        .iter()
        .filter_map(|(_, g)| g.as_ref())
        .map(Tensor::norm_sq)
        .sum::<f64>()
        .sqrt();
    assert!(raw > 10.0, "{raw}");

    let weights = rt.state_dict();
    let step_with = |clip: Clip| {
        let mut rt = Runtime::new(xor_graph(0)).unwrap();
        rt.hyper_mut().clip = Some(clip);
        rt.hyper_mut().optimizer = hyphae::graph::Optimizer::Sgd {
            lr: 1.0,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            ema_momentum: None,
        };
        rt.train_step(big()).unwrap();
        // With plain SGD at lr 1 the update equals the clipped gradient.
        rt.state_dict()
            .iter()
            .zip(&weights)
            .map(|((n, a), (_, b))| (n.clone(), b.sub(a).unwrap()))
            .collect::<Vec<_>>()
    };
    for (n, u) in step_with(Clip::Value(0.5)) {
        assert!(
            u.max() <= 0.5 + 1e-6 && u.min() >= -0.5 - 1e-6,
            "{n}: {u:?}"
        );
    }
    let total: f64 = step_with(Clip::Norm(1.0))
        .iter()
        .map(|(_, u)| u.norm_sq())
        .sum::<f64>()
        .sqrt();
    assert!((total - 1.0).abs() < 1e-3, "clipped global norm {total}");
}

#[test]
fn events_report_steps_and_statistics() {
    let mut rt = Runtime::new(xor_graph(0)).unwrap();
    rt.hyper_mut().stats_every = 5;
    let (tx, rx) = crossbeam_channel::unbounded();
    rt.set_events(Some(tx));
    for _ in 0..10 {
        rt.train_step(xor_batch()).unwrap();
    }
    let events: Vec<TrainEvent> = rx.try_iter().collect();
    let steps = events
        .iter()
        .filter(|e| matches!(e, TrainEvent::Step { .. }))
        .count();
    assert_eq!(steps, 10);
    let stats: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Stats {
                step,
                nodes,
                params,
            } => Some((step, nodes, params)),
            _ => None,
        })
        .collect();
    assert_eq!(stats.len(), 2, "stats at steps 1 and 6");
    let (_, nodes, params) = stats[0];
    let names: Vec<&str> = nodes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["fc1", "act", "fc2", "loss"]);
    let act = &nodes[1].1;
    assert!(act.min >= -1.0 && act.max <= 1.0 && act.std > 0.0);
    assert_eq!(act.histogram.counts.iter().sum::<u32>(), 32);
    let pnames: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(pnames, ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
    for (name, p) in params.iter() {
        assert!(p.grad_norm > 0.0 && p.weight_norm > 0.0, "{name}: {p:?}");
        assert!(
            p.update_ratio > 0.0 && p.update_ratio < 1.0,
            "{name}: {p:?}"
        );
    }
}

/// With a minimum interval, a burst of steps takes statistics once, whatever
/// `stats_every` picks; the interval cleared, every picked step takes them again.
#[test]
fn statistics_min_interval_thins_fast_steps() {
    let mut rt = Runtime::new(xor_graph(0)).unwrap();
    rt.hyper_mut().stats_every = 1;
    let (tx, rx) = crossbeam_channel::unbounded();
    rt.set_events(Some(tx));
    let stats_steps = |rx: &crossbeam_channel::Receiver<TrainEvent>| -> Vec<u64> {
        rx.try_iter()
            .filter_map(|e| match e {
                TrainEvent::Stats { step, .. } => Some(step),
                _ => None,
            })
            .collect()
    };
    rt.set_stats_min_interval(Some(std::time::Duration::from_secs(3600)));
    for _ in 0..6 {
        rt.train_step(xor_batch()).unwrap();
    }
    assert_eq!(stats_steps(&rx), [1], "only the first step of the burst");
    rt.set_stats_min_interval(None);
    for _ in 0..3 {
        rt.train_step(xor_batch()).unwrap();
    }
    assert_eq!(stats_steps(&rx), [7, 8, 9]);
}

/// Changing the learning rate between steps applies at the next step.
#[test]
fn lr_change_applies_next_step() {
    let mut rt = Runtime::new(xor_graph(0)).unwrap();
    assert_eq!(rt.train_step(xor_batch()).unwrap().lr, 0.1);
    rt.set_lr(0.02);
    assert_eq!(rt.train_step(xor_batch()).unwrap().lr, 0.02);
}

/// A node that produces NaN is named, and the update is skipped (weights stay finite).
#[test]
fn nan_is_traced_to_the_first_node() {
    let text = r#"(
    version: 1,
    inputs: [(name: "x", shape: [2]), (name: "y", shape: [1], source: Labels)],
    nodes: [
        (name: "fc1", op: Linear(out_features: 4), inputs: ["x"]),
        (name: "norm", op: LayerNorm(), inputs: ["fc1"]),
        (name: "fc2", op: Linear(out_features: 1), inputs: ["norm"]),
        (name: "loss", op: MSELoss(), inputs: ["fc2", "y"]),
    ],
)"#;
    let mut rt = Runtime::new(ValidGraph::from_ron(text, "nan.ron").unwrap()).unwrap();
    let before = rt.state_dict();
    let x = Tensor::new(&[2, 2], vec![1.0, f32::INFINITY, 0.5, 0.5]).unwrap();
    let y = Tensor::zeros(&[2, 1]);
    let out = rt.train_step(vec![x, y]).unwrap();
    assert_eq!(out.non_finite_node.as_deref(), Some("fc1"));
    assert_eq!(out.step, 0, "no optimizer step was taken");
    for ((n, a), (_, b)) in before.iter().zip(rt.state_dict()) {
        assert_eq!(a.data(), b.data(), "{n} changed");
    }
}

#[test]
fn batch_shape_errors_name_the_input() {
    let mut rt = Runtime::new(xor_graph(0)).unwrap();
    let err = rt
        .train_step(vec![Tensor::zeros(&[4, 3]), Tensor::zeros(&[4, 1])])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("input `x`") && err.contains("[4, 3]") && err.contains("[4, 2]"),
        "{err}"
    );
}

/// Several threads running one `Model` at once get what one thread gets.
#[test]
fn model_is_shared_across_threads() {
    let mut rt = Runtime::new(xor_graph(1)).unwrap();
    for _ in 0..20 {
        rt.train_step(xor_batch()).unwrap();
    }
    let model = rt.model();
    let x = xor_batch().swap_remove(0);
    let want = model
        .predict(&[x.clone(), Tensor::zeros(&[0])], "fc2")
        .unwrap();
    rt.eval_batch(xor_batch()).unwrap();
    assert_eq!(
        want.data(),
        rt.output("fc2").unwrap().data(),
        "model = runtime in eval mode"
    );
    let model = std::sync::Arc::new(model);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (m, x) = (model.clone(), x.clone());
            std::thread::spawn(move || {
                (0..50)
                    .map(|_| m.predict(&[x.clone(), Tensor::zeros(&[0])], "fc2").unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        for out in h.join().unwrap() {
            assert_eq!(out.data(), want.data());
        }
    }
}

#[test]
fn frozen_nodes_and_lr_mult() {
    let text = xor_graph(0).file.to_ron().unwrap().replace(
        r#"(name: "fc1", op: Linear(out_features: 8, bias: true), inputs: ["x"])"#,
        r#"(name: "fc1", op: Linear(out_features: 8, bias: true), inputs: ["x"], frozen: true)"#,
    );
    assert!(text.contains("frozen: true"), "{text}");
    let mut rt = Runtime::new(ValidGraph::from_ron(&text, "f.ron").unwrap()).unwrap();
    let before = rt.state_dict();
    rt.train_step(xor_batch()).unwrap();
    let after = rt.state_dict();
    assert_eq!(
        before[0].1.data(),
        after[0].1.data(),
        "frozen weight unchanged"
    );
    assert_ne!(before[2].1.data(), after[2].1.data(), "fc2 trained");
}

/// Detach stops the gradient in a whole graph: the layer before it keeps its weights, the
/// layer after it trains (a GAN's discriminator step must not train the generator).
#[test]
fn detach_stops_training_upstream() {
    let text = xor_graph(0)
        .file
        .to_ron()
        .unwrap()
        .replace(r#"inputs: ["fc1"])"#, r#"inputs: ["stop"])"#);
    let text = text.replace(
        r#"(name: "act""#,
        r#"(name: "stop", op: Detach(), inputs: ["fc1"]),
        (name: "act""#,
    );
    assert!(text.contains("Detach"), "{text}");
    let mut rt = Runtime::new(ValidGraph::from_ron(&text, "d.ron").unwrap()).unwrap();
    let before = rt.state_dict();
    rt.train_step(xor_batch()).unwrap();
    let after = rt.state_dict();
    assert_eq!(before[0].0, "fc1.weight");
    assert_eq!(before[0].1.data(), after[0].1.data(), "fc1 behind Detach");
    assert_eq!(
        before[1].1.data(),
        after[1].1.data(),
        "fc1.bias behind Detach"
    );
    assert_ne!(before[2].1.data(), after[2].1.data(), "fc2 trained");
}

/// A branching graph (Conv2d, BatchNorm2d in train mode, ReLU, Add skip, Concat, Linear,
/// CrossEntropy): every parameter's gradient from the runtime matches central finite
/// differences of the runtime's own loss.
/// Checks every parameter's gradient (`probes` elements of each, spread out) against
/// central differences of the runtime's loss with step `eps`; a parameter without a
/// gradient must be a running statistic. Returns how many elements were compared.
fn check_graph_grads(
    rt: &mut Runtime,
    batch: &dyn Fn() -> Vec<Tensor>,
    eps: f32,
    probes: usize,
    atol: f64,
) -> usize {
    rt.compute_grads(batch()).unwrap();
    let grads = rt.grads();
    let params = rt.state_dict();
    let mut checked = 0;
    for (pi, (name, value)) in params.iter().enumerate() {
        let Some(analytic) = grads
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, g)| g.clone())
        else {
            assert!(name.contains("running"), "{name} has no gradient");
            continue;
        };
        for i in (0..value.numel()).step_by(value.numel().div_ceil(probes).max(1)) {
            let probe = |delta: f32, rt: &mut Runtime| {
                let mut p = params.clone();
                p[pi].1.data_mut()[i] += delta;
                rt.load_state_dict(&p, "probe").unwrap();
                rt.loss(batch(), true).unwrap()
            };
            let numeric = (probe(eps, rt) - probe(-eps, rt)) / (2.0 * eps as f64);
            let a = analytic.data()[i] as f64;
            assert!(
                (a - numeric).abs() <= atol + 2e-2 * a.abs().max(numeric.abs()),
                "{name}[{i}]: analytic {a} vs numeric {numeric}"
            );
            checked += 1;
        }
    }
    checked
}

#[test]
fn whole_graph_finite_difference_check() {
    let text = r#"(
    version: 1,
    inputs: [(name: "img", shape: [2, 5, 5]), (name: "label", shape: [], source: Labels)],
    nodes: [
        (name: "conv1", op: Conv2d(out_channels: 3, kernel_size: 3, padding: 1), inputs: ["img"]),
        (name: "bn1", op: BatchNorm2d(), inputs: ["conv1"]),
        (name: "relu1", op: ReLU(), inputs: ["bn1"]),
        (name: "conv2", op: Conv2d(out_channels: 3, kernel_size: 3, padding: 1), inputs: ["relu1"]),
        (name: "skip", op: Add(), inputs: ["conv2", "relu1"]),
        (name: "cat", op: Concat(dim: 1), inputs: ["skip", "img"]),
        (name: "flat", op: Flatten(), inputs: ["cat"]),
        (name: "fc", op: Linear(out_features: 4), inputs: ["flat"]),
        (name: "loss", op: CrossEntropyLoss(), inputs: ["fc", "label"]),
    ],
    training: (seed: 5),
)"#;
    let graph = ValidGraph::from_ron(text, "branchy.ron").unwrap();
    let mut rt = Runtime::new(graph).unwrap();
    let mut rng = Rng::seed(11);
    let x = Tensor::normal(&[4, 2, 5, 5], 0.0, 1.0, &mut rng);
    let y = Tensor::new(&[4], vec![0., 3., 1., 2.]).unwrap();
    let batch = || vec![x.clone(), y.clone()];
    // A small step: a conv weight moves every BatchNorm output of its channel, and with
    // a larger step some cross ReLU's kink at 0 (1e-2 does, measurably). The loss is
    // O(1), so f32 rounding adds only ~1e-4 to the numeric estimate at this step.
    let checked = check_graph_grads(&mut rt, &batch, 1e-3, 6, 2e-3);
    assert!(checked > 30, "checked {checked}");
}

/// A sequence model end to end, checked by finite differences through the runtime: token
/// indices `[T]` → Embedding → a 2-layer bidirectional GRU and an LSTM side by side →
/// per-step Linear → `[N, C, T]` by Permute → CrossEntropyLoss against `[T]` targets.
#[test]
fn sequence_graph_finite_difference_check() {
    let text = r#"(
    version: 1,
    inputs: [(name: "tokens", shape: [6]), (name: "next", shape: [6], source: Labels)],
    nodes: [
        (name: "emb", op: Embedding(num_embeddings: 7, embedding_dim: 4), inputs: ["tokens"]),
        (name: "gru", op: GRU(hidden_size: 3, num_layers: 2, bidirectional: true), inputs: ["emb"]),
        (name: "lstm", op: LSTM(hidden_size: 2), inputs: ["emb"]),
        (name: "both", op: Concat(dim: -1), inputs: ["gru", "lstm"]),
        (name: "head", op: Linear(out_features: 5), inputs: ["both"]),
        (name: "classes_first", op: Permute(dims: [0, 2, 1]), inputs: ["head"]),
        (name: "loss", op: CrossEntropyLoss(), inputs: ["classes_first", "next"]),
    ],
    training: (seed: 3),
)"#;
    let graph = ValidGraph::from_ron(text, "seq.ron").unwrap();
    let mut rt = Runtime::new(graph).unwrap();
    let mut rng = Rng::seed(2);
    let tokens = Tensor::from_fn(&[3, 6], |_| rng.below(7) as f32);
    let next = Tensor::from_fn(&[3, 6], |_| rng.below(5) as f32);
    let batch = || vec![tokens.clone(), next.clone()];
    let checked = check_graph_grads(&mut rt, &batch, 1e-2, 4, 1e-3);
    let names: Vec<String> = rt.state_dict().into_iter().map(|(n, _)| n).collect();
    assert!(
        names.iter().any(|n| n == "gru.weight_hh_l1_reverse"),
        "{names:?}"
    );
    assert!(checked > 60, "checked {checked}");
}

/// Values from PyTorch 2.15, printed by this script:
/// ```python
/// import torch, torch.nn as nn, torch.nn.functional as F
/// torch.manual_seed(0)
/// conv = nn.Conv2d(1, 2, 3); bn = nn.BatchNorm2d(2); fc = nn.Linear(8, 3)
/// with torch.no_grad():
///     bn.weight.copy_(torch.tensor([1.5, 0.5])); bn.bias.copy_(torch.tensor([0.1, -0.2]))
/// x = torch.randn(2, 1, 6, 6); y = torch.tensor([2, 0])
/// h = F.max_pool2d(F.relu(bn(conv(x))), 2)          # train-mode BatchNorm
/// logits = fc(torch.flatten(h, 1))
/// loss = F.cross_entropy(logits, y); loss.backward()
/// f = lambda t: "&[" + ", ".join(f"{v:.8e}" for v in t.detach().flatten().tolist()) + "]"
/// for name, t in [("X", x), ("CONV_W", conv.weight), ("CONV_B", conv.bias), ("FC_W", fc.weight), ("FC_B", fc.bias),
///                 ("G_CONV_W", conv.weight.grad), ("G_CONV_B", conv.bias.grad), ("G_BN_W", bn.weight.grad),
///                 ("G_BN_B", bn.bias.grad), ("G_FC_W", fc.weight.grad), ("G_FC_B", fc.bias.grad),
///                 ("RUNNING_MEAN", bn.running_mean), ("RUNNING_VAR", bn.running_var)]:
///     print(f"const {name}: &[f32] = {f(t)};")
/// print(f"const LOSS: f64 = {loss.item():.8e};")
/// ```
#[test]
fn small_cnn_matches_pytorch() {
    let text = r#"(
    version: 1,
    inputs: [(name: "x", shape: [1, 6, 6]), (name: "y", shape: [], source: Labels)],
    nodes: [
        (name: "conv", op: Conv2d(out_channels: 2, kernel_size: 3), inputs: ["x"]),
        (name: "bn", op: BatchNorm2d(), inputs: ["conv"]),
        (name: "relu", op: ReLU(), inputs: ["bn"]),
        (name: "pool", op: MaxPool2d(kernel_size: 2), inputs: ["relu"]),
        (name: "flat", op: Flatten(), inputs: ["pool"]),
        (name: "fc", op: Linear(out_features: 3), inputs: ["flat"]),
        (name: "loss", op: CrossEntropyLoss(), inputs: ["fc", "y"]),
    ],
)"#;
    let mut rt = Runtime::new(ValidGraph::from_ron(text, "small_cnn.ron").unwrap()).unwrap();
    let t = |shape: &[usize], v: &[f32]| Tensor::new(shape, v.to_vec()).unwrap();
    let weights = vec![
        ("conv.weight".to_string(), t(&[2, 1, 3, 3], CONV_W)),
        ("conv.bias".to_string(), t(&[2], CONV_B)),
        ("bn.weight".to_string(), t(&[2], &[1.5, 0.5])),
        ("bn.bias".to_string(), t(&[2], &[0.1, -0.2])),
        ("bn.running_mean".to_string(), Tensor::zeros(&[2])),
        ("bn.running_var".to_string(), Tensor::ones(&[2])),
        ("fc.weight".to_string(), t(&[3, 8], FC_W)),
        ("fc.bias".to_string(), t(&[3], FC_B)),
    ];
    rt.load_state_dict(&weights, "literals").unwrap();
    let out = rt
        .compute_grads(vec![t(&[2, 1, 6, 6], X), t(&[2], &[2.0, 0.0])])
        .unwrap();
    let close = |what: &str, got: &[f32], want: &[f32]| {
        assert_eq!(got.len(), want.len(), "{what}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-4 * w.abs() + 1e-6,
                "{what}[{i}]: {g} vs PyTorch {w}"
            );
        }
    };
    assert!(
        (out.loss - LOSS).abs() <= 1e-4 * LOSS,
        "loss {} vs {LOSS}",
        out.loss
    );
    let grads = rt.grads();
    let g = |name: &str| {
        grads
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, g)| g.clone())
            .unwrap()
    };
    close("conv.weight grad", g("conv.weight").data(), G_CONV_W);
    close("conv.bias grad", g("conv.bias").data(), G_CONV_B);
    close("bn.weight grad", g("bn.weight").data(), G_BN_W);
    close("bn.bias grad", g("bn.bias").data(), G_BN_B);
    close("fc.weight grad", g("fc.weight").data(), G_FC_W);
    close("fc.bias grad", g("fc.bias").data(), G_FC_B);
    let state = rt.state_dict();
    let s = |name: &str| {
        state
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
            .unwrap()
    };
    close("bn.running_mean", s("bn.running_mean").data(), RUNNING_MEAN);
    close("bn.running_var", s("bn.running_var").data(), RUNNING_VAR);
}

const X: &[f32] = &[
    4.88869816e-01,
    -6.73089921e-01,
    8.72831225e-01,
    1.05535746e+00,
    1.77843720e-01,
    -2.30335474e-01,
    -3.91754389e-01,
    5.43294728e-01,
    1.70664334e+00,
    -4.46217179e-01,
    7.44020700e-01,
    1.52097952e+00,
    3.41050267e+00,
    -1.53118432e+00,
    -1.23413503e+00,
    1.81972528e+00,
    -5.91033161e-01,
    -5.69248080e-01,
    9.19971406e-01,
    1.11081612e+00,
    1.28987408e+00,
    -1.47817397e+00,
    2.56723285e+00,
    -4.73119795e-01,
    1.32527483e+00,
    -1.62932599e+00,
    -5.49743652e-01,
    -4.79834259e-01,
    -4.99681532e-01,
    -1.06698036e+00,
    1.11493957e+00,
    -1.40671432e-01,
    -8.51942971e-02,
    -9.33482349e-02,
    6.87050223e-01,
    -8.38315368e-01,
    8.91821750e-04,
    8.41894090e-01,
    -4.00034159e-01,
    1.03946197e+00,
    6.38181567e-01,
    -2.46000946e-01,
    2.30251646e+00,
    -1.88168919e+00,
    -4.97270226e-02,
    -1.04497862e+00,
    -9.56500828e-01,
    3.35318595e-02,
    -4.37169552e-01,
    1.64586699e+00,
    -1.36016893e+00,
    3.44565421e-01,
    5.19867718e-01,
    -2.61332250e+00,
    -1.69647443e+00,
    -2.28241786e-01,
    -5.61947860e-02,
    -7.01523602e-01,
    1.03668678e+00,
    -6.03670120e-01,
    -1.27876520e+00,
    9.29502323e-02,
    -6.66099727e-01,
    6.08047187e-01,
    1.38729525e+00,
    1.37503791e+00,
    6.59631073e-01,
    4.76557106e-01,
    -1.01630747e+00,
    1.80366978e-01,
    1.08331867e-01,
    -7.54823267e-01,
];
const CONV_W: &[f32] = &[
    -2.49560690e-03,
    1.78814530e-01,
    -2.74348378e-01,
    -2.45313019e-01,
    -1.28384799e-01,
    8.93857926e-02,
    -6.60439348e-03,
    2.64296502e-01,
    -2.95813493e-02,
    8.82041901e-02,
    -1.00737691e-01,
    -6.55217990e-02,
    -3.18449497e-01,
    -2.20760703e-01,
    -1.37407705e-01,
    1.23478575e-02,
    1.31778404e-01,
    2.00007603e-01,
];
const CONV_B: &[f32] = &[-2.25980371e-01, -1.45154282e-01];
const FC_W: &[f32] = &[
    1.28416643e-01,
    2.93586463e-01,
    -7.27613494e-02,
    2.64568150e-01,
    -5.69869205e-02,
    3.74109335e-02,
    3.20134193e-01,
    -3.27980995e-01,
    -2.22575262e-01,
    -8.95074308e-02,
    -1.37815088e-01,
    3.05470407e-01,
    -2.29166105e-01,
    -1.62752241e-01,
    -2.47006699e-01,
    -3.31124306e-01,
    -2.06383422e-01,
    3.03913802e-01,
    1.57762021e-01,
    1.71357617e-01,
    1.85939241e-02,
    -1.81260988e-01,
    5.98158166e-02,
    -3.30110937e-01,
];
const FC_B: &[f32] = &[-2.55465746e-01, -1.82267368e-01, 2.23070249e-01];
const G_CONV_W: &[f32] = &[
    -2.57186711e-01,
    8.88364613e-02,
    3.70334506e-01,
    -7.45892227e-01,
    3.12433243e-01,
    3.11728656e-01,
    2.02252313e-01,
    -3.18806589e-01,
    1.93700194e-03,
    3.15329581e-02,
    2.11656675e-01,
    2.21718289e-02,
    -5.22349551e-02,
    1.05741374e-01,
    -1.17864564e-01,
    5.70784360e-02,
    -4.48840931e-02,
    7.85806179e-02,
];
const G_CONV_B: &[f32] = &[-5.96046448e-08, 0.00000000e+00];
const G_BN_W: &[f32] = &[1.06807679e-01, -1.30145252e-02];
const G_BN_B: &[f32] = &[-5.60930669e-02, -6.01531267e-02];
const G_FC_W: &[f32] = &[
    6.61639810e-01,
    -3.26211482e-01,
    -1.60457388e-01,
    -2.27285072e-01,
    -1.40075028e-01,
    -1.60673298e-02,
    6.86402991e-02,
    -5.46512716e-02,
    1.83775946e-01,
    1.15154967e-01,
    2.18387619e-01,
    1.99405685e-01,
    3.17021981e-02,
    3.54800858e-02,
    3.93105708e-02,
    4.22974564e-02,
    -8.45415533e-01,
    2.11056590e-01,
    -5.79300784e-02,
    2.78795436e-02,
    1.08372860e-01,
    -1.94127206e-02,
    -1.07950829e-01,
    1.23538487e-02,
];
const G_FC_B: &[f32] = &[-3.22354138e-02, 8.76587182e-02, -5.54232299e-02];
const RUNNING_MEAN: &[f32] = &[-2.01725494e-02, -1.65968314e-02];
const RUNNING_VAR: &[f32] = &[9.47439730e-01, 9.23710525e-01];
const LOSS: f64 = 1.04499090e+00;

/// Weights saved by PyTorch with safetensors (f16 and bf16) load into the matching graph and
/// give PyTorch's outputs. The files and expected values come from this script:
/// ```python
/// import torch, torch.nn as nn
/// from safetensors.torch import save_file
/// torch.manual_seed(3)
/// class Xor(nn.Module):
///     def __init__(self):
///         super().__init__(); self.fc1 = nn.Linear(2, 8); self.fc2 = nn.Linear(8, 1)
///     def forward(self, x): return self.fc2(torch.tanh(self.fc1(x)))
/// m = Xor()
/// sd = {k: v.contiguous() for k, v in m.state_dict().items()}
/// save_file({k: v.to(torch.float16) for k, v in sd.items()}, "torch_xor_f16.safetensors")
/// save_file({k: v.to(torch.bfloat16) for k, v in sd.items()}, "torch_xor_bf16.safetensors")
/// x = torch.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
/// for dt in (torch.float16, torch.bfloat16):
///     m2 = Xor(); m2.load_state_dict({k: v.to(dt).float() for k, v in sd.items()})
///     print(dt, m2(x).flatten().tolist())
/// ```
#[test]
fn pytorch_safetensors_weights_load() {
    let g = ValidGraph::from_ron(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../graphs/xor.ron"))
            .unwrap(),
        "xor.ron",
    )
    .unwrap();
    let cases = [
        (
            "torch_xor_f16.safetensors",
            [
                -0.4898839592933655f32,
                -0.3967819809913635,
                -0.33073854446411133,
                -0.2545754313468933,
            ],
        ),
        (
            "torch_xor_bf16.safetensors",
            [
                -0.49110713601112366,
                -0.39790672063827515,
                -0.33223220705986023,
                -0.2557673454284668,
            ],
        ),
    ];
    for (file, want) in cases {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(file);
        let ck = hyphae::train::checkpoint::Checkpoint::load(&path).unwrap();
        let mut rt = Runtime::new(g.clone()).unwrap();
        rt.load_state_dict(&ck.tensors, file).unwrap();
        let out = rt
            .model()
            .predict(&[xor_batch().swap_remove(0), Tensor::zeros(&[0])], "fc2")
            .unwrap();
        for (a, b) in out.data().iter().zip(want) {
            assert!((a - b).abs() < 1e-5, "{file}: {:?} vs {want:?}", out.data());
        }
    }
}

/// The outputs view's node output equals what the training runtime computes for that node
/// (eval mode), and its tiles have the shapes the view draws.
#[test]
fn node_output_matches_the_runtime() {
    use hyphae::train::node_outputs::{OutputView, fixed_inputs, node_output, tiles, view_of};
    let text = r#"(
    version: 1,
    inputs: [(name: "img", shape: [1, 8, 8]), (name: "label", shape: [], source: Labels)],
    nodes: [
        (name: "conv", op: Conv2d(out_channels: 4, kernel_size: 3, padding: 1), inputs: ["img"]),
        (name: "relu", op: ReLU(), inputs: ["conv"]),
        (name: "flat", op: Flatten(), inputs: ["relu"]),
        (name: "fc", op: Linear(out_features: 3), inputs: ["flat"]),
        (name: "loss", op: CrossEntropyLoss(), inputs: ["fc", "label"]),
    ],
    training: (optimizer: Adam(lr: 0.01), seed: 3),
)"#;
    let g = ValidGraph::from_ron(text, "t.ron").unwrap();
    let mut rt = Runtime::new(g.clone()).unwrap();
    let mut rng = Rng::seed(5);
    let x = Tensor::normal(&[6, 1, 8, 8], 0.0, 1.0, &mut rng);
    let y = Tensor::from_fn(&[6], |i| (i % 3) as f32);
    for _ in 0..3 {
        rt.train_step(vec![x.clone(), y.clone()]).unwrap();
    }
    let inputs = fixed_inputs(&g, Some(&x), None, 6, 0);
    let conv = g.node_index("conv").unwrap();
    let out = node_output(&rt.model(), &inputs, conv, 0).unwrap();
    assert_eq!(out.shape(), &[6, 4, 8, 8]);
    rt.eval_batch(vec![x.clone(), y.clone()]).unwrap();
    assert_eq!(out.data(), rt.output("conv").unwrap().data());
    assert_eq!(view_of(&[4, 8, 8]), Some(OutputView::FeatureMaps));
    assert_eq!(view_of(&[1, 8, 8]), Some(OutputView::Images));
    assert_eq!(view_of(&[10]), None);
    let (t, shape) = tiles(&out, OutputView::FeatureMaps).unwrap();
    assert_eq!((t.shape(), shape), (&[4, 64][..], [1, 8, 8]));
    assert!(t.data().iter().all(|v| (0.0..=1.0).contains(v)));
    let (t, shape) = tiles(&x, OutputView::Images).unwrap();
    assert_eq!((t.shape(), shape), (&[6, 64][..], [1, 8, 8]));
}

/// A recurrent node's statistics carry its per-step norms (T of each) on statistics
/// steps; other nodes' do not. Many-to-one: the gradient at the last step is the largest.
#[test]
fn recurrent_statistics_have_per_step_norms() {
    let text = r#"(
    version: 1,
    inputs: [(name: "x", shape: [5, 2]), (name: "y", shape: [1], source: Labels)],
    nodes: [
        (name: "lstm", op: LSTM(hidden_size: 4), inputs: ["x"]),
        (name: "last", op: Select(dim: 1, index: -1), inputs: ["lstm"]),
        (name: "fc", op: Linear(out_features: 1), inputs: ["last"]),
        (name: "loss", op: MSELoss(), inputs: ["fc", "y"]),
    ],
    training: (optimizer: Sgd(lr: 0.1), batch_size: 3, seed: 0),
)"#;
    let mut rt = Runtime::new(ValidGraph::from_ron(text, "rnn.ron").unwrap()).unwrap();
    rt.hyper_mut().stats_every = 2;
    let (tx, rx) = crossbeam_channel::unbounded();
    rt.set_events(Some(tx));
    let mut rng = Rng::seed(1);
    for _ in 0..3 {
        let x = Tensor::normal(&[3, 5, 2], 0.0, 1.0, &mut rng);
        let y = Tensor::normal(&[3, 1], 0.0, 1.0, &mut rng);
        rt.train_step(vec![x, y]).unwrap();
    }
    let stats: Vec<_> = rx
        .try_iter()
        .filter_map(|e| match e {
            TrainEvent::Stats { nodes, .. } => Some(nodes),
            _ => None,
        })
        .collect();
    assert_eq!(stats.len(), 2, "stats at steps 1 and 3");
    for nodes in &stats {
        let per_step = |name: &str| {
            let (_, s) = nodes.iter().find(|(n, _)| n == name).unwrap();
            s.per_step.clone()
        };
        let p = per_step("lstm").expect("the LSTM's per-step norms");
        assert_eq!((p.hidden_norm.len(), p.grad_norm.len()), (5, 5));
        assert!(p.hidden_norm.iter().all(|&v| v > 0.0 && v < 2.0), "{p:?}");
        assert!(p.grad_norm.iter().all(|&v| v > 0.0), "{p:?}");
        assert!(
            p.grad_norm[..4].iter().all(|&v| v < p.grad_norm[4]),
            "{p:?}"
        );
        assert_eq!(per_step("fc"), None);
        assert_eq!(per_step("last"), None);
    }
}
