//! The training loop driven the way a front end drives it: `Trainer::step` only.

use hyphae::data;
use hyphae::graph::ValidGraph;
use hyphae::train::checkpoint::Checkpoint;
use hyphae::train::trainer::{Event, Finish, TrainOptions, Trainer};
use std::path::{Path, PathBuf};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hyphae-trainer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A trainer of graphs/spirals_mlp.ron on the spirals data, writing to `out`.
fn spirals_trainer(out: &Path, opts: TrainOptions) -> Trainer {
    let graph = ValidGraph::load(&repo_file("graphs/spirals_mlp.ron")).unwrap();
    let split = data::load("spirals", graph.file.training.seed).unwrap();
    let opts = TrainOptions {
        out_dir: Some(out.to_path_buf()),
        ..opts
    };
    Trainer::new(graph, split, opts).unwrap()
}

fn epochs(epochs: usize, max_steps: Option<u64>) -> TrainOptions {
    TrainOptions {
        epochs,
        max_steps,
        ..TrainOptions::default()
    }
}

/// Steps until the run finishes; returns (steps, epochs) seen and why it finished.
fn step_to_the_end(t: &mut Trainer) -> (usize, usize, Finish) {
    let (mut steps, mut epochs) = (0, 0);
    for _ in 0..100_000 {
        match t.step().unwrap() {
            Event::Step(_) => steps += 1,
            Event::Epoch(_) => epochs += 1,
            Event::NonFinite { node, .. } => panic!("NaN at {node}"),
            Event::Finished(f) => return (steps, epochs, f),
        }
    }
    panic!("the run never finished");
}

/// A front end that only calls `step()` gets the run folder `hyphae train` writes:
/// metrics per step and epoch, a checkpoint, best and final weights.
#[test]
fn stepping_writes_the_whole_run_folder() {
    let out = temp_dir("step");
    let mut t = spirals_trainer(&out, epochs(2, None));
    let batches = t.batches_per_epoch();
    let (steps, epochs, finish) = step_to_the_end(&mut t);
    assert_eq!(finish, Finish::Completed);
    assert_eq!((steps, epochs), (2 * batches, 2));
    // Finished is sticky: nothing more happens.
    assert!(matches!(
        t.step().unwrap(),
        Event::Finished(Finish::Completed)
    ));
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let count = |kind: &str| {
        metrics
            .lines()
            .filter(|l| l.contains(&format!("\"kind\":\"{kind}\"")))
            .count()
    };
    assert_eq!((count("step"), count("epoch")), (steps, 2));
    let ck = out.join(format!("checkpoints/step-{:08}.safetensors", steps));
    assert_eq!(
        Checkpoint::load(&ck).unwrap().meta("step"),
        Some(steps.to_string().as_str())
    );
    for file in ["best.safetensors", "weights.safetensors"] {
        let w = Checkpoint::load(&out.join(file)).unwrap();
        assert!(w.get("fc1.weight").is_some(), "{file}");
    }
    std::fs::remove_dir_all(&out).unwrap();
}

/// Best weights are written whenever a best exists, also when the run stops at
/// `max_steps` before a checkpoint was due.
#[test]
fn max_steps_writes_best_weights_once_an_epoch_was_validated() {
    let out = temp_dir("best");
    let t = spirals_trainer(&out, epochs(5, None));
    let batches = t.batches_per_epoch() as u64;
    drop(t);
    let mut t = spirals_trainer(&out, epochs(5, Some(batches + 3)));
    let (_, epochs, finish) = step_to_the_end(&mut t);
    assert_eq!((epochs, finish), (1, Finish::MaxSteps));
    assert!(out.join("best.safetensors").exists());
    assert!(out.join("weights.safetensors").exists());
    std::fs::remove_dir_all(&out).unwrap();
}

