//! The editor driven through its real UI with egui_kittest.

mod common;

use common::*;
use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use hyphae::graph::{GraphFile, ValidGraph};
use hyphae::ops::Op;
use hyphae_editor::EditorApp;

#[test]
fn build_mlp_from_empty_canvas_save_and_load_in_engine() {
    let mut h = harness(editor());
    assert!(h.state().core.doc.file.nodes.is_empty());

    let x = add_from_palette(&mut h, "Data input");
    let flat = add_from_palette(&mut h, "Flatten");
    connect_in_inspector(&mut h, "input", &x);
    let fc1 = add_from_palette(&mut h, "Linear");
    connect_in_inspector(&mut h, "input", &flat);
    set_number(&mut h, "out_features", "32");
    let act = add_from_palette(&mut h, "ReLU");
    connect_in_inspector(&mut h, "input", &fc1);
    let fc2 = add_from_palette(&mut h, "Linear");
    connect_in_inspector(&mut h, "input", &act);

    let doc = &h.state().core.doc;
    assert!(doc.errors.is_empty(), "valid graph: {:?}", doc.errors);
    assert_eq!(
        doc.inferred[&fc2].sample_shape(),
        Some(&[10usize][..]),
        "output shape"
    );
    // The inspector shows the parameters of the selected node.
    h.get_by_label("weight");
    h.get_by_label("[10, 32]");

    // Save through the Save As dialog (Ctrl+S on an untitled graph opens it).
    let dir = tmp_dir("mlp");
    let path = dir.join("mlp.ron");
    h.key_press_modifiers(Modifiers::COMMAND, Key::S);
    h.run_steps(2);
    h.state_mut().ui.dialog.as_mut().expect("save dialog").path = path.display().to_string();
    h.run_steps(1);
    h.get_by_label("Save").click();
    h.run_steps(3);
    assert!(!h.state().core.doc.is_dirty());

    let file = GraphFile::load(&path).unwrap();
    let v = ValidGraph::validate(file.clone(), "mlp.ron", None).unwrap();
    assert_eq!(file.inputs.len(), 1);
    assert_eq!(file.inputs[0].shape, vec![1, 28, 28]);
    let kinds: Vec<&str> = file.nodes.iter().map(|n| n.op.kind()).collect();
    assert_eq!(kinds, ["Flatten", "Linear", "ReLU", "Linear"]);
    let wires: Vec<Vec<String>> = file.nodes.iter().map(|n| n.inputs.clone()).collect();
    assert_eq!(
        wires,
        [
            vec![x.clone()],
            vec![flat.clone()],
            vec![fc1.clone()],
            vec![act.clone()]
        ]
    );
    match &file.nodes[1].op {
        Op::Linear(l) => assert_eq!(l.out_features, 32),
        other => panic!("expected Linear, got {other:?}"),
    }
    assert_eq!(v.param_count(), 784 * 32 + 32 + 32 * 10 + 10);
    // Positions are saved.
    for n in [&x, &flat, &fc1, &act, &fc2] {
        assert!(file.layout.contains_key(n.as_str()), "{n} has a position");
    }
}

#[test]
fn undo_redo_restore_exact_states() {
    let mut h = harness(editor());
    let mut states = vec![h.state().core.doc.file.clone()];
    let x = add_from_palette(&mut h, "Data input");
    states.push(h.state().core.doc.file.clone());
    add_from_palette(&mut h, "Flatten");
    states.push(h.state().core.doc.file.clone());
    connect_in_inspector(&mut h, "input", &x);
    states.push(h.state().core.doc.file.clone());
    add_from_palette(&mut h, "Linear");
    states.push(h.state().core.doc.file.clone());
    set_number(&mut h, "out_features", "7");
    states.push(h.state().core.doc.file.clone());
    h.key_press(Key::Delete);
    h.run_steps(2);
    states.push(h.state().core.doc.file.clone());
    assert_eq!(
        h.state().core.doc.file.nodes.len(),
        1,
        "Delete removed the Linear"
    );

    for want in states.iter().rev().skip(1) {
        h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
        h.run_steps(2);
        assert_eq!(&h.state().core.doc.file, want);
    }
    assert!(!h.state().core.doc.can_undo());
    for want in states.iter().skip(1) {
        h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
        h.run_steps(2);
        assert_eq!(&h.state().core.doc.file, want);
    }
}

