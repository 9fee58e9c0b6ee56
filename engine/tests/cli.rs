//! The `hyphae` program end to end, as a user types it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn hyphae() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hyphae"));
    c.current_dir(repo_root());
    c
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hyphae-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&stdout).to_string(),
        String::from_utf8_lossy(&stderr).to_string(),
    );
    assert!(!err.contains("panicked"), "panic: {err}");
    (status.code().unwrap_or(-1), out, err)
}

/// `hyphae SUB GRAPH --weights WEIGHTS`, for more arguments to follow.
fn with_weights(sub: &str, graph: &Path, weights: &Path) -> Command {
    let mut c = hyphae();
    c.arg(sub).arg(graph).arg("--weights").arg(weights);
    c
}

/// The step lines of a metrics log without wall-clock times.
fn step_metrics(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| l.split(",\"wall\"").next().unwrap().to_string())
        .collect()
}

#[test]
fn help_on_every_subcommand() {
    for sub in [
        "train",
        "check",
        "summary",
        "ops",
        "eval",
        "predict",
        "grads",
        "bench",
        "bench-data",
        "sample",
        "runs",
    ] {
        let (code, out, _) = run(hyphae().args([sub, "--help"]));
        assert_eq!(code, 0, "{sub}");
        assert!(out.contains("Usage"), "{sub}: {out}");
    }
}

#[test]
fn check_summary_and_ops() {
    let (code, out, _) = run(hyphae().args(["check", "graphs/mnist_cnn.ron"]));
    assert_eq!(code, 0);
    assert!(out.contains("ok"), "{out}");
    let (code, out, _) = run(hyphae().args(["summary", "graphs/mnist_cnn.ron"]));
    assert_eq!(code, 0);
    assert!(
        out.contains("conv2") && out.contains("[64, 24, 24]") && out.contains("1,199,882"),
        "{out}"
    );
    let (code, out, _) = run(hyphae().args(["ops"]));
    assert_eq!(code, 0);
    for op in [
        "Conv2d(",
        "BatchNorm2d(",
        "CrossEntropyLoss(",
        "GELU(",
        "ConvTranspose2d(",
        "LSTM(hidden_size: uint)",
        "GRU(",
        "RNN(",
        "Select(",
        "Transpose(dim0: int, dim1: int)",
        "Mean(",
        "MultiheadAttention(",
        "TransformerEncoderLayer(",
        "PositionalEmbedding(",
    ] {
        assert!(out.contains(op), "{op} missing: {out}");
    }
    assert!(
        out.contains("Recurrent:") && out.contains("Attention:"),
        "{out}"
    );
    // the sequence example: MNIST rows into an LSTM, its last step classified
    let (code, out, _) = run(hyphae().args(["summary", "graphs/mnist_rnn.ron"]));
    assert_eq!(code, 0);
    assert!(
        out.contains("LSTM") && out.contains("[28, 128]") && out.contains("82,186"),
        "{out}"
    );
}

/// `hyphae ops` prints each op's fields from the schema: required ones marked, optional
/// ones listed with their real defaults (no placeholder values from `Default`).
#[test]
fn ops_lists_required_and_optional_fields_with_real_defaults() {
    let (code, out, _) = run(hyphae().args(["ops"]));
    assert_eq!(code, 0);
    let field = |op: &str, name: &str| -> String {
        let mut lines = out
            .lines()
            .skip_while(|l| !l.starts_with(&format!("  {op}(")));
        lines
            .next()
            .unwrap_or_else(|| panic!("{op} missing: {out}"));
        lines
            .take_while(|l| l.starts_with("      "))
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{op}.{name} missing: {out}"))
            .to_string()
    };
    assert!(field("Linear", "out_features").contains("required"));
    assert!(field("Linear", "in_features").contains("optional"));
    assert!(field("Linear", "bias").contains("default true"));
    assert!(field("Conv2d", "out_channels").contains("required"));
    assert!(field("Conv2d", "kernel_size").contains("required"));
    assert!(field("Conv2d", "padding").contains("default 0"));
    assert!(field("MaxPool2d", "stride").contains("optional"));
    assert!(field("CrossEntropyLoss", "ignore_index").contains("optional"));
    assert!(field("CrossEntropyLoss", "reduction").contains("default mean"));
    assert!(field("BatchNorm2d", "eps").contains("default 1e-5"));
    assert!(field("Dropout", "p").contains("default 0.5"));
    // Required fields never show the palette's placeholder values.
    assert!(!field("Linear", "out_features").contains("10"));
    assert!(!field("Conv2d", "out_channels").contains("16"));
}

/// Issue 14's reproducer that made `hyphae check` panic: now an error naming the node and
/// the field, exit code 1.
#[test]
fn check_rejects_an_overflowing_upscale_factor() {
    let dir = temp_dir("check_overflow");
    let bad = dir.join("shuffle.ron");
    std::fs::write(
        &bad,
        r#"(
    version: 1,
    inputs: [(name: "x", shape: [4, 2, 2])],
    nodes: [(name: "up", op: PixelShuffle(upscale_factor: 4294967296), inputs: ["x"])],
)"#,
    )
    .unwrap();
    let (code, out, err) = run(hyphae().arg("check").arg(&bad));
    assert_eq!(code, 1, "{out}{err}");
    let text = format!("{out}{err}");
    assert!(
        text.contains("node `up`") && text.contains("upscale_factor"),
        "{text}"
    );
}

#[test]
fn check_reports_every_problem_with_positions() {
    let dir = temp_dir("check");
    let bad = dir.join("bad.ron");
    std::fs::write(
        &bad,
        r#"(
    version: 1,
    inputs: [(name: "x", shape: [4])],
    nodes: [
        (name: "fc", op: Linear(out_features: 3), inputs: ["nope"]),
        (name: "fc", op: ReLU(), inputs: ["x"]),
    ],
)"#,
    )
    .unwrap();
    let (code, _, err) = run(hyphae().arg("check").arg(&bad));
    assert_eq!(code, 1);
    assert!(
        err.contains("bad.ron:5:") && err.contains("`nope`"),
        "{err}"
    );
    assert!(
        err.contains("bad.ron:6:") && err.contains("duplicate"),
        "{err}"
    );
}

/// `--tensorboard` writes the run's curves and per-layer histograms as a TensorBoard events
/// file beside metrics.jsonl. (TensorBoard 2.x's own EventAccumulator was checked to read
/// such a file: the same loss and accuracy points as metrics.jsonl, and the histograms.)
#[test]
fn train_writes_tensorboard_events() {
    let dir = temp_dir("tensorboard");
    let (code, _, err) = run(hyphae()
        .args([
            "train",
            "graphs/spirals_mlp.ron",
            "--epochs",
            "1",
            "--data",
            "spirals",
        ])
        .arg("--tensorboard")
        .arg("--out")
        .arg(&dir));
    assert_eq!(code, 0, "{err}");
    let events: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("events.out.tfevents."))
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    let bytes = std::fs::read(&events[0]).unwrap();
    // The first record: its length, a CRC, then the version event.
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert!(String::from_utf8_lossy(&bytes[12..12 + len]).contains("brain.Event:2"));
    let text = String::from_utf8_lossy(&bytes);
    for tag in [
        "train/loss",
        "valid/accuracy",
        "activations/fc1",
        "gradients/fc1.weight",
    ] {
        assert!(text.contains(tag), "{tag} missing");
    }
    // stats.jsonl: the per-layer statistics every stats_every steps (with or without
    // --tensorboard), what the editor reads to follow a run.
    let stats = std::fs::read_to_string(dir.join("stats.jsonl")).unwrap();
    let records: Vec<hyphae::train::metrics::StatsRecord> = stats
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(records.len() >= 2, "{} lines", records.len());
    assert!(records[0].nodes.iter().any(|(n, _)| n == "fc1"));
    assert!(
        records[0]
            .params
            .iter()
            .any(|(n, p)| n == "fc1.weight" && p.grad_norm > 0.0)
    );
}

/// Stopping a run part-way and resuming it gives exactly the uninterrupted run's metrics.
#[test]
fn resume_reproduces_the_uninterrupted_run() {
    let whole = temp_dir("whole");
    let parts = temp_dir("parts");
    let args = [
        "train",
        "graphs/spirals_mlp.ron",
        "--epochs",
        "3",
        "--data",
        "spirals",
    ];
    let (code, _, err) = run(hyphae().args(args).arg("--out").arg(&whole));
    assert_eq!(code, 0, "{err}");
    // Stop in the middle of the second epoch (32 batches per epoch), then resume.
    let (code, _, err) = run(hyphae()
        .args(args)
        .args(["--max-steps", "45"])
        .arg("--out")
        .arg(&parts));
    assert_eq!(code, 0, "{err}");
    assert!(parts.join("checkpoints/step-00000045.safetensors").exists());
    let (code, _, err) = run(hyphae().args(args).arg("--resume").arg(&parts));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("resumed") && err.contains("step 45"), "{err}");
    let a = step_metrics(&whole);
    let b = step_metrics(&parts);
    assert_eq!(a.len(), 3 * 32 + 3, "steps and epoch lines");
    assert_eq!(a, b);
}

