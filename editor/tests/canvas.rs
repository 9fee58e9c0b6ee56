//! The canvas through user gestures: one selection model, wires that keep their slots,
//! wires pulled off and dropped, palette placement, paste, layout and fit-to-view.

mod common;

use common::*;
use egui::{Key, Modifiers, Rect};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use hyphae_editor::EditorApp;

/// A graph-space rectangle's screen position.
fn screen_rect(h: &Harness<'_, EditorApp>, r: Rect) -> Rect {
    Rect::from_min_max(
        h.state().graph_to_screen(r.min),
        h.state().graph_to_screen(r.max),
    )
}

fn node_rect(h: &Harness<'_, EditorApp>, name: &str) -> Rect {
    let r = h.state().canvas.node_rect(name).expect("node drawn");
    screen_rect(h, r)
}

/// A point of the canvas with no node under it, below the graph.
fn background(h: &Harness<'_, EditorApp>) -> egui::Pos2 {
    let canvas = h.state().canvas.rect;
    egui::pos2(canvas.center().x, canvas.bottom() - 30.0)
}

/// Shift-drags a rectangle around nodes `a` and `b` (rectangle selection).
fn select_around(h: &mut Harness<'_, EditorApp>, a: &str, b: &str) {
    let around = node_rect(h, a).union(node_rect(h, b)).expand(12.0);
    drag(
        h,
        around.left_top(),
        around.right_bottom(),
        Modifiers::SHIFT,
    );
}

/// Shift-drag a rectangle around two nodes, click the background, click a third node,
/// press Delete: exactly the third goes, and nothing else is left selected. (Snarl kept
/// its rectangle selection by index, so two other nodes stayed "selected".)
#[test]
fn delete_removes_exactly_what_is_highlighted() {
    let mut h = opened("editor/tests/data/mlp_example.ron");
    select_around(&mut h, "x", "fc1");
    let mut sel = selected(&h);
    sel.sort();
    assert_eq!(sel, ["fc1", "x"], "the rectangle selects the two nodes");

    let bg = background(&h);
    click_at(&mut h, bg, Modifiers::NONE);
    assert!(
        selected(&h).is_empty(),
        "a background click clears the selection"
    );

    click_node(&mut h, "fc2");
    assert_eq!(selected(&h), ["fc2"]);
    h.key_press(Key::Delete);
    h.run_steps(4);
    let doc = &h.state().core.doc;
    assert!(!doc.exists("fc2"), "fc2 deleted");
    assert!(doc.exists("x") && doc.exists("fc1") && doc.exists("act1"));
    assert!(selected(&h).is_empty(), "nothing selected after the delete");
    assert!(h.query_by_label("2 items selected").is_none());
    h.key_press(Key::Delete);
    h.run_steps(3);
    assert_eq!(
        h.state().core.doc.file.nodes.len(),
        2,
        "a second Delete deletes nothing"
    );
}

/// Dragging one of several selected nodes moves them all by the same amount.
#[test]
fn dragging_one_selected_node_moves_the_group() {
    let mut h = opened("editor/tests/data/mlp_example.ron");
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.run_steps(2);
    assert_eq!(selected(&h).len(), 4);
    let before = h.state().core.doc.file.layout.clone();
    let from = node_pos(&h, "fc1");
    drag(&mut h, from, from + egui::vec2(80.0, 40.0), Modifiers::NONE);
    let after = &h.state().core.doc.file.layout;
    let d = |n: &str| (after[n].0 - before[n].0, after[n].1 - before[n].1);
    let moved = d("fc1");
    assert!(moved.0 > 1.0, "fc1 moved: {moved:?}");
    for n in ["x", "act1", "fc2"] {
        let m = d(n);
        assert!(
            (m.0 - moved.0).abs() < 0.5 && (m.1 - moved.1).abs() < 0.5,
            "{n} moved with the group: {m:?} vs {moved:?}"
        );
    }
    // One gesture, one undo step.
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(2);
    assert_eq!(h.state().core.doc.file.layout, before);
}

