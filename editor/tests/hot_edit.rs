//! Hot edits: a paused run's graph may change; Resume continues the run on the edited
//! graph with the unchanged layers' weights (and optimizer state) carried over, the fork
//! marked on the curves and recorded in the run folder. A running run still refuses.

mod common;

use common::*;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use hyphae::tensor::Tensor;
use hyphae::train::checkpoint::Checkpoint;
use hyphae_editor::EditorApp;
use hyphae_editor::session::Phase;
use std::path::PathBuf;

fn spirals() -> Harness<'static, EditorApp> {
    let mut h = open_for_training(&workspace().join("graphs/spirals_mlp.ron"), "");
    h.state_mut().core.doc.file.training.epochs = 1000;
    h.state_mut().core.doc.file.training.stats_every = 0;
    h.state_mut().core.doc.revalidate();
    h
}

/// The run folder the session writes, from its "run folder: …" message.
fn run_folder(h: &Harness<'_, EditorApp>) -> PathBuf {
    let msgs = &h.state().core.training.messages;
    let line = msgs
        .iter()
        .find_map(|(m, _)| m.strip_prefix("run folder: "))
        .expect("the run folder is announced");
    PathBuf::from(line)
}

fn bits(t: &Tensor) -> Vec<u32> {
    t.data().iter().map(|v| v.to_bits()).collect()
}

/// Start, Pause, widen fc2 in the inspector, Resume: fc1 and the logits bias keep their
/// trained values bit for bit, fc2 and the logits weight have the new width and fresh
/// values; the step goes on from the pause, the curves get a fork marker, and the run
/// folder keeps both graph versions.
#[test]
fn a_paused_edit_resumes_with_carried_weights_whose_values_are_unchanged() {
    let mut h = spirals();
    start_until_step(&mut h, 20);
    pause(&mut h);
    let step = h.state().core.training.step;
    let dir = tmp_dir("hot-edit");
    let before_path = dir.join("before.safetensors");
    h.state_mut().ui.weights_path = before_path.display().to_string();
    h.run_steps(1);
    h.get_by_label("Save weights").click();
    wait_for(&mut h, "weights saved", |_| before_path.exists());
    let before = Checkpoint::load(&before_path).unwrap();

    // The edit, as a user makes it: select fc2, type its new width.
    h.state_mut().select(vec!["fc2".into()]);
    h.run_steps(2);
    set_number(&mut h, "out_features", "96");
    let fc2 = &h.state().core.doc.file.nodes[2];
    assert!(
        format!("{:?}", fc2.op).contains("out_features: 96"),
        "{fc2:?}"
    );
    h.get_by_label_contains("graph edited: Resume continues on it");

    h.get_by_label("⏵ Resume").click();
    wait_for(&mut h, "the fork", |s| s.core.training.last_fork.is_some());
    let fork = h.state().core.training.last_fork.clone().unwrap();
    assert_eq!(
        fork.step, step,
        "the run continues from the pause, not from 0"
    );
    assert_eq!(
        fork.carry.carried,
        ["fc1.weight", "fc1.bias", "logits.bias"].map(String::from)
    );
    let (msg, bad) = h.state().core.status.clone().unwrap();
    assert!(!bad && msg.contains("kept 3 of 6 tensors"), "{msg}");

    // The fork's checkpoint holds the weights as carried, before any further step.
    let out = run_folder(&h);
    let ck =
        Checkpoint::load(&out.join(format!("checkpoints/step-{step:08}.safetensors"))).unwrap();
    for name in &fork.carry.carried {
        let was = before.get(name).unwrap();
        let now = ck.get(name).unwrap();
        assert_eq!(bits(was), bits(now), "{name} changed across the edit");
    }
    assert_eq!(ck.get("fc2.weight").unwrap().shape(), &[96, 64]);
    assert_eq!(ck.get("logits.weight").unwrap().shape(), &[2, 96]);
    assert!(out.join("graphs/step-00000000.ron").is_file());
    assert!(
        out.join(format!("graphs/step-{step:08}.ron")).is_file(),
        "the edited graph version is kept"
    );

    wait_for(&mut h, "training on", |s| s.core.training.step >= step + 5);
    assert_eq!(h.state().core.training.run.forks.len(), 1, "a fork marker");
    h.get_by_label_contains("last edit at step");
    stop(&mut h);
}

/// While the run is not paused, a structural edit is refused with the way out (Pause).
#[test]
fn an_edit_while_running_says_pause_first() {
    let mut h = spirals();
    start_until_step(&mut h, 3);
    h.state_mut().select(vec!["fc2".into()]);
    h.run_steps(2);
    let before = h.state().core.doc.file.clone();
    set_number(&mut h, "out_features", "96");
    assert_eq!(h.state().core.doc.file, before, "refused");
    let (msg, bad) = h.state().core.status.clone().unwrap();
    assert!(bad && msg.contains("Pause first"), "{msg}");
    stop(&mut h);
}

/// An edited graph with errors does not resume (and is not silently dropped): the run
/// stays paused with the reason.
#[test]
fn an_edited_graph_with_errors_does_not_resume() {
    let mut h = spirals();
    start_until_step(&mut h, 3);
    pause(&mut h);
    h.state_mut().select(vec!["relu2".into()]);
    h.run_steps(2);
    h.key_press(egui::Key::Delete);
    h.run_steps(3);
    assert!(h.state().core.doc.valid.is_none(), "logits lost its input");
    h.get_by_label("⏵ Resume").click();
    h.run_steps(3);
    let (msg, bad) = h.state().core.status.clone().unwrap();
    assert!(bad && msg.contains("has errors"), "{msg}");
    assert_eq!(h.state().core.training.phase, Phase::Paused);
    stop(&mut h);
}

/// A followed run folder with a fork (written here by the engine, as an editor run would)
/// shows the fork marker too.
#[test]
fn a_followed_run_shows_its_fork() {
    let graph_path = workspace().join("graphs/spirals_mlp.ron");
    let run = tmp_dir("followed-fork");
    let _ = std::fs::remove_dir_all(&run);
    let graph = hyphae::graph::ValidGraph::load(&graph_path).expect("graph");
    let mut wider = graph.file.clone();
    if let Some(n) = wider.nodes.iter_mut().find(|n| n.name == "fc2")
        && let hyphae::ops::Op::Linear(c) = &mut n.op
    {
        c.out_features = 96;
    }
    let wider = hyphae::graph::ValidGraph::validate(wider, "wider.ron", None).expect("valid");
    let split = hyphae::data::load("spirals", 0).expect("data");
    let opts = hyphae::train::trainer::TrainOptions {
        epochs: 1,
        out_dir: Some(run.clone()),
        ..Default::default()
    };
    let mut old = hyphae::train::trainer::Trainer::new(graph, split, opts).expect("trainer");
    for _ in 0..10 {
        old.step().expect("step");
    }
    let (mut new, _) = hyphae::train::trainer::Trainer::fork(&mut old, wider).expect("fork");
    let halt = std::sync::atomic::AtomicBool::new(false);
    new.run(&mut |_| {}, &halt).expect("trained");

    let mut h = open_for_training(&graph_path, "");
    type_into(&mut h, "run folder", &run.display().to_string());
    h.get_by_label("Follow run").click();
    wait_for(&mut h, "the fork", |app| {
        app.core.training.run.forks.len() == 1
    });
    assert_eq!(h.state().core.training.run.forks[0].step, 10.0);
    stop(&mut h);
}
