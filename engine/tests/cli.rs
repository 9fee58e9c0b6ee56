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
