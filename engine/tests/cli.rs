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
        "train", "check", "summary", "ops", "eval", "predict", "grads", "bench",
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
    ] {
        assert!(out.contains(op), "{op} missing: {out}");
    }
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

fn expect_error(args: &[&str], needles: &[&str]) {
    let (code, out, err) = run(hyphae().args(args));
    assert_ne!(code, 0, "{args:?} should fail: {out}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: `{n}` not in: {err}");
    }
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
