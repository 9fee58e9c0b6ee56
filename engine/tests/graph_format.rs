//! Graph files: parsing, round trips, and errors with positions.

use hyphae::graph::{GraphFile, ValidGraph};

const MLP: &str = r#"(
    version: 1,
    description: "a small MLP",
    inputs: [
        (name: "x", shape: [4]),
        (name: "y", shape: [3], source: Labels),
    ],
    nodes: [
        (name: "fc1", op: Linear(out_features: 8, in_features: 4), inputs: ["x"]),
        (name: "act", op: ReLU(), inputs: ["fc1"]),
        (name: "fc2", op: Linear(out_features: 3, bias: false), inputs: ["act"], lr_mult: 0.5),
        (name: "sum", op: Add(), inputs: ["fc2", "y"]),
    ],
    training: (
        optimizer: Sgd(lr: 0.1, momentum: 0.9),
        batch_size: 4,
        epochs: 2,
        seed: 7,
    ),
    layout: {"fc1": (10.0, 20.0)},
)"#;

#[test]
fn parses_validates_and_round_trips() {
    let g = ValidGraph::from_ron(MLP, "mlp.ron").unwrap();
    assert_eq!(g.nodes[0].sample_shape(), &[8]);
    assert_eq!(g.nodes[2].sample_shape(), &[3]);
    assert_eq!(g.param_count(), 4 * 8 + 8 + 8 * 3);
    assert_eq!(g.buckets, vec![vec![0], vec![1], vec![2], vec![3]]);
    let text = g.file.to_ron().unwrap();
    println!("{text}");
    let again = GraphFile::from_ron(&text, "saved.ron").unwrap();
    assert_eq!(again, g.file);
    assert_eq!(again.to_ron().unwrap(), text, "save is stable");
}

