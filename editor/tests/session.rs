//! Training sessions through the training panel: the model outlives Stop, Start after
//! the end asks before discarding it, a live run refuses structural edits, live values
//! apply on Enter.

mod common;

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
