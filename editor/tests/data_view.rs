//! The Data, Evaluation and Decision boundary windows, driven as a user does.

mod common;

use common::*;
use egui_kittest::kittest::Queryable;
use hyphae::train::node_outputs::OutputView;
use hyphae_editor::model::node_outputs::OutputGrid;
use hyphae_editor::session::Phase;

#[test]
fn data_view_opens_with_the_right_counts() {
    let spec = "shapes:train=200,valid=40";
    let mut h = open_for_training(&workspace().join("graphs/shapes_cnn.ron"), spec);
    h.get_by_label("Data").click();
    wait_for(&mut h, "the data to load", |s| {
        s.ui.panels.summary.is_some()
    });
    h.run_steps(2);
    let seed = h.state().core.doc.file.training.split_seed();
    let split = hyphae::data::load(spec, seed).unwrap();
    h.get_by_label(&format!("{spec}: 200 training, 40 validation samples"));
    let (train, valid) = (
        split.train.class_counts().unwrap(),
        split.valid.class_counts().unwrap(),
    );
    for (k, name) in hyphae::data::SHAPE_CLASSES.iter().enumerate() {
        h.get_by_label(&format!("{name}: {} train · {} valid", train[k], valid[k]));
    }
    // The gallery: every picture captioned with its class.
    assert_eq!(
        h.state()
            .ui
            .panels
            .summary
            .as_ref()
            .unwrap()
            .gallery
            .labels
            .len(),
        48
    );
    // One click shows a batch as training makes it (batch size 64 of the graph).
    h.get_by_label("Show a training batch").click();
    wait_for(&mut h, "the batch", |s| s.ui.panels.batch.is_some());
    h.run_steps(2);
    h.get_by_label("training batch of 64 as the network receives it");
}

/// Spirals for a few epochs, evaluated: clicking a confusion cell lists exactly its
/// samples, with their probabilities; precision/recall/F1 and ROC/PR are shown.
#[test]
fn a_confusion_cell_lists_its_samples() {
    let mut app = editor();
    assert!(app.open(&workspace().join("graphs/spirals_mlp.ron")));
    app.core.doc.file.training.epochs = 3;
    app.core.doc.revalidate();
    app.ui.show_training = true;
    let mut h = harness_sized(app, 1600.0, 1500.0);
    h.get_by_label("▶ Start").click();
    wait_for(&mut h, "the run to finish", |s| {
        matches!(s.core.training.phase, Phase::Finished)
    });
    h.get_by_label("Evaluate").click();
    wait_for(&mut h, "the evaluation", |s| {
        s.ui.show_evaluation && s.core.training.last_predictions.is_some()
    });
    wait_for(&mut h, "the data behind the cells", |s| {
        s.ui.panels.summary.is_some()
    });
    h.run_steps(2);
    let r = h.state().core.training.last_eval.clone().unwrap();
    let conf = r.confusion.unwrap();
    let preds = h.state().core.training.last_predictions.clone().unwrap();
    assert_eq!(preds.len(), r.samples);
    // An off-diagonal cell if the model made a mistake, else the first diagonal one.
    let (t, p) = if conf[0][1] > 0 { (0, 1) } else { (0, 0) };
    let n = conf[t][p];
    h.get_by_label(&format!("true {t}, predicted {p}: {n}"))
        .click();
    h.run_steps(2);
    assert_eq!(h.state().ui.panels.cell, Some((t, p)));
    let more = if n > 40 { " (the first 40)" } else { "" };
    h.get_by_label(&format!("{n} samples of true {t} predicted as {p}{more}"));
    // Each listed row shows the sample's probabilities.
    let first = preds.cell(t, p)[0];
    let probs: Vec<String> = preds
        .probs_of(first)
        .iter()
        .map(|q| format!("{q:.2}"))
        .collect();
    assert!(
        !h.get_all_by_label(&probs.join(" / "))
            .collect::<Vec<_>>()
            .is_empty(),
        "sample {first}'s probabilities are listed"
    );
    h.get_by_label("precision");
    h.get_by_label("macro average");
    // Another split seed now: the cell no longer lists samples of a split it did not score.
    let mut t = h.state().core.doc.file.training.clone();
    t.data_seed = Some(t.split_seed() + 1);
    h.state_mut()
        .push(hyphae_editor::command::Command::SetTraining(Box::new(t)));
    wait_for(&mut h, "the other split", |s| {
        s.ui.panels
            .summary
            .as_ref()
            .is_some_and(|d| d.seed != s.core.training.data_key.as_ref().unwrap().1)
    });
    h.run_steps(2);
    h.get_by_label("the dataset or seed changed since this run: evaluate again to list samples");
    assert!(
        h.query_by_label_contains("ROC (class 1 positive) · AUC")
            .is_some()
    );
}

