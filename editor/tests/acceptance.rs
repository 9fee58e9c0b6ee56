//! Acceptance: by the gestures a user makes (palette, inspector, training panel, file
//! dialog), build an MLP classifier for `spirals` on an empty canvas, data inputs
//! included and no template; save it, reopen it, train it to ≥ 95% validation accuracy.

mod common;

use common::*;
use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable;
use hyphae_editor::session::Phase;

#[test]
fn a_spirals_classifier_built_by_hand_trains_to_95_percent() {
    let mut app = editor();
    app.ui.show_training = true;
    let mut h = harness_sized(app, 1600.0, 1300.0);
    assert!(h.state().core.doc.file.nodes.is_empty());

    // The dataset first: new data inputs then take its shapes.
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "dataset")
        .click();
    h.run_steps(2);
    h.get_all_by_label_contains("two interleaved spirals")
        .next()
        .expect("spirals listed")
        .click();
    h.run_steps(3);
    assert_eq!(
        h.state().core.doc.file.training.dataset.as_deref(),
        Some("spirals")
    );

    let x = add_from_palette(&mut h, "Data input");
    assert_eq!(h.state().core.doc.file.inputs[0].shape, vec![2]);
    let label = add_from_palette(&mut h, "Data input");
    choose(&mut h, "source", "Labels");

    let mut prev = x.clone();
    for width in ["64", "64"] {
        let fc = add_from_palette(&mut h, "Linear");
        connect_in_inspector(&mut h, "input", &prev);
        set_number(&mut h, "out_features", width);
        let act = add_from_palette(&mut h, "ReLU");
        connect_in_inspector(&mut h, "input", &fc);
        prev = act;
    }
    let logits = add_from_palette(&mut h, "Linear");
    connect_in_inspector(&mut h, "input", &prev);
    set_number(&mut h, "out_features", "2");
    add_from_palette(&mut h, "CrossEntropyLoss");
    connect_in_inspector(&mut h, "input", &logits);
    connect_in_inspector(&mut h, "target", &label);
    let doc = &h.state().core.doc;
    assert!(doc.errors.is_empty(), "valid graph: {:?}", doc.errors);

    // Training settings, typed in the panel.
    choose(&mut h, "optimizer", "Adam");
    enter_text(&mut h, "lr", "0.01");
    set_number(&mut h, "batch size", "64");
    set_number(&mut h, "epochs", "40");

    // Save through the dialog, then reopen through the Open dialog.
    let dir = tmp_dir("acceptance");
    let path = dir.join("spirals_by_hand.ron");
    h.key_press_modifiers(Modifiers::COMMAND, Key::S);
    h.run_steps(2);
    enter_text(&mut h, "path", &path.display().to_string());
    h.get_by_label("Save").click();
    h.run_steps(3);
    assert!(path.exists() && !h.state().core.doc.is_dirty());
    h.key_press_modifiers(Modifiers::COMMAND, Key::N);
    h.run_steps(2);
    assert!(h.state().core.doc.file.nodes.is_empty());
    h.key_press_modifiers(Modifiers::COMMAND, Key::O);
    h.run_steps(2);
    enter_text(&mut h, "path", &path.display().to_string());
    h.get_by_label("Open").click();
    h.run_steps(3);
    let doc = &h.state().core.doc;
    assert_eq!(doc.file.nodes.len(), 6);
    assert_eq!(doc.file.training.dataset.as_deref(), Some("spirals"));
    assert!(doc.errors.is_empty());

    h.get_by_label("▶ Start").click();
    wait_for(&mut h, "the end of training", |s| {
        s.core.training.phase == Phase::Finished
    });
    let acc = h.state().core.training.run.valid_acc.last().map(|p| p[1]);
    assert!(
        acc.is_some_and(|a| a >= 0.95),
        "validation accuracy {acc:?} ≥ 95%"
    );
}
