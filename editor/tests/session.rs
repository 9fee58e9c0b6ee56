//! Training sessions through the training panel: the model outlives Stop, Start after
//! the end asks before discarding it, a live run refuses structural edits, live values
//! apply on Enter.

mod common;

use egui::accesskit::Role;

use common::*;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use hyphae_editor::EditorApp;
use hyphae_editor::session::Phase;

fn xor(epochs: usize) -> Harness<'static, EditorApp> {
    let mut h = open_for_training(&workspace().join("graphs/xor.ron"), "");
    h.state_mut().core.doc.file.training.epochs = epochs;
    h.state_mut().core.doc.file.training.stats_every = 0;
    h.state_mut().core.doc.revalidate();
    h
}

/// After Stop the trained model stays: Save weights and Evaluate work on it (XOR solved,
/// not the 50% of a fresh model), until the next Start, which asks first.
#[test]
fn stop_keeps_the_trained_model_for_evaluate_and_save() {
    let mut h = xor(100_000);
    h.get_by_label("▶ Start").click();
    wait_for(&mut h, "XOR learnt", |s| {
        s.core.training.run.loss.last().is_some_and(|p| p[1] < 0.01)
    });
    h.get_by_label("⏹ Stop").click();
    wait_for(&mut h, "stopped", |s| {
        s.core.training.phase == Phase::Stopped
    });
    h.run_steps(2);
    h.get_by_label("stopped: model kept");
    let dir = tmp_dir("stop-keeps");
    let path = dir.join("w.safetensors");
    h.state_mut().ui.weights_path = path.display().to_string();
    h.run_steps(1);
    h.get_by_label("Save weights").click();
    wait_for(&mut h, "weights saved", |_| path.exists());
    h.get_by_label("Evaluate").click();
    wait_for(&mut h, "the evaluation", |s| {
        s.core.training.evaluations > 0
    });
    let r = h.state().core.training.last_eval.clone().unwrap();
    assert!(
        r.loss < 0.05,
        "the trained model was evaluated: loss {}",
        r.loss
    );

    // Start again: asks before the model is dropped.
    h.get_by_label("▶ Start").click();
    h.run_steps(2);
    h.get_by_label("Discard the trained model?");
    assert!(
        h.state().core.training.has_model(),
        "not dropped without an answer"
    );
}

/// After the last epoch, Start is enabled (it stayed disabled until Stop).
#[test]
fn start_is_enabled_after_the_run_finishes() {
    let mut h = xor(3);
    h.get_by_label("▶ Start").click();
    wait_for(&mut h, "finished", |s| {
        s.core.training.phase == Phase::Finished
    });
    h.run_steps(2);
    let start = h.get_by_label("▶ Start");
    assert!(!start.accesskit_node().is_disabled(), "Start is enabled");
    start.click();
    h.run_steps(2);
    // The finished run's model is kept until the user says to drop it.
    h.get_by_label("Discard the trained model?");
}

/// Changing a layer while it trains is refused, with the reason (the inspector used to
/// show the new shape while the trainer kept the old model).
#[test]
fn a_structural_edit_during_a_run_is_refused_with_a_message() {
    let mut h = xor(100_000);
    start_until_step(&mut h, 3);
    h.state_mut().select(vec!["fc1".into()]);
    h.run_steps(2);
    let before = h.state().core.doc.file.clone();
    set_number(&mut h, "out_features", "16");
    assert_eq!(h.state().core.doc.file, before, "the edit was refused");
    let (msg, bad) = h.state().core.status.clone().unwrap();
    assert!(
        bad && msg.contains("cannot change while it trains"),
        "{msg}"
    );
    h.get_by_label_contains("cannot change while it trains");
    // Moving a node is not structural: allowed.
    h.state_mut().push(hyphae_editor::Command::Move(vec![(
        "fc1".into(),
        (5.0, 5.0),
    )]));
    h.run_steps(2);
    assert_eq!(h.state().core.doc.file.layout["fc1"], (5.0, 5.0));
    stop(&mut h);
}

