//! Live training driven through the editor's UI with egui_kittest. Training runs on its own
//! thread, so every wait polls frames until a condition holds (with a generous timeout);
//! nothing asserts on wall time.

mod common;

use common::*;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use hyphae_editor::EditorApp;
use hyphae_editor::session::Phase;
use hyphae_editor::session::badges::badges;
use std::time::Duration;

/// Whether some widget has this label (legends repeat grid labels).
fn shows(h: &Harness<'_, EditorApp>, label: &str) {
    assert!(
        h.get_all_by_label(label).next().is_some(),
        "`{label}` shown"
    );
}

fn mean(v: &[[f64; 2]]) -> f64 {
    v.iter().map(|p| p[1]).sum::<f64>() / v.len().max(1) as f64
}

#[test]
fn shapes_cnn_trains_live_and_a_clicked_node_shows_statistics() {
    let mut h = open_for_training(
        &workspace().join("graphs/shapes_cnn.ron"),
        "shapes:train=512,valid=128",
    );
    h.state_mut().core.doc.file.training.stats_every = 2;
    h.state_mut().core.doc.revalidate();
    h.get_by_label("▶ Start").click();
    wait_for(&mut h, "24 steps", |s| s.core.training.run.loss.len() >= 24);
    let loss = h.state().core.training.run.loss.clone();
    assert!(loss.iter().all(|p| p[1].is_finite()));
    let (first, last) = (mean(&loss[..4]), mean(&loss[loss.len() - 4..]));
    assert!(
        last < first,
        "loss falls: first steps {first}, last steps {last}"
    );
    assert_eq!(
        h.state().core.training.run.smoothed.len(),
        loss.len(),
        "smoothed curve"
    );
    wait_for(&mut h, "validation after the first epoch", |s| {
        !s.core.training.run.valid_loss.is_empty() && !s.core.training.run.valid_acc.is_empty()
    });

    // Click a node on the canvas: the inspector shows its live statistics.
    wait_for(&mut h, "statistics", |s| {
        s.core.training.nodes.contains_key("relu1")
            && s.core.training.params.contains_key("conv1.weight")
    });
    click_node(&mut h, "relu1");
    assert_eq!(selected(&h), vec!["relu1".to_string()]);
    shows(&h, "Live statistics");
    shows(&h, "activation mean");
    shows(&h, "zero fraction");
    shows(&h, "activations histogram");

    click_node(&mut h, "conv1");
    assert_eq!(selected(&h), vec!["conv1".to_string()]);
    shows(&h, "conv1.weight");
    shows(&h, "grad norm");
    shows(&h, "update/weight");
    shows(&h, "gradient histogram");

    h.get_by_label("⏹ Stop").click();
    // The trainer thread acknowledges Stop when its step ends: slower on a loaded machine.
    wait_for(&mut h, "stopped", |s| !s.core.training.is_live());
}