/// Opening another graph or starting a new one leaves nothing selected.
#[test]
fn selection_is_cleared_by_new_and_open() {
    let mut h = opened("editor/tests/data/mlp_example.ron");
    let around = node_rect(&h, "x").union(node_rect(&h, "fc1")).expand(12.0);
    drag(
        &mut h,
        around.left_top(),
        around.right_bottom(),
        Modifiers::SHIFT,
    );
    assert_eq!(selected(&h).len(), 2);
    h.key_press_modifiers(Modifiers::COMMAND, Key::N);
    h.run_steps(3);
    assert!(selected(&h).is_empty());
    // The next graph's first nodes are not picked up by a stale rectangle.
    add_from_palette(&mut h, "Data input");
    add_from_palette(&mut h, "Linear");
    h.run_steps(3);
    assert_eq!(selected(&h).len(), 1);
}

/// Disconnecting a loss's prediction keeps its target wire in the target slot (it used
/// to jump into `input`).
#[test]
fn each_input_slot_keeps_its_own_wire() {
    let mut h = opened("graphs/spirals_mlp.ron");
    h.state_mut().select(vec!["loss".into()]);
    h.run_steps(2);
    connect_in_inspector(&mut h, "input", "— (disconnect)");
    let loss = h.state().core.doc.node("loss").unwrap().clone();
    assert_eq!(loss.inputs, ["", "label"], "target keeps its slot");
    assert!(
        h.state()
            .core
            .doc
            .errors_for("loss")
            .iter()
            .any(|e| e.port.as_deref() == Some("input")),
        "the empty slot is reported on its port"
    );
    h.get_by_label("input `input` is not connected");
    // Reconnecting fills the same slot.
    connect_in_inspector(&mut h, "input", "logits");
    assert_eq!(
        h.state().core.doc.node("loss").unwrap().inputs,
        ["logits", "label"]
    );
    assert!(h.state().core.doc.errors.is_empty());
}

/// Clicking the palette three times places three nodes that do not overlap.
#[test]
fn palette_clicks_never_drop_a_node_on_another() {
    let mut h = harness(editor());
    let names: Vec<String> = (0..3).map(|_| add_from_palette(&mut h, "ReLU")).collect();
    h.run_steps(2);
    let rects: Vec<Rect> = names.iter().map(|n| node_rect(&h, n)).collect();
    for i in 0..3 {
        for j in i + 1..3 {
            assert!(
                !rects[i].intersects(rects[j]),
                "{} overlaps {}",
                names[i],
                names[j]
            );
        }
    }
}

/// Paste lands in the middle of the view, not at the copied nodes' old place.
#[test]
fn paste_lands_in_view() {
    let mut h = opened("editor/tests/data/mlp_example.ron");
    h.state_mut().select(vec!["fc1".into()]);
    h.key_press_modifiers(Modifiers::COMMAND, Key::C);
    h.run_steps(2);
    // Pan far away from the graph.
    h.state_mut()
        .canvas
        .pan_zoom(egui::vec2(-3000.0, -2000.0), 1.0);
    h.run_steps(2);
    h.key_press_modifiers(Modifiers::COMMAND, Key::V);
    h.run_steps(3);
    let pasted = selected(&h);
    assert_eq!(pasted.len(), 1);
    let r = node_rect(&h, &pasted[0]);
    assert!(
        h.state().canvas.rect.contains_rect(r),
        "pasted node {r:?} inside the view {:?}",
        h.state().canvas.rect
    );
}

/// Fit-to-view shows every node of a 150-node graph, at whatever zoom it takes.
#[test]
fn fit_to_view_shows_a_150_node_graph_whole() {
    let dir = tmp_dir("fit150");
    let path = dir.join("r150.ron");
    hyphae_editor::model::sample::residual_mlp(150, 16)
        .save(&path)
        .unwrap();
    let mut app = editor();
    assert!(app.open(&path));
    let mut h = harness(app);
    h.state_mut().canvas.fit_view = true;
    h.run_steps(3);
    let view = h.state().canvas.rect;
    let names = h.state().core.doc.names();
    assert!(names.len() >= 150);
    for n in &names {
        let r = node_rect(&h, n);
        assert!(
            view.expand(1.0).contains_rect(r),
            "{n} at {r:?} outside {view:?}"
        );
    }
}