#[test]
fn invalid_connections_are_refused_and_explained() {
    let mut h = harness(editor());
    let x = add_from_palette(&mut h, "Data input");
    let fc = add_from_palette(&mut h, "Linear");
    connect_in_inspector(&mut h, "input", &x);
    let act = add_from_palette(&mut h, "ReLU");
    connect_in_inspector(&mut h, "input", &fc);

    // A cycle: fc's input ← act, which already depends on fc.
    h.state_mut().select(vec![fc.clone()]);
    h.run_steps(2);
    let before = h.state().core.doc.file.clone();
    connect_in_inspector(&mut h, "input", &act);
    assert_eq!(h.state().core.doc.file, before, "the cycle was refused");
    let (msg, is_error) = h.state().core.status.clone().unwrap();
    assert!(is_error && msg.contains("cycle"), "{msg}");
    h.get_by_label_contains("cycle");

    // A shape the op rejects: Concat of [1, 28, 28] and [10] along dim 1.
    let cat = add_from_palette(&mut h, "Concat");
    connect_in_inspector(&mut h, "input0", &x);
    let before = h.state().core.doc.file.clone();
    connect_in_inspector(&mut h, "input1", &act);
    assert_eq!(
        h.state().core.doc.file,
        before,
        "the shape mismatch was refused"
    );
    let (msg, is_error) = h.state().core.status.clone().unwrap();
    assert!(
        is_error && msg.contains("refused") && msg.contains("Concat"),
        "{msg}"
    );
    let _ = cat;
}

#[test]
fn every_graph_file_opens_without_errors_and_saves_back_equivalent() {
    let mut files = hyphae_editor::model::files::list_ron(&workspace().join("graphs"), true);
    files.push(workspace().join("editor/tests/data/cnn_like.ron"));
    assert!(files.len() >= 2, "graphs/ has files");
    let dir = tmp_dir("roundtrip");
    for (i, f) in files.iter().enumerate() {
        let original = GraphFile::load(f).unwrap();
        let mut app = editor();
        assert!(app.open(f), "{} opens", f.display());
        let mut h = harness(app);
        let doc = &h.state().core.doc;
        assert!(doc.errors.is_empty(), "{}: {:?}", f.display(), doc.errors);
        assert!(h.state().core.load_error.is_none());
        for n in &original.nodes {
            assert!(
                doc.inferred[&n.name].shape.is_some(),
                "{}: {} has a shape",
                f.display(),
                n.name
            );
        }
        let out = dir.join(format!("{i}.ron"));
        assert!(h.state_mut().save_as(&out));
        let back = GraphFile::load(&out).unwrap();
        assert_eq!(back.inputs, original.inputs, "{}", f.display());
        assert_eq!(back.nodes, original.nodes, "{}", f.display());
        assert_eq!(back.training, original.training, "{}", f.display());
        assert_eq!(back.description, original.description, "{}", f.display());
        if !original.layout.is_empty() {
            assert_eq!(back.layout, original.layout);
        }
        ValidGraph::validate(back, "back", None).unwrap();
    }
}