/// Ctrl-C saves a checkpoint and exits 130; the resumed run matches an uninterrupted one.
#[test]
fn ctrl_c_saves_a_resumable_checkpoint() {
    let whole = temp_dir("int-whole");
    let parts = temp_dir("int-parts");
    let args = [
        "train",
        "graphs/spirals_mlp.ron",
        "--epochs",
        "60",
        "--data",
        "spirals",
    ];
    let mut child = hyphae()
        .args(args)
        .arg("--out")
        .arg(&parts)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    if status.code() == Some(0) {
        eprintln!("the run finished before the interrupt; nothing to resume");
        return;
    }
    assert_eq!(status.code(), Some(130));
    let (code, _, err) = run(hyphae().args(args).arg("--resume").arg(&parts));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(hyphae().args(args).arg("--out").arg(&whole));
    assert_eq!(code, 0, "{err}");
    assert_eq!(step_metrics(&whole), step_metrics(&parts));
}

#[test]
fn eval_predict_and_grads_after_training() {
    let dir = temp_dir("xor");
    let (code, _, err) = run(hyphae()
        .args(["train", "graphs/xor.ron", "--epochs", "400"])
        .arg("--out")
        .arg(&dir));
    assert_eq!(code, 0, "{err}");
    let weights = dir.join("weights.safetensors");
    let (code, out, err) = run(hyphae()
        .args(["eval", "graphs/xor.ron", "--weights"])
        .arg(&weights));
    assert_eq!(code, 0, "{err}");
    let loss: f64 = out
        .split("loss ")
        .nth(1)
        .unwrap()
        .split([',', ' '])
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(loss < 0.01, "{out}");

    // A batch file for predict and grads, written as safetensors.
    let mut ck = hyphae::train::checkpoint::Checkpoint::default();
    ck.tensors.push((
        "x".into(),
        hyphae::Tensor::new(&[4, 2], vec![0., 0., 0., 1., 1., 0., 1., 1.]).unwrap(),
    ));
    ck.tensors.push((
        "y".into(),
        hyphae::Tensor::new(&[4, 1], vec![0., 1., 1., 0.]).unwrap(),
    ));
    let batch = dir.join("batch.safetensors");
    ck.save(&batch).unwrap();
    let (code, out, err) = run(hyphae()
        .args(["predict", "graphs/xor.ron", "--weights"])
        .arg(&weights)
        .arg("--input")
        .arg(&batch));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("node `fc2`") && out.contains("sample 3"),
        "{out}"
    );

    let grads = dir.join("grads.safetensors");
    let (code, _, err) = run(hyphae()
        .args(["grads", "graphs/xor.ron", "--weights"])
        .arg(&weights)
        .arg("--batch")
        .arg(&batch)
        .arg("--out")
        .arg(&grads));
    assert_eq!(code, 0, "{err}");
    let g = hyphae::train::checkpoint::Checkpoint::load(&grads).unwrap();
    for name in [
        "loss",
        "output.fc2",
        "output_grad.fc2",
        "output_grad.tanh",
        "grad.fc1.weight",
        "grad.fc2.bias",
    ] {
        assert!(g.get(name).is_some(), "{name} missing");
    }
    assert_eq!(g.get("grad.fc1.weight").unwrap().shape(), &[8, 2]);
}

/// A three-class table with integer features (so raw rows are recovered exactly from the
/// standardised ones) and string labels; classes overlap, so accuracy is below 100%.
fn blobs_csv(rows: usize, salt: u64) -> String {
    let mut s = String::from("a,b,species\n");
    let mut h = 0x9e37_79b9_7f4a_7c15u64 ^ salt;
    let mut next = || {
        h ^= h << 13;
        h ^= h >> 7;
        h ^= h << 17;
        (h % 40) as i64
    };
    for i in 0..rows {
        let class = i % 3;
        let (cx, cy) = [(20, 20), (50, 30), (35, 55)][class];
        let (x, y) = (cx + next() - 20, cy + next() - 20);
        s.push_str(&format!(
            "{x},{y},{}\n",
            ["setosa", "versicolor", "virginica"][class]
        ));
    }
    s
}

const BLOBS_GRAPH: &str = r#"(
    version: 1,
    inputs: [
        (name: "x", shape: [2]),
        (name: "label", shape: [], source: Labels),
    ],
    nodes: [
        (name: "fc1", op: Linear(out_features: 16), inputs: ["x"]),
        (name: "relu", op: ReLU(), inputs: ["fc1"]),
        (name: "fc2", op: Linear(out_features: 3), inputs: ["relu"]),
        (name: "loss", op: CrossEntropyLoss(), inputs: ["fc2", "label"]),
    ],
    training: (optimizer: Adam(lr: 0.02), batch_size: 16, epochs: 4, dataset: "csv:blobs.csv:label=species"),
)"#;

/// `accuracy NN.NN%` from a report line.
fn accuracy_of(text: &str) -> String {
    text.split("accuracy ")
        .nth(1)
        .unwrap()
        .split('%')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn csv_run_eval_and_predict_agree_on_the_runs_own_split() {
    let dir = temp_dir("blobs");
    std::fs::write(dir.join("blobs.csv"), blobs_csv(300, 1)).unwrap();
    let graph = dir.join("blobs.ron");
    std::fs::write(&graph, BLOBS_GRAPH).unwrap();
    // The dataset path is relative to the graph file, not the working directory; the split
    // seed is held apart from the seed.
    let out_dir = dir.join("run");
    let (code, out, err) = run(hyphae()
        .arg("train")
        .arg(&graph)
        .args(["--seed", "5", "--split-seed", "3", "--out"])
        .arg(&out_dir));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("3 classes (setosa, versicolor, virginica)"),
        "{err}"
    );
    let trained = accuracy_of(out.lines().find(|l| l.starts_with("validation:")).unwrap());
    let weights = out_dir.join("weights.safetensors");

    // eval: the run's data and split seed, from the weights file, said so.
    let (code, out, err) = run(&mut with_weights("eval", &graph, &weights));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("validation split") && err.contains("split seed 3 from the weights file"),
        "{err}"
    );
    assert_eq!(accuracy_of(&out), trained, "{out}");
    assert!(
        out.contains("classes: 0 setosa, 1 versicolor, 2 virginica"),
        "{out}"
    );
    // Predicted-class counts: the confusion matrix's column sums.
    let matrix: Vec<Vec<u64>> = out
        .lines()
        .skip_while(|l| !l.starts_with("confusion"))
        .skip(2)
        .take(3)
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .map(|v| v.parse().unwrap())
                .collect()
        })
        .collect();
    let column_sums: Vec<u64> = (0..3).map(|j| matrix.iter().map(|r| r[j]).sum()).collect();

    // The raw validation rows, recovered from the library's split with the stored statistics.
    let spec = format!("csv:{}:label=species", dir.join("blobs.csv").display());
    let split = hyphae::data::load(&spec, 3).unwrap();
    let p = &split.preprocessing;
    let mut rows = String::from("a,b\n");
    let mut truth = Vec::new();
    for (x, &y) in split
        .valid
        .features
        .tensor()
        .unwrap()
        .data()
        .chunks(2)
        .zip(split.valid.labels.data())
    {
        let raw: Vec<String> = (0..2)
            .map(|j| format!("{}", (x[j] * p.std[j] + p.mean[j]).round()))
            .collect();
        rows.push_str(&format!("{}\n", raw.join(",")));
        truth.push(p.class_names[y as usize].clone());
    }
    let rows_file = dir.join("valid_rows.csv");
    std::fs::write(&rows_file, rows).unwrap();
    let (code, out, err) = run(hyphae()
        .arg("predict")
        .arg(&graph)
        .arg("--weights")
        .arg(&weights)
        .arg("--input")
        .arg(&rows_file));
    assert_eq!(code, 0, "{err}");
    let predicted: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("line "))
        .map(|l| l.split("class ").nth(1).unwrap().split(' ').next().unwrap())
        .collect();
    assert_eq!(predicted.len(), truth.len(), "{out}");
    let counts: Vec<u64> = ["setosa", "versicolor", "virginica"]
        .iter()
        .map(|c| predicted.iter().filter(|p| *p == c).count() as u64)
        .collect();
    assert_eq!(counts, column_sums, "{out}");
    let right = predicted
        .iter()
        .zip(&truth)
        .filter(|(p, t)| **p == t.as_str())
        .count();
    assert_eq!(
        format!("{:.2}", 100.0 * right as f64 / truth.len() as f64),
        trained
    );

    // A separate test file: scored whole, with the training statistics and class names.
    let test = dir.join("test.csv");
    std::fs::write(&test, blobs_csv(60, 2)).unwrap();
    let (code, out, err) = run(hyphae()
        .arg("eval")
        .arg(&graph)
        .arg("--weights")
        .arg(&weights)
        .arg("--data")
        .arg(format!("csv:{}", test.display())));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("whole dataset") && out.contains("(60 samples)"),
        "{err}\n{out}"
    );
    // --split train scores the run's training rows.
    let (code, out, err) = run(hyphae()
        .arg("eval")
        .arg(&graph)
        .arg("--weights")
        .arg(&weights)
        .args(["--split", "train"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("(240 samples)"), "{out}");
}

const BN_GRAPH: &str = r#"(
    version: 1,
    inputs: [
        (name: "x", shape: [3]),
        (name: "y", shape: [], source: Labels),
    ],
    nodes: [
        (name: "fc", op: Linear(out_features: 2), inputs: ["x"]),
        (name: "bn", op: BatchNorm1d(), inputs: ["fc"]),
        (name: "loss", op: CrossEntropyLoss(), inputs: ["bn", "y"]),
    ],
)"#;