/// The boundary view refreshes while spirals trains: each grid is 64×64 over the data and
/// newer grids come from later steps.
#[test]
fn the_decision_boundary_follows_training() {
    let mut h = open_for_training(&workspace().join("graphs/spirals_mlp.ron"), "");
    h.get_by_label("▶ Start").click();
    wait_for(&mut h, "training to run", |s| s.core.training.step > 0);
    h.get_by_label("View").click();
    h.run_steps(1);
    h.get_by_label("Decision boundary").click();
    wait_for(&mut h, "a first grid", |s| {
        s.ui.panels.boundary.grid.is_some()
    });
    let g = h.state().ui.panels.boundary.grid.clone().unwrap();
    assert_eq!((g.res, g.classes), (64, 2));
    assert_eq!(g.probs.len(), 64 * 64 * 2);
    wait_for(&mut h, "a later grid", |s| {
        s.ui.panels
            .boundary
            .grid
            .as_ref()
            .is_some_and(|n| n.step > g.step)
            || matches!(s.core.training.phase, Phase::Finished)
    });
    assert!(
        h.query_by_label_contains("64×64 grid over x").is_some(),
        "the grid's step and range are shown"
    );
}

/// A graph of `graph` on `dataset` with short training settings, its training panel shown.
fn short_run(graph: &str, dataset: &str, batch: usize, epochs: usize) -> Harness {
    let mut h = open_for_training(&workspace().join(graph), dataset);
    let doc = &mut h.state_mut().core.doc;
    doc.file.training.batch_size = batch;
    doc.file.training.epochs = epochs;
    doc.revalidate();
    h.run_steps(2);
    h
}

/// Finds `node` as a user does (Ctrl+F, its name, Enter): it is selected and in view.
fn find_node(h: &mut Harness, node: &str) {
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    h.run_steps(2);
    h.event(egui::Event::Text(node.to_string()));
    h.run_steps(2);
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    h.key_press(egui::Key::Escape);
    h.run_steps(3);
    assert_eq!(selected(h), [node], "found {node}");
}

type Harness = egui_kittest::Harness<'static, hyphae_editor::EditorApp>;

fn grid_of(s: &hyphae_editor::EditorApp, node: &str) -> Option<OutputGrid> {
    s.ui.outputs.state.window(node)?.grid.clone()
}

/// An autoencoder's flat 784-value decoder output, drawn as the 28×28 input images: the
/// window's grid comes from later steps as training goes, its pixels change, and after
/// Stop it shows the last step's model.
#[test]
fn a_decoders_outputs_follow_training() {
    let mut h = short_run(
        "graphs/autoencoder.ron",
        "shapes:train=512,valid=32",
        16,
        400,
    );
    find_node(&mut h, "dec2");
    h.get_by_label("Show outputs").click();
    h.run_steps(3);
    assert!(h.state().ui.outputs.is_shown("dec2"));
    h.get_by_label_contains("train the graph (▶ Start)");
    start_until_step(&mut h, 1);
    wait_for(&mut h, "a first grid", |s| grid_of(s, "dec2").is_some());
    let first = grid_of(h.state(), "dec2").unwrap();
    assert_eq!((first.view, first.tiles), (OutputView::Images, 16));
    // 4×4 tiles of 28×28 with 2-pixel borders.
    assert_eq!((first.pixels.width, first.pixels.height), (122, 122));
    wait_for(&mut h, "a grid from a later step", |s| {
        grid_of(s, "dec2").is_some_and(|g| g.step > first.step)
    });
    let later = grid_of(h.state(), "dec2").unwrap();
    assert_ne!(
        later.pixels.pixels, first.pixels.pixels,
        "training changed the outputs"
    );
    // The title names the step of the grid drawn in the last frame.
    h.run_steps(1);
    let shown = grid_of(h.state(), "dec2").unwrap().step;
    h.get_by_label(&format!("dec2 outputs · step {shown}"));
    stop(&mut h);
    wait_for(&mut h, "the grid of the stopped run's model", |s| {
        s.core.training.phase == Phase::Stopped
            && grid_of(s, "dec2").is_some_and(|g| g.step == s.core.training.step)
    });
    // Unticking closes the window.
    h.get_by_label("Show outputs").click();
    h.run_steps(3);
    assert!(!h.state().ui.outputs.is_shown("dec2"));
}

/// After a short run of the shapes CNN, its first conv shows sample 0's 16 feature maps
/// from the trained model.
#[test]
fn a_convs_feature_maps_show_after_the_run() {
    let mut h = short_run("graphs/shapes_cnn.ron", "shapes:train=128,valid=16", 32, 1);
    h.get_by_label("▶ Start").click();
    wait_for(&mut h, "the run to finish", |s| {
        s.core.training.phase == Phase::Finished
    });
    find_node(&mut h, "conv1");
    h.get_by_label("Show outputs").click();
    wait_for(&mut h, "the feature maps", |s| {
        grid_of(s, "conv1").is_some()
    });
    let g = grid_of(h.state(), "conv1").unwrap();
    assert_eq!(g.step, h.state().core.training.step);
    assert_eq!(
        (g.view, g.tiles, g.channels),
        (OutputView::FeatureMaps, 16, 16)
    );
    // Each map is stretched over its own range: black borders, white maxima.
    let (lo, hi) = (g.pixels.pixels.iter().min(), g.pixels.pixels.iter().max());
    assert_eq!((lo, hi), (Some(&0), Some(&255)));
    h.run_steps(2);
    h.get_by_label(&format!("conv1 outputs · step {}", g.step));
    h.get_by_label("sample 0: 16 of 16 feature maps, each min..max scaled");
    // A loss node has no picture to show.
    find_node(&mut h, "loss");
    assert!(h.query_by_label("Show outputs").is_none());
}
