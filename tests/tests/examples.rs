//! The example graphs users open first, end to end across both crates.

use hyphae::graph::ValidGraph;
use hyphae::tensor::Rng;
use hyphae::train::trainer::{Event, Finish, TrainOptions, Trainer};
use hyphae_editor::Document;
use std::path::{Path, PathBuf};

/// Every `.ron` file under `graphs/`, sorted.
fn example_graphs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../graphs");
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "ron") {
                out.push(path);
            }
        }
    }
    out.sort();
    assert!(out.len() >= 10, "found only {out:?}");
    out
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hyphae-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Opened and saved by the editor's document, every example is the same graph to the
/// engine: the editor never changes what a user did not touch.
#[test]
fn editor_round_trip_keeps_every_example_graph() {
    let dir = temp_dir("roundtrip");
    for path in example_graphs() {
        let original =
            ValidGraph::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut doc = Document::load(&path).unwrap();
        let copy = dir.join(path.file_name().unwrap());
        doc.save_to(&copy).unwrap();
        let reloaded = ValidGraph::load(&copy).unwrap();
        assert_eq!(
            original.file.inputs,
            reloaded.file.inputs,
            "{}",
            path.display()
        );
        assert_eq!(
            original.file.nodes,
            reloaded.file.nodes,
            "{}",
            path.display()
        );
        assert_eq!(
            original.file.training,
            reloaded.file.training,
            "{}",
            path.display()
        );
    }
}

/// Every example that validates trains without error: two steps on synthetic batches of
/// its own shapes (batch 2), with a finite loss.
#[test]
fn every_example_graph_trains_on_its_own_shapes() {
    for path in example_graphs() {
        let graph = ValidGraph::load(&path).unwrap();
        let batch = hyphae::cli::synthetic_batch(&graph, 2, &mut Rng::seed(7));
        let mut rt = hyphae::ecs::Runtime::new(graph).unwrap();
        for _ in 0..2 {
            let outcome = rt
                .train_step(batch.clone())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                outcome.loss.is_finite(),
                "{}: loss {}",
                path.display(),
                outcome.loss
            );
        }
    }
}

/// An example on built-in data, driven step by step as the editor drives it, leaves the
/// run folder `hyphae train` leaves.
#[test]
fn stepping_an_example_writes_a_complete_run_folder() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../graphs/xor.ron");
    let graph = ValidGraph::load(&path).unwrap();
    let seed = graph.file.training.split_seed();
    let split = hyphae::data::load("xor", seed).unwrap();
    let out = temp_dir("xor-run");
    let mut trainer = Trainer::new(
        graph,
        split,
        TrainOptions {
            epochs: 1000,
            max_steps: Some(5),
            out_dir: Some(out.clone()),
            ..TrainOptions::default()
        },
    )
    .unwrap();
    let mut steps = 0;
    let finish = loop {
        match trainer.step().unwrap() {
            Event::Step(_) => steps += 1,
            Event::Finished(f) => break f,
            Event::Epoch(_) | Event::NonFinite { .. } => {}
        }
    };
    assert_eq!(finish, Finish::MaxSteps);
    assert_eq!(steps, 5);
    for file in ["metrics.jsonl", "weights.safetensors", "checkpoints"] {
        assert!(
            out.join(file).exists(),
            "{file} missing in {}",
            out.display()
        );
    }
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let step_lines = metrics
        .lines()
        .filter(|l| l.contains("\"kind\":\"step\""))
        .count();
    assert_eq!(step_lines, 5, "{metrics}");
}