/// A safetensors file as `safetensors.torch.save_file` writes it: f32 tensors, and int64
/// ones where PyTorch keeps integers.
fn torch_file(
    path: &Path,
    f32s: &[(&str, Vec<usize>, Vec<f32>)],
    i64s: &[(&str, Vec<usize>, Vec<i64>)],
) {
    use safetensors::tensor::{Dtype, TensorView};
    let bytes: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = f32s
        .iter()
        .map(|(n, s, v)| {
            (
                n.to_string(),
                Dtype::F32,
                s.clone(),
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        })
        .chain(i64s.iter().map(|(n, s, v)| {
            (
                n.to_string(),
                Dtype::I64,
                s.clone(),
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        }))
        .collect();
    let views: Vec<(String, TensorView)> = bytes
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
}

/// A PyTorch `state_dict` of `Linear(3, 2)` + `BatchNorm1d(2)`, with BatchNorm's int64
/// `num_batches_tracked`, and a batch with int64 targets (as `torch.save`d from a
/// `DataLoader`): `predict` and `grads` give PyTorch's outputs. Expected values follow
/// PyTorch's definitions (eval: `(z - running_mean) / sqrt(running_var + eps) * w + b`;
/// training: the batch's mean and biased variance; `cross_entropy` with mean reduction),
/// computed here in f64. In PyTorch:
/// ```python
/// fc, bn = nn.Linear(3, 2), nn.BatchNorm1d(2)   # weights set to W, B, G, BETA, RM, RV below
/// bn.num_batches_tracked.fill_(7)
/// save_file({"fc.weight": W, ..., "bn.num_batches_tracked": bn.num_batches_tracked}, "w.safetensors")
/// save_file({"x": X, "y": torch.tensor([1, 0])}, "batch.safetensors")   # y is int64
/// bn.eval(); print(bn(fc(X)))                   # predict's output
/// bn.train(); print(F.cross_entropy(bn(fc(X)), y))   # grads' loss
/// ```
#[test]
fn pytorch_state_dict_with_batchnorm_and_int64_targets() {
    let dir = temp_dir("torch");
    let graph = dir.join("bn.ron");
    std::fs::write(&graph, BN_GRAPH).unwrap();
    let w = [[0.5, -1.0, 0.25], [1.0, 0.5, -0.5]];
    let b = [0.1, -0.2];
    let (g, beta, rm, rv) = ([2.0, 0.5], [0.3, -0.1], [0.2, -0.4], [4.0, 0.25]);
    let x = [[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]];
    let y = [1usize, 0];
    let f = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
    let weights = dir.join("w.safetensors");
    let state = [
        ("fc.weight", vec![2, 3], f(&w.concat())),
        ("fc.bias", vec![2], f(&b)),
        ("bn.weight", vec![2], f(&g)),
        ("bn.bias", vec![2], f(&beta)),
        ("bn.running_mean", vec![2], f(&rm)),
        ("bn.running_var", vec![2], f(&rv)),
    ];
    torch_file(
        &weights,
        &state,
        &[("bn.num_batches_tracked", vec![], vec![7])],
    );
    let batch = dir.join("batch.safetensors");
    torch_file(
        &batch,
        &[("x", vec![2, 3], f(&x.concat()))],
        &[("y", vec![2], vec![1, 0])],
    );

    let z: Vec<[f64; 2]> = x
        .iter()
        .map(|r| std::array::from_fn(|o| (0..3).map(|i| w[o][i] * r[i]).sum::<f64>() + b[o]))
        .collect();
    let eps = 1e-5;
    // Eval mode: running statistics.
    let (code, out, err) = run(hyphae()
        .arg("predict")
        .arg(&graph)
        .arg("--weights")
        .arg(&weights)
        .arg("--input")
        .arg(&batch)
        .args(["--node", "bn"]));
    assert_eq!(code, 0, "{err}");
    for (s, zs) in z.iter().enumerate() {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("sample {s}:")))
            .unwrap();
        let got: Vec<f64> = line
            .split('[')
            .nth(1)
            .unwrap()
            .trim_end_matches(']')
            .split(", ")
            .map(|v| v.parse().unwrap())
            .collect();
        for c in 0..2 {
            let want = (zs[c] - rm[c]) / (rv[c] + eps).sqrt() * g[c] + beta[c];
            assert!(
                (got[c] - want).abs() < 1e-3,
                "sample {s} channel {c}: {got:?} vs {want}"
            );
        }
    }
    // Training mode: batch statistics; the int64 targets pick the classes.
    let grads = dir.join("grads.safetensors");
    let (code, _, err) = run(hyphae()
        .arg("grads")
        .arg(&graph)
        .arg("--weights")
        .arg(&weights)
        .arg("--batch")
        .arg(&batch)
        .arg("--out")
        .arg(&grads));
    assert_eq!(code, 0, "{err}");
    let mut loss = 0.0;
    for (s, zs) in z.iter().enumerate() {
        let out: Vec<f64> = (0..2)
            .map(|c| {
                let mean = (z[0][c] + z[1][c]) / 2.0;
                let var = ((z[0][c] - mean).powi(2) + (z[1][c] - mean).powi(2)) / 2.0;
                (zs[c] - mean) / (var + eps).sqrt() * g[c] + beta[c]
            })
            .collect();
        let lse = out.iter().map(|v| v.exp()).sum::<f64>().ln();
        loss += (lse - out[y[s]]) / 2.0;
    }
    let got = hyphae::train::checkpoint::Checkpoint::load(&grads).unwrap();
    let got = got.get("loss").unwrap().data()[0] as f64;
    assert!((got - loss).abs() < 1e-5, "loss {got} vs {loss}");

    // A tensor the graph does not have: an error listing it, unless allowed.
    let mut extra = state.to_vec();
    extra.push(("head.weight", vec![1], vec![0.0]));
    torch_file(&weights, &extra, &[]);
    let args = |allow: bool| {
        let mut c = hyphae();
        c.arg("predict")
            .arg(&graph)
            .arg("--weights")
            .arg(&weights)
            .arg("--input")
            .arg(&batch);
        if allow {
            c.arg("--allow-extra-weights");
        }
        c
    };
    let (code, _, err) = run(&mut args(false));
    assert_ne!(code, 0);
    assert!(
        err.contains("head.weight") && err.contains("--allow-extra-weights"),
        "{err}"
    );
    let (code, _, err) = run(&mut args(true));
    assert_eq!(code, 0, "{err}");

    // A batch with no samples: a clear error, not an internal one.
    torch_file(
        &batch,
        &[("x", vec![0, 3], vec![])],
        &[("y", vec![0], vec![])],
    );
    let (code, _, err) = run(&mut args(true));
    assert_ne!(code, 0);
    assert!(
        err.contains("tensor `x`") && err.contains("at least one sample"),
        "{err}"
    );
}