/// Typing `3e-4` into the live learning rate applies nothing until Enter, then exactly
/// 3e-4 (it used to apply 3, three times); 0 is refused with a message.
#[test]
fn the_live_learning_rate_applies_on_enter_and_refuses_zero() {
    let mut h = xor(100_000);
    start_until_step(&mut h, 3);
    h.run_steps(2);
    type_into(&mut h, "live lr", "3e-4");
    assert_eq!(
        h.state().core.training.live_lr,
        0.1,
        "nothing applied while typing"
    );
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    assert_eq!(h.state().core.training.live_lr, 3e-4);
    wait_for(&mut h, "steps at 3e-4", |s| {
        s.core
            .training
            .run
            .lr
            .last()
            .is_some_and(|p| (p[1] - 3e-4).abs() < 1e-9)
    });
    let lrs = &h.state().core.training.run.lr;
    assert!(
        lrs.iter().all(|p| p[1] <= 0.1 + 1e-6),
        "never a wrong lr: {lrs:?}"
    );
    enter_text(&mut h, "live lr", "0");
    assert_eq!(h.state().core.training.live_lr, 3e-4, "0 refused");
    stop(&mut h);
}

/// A run folder `root/xor/run-NNN` with `graph_text` and a metrics log of `steps` steps,
/// evaluated every 10 steps (validation loss `base / step`).
fn fake_run(root: &std::path::Path, n: u32, graph_text: &str, steps: u64, base: f64) {
    let dir = root.join("xor").join(format!("run-{n:03}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("graph.ron"), graph_text).unwrap();
    let mut log = String::new();
    for s in 1..=steps {
        log.push_str(&format!(
            "{{\"kind\":\"step\",\"step\":{s},\"epoch\":0,\"loss\":{}}}\n",
            base / s as f64
        ));
        if s % 10 == 0 {
            log.push_str(&format!(
                "{{\"kind\":\"epoch\",\"step\":{s},\"epoch\":{},\"val_loss\":{}}}\n",
                s / 10 - 1,
                base / s as f64
            ));
        }
    }
    std::fs::write(dir.join("metrics.jsonl"), log).unwrap();
}

/// The Runs window lists the graph's runs from disk; Hide takes one off the list (and
/// writes its labels.ron), Delete asks first and then the folder is gone; two ticked
/// runs overlay as two series, group by tag as one band, and their graph difference is
/// marked on the canvas.
#[test]
fn runs_window_lists_hides_deletes_overlays_and_compares() {
    let root = tmp_dir("runs-window");
    let xor = std::fs::read_to_string(workspace().join("graphs/xor.ron")).unwrap();
    // Run 2 widened fc1 and put a second Tanh before fc2.
    let wider = xor.replace("out_features: 8", "out_features: 16").replace(
        "(name: \"fc2\", op: Linear(out_features: 1), inputs: [\"tanh\"]),",
        "(name: \"tanh2\", op: Tanh(), inputs: [\"tanh\"]),\n\
             (name: \"fc2\", op: Linear(out_features: 1), inputs: [\"tanh2\"]),",
    );
    assert_ne!(wider, xor);
    fake_run(&root, 1, &xor, 30, 1.0);
    fake_run(&root, 2, &wider, 30, 0.5);
    fake_run(&root, 3, &xor, 20, 2.0);
    // A hand-broken labels file: the run is listed, the problem shown.
    fake_run(&root, 4, &xor, 5, 1.0);
    std::fs::write(root.join("xor/run-004/labels.ron"), "(name: 3)").unwrap();
    let mut app = editor();
    assert!(app.open(&workspace().join("graphs/xor.ron")));
    app.ui.runs.root = root.clone();
    let mut h = harness_sized(app, 1400.0, 1100.0);
    h.get_by_label("Runs").click();
    wait_for(&mut h, "the runs listed", |s| {
        s.ui.runs.list.rows.len() == 4
    });
    h.run_steps(2);
    for r in ["run-001", "run-002", "run-003", "run-004"] {
        h.get_by_label(r);
    }
    h.get_by_label("⚠ labels unreadable");
    // Hide run-002: gone from the list, hidden in its labels.ron.
    h.get_by_label("run-002").click();
    h.run_steps(2);
    h.get_by_label("Hide from list").click();
    h.run_steps(3);
    assert!(
        h.query_by_label("run-002").is_none(),
        "hidden runs are not listed"
    );
    let labels = hyphae::train::runs::read_labels(&root.join("xor/run-002")).unwrap();
    assert!(labels.hidden);
    h.get_by_label("show hidden").click();
    h.run_steps(2);
    h.get_by_label("run-002");
    // Delete run-003: the confirmation names it; nothing goes before "Delete".
    h.get_by_label("run-003").click();
    h.run_steps(2);
    h.get_by_label("Delete…").click();
    h.run_steps(2);
    h.get_by_label("Delete run-003 (xor, 20 steps)? This removes its folder and checkpoints.");
    assert!(root.join("xor/run-003").is_dir(), "not before the answer");
    h.get_by_label("Delete").click();
    h.run_steps(3);
    assert!(!root.join("xor/run-003").exists(), "the folder is gone");
    assert!(h.query_by_label("run-003").is_none());
    // Two runs overlaid: one series each.
    h.get_by_label("run-001").click();
    h.get_by_label("run-002").click();
    wait_for(&mut h, "their curves", |s| !s.ui.runs.list.busy());
    h.run_steps(3);
    h.get_by_label("2 series: run-001, run-002");
    // Both tagged "lr", grouped: one band over both.
    // Clicks in the window are not canvas clicks (they cleared the canvas's selection, or
    // selected the node under the window).
    h.state_mut().select(vec!["fc1".into()]);
    type_into(&mut h, "tags", "lr");
    let at = h.get_by_label("Save labels").rect().center();
    assert!(at.x > 250.0, "over the canvas, not the palette");
    click_at(&mut h, at, egui::Modifiers::NONE);
    assert_eq!(
        selected(&h),
        vec!["fc1"],
        "a click in the window is no canvas click"
    );
    let labels = hyphae::train::runs::read_labels(&root.join("xor/run-001")).unwrap();
    assert_eq!(labels.tags, vec!["lr"]);
    h.get_by_label("group by tag").click();
    h.run_steps(3);
    h.get_by_label("1 band: lr (2 runs)");
    // Their graph difference, on the canvas.
    h.get_by_label("Show graph difference").click();
    h.run_steps(3);
    let d = h.state().core.run_diff.clone().expect("a difference");
    assert_eq!(d.diff.added, vec!["tanh2"]);
    assert_eq!(d.diff.changed, vec!["fc1", "fc2"]);
    h.get_by_label("■ added: tanh2");
    h.get_by_label("■ changed: fc1, fc2");
    // One run ticked: its name field renames it.
    h.get_by_role_and_label(Role::CheckBox, "run-002").click();
    h.run_steps(2);
    type_into(&mut h, "name", "baseline");
    h.get_by_label("Save labels").click();
    h.run_steps(3);
    h.get_by_role_and_label(Role::CheckBox, "baseline");
    let labels = hyphae::train::runs::read_labels(&root.join("xor/run-001")).unwrap();
    assert_eq!(labels.name.as_deref(), Some("baseline"));
    // A refused delete (not a run folder) is a message, and nothing is removed.
    h.state_mut()
        .push(hyphae_editor::command::Command::DeleteRun(root.join("xor")));
    h.run_steps(2);
    let status = h.state().core.status.clone().unwrap();
    assert!(status.1 && status.0.contains("cannot delete"), "{status:?}");
    assert!(root.join("xor/run-001").is_dir());
}
