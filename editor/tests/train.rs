//! Live training driven through the editor's UI with egui_kittest. Training runs on its own
//! thread, so every wait polls frames until a condition holds (with a generous timeout);
//! nothing asserts on wall time.

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use hyphae_editor::EditorApp;
use hyphae_editor::train::Phase;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(120);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn harness(app: EditorApp) -> Harness<'static, EditorApp> {
    let mut h = Harness::builder()
        // Tall enough that the whole CNN fits on the canvas above the training panel.
        .with_size(egui::vec2(1600.0, 1500.0))
        .build_ui_state(|ui, app: &mut EditorApp| app.show(ui), app);
    h.run_steps(3);
    h
}

/// Runs frames until `cond` holds; panics with `what` after the timeout.
fn wait_for(h: &mut Harness<'_, EditorApp>, what: &str, cond: impl Fn(&EditorApp) -> bool) {
    let t0 = Instant::now();
    loop {
        h.run_steps(1);
        if cond(h.state()) {
            return;
        }
        if let Phase::Failed(e) = &h.state().training.phase {
            panic!("training failed while waiting for {what}: {e}");
        }
        assert!(t0.elapsed() < TIMEOUT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn open(graph: &Path, dataset: &str) -> Harness<'static, EditorApp> {
    let mut app = EditorApp::new(workspace().join("graphs"));
    assert!(app.open(graph));
    app.training.dataset = dataset.to_string();
    app.training.show_panel = true;
    harness(app)
}

/// Clicks a node's title on the canvas (its widgets report graph-space rectangles).
fn click_node(h: &mut Harness<'_, EditorApp>, name: &str) {
    let graph_pos = h.get_by_label(name).rect().center();
    let pos = h.state().graph_to_screen(graph_pos);
    h.hover_at(pos);
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
    }
    h.run_steps(3);
}

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
    let mut h = open(
        &workspace().join("graphs/shapes_cnn.ron"),
        "shapes:train=512,valid=128",
    );
    h.state_mut().doc.file.training.stats_every = 2;
    h.state_mut().doc.revalidate();
    h.get_by_label("▶ Start").click();
    wait_for(&mut h, "24 steps", |s| s.training.run.loss.len() >= 24);
    let loss = h.state().training.run.loss.clone();
    assert!(loss.iter().all(|p| p[1].is_finite()));
    let (first, last) = (mean(&loss[..4]), mean(&loss[loss.len() - 4..]));
    assert!(
        last < first,
        "loss falls: first steps {first}, last steps {last}"
    );
    assert_eq!(
        h.state().training.run.smoothed.len(),
        loss.len(),
        "smoothed curve"
    );
    wait_for(&mut h, "validation after the first epoch", |s| {
        !s.training.run.valid_loss.is_empty() && !s.training.run.valid_acc.is_empty()
    });

    // Click a node on the canvas: the inspector shows its live statistics.
    wait_for(&mut h, "statistics", |s| {
        s.training.nodes.contains_key("relu1") && s.training.params.contains_key("conv1.weight")
    });
    click_node(&mut h, "relu1");
    assert_eq!(h.state().selected, vec!["relu1".to_string()]);
    shows(&h, "Live statistics");
    shows(&h, "activation mean");
    shows(&h, "zero fraction");
    shows(&h, "activations histogram");

    click_node(&mut h, "conv1");
    assert_eq!(h.state().selected, vec!["conv1".to_string()]);
    shows(&h, "conv1.weight");
    shows(&h, "grad norm");
    shows(&h, "update/weight");
    shows(&h, "gradient histogram");

    h.get_by_label("⏹ Stop").click();
    h.run_steps(2);
    assert!(!h.state().training.is_active());
}