#[test]
fn drop_last_lets_batchnorm_skip_a_last_batch_of_one() {
    let dir = temp_dir("droplast");
    // 17 rows: 14 train, so batches of 13 leave one sample over.
    let mut rows = String::from("a,b,c,label\n");
    for i in 0..17 {
        rows.push_str(&format!("{i},{},{},{}\n", i * i % 7, i % 3, i % 2));
    }
    std::fs::write(dir.join("t.csv"), rows).unwrap();
    let graph = |drop_last: bool| {
        let g = BN_GRAPH.replace(
            "\n)",
            &format!(
                "\n    training: (batch_size: 13, epochs: 1, drop_last: {drop_last}, dataset: \"csv:t.csv\"),\n)"
            ),
        );
        let p = dir.join(format!("bn-{drop_last}.ron"));
        std::fs::write(&p, g).unwrap();
        p
    };
    let (code, _, err) = run(hyphae()
        .arg("train")
        .arg(graph(false))
        .arg("--out")
        .arg(dir.join("a")));
    assert_ne!(code, 0);
    assert!(err.contains("more than 1 value per channel"), "{err}");
    let (code, _, err) = run(hyphae()
        .arg("train")
        .arg(graph(true))
        .arg("--out")
        .arg(dir.join("b")));
    assert_eq!(code, 0, "{err}");
}

/// Runs the program, expects it to fail with every needle in stderr; returns the exit code.
fn expect_error(args: &[&str], needles: &[&str]) -> i32 {
    let (code, out, err) = run(hyphae().args(args));
    assert_ne!(code, 0, "{args:?} should fail: {out}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: `{n}` not in: {err}");
    }
    code
}

#[test]
fn bad_inputs_get_clear_errors() {
    let dir = temp_dir("bad");
    let d = dir.display().to_string();
    // Missing data directory.
    expect_error(
        &[
            "train",
            "graphs/mnist_mlp.ron",
            "--data",
            &format!("mnist:{d}/nowhere"),
        ],
        &["nowhere"],
    );
    // Wrong IDX magic.
    std::fs::write(
        dir.join("t10k-images-idx3-ubyte"),
        [0u8, 0, 8, 1, 0, 0, 0, 1],
    )
    .unwrap();
    std::fs::write(
        dir.join("t10k-labels-idx1-ubyte"),
        [0u8, 0, 8, 1, 0, 0, 0, 1, 3],
    )
    .unwrap();
    expect_error(
        &[
            "train",
            "graphs/mnist_mlp.ron",
            "--data",
            &format!("mnist:{d}"),
        ],
        &["t10k-images-idx3-ubyte", "magic"],
    );
    // Data whose shape does not match the graph's input.
    expect_error(
        &["train", "graphs/mnist_mlp.ron", "--data", "spirals"],
        &["image", "[2]", "[1, 28, 28]"],
    );
    // A CSV with a non-numeric cell.
    let csv = dir.join("table.csv");
    std::fs::write(&csv, "a,b,label\n1,2,0\n3,oops,1\n").unwrap();
    expect_error(
        &[
            "train",
            "graphs/spirals_mlp.ron",
            "--data",
            &format!("csv:{}", csv.display()),
        ],
        &["table.csv", "oops"],
    );
    // A weights file with a missing tensor, and one with a mis-shaped tensor.
    let mut ck = hyphae::train::checkpoint::Checkpoint::default();
    ck.tensors
        .push(("fc1.weight".into(), hyphae::Tensor::zeros(&[8, 2])));
    let w = dir.join("partial.safetensors");
    ck.save(&w).unwrap();
    expect_error(
        &[
            "eval",
            "graphs/xor.ron",
            "--weights",
            &w.display().to_string(),
        ],
        &["partial.safetensors", "fc2.weight"],
    );
    ck.tensors[0].1 = hyphae::Tensor::zeros(&[8, 3]);
    for name in ["fc1.bias", "fc2.weight", "fc2.bias"] {
        ck.tensors.push((name.into(), hyphae::Tensor::zeros(&[1])));
    }
    ck.save(&w).unwrap();
    expect_error(
        &[
            "eval",
            "graphs/xor.ron",
            "--weights",
            &w.display().to_string(),
        ],
        &["fc1.weight", "[8, 3]", "[8, 2]"],
    );
    // A truncated weights file.
    let bytes = std::fs::read(&w).unwrap();
    std::fs::write(&w, &bytes[..bytes.len() / 2]).unwrap();
    expect_error(
        &[
            "eval",
            "graphs/xor.ron",
            "--weights",
            &w.display().to_string(),
        ],
        &["partial.safetensors"],
    );
    // A malformed graph file.
    let g = dir.join("broken.ron");
    std::fs::write(
        &g,
        "(version: 1, inputs: [], nodes: [(name: \"a\" op: ReLU(), inputs: [])])",
    )
    .unwrap();
    expect_error(&["train", &g.display().to_string()], &["broken.ron:1:"]);
}

