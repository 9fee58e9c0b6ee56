//! The inspector through user gestures: data inputs, config fields, numeric fields.

mod common;

use common::*;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use hyphae::graph::Source;
use hyphae::ops::Op;

/// A new data input switched to Labels takes the shape a loss expects of class labels
/// (`[]`), and any shape, `[]` included, can be typed. (It kept `[1, 28, 28]`, and "−"
/// stopped at one dimension, so a classifier could not be built from an empty canvas.)
#[test]
fn a_labels_input_defaults_to_the_loss_shape_and_takes_any_typed_shape() {
    let mut h = harness(editor());
    let label = add_from_palette(&mut h, "Data input");
    choose(&mut h, "source", "Labels");
    let input = |h: &egui_kittest::Harness<'_, hyphae_editor::EditorApp>| {
        h.state().core.doc.file.inputs[0].clone()
    };
    assert_eq!(input(&h).source, Source::Labels);
    assert_eq!(input(&h).shape, Vec::<usize>::new(), "class labels: []");
    enter_text(&mut h, "shape", "[3, 4]");
    assert_eq!(input(&h).shape, vec![3, 4]);
    // "−" goes all the way down to no dimension.
    for _ in 0..2 {
        h.get_by_label("−").click();
        h.run_steps(2);
    }
    assert_eq!(input(&h).shape, Vec::<usize>::new());
    enter_text(&mut h, "shape", "[5]");
    enter_text(&mut h, "shape", "[]");
    assert_eq!(input(&h).shape, Vec::<usize>::new());
    // A bad shape is refused with the reason; the old one stays.
    enter_text(&mut h, "shape", "[0]");
    assert_eq!(input(&h).shape, Vec::<usize>::new());
    h.get_by_label_contains("is not a dimension");
    assert_eq!(h.state().core.doc.file.inputs[0].name, label);
}

/// Ticking an unset `in_features` fills in the width the node receives, not 1.
#[test]
fn ticking_in_features_prefills_the_inferred_width() {
    let mut h = harness(editor());
    let x = add_from_palette(&mut h, "Data input");
    enter_text(&mut h, "shape", "[7]");
    let fc = add_from_palette(&mut h, "Linear");
    connect_in_inspector(&mut h, "input", &x);
    let unset: Vec<_> = h.get_all_by_label("unset").collect();
    assert!(!unset.is_empty(), "in_features starts unset");
    unset[0].click();
    h.run_steps(3);
    match &h.state().core.doc.node(&fc).unwrap().op {
        Op::Linear(l) => assert_eq!(l.in_features, Some(7)),
        other => panic!("{other:?}"),
    }
    assert!(h.state().core.doc.errors.is_empty());
}

/// A learning rate of 0 or below is refused with a message; a large one is taken as
/// typed, never clamped.
#[test]
fn the_settings_learning_rate_refuses_bad_values_and_never_clamps() {
    let mut app = editor();
    assert!(app.open(&workspace().join("graphs/xor.ron")));
    app.ui.show_training = true;
    let mut h = harness_sized(app, 1600.0, 1200.0);
    let lr = |h: &egui_kittest::Harness<'_, hyphae_editor::EditorApp>| {
        h.state().core.doc.file.training.optimizer.lr()
    };
    assert_eq!(lr(&h), 0.1);
    enter_text(&mut h, "lr", "0");
    assert_eq!(lr(&h), 0.1, "0 refused");
    h.get_by_label_contains("optimizer.lr must be a finite number > 0");
    enter_text(&mut h, "lr", "-1");
    assert_eq!(lr(&h), 0.1, "negative refused");
    enter_text(&mut h, "lr", "abc");
    assert_eq!(lr(&h), 0.1);

    // Typing alone changes nothing; Enter applies.
    type_into(&mut h, "lr", "100000");
    assert_eq!(lr(&h), 0.1, "nothing applied while typing");
    h.key_press(egui::Key::Enter);
    h.run_steps(3);
    assert_eq!(lr(&h), 100000.0, "taken as typed, not clamped");
    assert!(h.query_by_role_and_label(Role::TextInput, "lr").is_some());
}

/// The inspector shows what the engine's op schema says: every field of the op (absent
/// optional ones included), names from the accepted list in a drop-down, and negative
/// numbers only where the type takes them.
#[test]
fn the_inspector_shows_every_schema_field_and_offers_its_names() {
    // Tall enough that the palette's loss section is on screen.
    let mut h = harness_sized(editor(), 1400.0, 1600.0);
    let conv = add_from_palette(&mut h, "Conv2d");
    let schema = h.state().core.doc.node(&conv).unwrap().op.schema();
    for f in schema.fields {
        h.get_by_label(f.name);
    }
    let loss = add_from_palette(&mut h, "CrossEntropyLoss");
    choose(&mut h, "reduction", "sum");
    match &h.state().core.doc.node(&loss).unwrap().op {
        Op::CrossEntropyLoss(c) => assert_eq!(format!("{:?}", c.reduction), "Sum"),
        other => panic!("{other:?}"),
    }
    let softmax = add_from_palette(&mut h, "Softmax");
    set_number(&mut h, "dim", "-2");
    match &h.state().core.doc.node(&softmax).unwrap().op {
        Op::Softmax(s) => assert_eq!(s.dim, -2),
        other => panic!("{other:?}"),
    }
}

/// Recurrent nodes: ports show the sequence shapes (`[T, F]` per sample), and once a
/// statistics step has run, clicking the LSTM shows its norms per time step, T of them,
/// the gradient's falling back through time from where the loss reaches the sequence.
#[test]
fn an_lstm_plots_its_hidden_and_gradient_norms_per_time_step() {
    let mut h = open_for_training(
        &workspace().join("graphs/time_sequence.ron"),
        "sinewaves:seq=40,train=64,valid=32",
    );
    // The wave enters as [40, 1]; the LSTM's output is 40 steps of 51 features.
    for shape in ["[40, 1]", "[40, 51]"] {
        assert!(
            h.get_all_by_label(shape).next().is_some(),
            "{shape} on a port"
        );
    }
    start_until_step(&mut h, 2);
    // Statistics every 10 steps by default: the first step has them.
    wait_for(&mut h, "per-step statistics", |s| {
        s.core
            .training
            .nodes
            .get("lstm")
            .is_some_and(|n| n.latest.per_step.is_some())
    });
    pause(&mut h);
    click_node(&mut h, "lstm");
    assert_eq!(selected(&h), vec!["lstm".to_string()]);
    let st = &h.state().core.training.nodes["lstm"];
    let at = st.latest_step;
    let p = st.latest.per_step.clone().unwrap();
    assert_eq!((p.hidden_norm.len(), p.grad_norm.len()), (40, 40));
    assert!(p.grad_norm.iter().all(|&g| g > 0.0 && g.is_finite()));
    h.get_by_label(&format!(
        "Per time step: 40 steps (statistics of step {at})"
    ));
    h.get_by_label("gradient t=1 / t=T");
    for line in ["hidden-state norm", "gradient norm"] {
        assert!(
            h.get_all_by_label(line).next().is_some(),
            "{line} in the legend"
        );
    }
    // Not on a node without a time axis.
    click_node(&mut h, "prediction");
    assert!(h.query_by_label_contains("Per time step").is_none());
    stop(&mut h);
}
