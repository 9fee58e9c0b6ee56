//! Per-sample evaluation and the decision-boundary grid, through a real Trainer.

use hyphae::data;
use hyphae::graph::ValidGraph;
use hyphae::train::boundary::{self, Scores};
use hyphae::train::trainer::{TrainOptions, Trainer};
use std::path::{Path, PathBuf};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

fn trainer(graph: &str) -> Trainer {
    let graph = ValidGraph::load(&repo_file(graph)).unwrap();
    let split = data::load(graph.file.training.dataset.as_deref().unwrap(), 0).unwrap();
    let mut t = Trainer::new(graph, split, TrainOptions::default()).unwrap();
    for _ in 0..20 {
        t.step().unwrap();
    }
    t
}

#[test]
fn predictions_agree_with_the_confusion_matrix() {
    let mut t = trainer("graphs/spirals_mlp.ron");
    let (r, p) = t.evaluate_valid_with_predictions().unwrap();
    let p = p.expect("a classifier keeps predictions");
    let conf = r.confusion.unwrap();
    assert_eq!(p.len(), r.samples);
    assert_eq!(p.dropped, 0);
    for (i, row) in conf.iter().enumerate() {
        for (j, &c) in row.iter().enumerate() {
            let cell = p.cell(i, j);
            assert_eq!(cell.len() as u64, c, "cell {i},{j}");
            for k in cell {
                let q = p.probs_of(k);
                assert!((q.iter().sum::<f32>() - 1.0).abs() < 1e-4);
                assert!(
                    q[j] >= q[1 - j],
                    "the predicted class has the larger probability"
                );
            }
        }
    }
}

#[test]
fn decision_grid_covers_the_plane_at_its_resolution() {
    let mut t = trainer("graphs/spirals_mlp.ron");
    let c = t.classifier().expect("spirals is a classifier");
    assert_eq!((c.classes, c.scores, c.step), (2, Scores::Logits, 20));
    let features = t.valid_set().features.tensor().unwrap().clone();
    let (x, y) = boundary::data_range(&features).unwrap();
    let g = boundary::decision_grid(&c, x, y, 24).unwrap();
    assert_eq!(g.res, 24);
    assert_eq!(g.probs.len(), 24 * 24 * 2);
    assert_eq!(g.cell(23, 23).len(), 2);
    assert!((g.cell(5, 7).iter().sum::<f32>() - 1.0).abs() < 1e-4);
    assert!(boundary::decision_grid(&c, x, y, 1).is_err());
    assert!(boundary::decision_grid(&c, (1.0, 0.0), y, 8).is_err());
}

#[test]
fn a_one_output_regression_on_points_reads_as_two_classes() {
    let mut t = trainer("graphs/xor.ron");
    let c = t.classifier().expect("xor's fc2 reads as P(class 1)");
    assert_eq!(
        (c.classes, c.scores, c.logits.as_str()),
        (2, Scores::Value, "fc2")
    );
    let g = boundary::decision_grid(&c, (0.0, 1.0), (0.0, 1.0), 4).unwrap();
    assert_eq!(g.probs.len(), 32);
    assert!(g.probs.iter().all(|p| (0.0..=1.0).contains(p)));
}