#[test]
fn bench_reports_steps_per_second() {
    let (code, out, err) = run(hyphae().args(["bench", "graphs/bench/xor.ron", "--steps", "20"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("steps/s") && out.contains("ms/step"), "{out}");
}

#[test]
fn bench_profile_lists_every_node_with_its_share() {
    let (code, out, err) =
        run(hyphae().args(["bench", "graphs/bench/mlp.ron", "--steps", "5", "--profile"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("profile over 5 steps"), "{out}");
    for node in [
        "fc1",
        "fc2",
        "fc3",
        "relu1",
        "relu2",
        "loss",
        "(optimizer)",
        "(rest)",
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(node))
            .unwrap_or_else(|| panic!("no profile line for {node}:\n{out}"));
        assert!(line.trim_end().ends_with('%'), "{line}");
    }
    // the matmul-heavy first layer takes measurable time, forward and backward
    let fc1: Vec<f64> = out
        .lines()
        .find(|l| l.starts_with("fc1 "))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    assert!(fc1.len() >= 2 && fc1[0] > 0.0 && fc1[1] > 0.0, "{out}");
}

/// Training settings out of range are refused before training: in the file by `check`
/// with the setting's line:column, on the command line with exit code 2.
#[test]
fn training_settings_are_checked() {
    let dir = temp_dir("settings");
    for (training, needle) in [
        (
            "(clip: Value(-1.0))",
            "training.clip: must be a finite number > 0, got -1",
        ),
        (
            "(optimizer: Sgd(lr: NaN))",
            "training.optimizer.lr: must be a finite number > 0, got NaN",
        ),
        (
            "(optimizer: Adam(lr: 0.1, betas: (0.9, 1.0)))",
            "training.optimizer.betas: must be in [0, 1)",
        ),
        ("(batch_size: 0)", "training.batch_size: must be at least 1"),
        (
            "(augment: (jitter: (contrast: 1.5)))",
            "training.augment.jitter.contrast: must be at most 1, got 1.5",
        ),
    ] {
        let g = dir.join("g.ron");
        std::fs::write(
            &g,
            format!(
                "(version: 1,\n inputs: [(name: \"x\", shape: [2]), (name: \"y\", shape: [1], source: Labels)],\n nodes: [(name: \"fc\", op: Linear(out_features: 1), inputs: [\"x\"]),\n  (name: \"loss\", op: MSELoss(), inputs: [\"fc\", \"y\"])],\n training: {training},\n)"
            ),
        )
        .unwrap();
        let (code, _, err) = run(hyphae().arg("check").arg(&g));
        assert_eq!(code, 1, "{training}: {err}");
        assert!(
            err.contains("g.ron:5:") && err.contains(needle),
            "{training}: {err}"
        );
        let (code, _, err) = run(hyphae().args(["train", "--data", "xor"]).arg(&g));
        assert_eq!(code, 1, "{training}: {err}");
        assert!(err.contains(needle), "{training}: {err}");
    }
    for (flag, value, needle) in [
        ("--lr", "-1", "must be a finite number > 0"),
        ("--lr", "inf", "must be a finite number > 0"),
        ("--lr", "nan", "must be a finite number > 0"),
        ("--batch-size", "0", "must be at least 1"),
        ("--epochs", "0", "must be at least 1"),
    ] {
        let (code, _, err) = run(hyphae()
            .args(["train", "graphs/xor.ron", flag, value])
            .arg("--out")
            .arg(dir.join("never")));
        assert_eq!(code, 2, "{flag} {value}: {err}");
        assert!(
            err.contains(flag) && err.contains(needle),
            "{flag} {value}: {err}"
        );
        assert!(!dir.join("never").exists());
    }
}

/// Every run gets its own folder; `--resume` continues exactly the run it names, with its
/// own checkpoint and metrics, and may raise the epochs.
#[test]
fn one_folder_per_run_and_resume_continues_its_own() {
    let cwd = temp_dir("runs");
    let graph = repo_root().join("graphs/spirals_mlp.ron");
    let train = |extra: &[&str]| {
        run(hyphae()
            .current_dir(&cwd)
            .arg("train")
            .arg(&graph)
            .args(["--data", "spirals"])
            .args(extra))
    };
    let (code, _, err) = train(&["--epochs", "1"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = train(&["--epochs", "1", "--lr", "0.05"]);
    assert_eq!(code, 0, "{err}");
    let runs = cwd.join("runs/spirals_mlp");
    let (first, second) = (runs.join("run-001"), runs.join("run-002"));
    assert_eq!(step_metrics(&first).len(), 32 + 1);
    assert_eq!(step_metrics(&second).len(), 32 + 1);
    assert_eq!(
        std::fs::canonicalize(runs.join("latest")).unwrap(),
        std::fs::canonicalize(&second).unwrap()
    );
    let second_metrics = step_metrics(&second);
    // Resume the first run with one more epoch: it continues from its own step 32.
    let (code, _, err) = train(&["--resume", "runs/spirals_mlp/run-001", "--epochs", "2"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("run-001") && err.contains("at step 32") && err.contains("epochs 1 → 2"),
        "{err}"
    );
    let lines = step_metrics(&first);
    assert_eq!(lines.len(), 2 * 32 + 2, "each step and epoch once");
    assert!(
        lines[64].contains("\"kind\":\"step\",\"step\":64,"),
        "{}",
        lines[64]
    );
    assert_eq!(
        step_metrics(&second),
        second_metrics,
        "the other run is untouched"
    );
    // A fresh run into a folder that holds a run is refused; so is resuming no run.
    let (code, _, err) = train(&["--out", "runs/spirals_mlp/run-001"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("already holds a run"), "{err}");
    std::fs::create_dir_all(cwd.join("empty")).unwrap();
    let (code, _, err) = train(&["--resume", "empty"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no checkpoint"), "{err}");
    assert_eq!(step_metrics(&first).len(), 2 * 32 + 2);
}

/// Resuming with an edited graph file: the settings the run keeps unless a flag changes
/// them (lr here) are kept and the edit is named, not silently dropped; those it takes from
/// the file (an LR schedule here) are applied and listed as changed.
#[test]
fn resume_names_the_graph_edits_it_keeps_and_those_it_applies() {
    let cwd = temp_dir("resume-edits");
    let graph = cwd.join("spirals.ron");
    let original = std::fs::read_to_string(repo_root().join("graphs/spirals_mlp.ron")).unwrap();
    std::fs::write(&graph, &original).unwrap();
    let train = |extra: &[&str]| {
        run(hyphae()
            .arg("train")
            .arg(&graph)
            .args(["--data", "spirals", "--out"])
            .arg(cwd.join("run"))
            .args(extra))
    };
    let (code, _, err) = train(&["--epochs", "1"]);
    assert_eq!(code, 0, "{err}");
    let edited = original
        .replace("Adam(lr: 0.01)", "Adam(lr: 0.05, betas: (0.5, 0.999))")
        .replace(
            "batch_size: 64,",
            "batch_size: 64,\n        schedule: Step(step_size: 10, gamma: 0.5),",
        );
    assert_ne!(edited, original);
    std::fs::write(&graph, edited).unwrap();
    let run_dir = cwd.join("run");
    let (code, _, err) = train(&["--resume", run_dir.to_str().unwrap(), "--epochs", "2"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("sets lr 0.05, but the resumed run keeps its 0.01 (pass --lr 0.05"),
        "{err}"
    );
    assert!(err.contains("schedule Constant → Step("), "{err}");
    assert!(
        err.contains("optimizer Adam(") && err.contains("betas:(0.5,0.999)"),
        "{err}"
    );
    assert_eq!(err.matches("lr 0.01 →").count(), 0, "lr is kept: {err}");
    // The schedule took effect: 64 steps halving every 10 leave 0.01 / 2^6.
    let lines = step_metrics(&run_dir);
    let last = lines
        .iter()
        .rfind(|l| l.contains("\"kind\":\"step\""))
        .unwrap();
    let lr: f64 = last.split("\"lr\":").nth(1).unwrap().parse().unwrap();
    assert!((1e-4..2e-4).contains(&lr), "{last}");
    // A new LR by flag is one change, not also an optimizer change.
    let (code, _, err) = train(&[
        "--resume",
        run_dir.to_str().unwrap(),
        "--epochs",
        "3",
        "--lr",
        "0.02",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("settings changed: epochs 2 → 3, lr 0.01 → 0.02\n"),
        "{err}"
    );
}

/// A long spirals run (500 epochs) in `dir`, started in the background.
const LONG_RUN: [&str; 6] = [
    "train",
    "graphs/spirals_mlp.ron",
    "--epochs",
    "500",
    "--data",
    "spirals",
];

fn start_long_run(dir: &Path, extra: &[&str]) -> std::process::Child {
    hyphae()
        .args(LONG_RUN)
        .args(extra)
        .arg("--out")
        .arg(dir)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits (up to 5 s) until `ready` holds.
fn wait_until(ready: impl Fn() -> bool) {
    for _ in 0..200 {
        if ready() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}

/// Resumes the run in `dir` for no more steps (it stops at once) and returns stderr.
fn resume_at_once(dir: &Path) -> String {
    let (code, _, err) = run(hyphae()
        .args(LONG_RUN)
        .args(["--max-steps", "1"])
        .arg("--resume")
        .arg(dir));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("resumed from"), "{err}");
    err
}

/// SIGTERM and SIGHUP save a checkpoint and exit like Ctrl-C; the run resumes from it.
#[cfg(unix)]
#[test]
fn sigterm_and_sighup_save_a_resumable_checkpoint() {
    for signal in ["TERM", "HUP"] {
        let dir = temp_dir(&format!("sig{signal}"));
        let mut child = start_long_run(&dir, &[]);
        // Wait until training has started (the first metrics), then signal.
        let metrics = dir.join("metrics.jsonl");
        wait_until(|| std::fs::metadata(&metrics).is_ok_and(|m| m.len() > 0));
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "SIG{signal}");
        assert!(dir.join("weights.safetensors").exists(), "SIG{signal}");
        resume_at_once(&dir);
    }
}

/// SIGKILL at any moment leaves every file whole: checkpoints load, metrics lines are
/// complete, and the next run removes temporary files of the killed writes.
#[cfg(unix)]
#[test]
fn sigkill_leaves_every_file_whole() {
    let dir = temp_dir("kill9");
    let mut child = start_long_run(&dir, &["--checkpoint-every-steps", "1"]);
    let checkpoints = dir.join("checkpoints");
    wait_until(|| std::fs::read_dir(&checkpoints).is_ok_and(|d| d.count() >= 3));
    std::thread::sleep(std::time::Duration::from_millis(150));
    child.kill().unwrap();
    child.wait().unwrap();
    let stray = checkpoints.join(".step-00000001.safetensors.4000000.tmp");
    std::fs::write(&stray, b"a write that a kill interrupted").unwrap();
    for entry in std::fs::read_dir(&checkpoints).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "safetensors") {
            hyphae::train::checkpoint::Checkpoint::load(&path).unwrap();
        }
    }
    resume_at_once(&dir);
    assert!(!stray.exists(), "stray temporary file not removed");
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    for line in text.lines() {
        assert!(
            line.starts_with('{') && line.ends_with('}'),
            "torn line {line:?}"
        );
    }
}

/// Runs the program, expects the usage-error exit code 2 and every needle in stderr.
fn expect_usage_error(args: &[&str], needles: &[&str]) {
    assert_eq!(
        expect_error(args, needles),
        2,
        "{args:?}: not a usage error"
    );
}

#[test]
fn bad_paths_are_usage_errors() {
    let dir = temp_dir("badpaths");
    let d = dir.display().to_string();
    let file = dir.join("file.txt");
    std::fs::write(&file, "not a graph").unwrap();
    let f = file.display().to_string();
    let missing = format!("{d}/missing.ron");
    for sub in ["train", "check", "summary", "bench"] {
        expect_usage_error(&[sub, &missing], &["missing.ron", "<GRAPH>", "cannot open"]);
        expect_usage_error(&[sub, &d], &["<GRAPH>", "is a directory"]);
    }
    let xor = "graphs/xor.ron";
    expect_usage_error(
        &["train", xor, "--data", &format!("mnist:{d}/nowhere")],
        &["--data", "nowhere", "cannot open"],
    );
    expect_usage_error(
        &["train", xor, "--data", &format!("mnist:{f}")],
        &["not a directory"],
    );
    expect_usage_error(
        &["train", xor, "--data", &format!("csv:{d}:label=y")],
        &["--data", "CSV file", "is a directory"],
    );
    expect_usage_error(&["train", xor, "--out", &f], &["--out", "not a directory"]);
    expect_usage_error(
        &["train", xor, "--resume", &missing],
        &["--resume", "cannot open"],
    );
    expect_usage_error(
        &["eval", xor, "--weights", &missing],
        &["--weights", "cannot open"],
    );
    expect_usage_error(
        &["eval", xor, "--weights", &d],
        &["--weights", "is a directory"],
    );
    expect_usage_error(
        &["predict", xor, "--weights", &f, "--input", &missing],
        &["--input", "cannot open"],
    );
    expect_usage_error(
        &["grads", xor, "--batch", &f, "--out", &d],
        &["--out", "is a directory"],
    );
    expect_usage_error(
        &[
            "grads",
            xor,
            "--batch",
            &f,
            "--out",
            &format!("{d}/no/grads.safetensors"),
        ],
        &["--out", "does not exist"],
    );
    // Unreadable files (root reads anything, so only checked for other users).
    let locked = dir.join("locked.ron");
    std::fs::copy(repo_root().join(xor), &locked).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&locked).is_err() {
        expect_usage_error(&["check", &locked.display().to_string()], &["cannot read"]);
    }
}

#[test]
fn bad_numbers_are_usage_errors() {
    let xor = "graphs/xor.ron";
    for (flag, value, why) in [
        ("--threads", "0", "at least 1"),
        ("--threads", "100000", "at most 1024"),
        ("--max-steps", "0", "at least 1"),
        ("--max-steps", "99999999999999999999", "too large"),
        ("--epochs", "0", "at least 1"),
        ("--batch-size", "0", "at least 1"),
        ("--lr", "-1", "finite number > 0"),
        ("--lr", "0", "finite number > 0"),
        ("--lr", "nan", "finite number > 0"),
        ("--lr", "inf", "finite number > 0"),
        ("--lr", "1e39", "finite number > 0"),
        ("--memory-limit", "lots", "not a size"),
    ] {
        expect_usage_error(&["train", xor, flag, value], &[flag, why]);
    }
    expect_usage_error(
        &["train", xor, "--batch-size=-3"],
        &["--batch-size", "not a whole number"],
    );
    expect_usage_error(&["bench", xor, "--steps", "0"], &["--steps", "at least 1"]);
    expect_usage_error(
        &["bench", xor, "--steps", "1000000000000"],
        &["--steps", "at most"],
    );
    expect_usage_error(
        &["eval", xor, "--weights", xor, "--threads", "0"],
        &["--threads"],
    );
}

#[test]
fn graphs_too_big_for_memory_are_rejected_with_the_estimate() {
    let dir = temp_dir("memory");
    // The reproducers of issue 14: each validated, then aborted or panicked in training.
    for (name, op, input, node) in [
        ("linear", "Linear(out_features: 1000000000000)", "[4]", "fc"),
        (
            "linear_2p62",
            "Linear(out_features: 4611686018427387904)",
            "[1]",
            "fc",
        ),
        (
            "padding",
            "Conv2d(out_channels: 1, kernel_size: 3, padding: 100000)",
            "[1, 4, 4]",
            "fc",
        ),
    ] {
        let g = dir.join(format!("{name}.ron"));
        std::fs::write(
            &g,
            format!(
                "(version: 1, inputs: [(name: \"x\", shape: {input})],\n\
                 nodes: [(name: \"fc\", op: {op}, inputs: [\"x\"])],\n\
                 training: (dataset: \"xor\"))"
            ),
        )
        .unwrap();
        let path = g.display().to_string();
        let (code, _, err) = run(hyphae().args(["check", &path]));
        assert_eq!(code, 1, "{name}: {err}");
        for part in [
            &format!("{name}.ron:2:"),
            &format!("node `{node}`"),
            "estimated memory need",
            "biggest tensors",
        ] {
            assert!(err.contains(part), "{name}: `{part}` not in {err}");
        }
        let (code, _, err) = run(hyphae().args(["train", &path, "--max-steps", "1"]));
        assert_eq!(code, 1, "{name}: {err}");
        assert!(err.contains("estimated memory need"), "{name}: {err}");
    }
    // The limit: a flag, or the environment; the batch size from the command line counts.
    let xor = "graphs/xor.ron";
    let (code, _, err) = run(hyphae().args(["check", xor, "--memory-limit", "1K"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("over the limit of 1.0 KiB"), "{err}");
    let (code, _, err) = run(hyphae()
        .args(["check", xor])
        .env("HYPHAE_MEMORY_LIMIT", "1K"));
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = run(hyphae()
        .args(["check", xor])
        .env("HYPHAE_MEMORY_LIMIT", "x"));
    assert!(code == 1 && err.contains("HYPHAE_MEMORY_LIMIT"), "{err}");
    let out_dir = dir.join("run").display().to_string();
    let (code, _, err) = run(hyphae().args([
        "train",
        xor,
        "--memory-limit",
        "1M",
        "--batch-size",
        "100000",
        "--out",
        &out_dir,
    ]));
    assert!(code == 1 && err.contains("at batch size 100000"), "{err}");
    let (code, out, _) = run(hyphae().args(["summary", xor]));
    assert_eq!(code, 0);
    assert!(
        out.contains("memory per training step (estimate):"),
        "{out}"
    );
}

/// An image folder: `hyphae train` on it (augmented), then `eval` and `predict` on images
/// name the classes by their folder names.
#[test]
fn image_folder_train_eval_and_predict_name_the_classes() {
    let dir = temp_dir("images");
    for (class, base) in [("dark", 40u8), ("light", 200u8)] {
        for i in 0..12u8 {
            let img = image::GrayImage::from_fn(8, 8, |x, y| {
                image::Luma([base.wrapping_add(((x * 7 + y * 3) as u8 + i) % 30)])
            });
            std::fs::create_dir_all(dir.join("tiles").join(class)).unwrap();
            img.save(dir.join("tiles").join(class).join(format!("{i}.png")))
                .unwrap();
        }
    }
    let graph = dir.join("tiles.ron");
    std::fs::write(
        &graph,
        "(version: 1, inputs: [(name: \"x\", shape: [1, 8, 8]),
            (name: \"y\", shape: [], source: Labels)],
          nodes: [(name: \"flat\", op: Flatten(), inputs: [\"x\"]),
            (name: \"fc\", op: Linear(out_features: 2), inputs: [\"flat\"]),
            (name: \"loss\", op: CrossEntropyLoss(), inputs: [\"fc\", \"y\"])],
          training: (optimizer: Adam(lr: 0.05), batch_size: 4, epochs: 4,
            dataset: \"images:tiles\", augment: (hflip: true, crop_padding: 1)))",
    )
    .unwrap();
    let out_dir = dir.join("run");
    let (code, out, err) = run(hyphae().arg("train").arg(&graph).arg("--out").arg(&out_dir));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2 classes (dark, light)"), "{err}");
    assert!(err.contains("images: 8×8"), "{err}");
    let trained = accuracy_of(out.lines().find(|l| l.starts_with("validation:")).unwrap());
    let weights = out_dir.join("weights.safetensors");
    let (code, out, err) = run(&mut with_weights("eval", &graph, &weights));
    assert_eq!(code, 0, "{err}");
    assert_eq!(accuracy_of(&out), trained, "{out}");
    assert!(out.contains("classes: 0 dark, 1 light"), "{out}");
    assert_eq!(trained, "100.00", "{out}");
    // A folder of images, and one image; each line names its file and class.
    let (code, out, err) = run(with_weights("predict", &graph, &weights)
        .arg("--input")
        .arg(dir.join("tiles")));
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().filter(|l| l.contains(".png:")).collect();
    assert_eq!(lines.len(), 24, "{out}");
    for l in &lines {
        let want = if l.contains("/dark/") {
            "class dark"
        } else {
            "class light"
        };
        assert!(l.contains(want), "{l}");
    }
    let (code, out, _) = run(with_weights("predict", &graph, &weights)
        .arg("--input")
        .arg(dir.join("tiles/light/3.png")));
    assert_eq!(code, 0);
    assert!(out.contains("light/3.png: class light (index 1)"), "{out}");
    // The loader benchmark on the same folder, augmented.
    let (code, out, err) = run(hyphae()
        .args([
            "bench-data",
            "--epochs",
            "2",
            "--augment",
            "(hflip: true, erase: 0.5)",
        ])
        .arg(format!(
            "images:{}:cache=0,workers=2",
            dir.join("tiles").display()
        )));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("2 worker thread(s)") && out.contains("median:") && out.contains("images/s"),
        "{out}"
    );
    let (code, _, err) = run(hyphae().args(["bench-data", "tiles", "--augment", "(erase: 2.0)"]));
    assert_eq!(code, 2);
    assert!(err.contains("augment.erase: must be at most 1"), "{err}");
    // A corrupt image is an error naming it.
    std::fs::write(dir.join("tiles/dark/bad.png"), "not a png").unwrap();
    let (code, _, err) = run(with_weights("eval", &graph, &weights).args(["--split", "all"]));
    assert_ne!(code, 0);
    assert!(err.contains("dark/bad.png"), "{err}");
}

/// A next-character model trained briefly on `addition`: `generate` continues a prompt
/// with characters of the recorded vocabulary, `eval` reports exact-match completions of
/// held-out sums, and bad prompts or non-causal graphs are refused with a clear message.
#[test]
fn generate_and_eval_sequences_after_training() {
    let dir = temp_dir("charlm");
    let (code, _, err) = run(hyphae()
        .args(["train", "graphs/char_lm.ron", "--max-steps", "20", "--out"])
        .arg(&dir));
    assert_eq!(code, 0, "{err}");
    let weights = dir.join("weights.safetensors");
    let generate = |extra: &[&str]| {
        run(hyphae()
            .args(["generate", "graphs/char_lm.ron", "--weights"])
            .arg(&weights)
            .args(extra))
    };
    let (code, out, err) = generate(&["--prompt", "12+34=", "--length", "4", "--seed", "3"]);
    assert_eq!(code, 0, "{err}");
    let line = out.trim_end();
    assert!(
        line.starts_with("12+34=") && line.chars().count() == 10,
        "{out}"
    );
    assert!(line.chars().all(|c| "0123456789+=.".contains(c)), "{out}");
    // the same seed repeats the sample; temperature 0 is deterministic
    assert_eq!(
        generate(&["--prompt", "12+34=", "--length", "4", "--seed", "3"]).1,
        out
    );
    let (code, out, err) = generate(&["--length", "3"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("no --prompt") && out.trim_end().chars().count() == 4,
        "{err} {out}"
    );
    let (code, _, err) = generate(&["--prompt", "12+a"]);
    assert_eq!(code, 1);
    assert!(err.contains("'a'") && err.contains("vocabulary"), "{err}");
    let (code, out, err) = run(hyphae()
        .args(["eval", "graphs/char_lm.ron", "--weights"])
        .arg(&weights));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("exact match: ") && out.contains("/1000 = "),
        "{out}"
    );

    // generating from a model whose attention sees later positions would be wrong
    let graph = std::fs::read_to_string(repo_root().join("graphs/char_transformer.ron")).unwrap();
    let open = dir.join("open.ron");
    std::fs::write(&open, graph.replace("causal: true", "causal: false")).unwrap();
    let (code, _, err) = run(hyphae()
        .args(["train"])
        .arg(&open)
        .args(["--max-steps", "1", "--out"])
        .arg(dir.join("open")));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(hyphae()
        .arg("generate")
        .arg(&open)
        .arg("--weights")
        .arg(dir.join("open/weights.safetensors"))
        .args(["--prompt", "1"]));
    assert_eq!(code, 1);
    assert!(err.contains("causal") && err.contains("block1"), "{err}");
}

/// `text:FILE` trains a character model whose vocabulary travels with the weights:
/// `eval` reports bits per character, `generate` writes the file's characters; and a
/// sine forecaster's `eval` reports its free-running error.
#[test]
fn generate_text_and_forecast_sines() {
    let dir = temp_dir("text");
    let text = dir.join("corpus.txt");
    std::fs::write(&text, "the cat sat on the mat. ".repeat(40)).unwrap();
    let graph = dir.join("text.ron");
    std::fs::write(
        &graph,
        format!(
            r#"(
    version: 1,
    inputs: [(name: "x", shape: [16]), (name: "y", shape: [16], source: Labels)],
    nodes: [
        (name: "embed", op: Embedding(num_embeddings: 11, embedding_dim: 8), inputs: ["x"]),
        (name: "lstm", op: LSTM(hidden_size: 16), inputs: ["embed"]),
        (name: "logits", op: Linear(out_features: 11), inputs: ["lstm"]),
        (name: "scores", op: Transpose(dim0: 1, dim1: 2), inputs: ["logits"]),
        (name: "loss", op: CrossEntropyLoss(), inputs: ["scores", "y"]),
    ],
    training: (optimizer: Adam(lr: 0.01), batch_size: 8, epochs: 2, dataset: "text:{}:seq=16"),
)"#,
            text.display()
        ),
    )
    .unwrap();
    let (code, _, err) = run(hyphae()
        .arg("train")
        .arg(&graph)
        .arg("--out")
        .arg(dir.join("run")));
    assert_eq!(code, 0, "{err}");
    let weights = dir.join("run/weights.safetensors");
    let (code, out, err) = run(hyphae()
        .arg("eval")
        .arg(&graph)
        .arg("--weights")
        .arg(&weights));
    assert_eq!(code, 0, "{err}");
    let bpc: f64 = out
        .split("bits per character: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    // 11 characters: a model that learned nothing scores log2(11) = 3.46
    assert!(bpc > 0.0 && bpc < 3.0, "{out}");
    let (code, out, err) = run(hyphae()
        .arg("generate")
        .arg(&graph)
        .arg("--weights")
        .arg(&weights)
        .args([
            "--prompt",
            "the c",
            "--length",
            "30",
            "--temperature",
            "0.5",
        ]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.chars()
            .filter(|c| *c != '\n')
            .all(|c| "the casonm.".contains(c)),
        "{out}"
    );

    let (code, _, err) = run(hyphae()
        .args([
            "train",
            "graphs/time_sequence.ron",
            "--max-steps",
            "3",
            "--out",
        ])
        .arg(dir.join("sine")));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(hyphae()
        .args(["eval", "graphs/time_sequence.ron", "--weights"])
        .arg(dir.join("sine/weights.safetensors")));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("free-running forecast: mean squared error"),
        "{out}"
    );
}

#[test]
fn sample_writes_image_grids_of_a_node() {
    let dir = temp_dir("sample");
    let (code, _, err) = run(hyphae()
        .args([
            "train",
            "graphs/autoencoder.ron",
            "--data",
            "shapes:train=64,valid=16",
        ])
        .args(["--max-steps", "2", "--out"])
        .arg(&dir));
    assert_eq!(code, 0, "{err}");
    let weights = dir.join("weights.safetensors");
    let sample = |args: &[&str], out: &Path| {
        run(
            with_weights("sample", Path::new("graphs/autoencoder.ron"), &weights)
                .args(args)
                .arg("--out")
                .arg(out),
        )
    };
    // reconstructions of validation images: [1, 28, 28] per sample, a 4×3 grid
    let png = dir.join("recon.png");
    let (code, out, err) = sample(
        &["--node", "reconstruction", "--n", "10", "--range", "-1,1"],
        &png,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("10 samples of node `reconstruction`"), "{out}");
    assert!(
        err.contains("validation split of `shapes:train=64,valid=16`"),
        "{err}"
    );
    let img = image::open(&png).unwrap();
    assert_eq!((img.width(), img.height()), (4 * 30 + 2, 3 * 30 + 2));
    // decodings of codes drawn from N(0, 1): no data needed; 784 values seen as 28×28;
    // the same seed gives the same file
    let (a, b) = (dir.join("a.png"), dir.join("b.png"));
    for p in [&a, &b] {
        let (code, _, err) = sample(
            &[
                "--node", "dec2", "--noise", "code", "--n", "4", "--seed", "3",
            ],
            p,
        );
        assert_eq!(code, 0, "{err}");
        assert!(!err.contains("validation split"), "{err}");
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let img = image::open(&a).unwrap();
    assert_eq!((img.width(), img.height()), (2 * 30 + 2, 2 * 30 + 2));
    // --temperature scales the draws: 0.5 changes the images, 0 decodes the prior's mean
    // into four equal tiles
    let tile = |img: &image::GrayImage, k: u32| -> Vec<u8> {
        let (x0, y0) = (2 + (k % 2) * 30, 2 + (k / 2) * 30);
        (0..28)
            .flat_map(|y| (0..28).map(move |x| img.get_pixel(x0 + x, y0 + y).0[0]))
            .collect()
    };
    let (half, zero) = (dir.join("half.png"), dir.join("zero.png"));
    for (t, p) in [("0.5", &half), ("0", &zero)] {
        let (code, _, err) = sample(
            &[
                "--node",
                "dec2",
                "--noise",
                "code",
                "--n",
                "4",
                "--seed",
                "3",
                "--temperature",
                t,
            ],
            p,
        );
        assert_eq!(code, 0, "{err}");
    }
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&half).unwrap());
    let zero = image::open(&zero).unwrap().to_luma8();
    assert!((1..4).all(|k| tile(&zero, k) == tile(&zero, 0)));
    assert_ne!(tile(&img.to_luma8(), 1), tile(&img.to_luma8(), 0));
    // a temperature with no normal draws to scale is an error, not ignored
    let (code, _, err) = sample(
        &["--node", "reconstruction", "--temperature", "0.5"],
        &dir.join("t.png"),
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("--temperature") && err.contains("`reconstruction`"),
        "{err}"
    );
    // clear errors: no such node, not an image, a shape of the wrong size
    let bad = dir.join("bad.png");
    let (code, _, err) = sample(&["--node", "nope"], &bad);
    assert_eq!(code, 1);
    assert!(
        err.contains("no node named `nope`") && err.contains("reconstruction"),
        "{err}"
    );
    let (code, _, err) = sample(&["--node", "code"], &bad);
    assert_eq!(code, 1);
    assert!(
        err.contains("`code`") && err.contains("[32]") && err.contains("not an image"),
        "{err}"
    );
    let (code, _, err) = sample(&["--node", "dec2", "--image-shape", "1x28x27"], &bad);
    assert_eq!(code, 1);
    assert!(err.contains("784"), "{err}");
    // usage errors name the flag and what it takes
    for (flag, value, hint) in [
        ("--image-shape", "28x28", "CxHxW"),
        ("--temperature", "-1", "from 0 to 10"),
        ("--temperature", "nan", "from 0 to 10"),
        ("--temperature", "11", "from 0 to 10"),
    ] {
        expect_usage_error(
            &[
                "sample",
                "graphs/autoencoder.ron",
                "--weights",
                weights.to_str().unwrap(),
                "--node",
                "dec2",
                flag,
                value,
                "--out",
                "x.png",
            ],
            &[flag, hint],
        );
    }
    assert!(!bad.exists());
}

/// Two phases over one graph: `a` trains fc1+logits on loss_a every batch (Adam), `b`
/// trains side on loss_b every second batch (SGD); a noise input feeds both.
const PHASES_GRAPH: &str = r#"(
    version: 1,
    inputs: [
        (name: "point", shape: [2]),
        (name: "z", shape: [2], source: Noise),
        (name: "label", shape: [], source: Labels),
    ],
    nodes: [
        (name: "mix", op: Concat(), inputs: ["point", "z"]),
        (name: "fc1", op: Linear(out_features: 8), inputs: ["mix"]),
        (name: "act", op: ReLU(), inputs: ["fc1"]),
        (name: "logits", op: Linear(out_features: 2), inputs: ["act"]),
        (name: "loss_a", op: CrossEntropyLoss(), inputs: ["logits", "label"]),
        (name: "side", op: Linear(out_features: 2), inputs: ["act"]),
        (name: "loss_b", op: CrossEntropyLoss(), inputs: ["side", "label"]),
    ],
    training: (
        optimizer: Adam(lr: 0.01),
        batch_size: 50,
        epochs: 3,
        seed: 2,
        dataset: "spirals:train=500,valid=100",
        phases: [
            (name: "a", losses: ["loss_a"], updates: ["fc1", "logits"]),
            (name: "b", losses: ["loss_b"], updates: ["side"], optimizer: Sgd(lr: 0.1, momentum: 0.9, ema_momentum: Some(0.9)), every: 2),
        ],
    ),
)"#;

/// Phases log their losses per step, and a run stopped part-way and resumed reproduces
/// the uninterrupted run's metrics step for step (every phase's optimizer state is kept)
/// and its weights bit for bit (phase b's moving average too, which the weights hold).
#[test]
fn phases_log_their_losses_and_resume_exactly() {
    let dir = temp_dir("phases");
    let graph = dir.join("phases.ron");
    std::fs::write(&graph, PHASES_GRAPH).unwrap();
    let (whole, parts) = (dir.join("whole"), dir.join("parts"));
    let train = || {
        let mut c = hyphae();
        c.arg("train").arg(&graph);
        c
    };
    let (code, _, err) = run(train().arg("--out").arg(&whole));
    assert_eq!(code, 0, "{err}");
    let a = step_metrics(&whole);
    // 10 batches an epoch: phase a on each, phase b on every second; 15 steps an epoch
    assert_eq!(
        a.iter().filter(|l| l.contains("\"kind\":\"step\"")).count(),
        30
    );
    assert!(
        a[0].contains("\"loss.a\":") && a[0].contains("\"loss.b\":"),
        "{}",
        a[0]
    );
    assert!(
        a[1].contains("\"loss.a\":") && !a[1].contains("\"loss.b\":"),
        "{}",
        a[1]
    );
    // stop mid-epoch 2 (max 19 steps: its third batch runs both phases, to step 20), resume
    let (code, _, err) = run(train().args(["--max-steps", "19", "--out"]).arg(&parts));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(train().arg("--resume").arg(&parts));
    assert_eq!(code, 0, "{err}");
    assert_eq!(a, step_metrics(&parts));
    assert!(
        out.contains("moving average (ema_momentum) of 2 parameters: side.weight, side.bias"),
        "{out}"
    );
    let load = |p: PathBuf| hyphae::train::checkpoint::Checkpoint::load(&p).unwrap();
    let tensors = |ck: &hyphae::train::checkpoint::Checkpoint| {
        let mut t: Vec<(String, Vec<f32>)> = (ck.tensors.iter())
            .map(|(n, t)| (n.clone(), t.data().to_vec()))
            .collect();
        t.sort_by(|a, b| a.0.cmp(&b.0));
        t
    };
    let (w, p) = (
        load(whole.join("weights.safetensors")),
        load(parts.join("weights.safetensors")),
    );
    assert_eq!(
        tensors(&w),
        tensors(&p),
        "the resumed run's weights, averages included"
    );
    assert_eq!(w.meta("averaged"), Some("side.weight,side.bias"));
    // the last checkpoint keeps the raw parameters and the average apart
    let mut cks: Vec<PathBuf> = (std::fs::read_dir(whole.join("checkpoints")).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    cks.sort();
    let ck = load(cks.pop().unwrap());
    let (raw, avg) = (
        ck.get("side.weight").unwrap(),
        ck.get("optim.side.weight.ema").unwrap(),
    );
    assert_eq!(avg.data(), w.get("side.weight").unwrap().data());
    assert_ne!(raw.data(), avg.data());
    assert_eq!(
        ck.get("fc1.weight").unwrap().data(),
        w.get("fc1.weight").unwrap().data()
    );
    // a bad moving-average momentum is a checked error naming the phase and field
    let bad = PHASES_GRAPH.replace("Some(0.9)", "Some(1.5)");
    std::fs::write(&graph, bad).unwrap();
    let (code, _, err) = run(hyphae().arg("check").arg(&graph));
    assert_eq!(code, 1);
    assert!(
        err.contains("phases `b`: optimizer.ema_momentum: must be in [0, 1), got 1.5"),
        "{err}"
    );
    // a bad phase is a checked error naming it
    let bad = PHASES_GRAPH.replace("updates: [\"side\"]", "updates: [\"logits\"]");
    std::fs::write(&graph, bad).unwrap();
    let (code, _, err) = run(hyphae().arg("check").arg(&graph));
    assert_eq!(code, 1);
    assert!(
        err.contains("phases `b`") && err.contains("already updated by phase `a`"),
        "{err}"
    );
}

/// Every `hyphae train` run keeps its graph; `hyphae runs` lists each run with its settings
/// and its best validation (not only the last), a label file's name, and hides hidden runs
/// unless asked.
#[test]
fn runs_lists_every_run_with_settings_and_best_validation() {
    let dir = temp_dir("runs");
    let root = dir.join("runs");
    for k in 1..=2 {
        let out = root.join("xor").join(format!("run-00{k}"));
        let (code, _, err) = run(hyphae()
            .args([
                "train",
                "graphs/xor.ron",
                "--epochs",
                "3",
                "--data",
                "xor",
                "--out",
            ])
            .arg(&out));
        assert_eq!(code, 0, "{err}");
        assert!(out.join("graph.ron").is_file(), "the run keeps its graph");
    }
    std::fs::write(
        root.join("xor/run-002/labels.ron"),
        "(name: \"second\", tags: [\"sweep\"], hidden: true)",
    )
    .unwrap();
    let (code, out, err) = run(hyphae().arg("runs").arg(&root));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("xor/run-001"), "{out}");
    assert!(
        out.contains("best loss") && out.contains("3 steps"),
        "{out}"
    );
    assert!(
        out.contains("epochs · xor"),
        "settings with the data: {out}"
    );
    assert!(!out.contains("second"), "hidden runs are not listed: {out}");
    let (_, out, _) = run(hyphae().arg("runs").arg(&root).arg("--all"));
    assert!(out.contains("second [sweep] (hidden)"), "{out}");
}
