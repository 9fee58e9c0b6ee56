//! Inputs the fuzzer (`engine/examples/fuzz`, see `engine/fuzz/README.md`) found crashing,
//! kept as regression tests: each must now load or fail with an error, never panic.

use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hyphae-fuzz-findings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// csv seed 1 case 110: a whole-number label of 3.4e38 overflowed `max as usize + 1` while
/// deciding whether the labels are classes.
#[test]
fn csv_with_a_huge_whole_number_label_is_regression() {
    let path = scratch("huge-label.csv");
    std::fs::write(&path, "x,y\n1,0.2\n0.3,0.4\n0.5,0.6\n0.7,3.4e38\n").unwrap();
    let split = hyphae::data::load(&format!("csv:{}:label=y", path.display()), 0).unwrap();
    assert_eq!(split.train.num_classes, None);
}

/// semantics seed 1 cases 3 and 299: data inputs of 2⁵³·28 and 18·u64::MAX elements per
/// sample overflowed shape arithmetic (Flatten, Linear's FLOPs) inside validation.
#[test]
fn graphs_with_absurd_input_shapes_are_rejected() {
    for shape in ["[1, 9007199254740993, 28]", "[3, 6, 18446744073709551615]"] {
        let text = format!(
            "(version: 1, inputs: [(name: \"image\", shape: {shape})], nodes: [\
             (name: \"flatten\", op: Flatten(), inputs: [\"image\"]), \
             (name: \"enc\", op: Linear(out_features: 256), inputs: [\"flatten\"])])"
        );
        let err = hyphae::graph::ValidGraph::from_ron(&text, "fuzz.ron")
            .unwrap_err()
            .to_string();
        assert!(err.contains("node `image`"), "{err}");
    }
}

/// semantics seed 21 case 907 (after the merge of per-sample shape errors into partial
/// inference): a loss's scalar output wired as CrossEntropy's target made the error
/// message slice the missing batch dimension off `[]`.
#[test]
fn a_scalar_fed_where_a_batch_is_expected_is_an_error() {
    let text = r#"(
    version: 1,
    inputs: [(name: "x", shape: [4]), (name: "y", shape: [], source: Labels)],
    nodes: [
        (name: "fc", op: Linear(out_features: 4), inputs: ["x"]),
        (name: "l1", op: SmoothL1Loss(), inputs: ["y", "y"]),
        (name: "loss", op: CrossEntropyLoss(), inputs: ["fc", "l1"]),
    ],
)"#;
    let err = hyphae::graph::ValidGraph::from_ron(text, "fuzz.ron")
        .unwrap_err()
        .to_string();
    assert!(err.contains("node `loss`"), "{err}");
}
