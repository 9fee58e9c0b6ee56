//! Hot edits: `Trainer::fork` continues a run on an edited graph, carrying what did not
//! change bit for bit, and records the fork in the run folder.

use hyphae::data;
use hyphae::graph::{GraphFile, ValidGraph};
use hyphae::ops::Op;
use hyphae::tensor::Tensor;
use hyphae::train::checkpoint::Checkpoint;
use hyphae::train::trainer::{Event, FORKS_FILE, TrainOptions, Trainer, read_forks};
use std::path::{Path, PathBuf};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hyphae-hot-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn graph(rel: &str) -> GraphFile {
    ValidGraph::load(&repo_file(rel)).unwrap().file
}

fn valid(file: GraphFile) -> ValidGraph {
    ValidGraph::validate(file, "edited.ron", None).unwrap()
}

fn trainer(file: GraphFile, data_spec: &str, out: Option<&Path>, epochs: usize) -> Trainer {
    let split = data::load(data_spec, file.training.split_seed()).unwrap();
    let opts = TrainOptions {
        epochs,
        out_dir: out.map(Path::to_path_buf),
        ..TrainOptions::default()
    };
    Trainer::new(valid(file), split, opts).unwrap()
}

/// `file` with node `name`'s Linear output width set to `width`.
fn widen(mut file: GraphFile, name: &str, width: usize) -> GraphFile {
    let node = file.nodes.iter_mut().find(|n| n.name == name).unwrap();
    match &mut node.op {
        Op::Linear(c) => c.out_features = width,
        other => panic!("{name} is {other:?}"),
    }
    file
}

/// Steps `n` batches (epoch ends included in the count of events, not of steps);
/// returns each step's loss.
fn steps(t: &mut Trainer, n: usize) -> Vec<f64> {
    let mut losses = Vec::new();
    while losses.len() < n {
        match t.step().unwrap() {
            Event::Step(r) => losses.push(r.outcome.loss),
            Event::Epoch(_) => {}
            e => panic!("unexpected {e:?}"),
        }
    }
    losses
}

fn bits(t: &Tensor) -> Vec<u32> {
    t.data().iter().map(|v| v.to_bits()).collect()
}

/// Widening fc2 of the spirals MLP: fc1 and the logits bias keep their values and Adam
/// moments bit for bit; fc2 and the logits weight (its input width changed) start from
/// their initialisation with the new shapes; step and position go on.
#[test]
fn a_fork_carries_unchanged_parameters_bit_for_bit() {
    let out = temp_dir("carry");
    let file = graph("graphs/spirals_mlp.ron");
    let mut old = trainer(file.clone(), "spirals", Some(&out), 3);
    steps(&mut old, 15);
    let before = old.runtime_mut().state_dict();
    let moments = old.runtime_mut().optimizer_state();
    let position = old.position();
    let step = old.runtime().step();

    let (mut new, fork) = Trainer::fork(&mut old, valid(widen(file, "fc2", 96))).unwrap();
    assert_eq!(fork.step, 15);
    assert_eq!(fork.diff.changed, vec!["fc2".to_string()]);
    assert_eq!(
        fork.carry.carried,
        ["fc1.weight", "fc1.bias", "logits.bias"].map(String::from)
    );
    assert_eq!(
        fork.carry.reinitialised,
        ["fc2.weight", "fc2.bias", "logits.weight"].map(String::from)
    );
    assert!(fork.carry.dropped.is_empty());
    assert_eq!(new.runtime().step(), step);
    assert_eq!(new.position(), position);

    let after = new.runtime_mut().state_dict();
    for name in &fork.carry.carried {
        let was = &before.iter().find(|(n, _)| n == name).unwrap().1;
        let now = &after.iter().find(|(n, _)| n == name).unwrap().1;
        assert_eq!(bits(was), bits(now), "{name} changed in the carry");
    }
    let shape = |n: &str| {
        after
            .iter()
            .find(|(m, _)| m == n)
            .unwrap()
            .1
            .shape()
            .to_vec()
    };
    assert_eq!(shape("fc2.weight"), vec![96, 64]);
    assert_eq!(shape("logits.weight"), vec![2, 96]);
    let carried_moments = new.runtime_mut().optimizer_state();
    for (name, steps, bufs) in &moments {
        let (_, s, b) = carried_moments.iter().find(|(n, _, _)| n == name).unwrap();
        if fork.carry.carried.contains(name) {
            assert_eq!(s, steps, "{name}: optimizer steps");
            let same = bufs.iter().zip(b).all(|(x, y)| bits(x) == bits(y));
            assert!(same && bufs.len() == b.len(), "{name}: moments changed");
        } else {
            assert_eq!(
                *s, 0,
                "{name}: a reshaped parameter starts a fresh optimizer state"
            );
        }
    }

    // The run folder keeps both graph versions, the fork's line and a checkpoint of the
    // new graph at the fork's step; training goes on from there.
    assert!(out.join("graphs/step-00000000.ron").is_file());
    let v2 = std::fs::read_to_string(out.join("graphs/step-00000015.ron")).unwrap();
    assert!(v2.contains("out_features: 96"), "{v2}");
    let forks = read_forks(&out);
    assert_eq!(forks.len(), 1, "{forks:?}");
    assert_eq!(forks[0].0, 15);
    let ck = Checkpoint::load(&out.join("checkpoints/step-00000015.safetensors")).unwrap();
    assert_eq!(ck.get("fc2.weight").unwrap().shape(), &[96, 64]);
    let more = steps(&mut new, 5);
    assert!(more.iter().all(|l| l.is_finite()));
    assert_eq!(new.runtime().step(), 20);
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert!(
        metrics.contains("\"step\":20"),
        "the same metrics log goes on"
    );
    assert!(out.join(FORKS_FILE).is_file());
}