fn errors_of(text: &str) -> String {
    match ValidGraph::from_ron(text, "bad.ron") {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn graph_with_nodes(nodes: &str) -> String {
    format!(
        "(\n    version: 1,\n    inputs: [(name: \"x\", shape: [4])],\n    nodes: [\n{nodes}\n    ],\n)"
    )
}

#[test]
fn bad_syntax_gives_line_and_column() {
    let text =
        graph_with_nodes(r#"        (name: "fc1", op: Linear(out_features: 8) inputs: ["x"]),"#);
    let err = errors_of(&text);
    assert!(err.starts_with("bad.ron:5:"), "{err}");
}

#[test]
fn unknown_op_is_named_with_position() {
    let text =
        graph_with_nodes(r#"        (name: "c", op: Conv3d(out_channels: 8), inputs: ["x"]),"#);
    let err = errors_of(&text);
    assert!(err.starts_with("bad.ron:5:"), "{err}");
    assert!(err.contains("Conv3d"), "{err}");
}

#[test]
fn unknown_field_is_rejected() {
    let text = graph_with_nodes(
        r#"        (name: "fc1", op: Linear(out_features: 8, colour: 3), inputs: ["x"]),"#,
    );
    let err = errors_of(&text);
    assert!(
        err.contains("colour") && err.starts_with("bad.ron:5:"),
        "{err}"
    );
}

#[test]
fn wrong_shape_names_node_and_shapes() {
    let text = graph_with_nodes(
        r#"        (name: "fc1", op: Linear(out_features: 8), inputs: ["x"]),
        (name: "fc2", op: Linear(out_features: 2, in_features: 5), inputs: ["fc1"]),"#,
    );
    let err = errors_of(&text);
    assert!(err.contains("bad.ron:6:16: node `fc2`"), "{err}");
    assert!(err.contains("[1, 8]") && err.contains("[5]"), "{err}");
}

#[test]
fn cycle_is_reported_with_its_members() {
    let text = graph_with_nodes(
        r#"        (name: "a", op: Add(), inputs: ["x", "c"]),
        (name: "b", op: ReLU(), inputs: ["a"]),
        (name: "c", op: ReLU(), inputs: ["b"]),"#,
    );
    let err = errors_of(&text);
    assert!(err.contains("cycle"), "{err}");
    for n in ["a", "b", "c"] {
        assert!(
            err.contains(&format!("{n} →")) || err.contains(&format!("→ {n}")),
            "{err}"
        );
    }
    assert!(err.starts_with("bad.ron:5:"), "{err}");
}

#[test]
fn duplicate_name_points_at_the_second_declaration() {
    let text = graph_with_nodes(
        r#"        (name: "fc", op: Linear(out_features: 8), inputs: ["x"]),
        (name: "fc", op: ReLU(), inputs: ["x"]),"#,
    );
    let err = errors_of(&text);
    assert!(
        err.contains("bad.ron:6:16: node `fc`: duplicate name"),
        "{err}"
    );
}

#[test]
fn dangling_input_names_the_port_and_all_errors_are_reported_together() {
    let text = graph_with_nodes(
        r#"        (name: "fc1", op: Linear(out_features: 8), inputs: ["nope"]),
        (name: "sum", op: Add(), inputs: ["x"]),"#,
    );
    let err = errors_of(&text);
    assert!(
        err.contains("bad.ron:5:61: node `fc1`, input `input`: refers to `nope`"),
        "{err}"
    );
    assert!(
        err.contains("node `sum`") && err.contains("at least 2"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 2, "{err}");
}

#[test]
fn version_is_checked() {
    let text = graph_with_nodes("").replace("version: 1", "version: 9");
    let err = errors_of(&text);
    assert!(
        err.contains("bad.ron:2:5") && err.contains("version 9"),
        "{err}"
    );
}

#[test]
fn summary_lists_every_node_with_totals() {
    let g = ValidGraph::from_ron(MLP, "mlp.ron").unwrap();
    let table = g.summary_table();
    println!("{table}");
    assert!(table.contains("fc1") && table.contains("Linear") && table.contains("[8]"));
    assert!(table.contains("total: 64 trainable parameters"), "{table}");
    let rows = g.summary();
    assert_eq!(rows[0].flops, 2 * 4 * 8);
}

#[test]
fn atomic_save_round_trips_through_disk() {
    let g = ValidGraph::from_ron(MLP, "mlp.ron").unwrap();
    let dir = std::env::temp_dir().join(format!("hyphae-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("g.ron");
    g.file.save(&path).unwrap();
    let back = ValidGraph::load(&path).unwrap();
    assert_eq!(back.file, g.file);
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temp file left behind");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The README's graph-format example is a real, valid graph.
#[test]
fn readme_example_is_valid() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let start = readme
        .find("```ron\n")
        .expect("a ```ron block in the README")
        + 7;
    let len = readme[start..].find("```").unwrap();
    let g = ValidGraph::from_ron(&readme[start..start + len], "README.md").unwrap();
    assert_eq!(g.file.nodes.len(), 7);
    assert!(g.file.training.clip.is_some() && g.file.nodes[5].init.contains_key("weight"));
}

/// A graph with one input `x` of per-sample shape `shape` and these nodes.
fn graph_on(shape: &str, nodes: &str) -> String {
    format!(
        "(\n    version: 1,\n    inputs: [(name: \"x\", shape: {shape}), (name: \"y\", shape: [3], source: Labels)],\n    nodes: [\n{nodes}\n    ],\n)"
    )
}

/// Configs outside an op's domain, and sizes whose arithmetic would overflow, are
/// validation errors naming the node and the field, never a panic (issue 14's reproducers).
#[test]
fn out_of_domain_configs_name_node_and_field() {
    for (shape, op, field) in [
        (
            "[4, 2, 2]",
            "PixelShuffle(upscale_factor: 4294967296)",
            "upscale_factor",
        ),
        (
            "[1, 4, 4]",
            "Conv2d(out_channels: 2, kernel_size: 1, stride: 4611686018427387904)",
            "stride",
        ),
        (
            "[4]",
            "Linear(out_features: 4611686018427387904)",
            "out_features",
        ),
        (
            "[1, 4, 4]",
            "Conv2d(out_channels: 2, kernel_size: 0)",
            "kernel_size",
        ),
        (
            "[1, 4, 4]",
            "Conv2d(out_channels: 2, kernel_size: 1, groups: 0)",
            "groups",
        ),
        (
            "[1, 4, 4]",
            "ConvTranspose2d(out_channels: 2, kernel_size: 1, dilation: 0)",
            "dilation",
        ),
        (
            "[1, 4, 4]",
            "MaxPool2d(kernel_size: 2, stride: 0)",
            "stride",
        ),
        (
            "[1, 4, 4]",
            "AvgPool2d(kernel_size: 2, padding: 4611686018427387904)",
            "padding",
        ),
        (
            "[1, 4, 4]",
            "AdaptiveAvgPool2d(output_size: 0)",
            "output_size",
        ),
        ("[4]", "Dropout(p: 1.5)", "p"),
        ("[4]", "Dropout(p: -0.1)", "p"),
        ("[4]", "BatchNorm1d(eps: 0.0)", "eps"),
        ("[4]", "BatchNorm1d(momentum: 1.5)", "momentum"),
        ("[4]", "LayerNorm(eps: -1.0)", "eps"),
        ("[4]", "Linear(out_features: 0)", "out_features"),
        (
            "[4]",
            "Embedding(num_embeddings: 0, embedding_dim: 2)",
            "num_embeddings",
        ),
    ] {
        let text = graph_on(
            shape,
            &format!("        (name: \"n1\", op: {op}, inputs: [\"x\"]),"),
        );
        let err = errors_of(&text);
        assert!(
            err.contains("node `n1`") && err.contains(field),
            "{op}: {err}"
        );
    }
    // huge but addressable sizes validate without panicking (the memory estimate is
    // another check's business)
    for (shape, op) in [
        ("[4]", "Linear(out_features: 1000000000000)"),
        (
            "[1, 4, 4]",
            "Conv2d(out_channels: 2, kernel_size: 1, padding: 100000)",
        ),
    ] {
        let text = graph_on(
            shape,
            &format!("        (name: \"n1\", op: {op}, inputs: [\"x\"]),"),
        );
        let _ = ValidGraph::from_ron(&text, "big.ron");
    }
}

/// A shape error between a node's output and a data input shows the per-sample shapes
/// the user declared, never the batch of one validation infers with.
#[test]
fn shape_errors_speak_per_sample() {
    let text = graph_on(
        "[4]",
        r#"        (name: "fc", op: Linear(out_features: 2), inputs: ["x"]),
        (name: "loss", op: MSELoss(), inputs: ["fc", "y"]),"#,
    );
    let err = errors_of(&text);
    assert!(err.contains("node `loss`"), "{err}");
    assert!(err.contains("[2] vs [3]") && !err.contains("[1, "), "{err}");
    // CrossEntropyLoss with a label declared [3] instead of []
    let text = graph_on(
        "[4]",
        r#"        (name: "fc", op: Linear(out_features: 2), inputs: ["x"]),
        (name: "loss", op: CrossEntropyLoss(), inputs: ["fc", "y"]),"#,
    );
    let err = errors_of(&text);
    assert!(err.contains("[2] vs [3]") && !err.contains("[1, "), "{err}");
    // a single bad shape keeps its batch dimension, labelled
    let text = graph_on(
        "[4]",
        r#"        (name: "c", op: Conv2d(out_channels: 2, kernel_size: 1), inputs: ["x"]),"#,
    );
    let err = errors_of(&text);
    assert!(
        err.contains("[1, 4]") && err.contains("batch dimension"),
        "{err}"
    );
}

/// Editor groups round-trip, and a group naming a missing node, a node in two groups, or
/// a group named like a node is an error that names it and its line.
#[test]
fn groups_round_trip_and_are_checked() {
    let grouped = MLP.replace(
        r#"    layout: {"fc1": (10.0, 20.0)},"#,
        r#"    layout: {"fc1": (10.0, 20.0), "block": (5.0, 5.0)},
    groups: [(name: "block", nodes: ["fc1", "act"], collapsed: true)],"#,
    );
    let g = ValidGraph::from_ron(&grouped, "g.ron").unwrap();
    assert_eq!(g.file.groups[0].nodes, ["fc1", "act"]);
    let again = GraphFile::from_ron(&g.file.to_ron().unwrap(), "saved.ron").unwrap();
    assert_eq!(again, g.file);

    let bad = MLP.replace(
        r#"    layout: {"fc1": (10.0, 20.0)},"#,
        r#"    groups: [
        (name: "a", nodes: ["fc1", "ghost"]),
        (name: "b", nodes: ["fc1"]),
        (name: "act", nodes: ["fc2"]),
        (name: "c", nodes: ["sum", "sum"]),
    ],"#,
    );
    let err = errors_of(&bad);
    assert!(
        err.contains("bad.ron:21:") && err.contains("`ghost`"),
        "{err}"
    );
    assert!(err.contains("`fc1` is in two groups, `a` and `b`"), "{err}");
    assert!(err.contains("group `c` lists `sum` twice"), "{err}");
    assert!(
        err.contains("group `act`: the name is already taken"),
        "{err}"
    );
}