#[test]
fn pause_stops_the_step_counter_and_resume_continues() {
    let mut h = open(
        &workspace().join("graphs/shapes_cnn.ron"),
        "shapes:train=512,valid=128",
    );
    h.state_mut().doc.file.training.epochs = 50;
    h.state_mut().doc.revalidate();
    h.get_by_label("▶ Start").click();
    wait_for(&mut h, "a few steps", |s| s.training.step >= 3);
    h.get_by_label("⏸ Pause").click();
    wait_for(&mut h, "paused", |s| s.training.phase == Phase::Paused);
    let at = h.state().training.step;
    let points = h.state().training.run.loss.len();
    for _ in 0..30 {
        h.run_steps(1);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(h.state().training.step, at, "no steps while paused");
    assert_eq!(h.state().training.run.loss.len(), points);

    // One step at a time while paused.
    h.get_by_label("Step").click();
    wait_for(&mut h, "one step", |s| {
        s.training.step == at + 1 && s.training.phase == Phase::Paused
    });

    h.get_by_label("⏵ Resume").click();
    wait_for(&mut h, "steps after resuming", |s| {
        s.training.step >= at + 4
    });
    assert_eq!(h.state().training.phase, Phase::Running);

    // A new learning rate applies from the next step, without a restart.
    h.state_mut().training.live_lr = 0.0005;
    h.state_mut()
        .training
        .send(hyphae_editor::train::Command::SetLr(0.0005));
    wait_for(&mut h, "steps at the new learning rate", |s| {
        s.training
            .run
            .lr
            .last()
            .is_some_and(|p| (p[1] - 0.0005).abs() < 1e-9)
    });
    h.get_by_label("⏹ Stop").click();
    h.run_steps(2);
}

#[test]
fn non_finite_output_pauses_and_names_the_node() {
    let mut h = open(&workspace().join("editor/tests/data/overflow.ron"), "");
    h.get_by_label("▶ Start").click();
    wait_for(&mut h, "the NaN pause", |s| {
        matches!(s.training.phase, Phase::NonFinite(_))
    });
    assert_eq!(h.state().training.non_finite_node(), Some("fc2"));
    h.run_steps(2);
    h.get_by_label("paused: NaN/Inf first appeared in `fc2`");
    // The canvas marks the node.
    h.get_by_label("⚠ NaN/Inf first here");
    h.get_by_label("⏹ Stop").click();
    h.run_steps(2);
}

#[test]
fn save_load_and_evaluate_weights() {
    let dir = std::env::temp_dir().join(format!("hyphae-editor-weights-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("w.safetensors");
    let mut h = open(
        &workspace().join("graphs/shapes_cnn.ron"),
        "shapes:train=256,valid=64",
    );
    h.state_mut().doc.file.training.epochs = 1;
    h.state_mut().doc.revalidate();
    h.state_mut().training.weights_path = path.display().to_string();
    h.get_by_label("▶ Start").click();
    wait_for(&mut h, "the end of the run", |s| {
        s.training.phase == Phase::Finished
    });
    h.get_by_label("Save weights").click();
    wait_for(&mut h, "the weights file", |_| path.exists());
    h.get_by_label("⏹ Stop").click();
    h.run_steps(2);

    // A fresh session: load the saved weights, evaluate, see the confusion matrix.
    h.get_by_label("Load weights").click();
    wait_for(&mut h, "loaded", |s| {
        s.training
            .messages
            .iter()
            .any(|(m, _)| m.starts_with("loaded weights"))
    });
    h.get_by_label("Evaluate").click();
    wait_for(&mut h, "the evaluation", |s| s.training.show_confusion);
    h.run_steps(2);
    h.get_by_label("confusion matrix (rows: true, columns: predicted)");
    let r = h.state().training.last_eval.clone().expect("report");
    let conf = r.confusion.expect("classifier");
    assert_eq!(conf.len(), 4);
    assert_eq!(conf.iter().flatten().sum::<u64>(), 64);
    assert!(r.accuracy.is_some_and(|a| a > 0.25), "better than chance");
}

#[test]
fn a_dead_relu_and_the_layers_it_starves_are_badged_on_the_canvas() {
    let mut h = open(&workspace().join("editor/tests/data/dead_relu.ron"), "");
    h.get_by_label("▶ Start").click();
    wait_for(&mut h, "statistics of relu1 and fc1", |s| {
        s.training.nodes.contains_key("relu1") && s.training.params.contains_key("fc1.weight")
    });
    let relu = &h.state().training.nodes["relu1"].latest;
    assert_eq!(relu.zero_fraction, 1.0, "every unit dead");
    // Pause and fit the view: an XOR epoch is one batch, so epoch lines keep growing the
    // panel and shrinking the canvas, and a node near its edge can leave the view (this
    // failed once in CI with one of the two badges not found).
    h.get_by_label("⏸ Pause").click();
    h.run_steps(2);
    h.state_mut().fit_view = true;
    h.run_steps(5);
    // The badge texts are labels on the nodes' bodies.
    h.get_by_label("⚠ dead units 100%");
    // No gradient reaches fc1 through the dead units, and fc2's weight sees only zeros.
    let vanishing = h.get_all_by_label("⚠ vanishing grad 0").count();
    let params: Vec<String> = h
        .state()
        .training
        .params
        .iter()
        .map(|(n, p)| format!("{n}: {:?}", p.latest))
        .collect();
    let shown = h.state().training.badges(|n| n == "relu1");
    assert_eq!(
        vanishing, 2,
        "vanishing-gradient badges on fc1 and fc2; badges {shown:?}; params {params:#?}"
    );
    let badges = h.state().training.badges(|n| n == "relu1");
    let mut badged: Vec<&str> = badges.keys().map(String::as_str).collect();
    badged.sort();
    assert_eq!(badged, ["fc1", "fc2", "relu1"]);
    h.get_by_label("⏹ Stop").click();
    h.run_steps(2);
}

#[test]
fn statistics_interval_changes_live_and_locked_settings_say_why() {
    let mut h = open(&workspace().join("graphs/xor.ron"), "");
    h.state_mut().doc.file.training.stats_every = 100_000_000;
    h.state_mut().doc.file.training.epochs = 1_000_000;
    h.state_mut().doc.revalidate();
    h.get_by_label("▶ Start").click();
    wait_for(&mut h, "a few steps", |s| s.training.step >= 5);
    h.run_steps(2);
    // Settings that need a restart are disabled, with the reason on screen.
    h.get_by_label("🔒 stop training to change these settings");
    let batch = h.get_by_role_and_label(Role::SpinButton, "batch size");
    assert!(batch.accesskit_node().is_disabled());
    // Only the first step's statistics so far (the interval is 1e8 steps).
    let last_stats = |s: &EditorApp| {
        s.training
            .nodes
            .get("fc1")
            .and_then(|n| n.series.last())
            .map_or(0, |e| e.0)
    };
    assert!(last_stats(h.state()) <= 1);

    // The live field is enabled; typing 2 there takes effect without a restart.
    let field = h.get_by_role_and_label(Role::SpinButton, "stats every");
    assert!(!field.accesskit_node().is_disabled());
    field.focus();
    h.run_steps(2);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role_and_label(Role::SpinButton, "stats every")
        .type_text("2");
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    assert_eq!(h.state().training.live_stats_every, 2);
    let at = h.state().training.step;
    wait_for(&mut h, "statistics at the new interval", |s| {
        last_stats(s) > at + 2
    });
    assert!(h.state().training.is_active(), "same session");
    h.get_by_label("⏹ Stop").click();
    h.run_steps(2);
}