/// A full disk fails the checkpoint write with a clear error and keeps the previous
/// checkpoint. The disk is full for one file: its temporary name links to /dev/full.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_keeps_the_previous_checkpoint() {
    let out = temp_dir("full");
    let mut t = spirals_trainer(
        &out,
        TrainOptions {
            checkpoint_every_steps: Some(5),
            ..epochs(1, None)
        },
    );
    for _ in 0..5 {
        assert!(matches!(t.step().unwrap(), Event::Step(_)));
    }
    let previous = out.join("checkpoints/step-00000005.safetensors");
    assert!(previous.exists());
    let tmp = out.join(format!(
        "checkpoints/.step-00000010.safetensors.{}.tmp",
        std::process::id()
    ));
    std::os::unix::fs::symlink("/dev/full", &tmp).unwrap();
    let mut error = None;
    for _ in 0..5 {
        match t.step() {
            Ok(_) => {}
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    let error = error.expect("the checkpoint at step 10 must fail");
    assert!(
        error.contains("step-00000010.safetensors") && error.contains("disk is full"),
        "{error}"
    );
    assert!(!tmp.exists() && !out.join("checkpoints/step-00000010.safetensors").exists());
    assert_eq!(Checkpoint::load(&previous).unwrap().meta("step"), Some("5"));
    std::fs::remove_dir_all(&out).unwrap();
}

/// Checkpoints come on a step interval mid-epoch, not only at epoch ends; the newest
/// `keep_last` by recorded step are kept.
#[test]
fn checkpoints_on_a_step_interval() {
    let out = temp_dir("interval");
    let mut t = spirals_trainer(
        &out,
        TrainOptions {
            checkpoint_every_steps: Some(4),
            ..epochs(1, Some(25))
        },
    );
    assert_eq!(step_to_the_end(&mut t).2, Finish::MaxSteps);
    let mut names: Vec<String> = std::fs::read_dir(out.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "step-00000020.safetensors",
            "step-00000024.safetensors",
            "step-00000025.safetensors"
        ]
    );
    // No epoch was validated: no best weights, but the final ones.
    assert!(!out.join("best.safetensors").exists());
    assert!(out.join("weights.safetensors").exists());
    std::fs::remove_dir_all(&out).unwrap();
}

/// A noise input is drawn for every batch from the run's seed: training with it works
/// and is reproducible, and validation draws the same noise each time, so evaluating
/// twice gives the same loss.
#[test]
fn noise_inputs_are_drawn_per_batch_and_reproducibly() {
    let text = r#"(
    version: 1,
    inputs: [
        (name: "point", shape: [2]),
        (name: "z", shape: [3], source: Noise),
        (name: "u", shape: [2], source: UniformNoise),
        (name: "label", shape: [], source: Labels),
    ],
    nodes: [
        (name: "mix", op: Concat(), inputs: ["point", "z", "u"]),
        (name: "fc1", op: Linear(out_features: 16), inputs: ["mix"]),
        (name: "act", op: ReLU(), inputs: ["fc1"]),
        (name: "logits", op: Linear(out_features: 2), inputs: ["act"]),
        (name: "loss", op: CrossEntropyLoss(), inputs: ["logits", "label"]),
    ],
    training: (optimizer: Adam(lr: 0.01), batch_size: 32, epochs: 1, seed: 5, dataset: "spirals"),
)"#;
    let run = |name: &str| {
        let graph = ValidGraph::from_ron(text, "noise.ron").unwrap();
        let split = data::load("spirals", 5).unwrap();
        let out = temp_dir(name);
        let opts = TrainOptions {
            out_dir: Some(out.clone()),
            ..epochs(1, Some(20))
        };
        let mut t = Trainer::new(graph, split, opts).unwrap();
        let (steps, _, _) = step_to_the_end(&mut t);
        assert_eq!(steps, 20);
        let a = t.evaluate_valid().unwrap().loss;
        let b = t.evaluate_valid().unwrap().loss;
        assert_eq!(a.to_bits(), b.to_bits(), "validation noise is fixed");
        let _ = std::fs::remove_dir_all(out);
        (a, t.runtime_mut().state_dict())
    };
    let (loss1, w1) = run("noise1");
    let (loss2, w2) = run("noise2");
    assert_eq!(loss1.to_bits(), loss2.to_bits(), "same seed, same run");
    assert_eq!(w1[0].1.data(), w2[0].1.data());
}