/// A graph too long to fit legibly opens at a readable zoom at its start (its input on
/// screen), not as an unreadable whole; F still fits all of it.
#[test]
fn a_long_graph_opens_legible_at_its_start() {
    let mut h = opened("graphs/resnet_small.ron");
    h.run_steps(3);
    let view = h.state().canvas.rect;
    assert!(
        view.contains(node_pos(&h, "image")),
        "the input is on screen"
    );
    // zoom: screen distance over graph distance between two nodes
    let graph = |h: &egui_kittest::Harness<'_, hyphae_editor::EditorApp>, n: &str| {
        h.get_by_label(n).rect().center()
    };
    let (a, b) = (graph(&h, "image"), graph(&h, "stem"));
    let zoom = (node_pos(&h, "stem") - node_pos(&h, "image")).length() / (b - a).length();
    assert!(zoom >= 0.79, "opened at zoom {zoom}");
}

/// A 150-node graph: the canvas lays out only the nodes in view (a node far away has no
/// widget), Find brings a far node into view and draws it, and zoomed out past legible
/// text every node is a plain box that a click still selects.
#[test]
fn a_big_graph_draws_only_what_is_in_view() {
    let path = tmp_dir("big_graph").join("r150.ron");
    let graph = hyphae_editor::model::sample::residual_mlp(150, 8);
    graph.save(&path).expect("saved");
    let mut app = editor();
    assert!(app.open(&path));
    let mut h = harness(app);
    h.run_steps(3);
    let names = h.state().core.doc.names();
    let far = names[names.len() - 8].clone();
    assert!(h.query_by_label("x").is_some(), "the start is drawn");
    assert!(
        h.query_by_label(&far).is_none(),
        "a node far out of view is not laid out"
    );

    h.key_press_modifiers(Modifiers::COMMAND, Key::F);
    h.run_steps(2);
    h.event(egui::Event::Text(far.clone()));
    h.run_steps(2);
    h.key_press(Key::Enter);
    h.run_steps(2);
    h.key_press(Key::Escape);
    h.run_steps(4);
    assert!(h.query_by_label(&far).is_some(), "found and drawn");
    assert!(
        h.query_by_label("fc_in").is_none(),
        "the start is out of view"
    );

    // Fit the whole chain: far too small for text, so boxes.
    let bg = background(&h);
    click_at(&mut h, bg, Modifiers::NONE);
    h.key_press(Key::F);
    h.run_steps(4);
    assert!(
        h.query_by_label("fc_in").is_none(),
        "no node widgets when zoomed out"
    );
    let middle = names[names.len() / 2].clone();
    let r = node_rect(&h, &middle);
    assert!(
        h.state().canvas.rect.contains(r.center()),
        "fit shows every node"
    );
    click_at(&mut h, r.center(), Modifiers::NONE);
    assert_eq!(selected(&h), [middle], "a click on a box selects its node");
}

/// Where an input port's pin is on screen: just left of the port's label (snarl puts
/// pins inside the node frame).
fn input_pin(h: &Harness<'_, EditorApp>, node: &str, port: &str) -> egui::Pos2 {
    let r = node_rect(h, node);
    let label = h
        .get_all_by_label(port)
        .map(|l| screen_rect(h, l.rect()))
        .find(|l| r.contains(l.center()))
        .expect("port label on the node");
    egui::pos2(
        label.left() - 0.5 * (label.left() - r.left()),
        label.center().y,
    )
}

/// Pulling a connected input's wire off onto empty canvas disconnects it (snarl did
/// nothing with such a drop).
#[test]
fn a_wire_pulled_off_an_input_disconnects_it() {
    let mut h = opened("editor/tests/data/mlp_example.ron");
    h.run_steps(3);
    let bg = background(&h);
    let pin = input_pin(&h, "fc2", "input");
    drag(&mut h, pin, bg, Modifiers::NONE);
    h.run_steps(3);
    let doc = &h.state().core.doc;
    assert!(doc.node("act1").is_some(), "the source stays");
    let fc2 = doc.node("fc2").expect("fc2");
    assert!(
        fc2.inputs.iter().all(|s| s.is_empty()),
        "fc2's wire is gone: {:?}",
        fc2.inputs
    );
}