/// A fork onto the unchanged graph is invisible: the run continues exactly as an
/// unforked one (same losses bit for bit, same validation), so nothing silently restarts.
#[test]
fn forking_onto_the_same_graph_continues_exactly() {
    let file = graph("graphs/spirals_mlp.ron");
    let mut plain = trainer(file.clone(), "spirals", None, 2);
    let batches = plain.batches_per_epoch();
    let whole = steps(&mut plain, batches + 7);

    let mut first = trainer(file.clone(), "spirals", None, 2);
    let mut losses = steps(&mut first, 9);
    let (mut second, fork) = Trainer::fork(&mut first, valid(file)).unwrap();
    assert_eq!(fork.carry.reinitialised, Vec::<String>::new());
    losses.extend(steps(&mut second, batches + 7 - 9));
    let same = whole
        .iter()
        .zip(&losses)
        .all(|(a, b)| a.to_bits() == b.to_bits());
    assert!(same, "losses differ after the fork:\n{whole:?}\n{losses:?}");
    let a = plain.evaluate_valid().unwrap();
    let b = second.evaluate_valid().unwrap();
    assert_eq!(a.loss.to_bits(), b.loss.to_bits());
}

/// A fork cannot change the data under the run, nor the batch size mid-epoch.
#[test]
fn a_fork_refuses_another_dataset_or_batch_size_mid_epoch() {
    let file = graph("graphs/spirals_mlp.ron");
    let mut old = trainer(file.clone(), "spirals", None, 2);
    steps(&mut old, 3);
    let mut other = file.clone();
    other.training.dataset = Some("moons".into());
    let e = Trainer::fork(&mut old, valid(other)).err().unwrap();
    assert!(e.to_string().contains("dataset changed"), "{e}");
    let mut bigger = file;
    bigger.training.batch_size = 128;
    let e = Trainer::fork(&mut old, valid(bigger)).err().unwrap();
    assert!(e.to_string().contains("middle of an epoch"), "{e}");
}

/// The hot-edit measurement of issue 17: shapes_cnn trained one epoch, its last hidden
/// layer (fc1) widened 64 → 128, resumed: validation accuracy at the next evaluation stays
/// within 2 points of its value before the edit. Two CNN epochs (about 25 s in debug);
/// the figures: `cargo test -p hyphae --test hot_edit widening -- --nocapture`.
#[test]
fn widening_shapes_cnn_after_one_epoch_keeps_its_accuracy() {
    let file = graph("graphs/shapes_cnn.ron");
    let mut old = trainer(file.clone(), "shapes", None, 3);
    let t0 = std::time::Instant::now();
    let before = loop {
        if let Event::Epoch(r) = old.step().unwrap() {
            break r.valid.accuracy.unwrap();
        }
    };
    let (mut new, fork) = Trainer::fork(&mut old, valid(widen(file, "fc1", 128))).unwrap();
    let at_fork = new.evaluate_valid().unwrap().accuracy.unwrap();
    let next = loop {
        if let Event::Epoch(r) = new.step().unwrap() {
            break r.valid.accuracy.unwrap();
        }
    };
    println!(
        "shapes_cnn hot edit: accuracy {:.2}% after epoch 1, {:.2}% right after widening fc1 \
         (reset: {:?}), {:.2}% after epoch 2 ({:.1} s)",
        before * 100.0,
        at_fork * 100.0,
        fork.carry.reinitialised,
        next * 100.0,
        t0.elapsed().as_secs_f64()
    );
    assert!(
        next >= before - 0.02,
        "accuracy fell from {before} to {next} after the edit"
    );
}