/// The validation loss is per sample whatever the loss's reduction: a one-output
/// regression scored with MSELoss(reduction: sum) reports the same figure as with mean
/// (it was batch-size times larger, a sum over each batch weighted by the batch again).
#[test]
fn validation_loss_is_per_sample_for_sum_reduced_losses() {
    let valid_loss = |reduction: &str| {
        let text = format!(
            r#"(
    version: 1,
    inputs: [(name: "x", shape: [1]), (name: "y", shape: [1], source: Labels)],
    nodes: [
        (name: "fc", op: Linear(out_features: 1), inputs: ["x"]),
        (name: "loss", op: MSELoss(reduction: {reduction}), inputs: ["fc", "y"]),
    ],
    training: (batch_size: 16, epochs: 1, seed: 2, dataset: "sine"),
)"#
        );
        let graph = ValidGraph::from_ron(&text, "r.ron").unwrap();
        let split = data::load("sine", 2).unwrap();
        let out = temp_dir(&format!("reduction-{reduction}"));
        let opts = TrainOptions {
            out_dir: Some(out.clone()),
            ..epochs(1, Some(1))
        };
        let mut t = Trainer::new(graph, split, opts).unwrap();
        let loss = t.evaluate_valid().unwrap().loss;
        let _ = std::fs::remove_dir_all(out);
        loss
    };
    let (mean, sum) = (valid_loss("mean"), valid_loss("sum"));
    assert!(
        (mean - sum).abs() <= 1e-5 * mean.abs().max(1.0),
        "mean {mean} vs sum {sum}"
    );
}

/// A phase step changes only its nodes' parameters, minimises only its losses, and
/// leaves the graph's losses and optimizer as they were.
#[test]
fn a_phase_updates_only_its_nodes() {
    let text = r#"(
    version: 1,
    inputs: [(name: "point", shape: [2]), (name: "label", shape: [], source: Labels)],
    nodes: [
        (name: "fc1", op: Linear(out_features: 4), inputs: ["point"]),
        (name: "logits", op: Linear(out_features: 2), inputs: ["fc1"]),
        (name: "loss_a", op: CrossEntropyLoss(), inputs: ["logits", "label"]),
        (name: "side", op: Linear(out_features: 2), inputs: ["fc1"]),
        (name: "loss_b", op: CrossEntropyLoss(), inputs: ["side", "label"]),
    ],
    training: (optimizer: Adam(lr: 0.1), batch_size: 8, seed: 1),
)"#;
    let graph = ValidGraph::from_ron(text, "phase.ron").unwrap();
    let (fc1, side, loss_b) = (
        graph.node_index("fc1").unwrap(),
        graph.node_index("side").unwrap(),
        graph.node_index("loss_b").unwrap(),
    );
    let mut rt = hyphae::ecs::Runtime::new(graph).unwrap();
    let x = hyphae::Tensor::new(&[2, 2], vec![0.5, -1.0, 2.0, 0.3]).unwrap();
    let y = hyphae::Tensor::new(&[2], vec![1.0, 0.0]).unwrap();
    let before = rt.state_dict();
    let sgd = hyphae::graph::Optimizer::Sgd {
        lr: 0.5,
        momentum: 0.0,
        dampening: 0.0,
        nesterov: false,
        weight_decay: 0.0,
        ema_momentum: None,
    };
    let out = rt
        .train_phase(vec![x.clone(), y.clone()], &[loss_b], &[side], &sgd)
        .unwrap();
    assert_eq!(out.lr, 0.5, "the phase's optimizer");
    let loss_b_value = rt.output("loss_b").unwrap().item().unwrap() as f64;
    assert!(
        (out.loss - loss_b_value).abs() < 1e-6,
        "only loss_b is minimised"
    );
    for ((name, a), (_, b)) in before.iter().zip(rt.state_dict()) {
        assert_eq!(a.data() != b.data(), name.starts_with("side."), "{name}");
    }
    // afterwards the graph's own losses and optimizer again: every parameter moves
    let before = rt.state_dict();
    let out = rt.train_step(vec![x.clone(), y.clone()]).unwrap();
    assert_eq!(out.lr, 0.1);
    let both = ["loss_a", "loss_b"].map(|n| rt.output(n).unwrap().item().unwrap() as f64);
    assert!(
        (out.loss - (both[0] + both[1])).abs() < 1e-6,
        "the sum of all losses"
    );
    for ((name, a), (_, b)) in before.iter().zip(rt.state_dict()) {
        assert_ne!(a.data(), b.data(), "{name}");
    }
    // a phase over fc1 alone moves fc1 only
    let before = rt.state_dict();
    rt.train_phase(vec![x, y], &[loss_b], &[fc1], &sgd).unwrap();
    for ((name, a), (_, b)) in before.iter().zip(rt.state_dict()) {
        assert_eq!(a.data() != b.data(), name.starts_with("fc1."), "{name}");
    }
}