/// Select two nodes, Ctrl+G: they fold into one box whose pins lead to them; clicking the
/// box selects them, dragging it moves them, the group survives save and reopen, Expand and
/// the frame's title unfold and fold it, Ctrl+Shift+G dissolves it.
#[test]
fn selected_nodes_fold_into_a_collapsible_group() {
    let mut h = opened("editor/tests/data/mlp_example.ron");
    select_around(&mut h, "fc1", "act1");
    let mut sel = selected(&h);
    sel.sort();
    assert_eq!(sel, ["act1", "fc1"]);
    h.key_press_modifiers(Modifiers::COMMAND, Key::G);
    h.run_steps(4);
    let groups = h.state().core.doc.file.groups.clone();
    assert_eq!(groups.len(), 1);
    assert!(groups[0].collapsed);
    assert!(
        h.query_by_label("Group · 2 nodes").is_some(),
        "drawn as one box"
    );
    assert!(h.query_by_label("fc1").is_none(), "members are folded away");
    assert!(
        h.query_by_label("fc1.input").is_some(),
        "its input pin names fc1's port"
    );
    assert!(
        h.query_by_label("act1 [128]").is_some(),
        "its output pin names act1"
    );

    let bg = background(&h);
    click_at(&mut h, bg, Modifiers::NONE);
    click_node(&mut h, "group1");
    let mut sel = selected(&h);
    sel.sort();
    assert_eq!(sel, ["act1", "fc1"], "clicking the box selects its members");

    let before = h.state().core.doc.file.layout.clone();
    let from = node_pos(&h, "group1");
    drag(&mut h, from, from + egui::vec2(60.0, 30.0), Modifiers::NONE);
    let after = h.state().core.doc.file.layout.clone();
    let d = |n: &str| (after[n].0 - before[n].0, after[n].1 - before[n].1);
    assert!(d("group1").0 > 1.0, "the box moved");
    for n in ["fc1", "act1"] {
        assert!(
            (d(n).0 - d("group1").0).abs() < 0.5,
            "{n} moved with its group"
        );
    }
    assert_eq!(d("x"), (0.0, 0.0), "x stayed");

    let dir = tmp_dir("groups");
    let path = dir.join("grouped.ron");
    h.key_press_modifiers(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::S);
    h.run_steps(2);
    h.state_mut().ui.dialog.as_mut().expect("save dialog").path = path.display().to_string();
    h.run_steps(1);
    h.get_by_label("Save").click();
    h.run_steps(3);
    let mut h = opened(path.to_str().expect("utf-8 path"));
    assert!(
        h.query_by_label("Group · 2 nodes").is_some(),
        "still folded after reopening"
    );

    let expand = node_pos(&h, "⊞ Expand");
    click_at(&mut h, expand, Modifiers::NONE);
    h.run_steps(2);
    assert!(
        !h.state().core.doc.file.groups[0].collapsed,
        "Expand expands"
    );
    assert!(h.query_by_label("fc1").is_some(), "expanded: members drawn");
    h.get_by_label("⊟ group1").click();
    h.run_steps(4);
    assert!(
        h.state().core.doc.file.groups[0].collapsed,
        "the frame's title folds it"
    );

    click_node(&mut h, "group1");
    h.key_press_modifiers(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::G);
    h.run_steps(4);
    assert!(h.state().core.doc.file.groups.is_empty(), "ungrouped");
    assert!(h.query_by_label("fc1").is_some());
}

/// Dropping a wire from an unconnected input on empty canvas opens a searchable menu;
/// picking an op there creates that node wired into the input.
#[test]
fn a_wire_dropped_on_the_canvas_offers_a_connected_node() {
    let mut h = opened("editor/tests/data/mlp_example.ron");
    let relu = add_from_palette(&mut h, "ReLU");
    h.run_steps(3);
    let bg = background(&h);
    let pin = input_pin(&h, &relu, "input");
    drag(&mut h, pin, bg, Modifiers::NONE);
    h.run_steps(3);
    // The menu's search field, labelled by the menu's title.
    type_into(&mut h, "Add a connected node", "Sigmoid");
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Sigmoid")
        .click();
    h.run_steps(3);
    let doc = &h.state().core.doc;
    let made = (doc.file.nodes.iter())
        .find(|n| n.op.kind() == "Sigmoid")
        .expect("a Sigmoid node was made");
    let relu_node = doc.node(&relu).expect("relu");
    assert_eq!(
        relu_node.inputs,
        std::slice::from_ref(&made.name),
        "wired into the input"
    );
}