#[test]
fn pause_stops_the_step_counter_and_resume_continues() {
    let mut h = open_for_training(
        &workspace().join("graphs/shapes_cnn.ron"),
        "shapes:train=512,valid=128",
    );
    h.state_mut().core.doc.file.training.epochs = 50;
    h.state_mut().core.doc.revalidate();
    start_until_step(&mut h, 3);
    pause(&mut h);
    let at = h.state().core.training.step;
    let points = h.state().core.training.run.loss.len();
    for _ in 0..30 {
        h.run_steps(1);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(h.state().core.training.step, at, "no steps while paused");
    assert_eq!(h.state().core.training.run.loss.len(), points);

    // One step at a time while paused.
    h.get_by_label("Step").click();
    wait_for(&mut h, "one step", |s| {
        s.core.training.step == at + 1 && s.core.training.phase == Phase::Paused
    });

    h.get_by_label("⏵ Resume").click();
    wait_for(&mut h, "steps after resuming", |s| {
        s.core.training.step >= at + 4
    });
    assert_eq!(h.state().core.training.phase, Phase::Running);

    // A new learning rate applies from the next step, without a restart: typed into the
    // live field, applied on Enter.
    enter_text(&mut h, "live lr", "0.0005");
    wait_for(&mut h, "steps at the new learning rate", |s| {
        s.core
            .training
            .run
            .lr
            .last()
            .is_some_and(|p| (p[1] - 0.0005).abs() < 1e-9)
    });
    stop(&mut h);
}

#[test]
fn non_finite_output_pauses_and_names_the_node() {
    let mut h = open_for_training(&workspace().join("editor/tests/data/overflow.ron"), "");
    h.get_by_label("▶ Start").click();
    wait_for(&mut h, "the NaN pause", |s| {
        matches!(s.core.training.phase, Phase::NonFinite(_))
    });
    assert_eq!(h.state().core.training.non_finite_node(), Some("fc2"));
    h.run_steps(2);
    h.get_by_label("paused: NaN/Inf first appeared in `fc2`");
    // The canvas marks the node.
    h.get_by_label("⚠ NaN/Inf first here");
    stop(&mut h);
}

#[test]
fn a_run_leaves_a_run_folder_and_its_weights_save_load_and_evaluate() {
    let dir = std::env::temp_dir().join(format!("hyphae-editor-weights-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("w.safetensors");
    let mut h = open_for_training(
        &workspace().join("graphs/shapes_cnn.ron"),
        "shapes:train=256,valid=64",
    );
    h.state_mut().core.doc.file.training.epochs = 1;
    h.state_mut().core.doc.revalidate();
    h.state_mut().ui.weights_path = path.display().to_string();
    h.get_by_label("▶ Start").click();
    wait_for(&mut h, "the end of the run", |s| {
        s.core.training.phase == Phase::Finished
    });
    // The run went through the engine's training loop: its folder is like `hyphae train`'s.
    let run = h
        .state()
        .core
        .training
        .messages
        .iter()
        .find_map(|(m, _)| m.strip_prefix("run folder: "))
        .map(std::path::PathBuf::from)
        .expect("the run folder is announced");
    for file in [
        "metrics.jsonl",
        "checkpoints",
        "best.safetensors",
        "weights.safetensors",
    ] {
        assert!(
            run.join(file).exists(),
            "{file} missing in {}",
            run.display()
        );
    }
    h.get_by_label("Save weights").click();
    wait_for(&mut h, "the weights file", |_| path.exists());
    drop(h);

    // A fresh editor on the same graph: load the saved weights, evaluate, see the
    // confusion matrix.
    let mut h = open_for_training(
        &workspace().join("graphs/shapes_cnn.ron"),
        "shapes:train=256,valid=64",
    );
    h.state_mut().ui.weights_path = path.display().to_string();
    h.run_steps(1);
    h.get_by_label("Load weights").click();
    wait_for(&mut h, "loaded", |s| {
        s.core
            .training
            .messages
            .iter()
            .any(|(m, _)| m.starts_with("loaded weights"))
    });
    h.get_by_label("Evaluate").click();
    wait_for(&mut h, "the evaluation", |s| s.ui.show_evaluation);
    h.run_steps(2);
    h.get_by_label("confusion matrix (rows: true, columns: predicted)");
    let r = h.state().core.training.last_eval.clone().expect("report");
    let conf = r.confusion.expect("classifier");
    assert_eq!(conf.len(), 4);
    assert_eq!(conf.iter().flatten().sum::<u64>(), 64);
    assert!(r.accuracy.is_some_and(|a| a > 0.25), "better than chance");
}

#[test]
fn a_dead_relu_and_the_layers_it_starves_are_badged_on_the_canvas() {
    let mut h = open_for_training(&workspace().join("editor/tests/data/dead_relu.ron"), "");
    h.get_by_label("▶ Start").click();
    wait_for(&mut h, "statistics of relu1 and fc1", |s| {
        s.core.training.nodes.contains_key("relu1")
            && s.core.training.params.contains_key("fc1.weight")
    });
    let relu = &h.state().core.training.nodes["relu1"].latest;
    assert_eq!(relu.zero_fraction, 1.0, "every unit dead");
    // Pause and fit the view: an XOR epoch is one batch, so epoch lines keep growing the
    // panel and shrinking the canvas, and a node near its edge can leave the view (this
    // failed once in CI with one of the two badges not found).
    h.get_by_label("⏸ Pause").click();
    h.run_steps(2);
    h.state_mut().canvas.fit_view = true;
    h.run_steps(5);
    // The badge texts are labels on the nodes' bodies.
    h.get_by_label("⚠ dead units 100%");
    // No gradient reaches fc1 through the dead units, and fc2's weight sees only zeros.
    let vanishing = h.get_all_by_label("⚠ vanishing grad 0").count();
    let params: Vec<String> = h
        .state()
        .core
        .training
        .params
        .iter()
        .map(|(n, p)| format!("{n}: {:?}", p.latest))
        .collect();
    let shown = badges(&h.state().core.training, |n| n == "relu1");
    assert_eq!(
        vanishing, 2,
        "vanishing-gradient badges on fc1 and fc2; badges {shown:?}; params {params:#?}"
    );
    let all = badges(&h.state().core.training, |n| n == "relu1");
    let mut badged: Vec<&str> = all.keys().map(String::as_str).collect();
    badged.sort();
    assert_eq!(badged, ["fc1", "fc2", "relu1"]);
    stop(&mut h);
}

#[test]
fn statistics_interval_changes_live_and_locked_settings_say_why() {
    let mut h = open_for_training(&workspace().join("graphs/xor.ron"), "");
    h.state_mut().core.doc.file.training.stats_every = 100_000_000;
    h.state_mut().core.doc.file.training.epochs = 1_000_000;
    h.state_mut().core.doc.revalidate();
    start_until_step(&mut h, 5);
    h.run_steps(2);
    // Settings that need a restart are disabled, with the reason on screen.
    h.get_by_label("🔒 stop training to change these settings");
    let batch = h.get_by_role_and_label(Role::SpinButton, "batch size");
    assert!(batch.accesskit_node().is_disabled());
    // Only the first step's statistics so far (the interval is 1e8 steps).
    let last_stats = |s: &EditorApp| {
        s.core
            .training
            .nodes
            .get("fc1")
            .and_then(|n| n.series.last())
            .map_or(0, |e| e.0)
    };
    assert!(last_stats(h.state()) <= 1);

    // The live field is enabled; typing 2 there takes effect without a restart.
    let field = h.get_by_role_and_label(Role::TextInput, "stats every");
    assert!(!field.accesskit_node().is_disabled());
    enter_text(&mut h, "stats every", "2");
    assert_eq!(h.state().core.training.live_stats_every, 2);
    let at = h.state().core.training.step;
    wait_for(&mut h, "statistics at the new interval", |s| {
        last_stats(s) > at + 2
    });
    assert!(h.state().core.training.is_live(), "same session");
    stop(&mut h);
}

/// A run that `hyphae train` writes elsewhere (here an engine Trainer on another thread,
/// into its own run folder) is followed from the training panel: its loss curve, epoch
/// validation and per-layer statistics arrive as for the editor's own runs, and it shows
/// as finished once its final weights are written.
#[test]
fn follows_a_run_written_by_another_process() {
    let graph_path = workspace().join("graphs/spirals_mlp.ron");
    let run = tmp_dir("followed-run");
    let _ = std::fs::remove_dir_all(&run);
    let graph = hyphae::graph::ValidGraph::load(&graph_path).expect("graph");
    let split = hyphae::data::load("spirals", 0).expect("data");
    let opts = hyphae::train::trainer::TrainOptions {
        epochs: 2,
        out_dir: Some(run.clone()),
        ..Default::default()
    };
    let mut trainer = hyphae::train::trainer::Trainer::new(graph, split, opts).expect("trainer");
    let stop = std::sync::atomic::AtomicBool::new(false);
    trainer.run(&mut |_| {}, &stop).expect("trained");
    let steps = trainer.runtime().step();

    let mut h = open_for_training(&graph_path, "");
    type_into(&mut h, "run folder", &run.display().to_string());
    h.get_by_label("Follow run").click();
    wait_for(&mut h, "the followed run's steps", |app| {
        app.core.training.step == steps
    });
    wait_for(&mut h, "finished", |app| {
        app.core.training.phase == Phase::Finished
    });
    let tr = &h.state().core.training;
    assert_eq!(tr.run.loss.len() as u64, steps, "every step's loss");
    assert!(tr.nodes.contains_key("fc1"), "layer statistics arrived");
    assert!(tr.params.contains_key("fc1.weight"));
    assert!(!tr.run.valid_loss.is_empty(), "epoch validation arrived");
    assert!(tr.run.label.starts_with("followed"));
    assert!(
        !tr.has_model(),
        "its model stays in its folder: no Save or Evaluate here"
    );
}

/// The canvas tints every node by a live metric chosen in its corner, with a legend: the
/// dead ReLU (all units dead) is at the top of the "dead units" scale, a layer with live
/// units below it.
#[test]
fn nodes_are_tinted_by_a_chosen_live_metric() {
    let mut h = open_for_training(&workspace().join("editor/tests/data/dead_relu.ron"), "");
    h.get_by_label("▶ Start").click();
    wait_for(&mut h, "statistics", |s| {
        s.core.training.nodes.contains_key("relu1")
            && s.core.training.params.contains_key("fc1.weight")
    });
    h.get_by_label("⏸ Pause").click();
    h.run_steps(2);
    choose(&mut h, "tint", "dead units");
    h.run_steps(3);
    assert!(
        h.query_by_label_contains("dead units 0.00e0").is_some(),
        "the legend names the metric and its range"
    );
    let tints = h.state().canvas.tint_colors();
    assert_eq!(
        tints.get("relu1"),
        Some(&hyphae_editor::ui::tint::ramp(1.0))
    );
    // Each node's sparkline holds one point per statistics report (up to SPARK_LEN).
    let reports = h.state().core.training.nodes["relu1"].series.len();
    let want = reports.min(hyphae_editor::ui::tint::SPARK_LEN);
    assert_eq!(h.state().canvas.tint_sparks()["relu1"].len(), want);
    choose(&mut h, "tint", "gradient norm");
    assert!(h.state().canvas.tint_colors().contains_key("fc1"));
    assert!(!h.state().canvas.tint_sparks()["fc1"].is_empty());
    // Wires widen with their source's activation magnitude (log scale), clamped.
    use hyphae_editor::ui::tint::wire_width;
    assert!(wire_width(1.0) > wire_width(1e-2));
    assert_eq!(wire_width(f64::NAN), 1.0);
    assert_eq!(wire_width(1e6), 6.0);
    choose(&mut h, "tint", "none");
    assert!(h.state().canvas.tint_colors().is_empty());
    assert!(h.state().canvas.tint_sparks().is_empty());
    stop(&mut h);
}

/// A graph with training phases trains in the editor with one loss curve per phase (a
/// GAN's discriminator and generator): phase `b` runs every second batch, so it has about
/// half of `a`'s points.
#[test]
fn each_training_phase_has_its_loss_curve() {
    let mut h = open_for_training(&workspace().join("editor/tests/data/phases.ron"), "");
    h.get_by_label("▶ Start").click();
    wait_for(&mut h, "the run to finish", |s| {
        s.core.training.phase == Phase::Finished
    });
    let run = &h.state().core.training.run;
    let names: Vec<&str> = run.phase_loss.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    let (a, b) = (run.phase_loss[0].1.len(), run.phase_loss[1].1.len());
    assert_eq!(a, run.loss.len(), "phase a runs every batch");
    assert_eq!(b, a.div_ceil(2), "phase b every second batch");
    assert!(
        run.phase_loss
            .iter()
            .all(|(_, p)| p.iter().all(|q| q[1].is_finite()))
    );
}

/// Following a run never drops a trained model unasked: a folder that is not a run is
/// refused with the model kept (it was dropped before), and a real run folder asks first.
#[test]
fn following_keeps_the_trained_model_until_the_user_agrees() {
    let mut h = open_for_training(&workspace().join("editor/tests/data/phases.ron"), "");
    h.get_by_label("▶ Start").click();
    wait_for(&mut h, "the run to finish", |s| {
        s.core.training.phase == Phase::Finished
    });
    let not_a_run = tmp_dir("not-a-run");
    type_into(&mut h, "run folder", &not_a_run.display().to_string());
    h.get_by_label("Follow run").click();
    h.run_steps(3);
    assert!(
        h.state().core.training.has_model(),
        "the model is still held"
    );
    let status = h.state().core.status.clone().expect("an error");
    assert!(status.0.contains("not a run folder"), "{status:?}");

    std::fs::write(not_a_run.join("metrics.jsonl"), "").unwrap();
    h.get_by_label("Follow run").click();
    h.run_steps(3);
    assert!(
        h.state().core.training.has_model(),
        "asked first, nothing dropped yet"
    );
    h.get_by_label("Discard the trained model?");
}