/// `ema_momentum` on a phase's optimizer averages that phase's parameters alone, step by
/// step (ema = m·ema + (1 − m)·p, starting at the parameters after the first step), and
/// the weights the run writes hold the average in place of those parameters.
#[test]
fn a_phase_with_ema_momentum_averages_its_parameters() {
    let text = r#"(
    version: 1,
    inputs: [(name: "point", shape: [2]), (name: "label", shape: [], source: Labels)],
    nodes: [
        (name: "fc1", op: Linear(out_features: 4), inputs: ["point"]),
        (name: "logits", op: Linear(out_features: 2), inputs: ["fc1"]),
        (name: "loss", op: CrossEntropyLoss(), inputs: ["logits", "label"]),
    ],
    training: (optimizer: Adam(lr: 0.1), batch_size: 8, seed: 1),
)"#;
    let graph = ValidGraph::from_ron(text, "ema.ron").unwrap();
    let (fc1, loss) = (
        graph.node_index("fc1").unwrap(),
        graph.node_index("loss").unwrap(),
    );
    let mut rt = hyphae::ecs::Runtime::new(graph).unwrap();
    let x = hyphae::Tensor::new(&[2, 2], vec![0.5, -1.0, 2.0, 0.3]).unwrap();
    let y = hyphae::Tensor::new(&[2], vec![1.0, 0.0]).unwrap();
    let opt: hyphae::graph::Optimizer =
        ron::from_str("Adam(lr: 0.1, betas: (0.5, 0.999), ema_momentum: Some(0.75))").unwrap();
    let mut ema: Option<Vec<Vec<f32>>> = None;
    for _ in 0..4 {
        rt.train_phase(vec![x.clone(), y.clone()], &[loss], &[fc1], &opt)
            .unwrap();
        let now: Vec<Vec<f32>> = (rt.state_dict().into_iter())
            .filter(|(n, _)| n.starts_with("fc1."))
            .map(|(_, t)| t.data().to_vec())
            .collect();
        ema = Some(match ema {
            None => now,
            Some(e) => (e.iter().zip(&now))
                .map(|(e, p)| e.iter().zip(p).map(|(e, p)| 0.75 * e + 0.25 * p).collect())
                .collect(),
        });
    }
    let ema = ema.unwrap();
    let kept = rt.ema_state();
    let names: Vec<&str> = kept.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["fc1.weight", "fc1.bias"],
        "only the phase's parameters"
    );
    for ((_, got), want) in kept.iter().zip(&ema) {
        assert_eq!(got.data(), want.as_slice());
    }
    let (averaged, replaced) = rt.averaged_state_dict();
    assert_eq!(replaced, ["fc1.weight", "fc1.bias"]);
    for ((name, avg), (_, raw)) in averaged.iter().zip(rt.state_dict()) {
        assert_eq!(avg.shape(), raw.shape(), "{name}");
        match name.as_str() {
            "fc1.weight" => assert_eq!(avg.data(), ema[0].as_slice()),
            "fc1.bias" => assert_eq!(avg.data(), ema[1].as_slice()),
            _ => assert_eq!(avg.data(), raw.data(), "{name}"),
        }
    }
    assert_ne!(
        ema[0].as_slice(),
        rt.state_dict()[0].1.data(),
        "the average lags"
    );
}