#[test]
fn a_file_that_fails_to_load_shows_the_error_and_keeps_everything() {
    let dir = tmp_dir("bad");
    let bad = dir.join("bad.ron");
    let text = "(\n    version: 1,\n    inputs: [(name: \"x\", shape: [4])],\n    nodes: [(name: \"a\", op: Nope(), inputs: [\"x\"])],\n)\n";
    std::fs::write(&bad, text).unwrap();
    let mut app = editor();
    assert!(app.open(&workspace().join("editor/tests/data/mlp_example.ron")));
    let before = app.core.doc.file.clone();
    assert!(!app.open(&bad));
    let mut h = harness(app);
    let err = h.state().core.load_error.clone().unwrap();
    assert!(err.contains("bad.ron:4:"), "line:column in {err}");
    h.get_by_label("Could not open the file");
    assert_eq!(h.state().core.doc.file, before, "the open document is kept");
    assert_eq!(
        std::fs::read_to_string(&bad).unwrap(),
        text,
        "nothing overwritten"
    );
    h.get_by_label("OK").click();
    h.run_steps(2);
    assert!(h.state().core.load_error.is_none());
}

#[test]
fn copy_paste_between_graphs_and_unsaved_prompt() {
    let mut app = editor();
    assert!(app.open(&workspace().join("editor/tests/data/mlp_example.ron")));
    let mut h = harness(app);
    let names: Vec<String> = h
        .state()
        .core
        .doc
        .file
        .nodes
        .iter()
        .map(|n| n.name.clone())
        .collect();
    h.state_mut().select(names.clone());
    h.run_steps(2);
    h.key_press_modifiers(Modifiers::COMMAND, Key::C);
    h.run_steps(1);
    assert!(h.state().core.clipboard.is_some());

    // New graph: the document is clean, so no prompt.
    h.key_press_modifiers(Modifiers::COMMAND, Key::N);
    h.run_steps(2);
    assert!(h.state().core.doc.file.nodes.is_empty());
    h.key_press_modifiers(Modifiers::COMMAND, Key::V);
    h.run_steps(2);
    let pasted: Vec<String> = h
        .state()
        .core
        .doc
        .file
        .nodes
        .iter()
        .map(|n| n.name.clone())
        .collect();
    assert_eq!(pasted, names, "names are free in the new graph");
    // Connections inside the fragment are kept; the one to the missing input is dropped.
    assert!(h.state().core.doc.file.nodes[0].inputs.is_empty());
    assert_eq!(
        h.state().core.doc.file.nodes[1].inputs,
        vec![names[0].clone()]
    );

    // Pasting again renames.
    h.key_press_modifiers(Modifiers::COMMAND, Key::V);
    h.run_steps(2);
    assert_eq!(h.state().core.doc.file.nodes.len(), 6);

    // Now dirty: New asks first, and Cancel keeps the graph.
    h.key_press_modifiers(Modifiers::COMMAND, Key::N);
    h.run_steps(2);
    h.get_by_label("Unsaved changes");
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert_eq!(h.state().core.doc.file.nodes.len(), 6);
    h.key_press_modifiers(Modifiers::COMMAND, Key::N);
    h.run_steps(2);
    h.get_by_label("Discard").click();
    h.run_steps(2);
    assert!(h.state().core.doc.file.nodes.is_empty());
}

#[test]
fn palette_search_filters_ops_and_summary_shows_totals() {
    let mut app = editor();
    assert!(app.open(&workspace().join("editor/tests/data/mlp_example.ron")));
    let mut h = harness(app);
    assert!(h.query_by_label("MaxPool2d").is_some());
    h.state_mut().ui.search = "pool".into();
    h.run_steps(2);
    assert!(h.query_by_label("MaxPool2d").is_some());
    assert!(h.query_by_label("Tanh").is_none());
    h.get_by_label("Summary").click();
    h.run_steps(2);
    h.get_by_label_contains("total: 101,770 trainable parameters");
}

/// An editor with nothing happening settles: no frame asks for another. (It used to set
/// the window title every frame, and a viewport command requests a repaint, so the window
/// repainted flat out, stealing a core from training.)
#[test]
fn an_idle_editor_stops_repainting() {
    let mut app = editor();
    assert!(app.open(&workspace().join("graphs/mnist_cnn.ron")));
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .with_max_steps(20)
        .build_ui_state(|ui, app: &mut EditorApp| app.show(ui), app);
    let settled = h.try_run();
    assert!(
        settled.is_ok(),
        "still repainting after 20 frames: {settled:?}"
    );
}
