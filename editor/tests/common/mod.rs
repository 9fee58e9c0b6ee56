//! Helpers shared by the editor's UI tests: a harness around the real window and the
//! gestures a user makes (palette clicks, inspector fields, canvas clicks and drags).
#![allow(dead_code)]

use egui::accesskit::Role;
use egui::{Key, Modifiers, PointerButton, Pos2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use hyphae_editor::EditorApp;
use hyphae_editor::session::Phase;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Longest wait for the trainer thread in a test (polling frames, no timed assertion).
pub const TIMEOUT: Duration = Duration::from_secs(120);

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

pub fn editor() -> EditorApp {
    EditorApp::new(workspace().join("graphs"))
}

/// The editor in a window of this size, after a few settling frames.
pub fn harness_sized(app: EditorApp, w: f32, h: f32) -> Harness<'static, EditorApp> {
    let mut h = Harness::builder()
        .with_size(egui::vec2(w, h))
        .build_ui_state(|ui, app: &mut EditorApp| app.show(ui), app);
    h.run_steps(3);
    h
}

pub fn harness(app: EditorApp) -> Harness<'static, EditorApp> {
    harness_sized(app, 1400.0, 900.0)
}

/// An editor with `graph` open.
pub fn opened(graph: &str) -> Harness<'static, EditorApp> {
    let mut app = editor();
    assert!(app.open(&workspace().join(graph)), "{graph} opens");
    harness(app)
}

pub fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hyphae-editor-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

pub fn selected(h: &Harness<'_, EditorApp>) -> Vec<String> {
    h.state().core.selection.names().to_vec()
}

/// Clicks the palette button of an op (or "Data input"); returns the new item's name.
pub fn add_from_palette(h: &mut Harness<'_, EditorApp>, label: &str) -> String {
    let doc = &h.state().core.doc;
    let before = doc.file.nodes.len() + doc.file.inputs.len();
    // As a user with a long palette does: search, then click (which takes the keyboard
    // focus off the search field; the search text stays, as it would).
    type_into(h, "search", label);
    h.get_by_role_and_label(Role::Button, label).click();
    h.run_steps(3);
    let doc = &h.state().core.doc;
    assert_eq!(
        doc.file.nodes.len() + doc.file.inputs.len(),
        before + 1,
        "{label} added"
    );
    let sel = selected(h);
    assert_eq!(sel.len(), 1, "the new item is selected");
    sel[0].clone()
}

/// Picks `src` in the inspector's drop-down for input port `port` of the selected node.
pub fn connect_in_inspector(h: &mut Harness<'_, EditorApp>, port: &str, src: &str) {
    h.get_by_role_and_label(Role::ComboBox, port).click();
    h.run_steps(2);
    // The drop-down lists every other item; the last match is the popup entry.
    let entries = h.get_all_by_label(src).collect::<Vec<_>>();
    entries.last().expect("source listed").click();
    h.run_steps(3);
}

/// Picks `choice` in the drop-down labelled `label`.
pub fn choose(h: &mut Harness<'_, EditorApp>, label: &str, choice: &str) {
    h.get_by_role_and_label(Role::ComboBox, label).click();
    h.run_steps(2);
    let entries = h.get_all_by_label(choice).collect::<Vec<_>>();
    entries.last().expect("choice listed").click();
    h.run_steps(3);
}

/// Sets a drag-value field by typing into it.
pub fn set_number(h: &mut Harness<'_, EditorApp>, field: &str, value: &str) {
    h.get_by_role_and_label(Role::SpinButton, field).focus();
    h.run_steps(2);
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.get_by_role_and_label(Role::SpinButton, field)
        .type_text(value);
    h.key_press(Key::Enter);
    h.run_steps(3);
}

/// Types into a text field (replacing its text) without pressing Enter.
pub fn type_into(h: &mut Harness<'_, EditorApp>, field: &str, value: &str) {
    h.get_by_role_and_label(Role::TextInput, field).focus();
    h.run_steps(2);
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.get_by_role_and_label(Role::TextInput, field)
        .type_text(value);
    h.run_steps(2);
}

/// Types into a text field and presses Enter.
pub fn enter_text(h: &mut Harness<'_, EditorApp>, field: &str, value: &str) {
    type_into(h, field, value);
    h.key_press(Key::Enter);
    h.run_steps(3);
}

/// Where a node's title is on screen (node widgets report graph-space rectangles).
pub fn node_pos(h: &Harness<'_, EditorApp>, name: &str) -> Pos2 {
    let graph_pos = h.get_by_label(name).rect().center();
    h.state().graph_to_screen(graph_pos)
}

/// Presses and releases the primary button at `pos` with `modifiers`.
pub fn click_at(h: &mut Harness<'_, EditorApp>, pos: Pos2, modifiers: Modifiers) {
    h.hover_at(pos);
    h.run_steps(1);
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos,
            button: PointerButton::Primary,
            pressed,
            modifiers,
        });
    }
    h.run_steps(3);
}

/// Clicks a node's title on the canvas.
pub fn click_node(h: &mut Harness<'_, EditorApp>, name: &str) {
    let pos = node_pos(h, name);
    click_at(h, pos, Modifiers::NONE);
}

/// Drags with the primary button from `from` to `to` in a few moves, holding `modifiers`.
pub fn drag(h: &mut Harness<'_, EditorApp>, from: Pos2, to: Pos2, modifiers: Modifiers) {
    h.event(egui::Event::ModifiersChanged(modifiers));
    h.hover_at(from);
    h.run_steps(1);
    h.event(egui::Event::PointerButton {
        pos: from,
        button: PointerButton::Primary,
        pressed: true,
        modifiers,
    });
    h.run_steps(1);
    for k in 1..=6 {
        let p = from + (to - from) * (k as f32 / 6.0);
        h.event(egui::Event::PointerMoved(p));
        h.run_steps(1);
    }
    h.event(egui::Event::PointerButton {
        pos: to,
        button: PointerButton::Primary,
        pressed: false,
        modifiers,
    });
    h.run_steps(2);
    h.event(egui::Event::ModifiersChanged(Modifiers::NONE));
    h.run_steps(2);
}

/// Runs frames until `cond` holds; panics with `what` after [`TIMEOUT`].
pub fn wait_for(h: &mut Harness<'_, EditorApp>, what: &str, cond: impl Fn(&EditorApp) -> bool) {
    let t0 = Instant::now();
    loop {
        h.run_steps(1);
        if cond(h.state()) {
            return;
        }
        if let Phase::Failed(e) = &h.state().core.training.phase {
            panic!("training failed while waiting for {what}: {e}");
        }
        assert!(t0.elapsed() < TIMEOUT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// An editor with `graph` open on `dataset` (empty: the graph's own), training panel shown,
/// in a window tall enough for a CNN above the panel.
pub fn open_for_training(graph: &Path, dataset: &str) -> Harness<'static, EditorApp> {
    let mut app = editor();
    assert!(app.open(graph));
    if !dataset.is_empty() {
        set_dataset(&mut app, dataset);
    }
    app.ui.show_training = true;
    harness_sized(app, 1600.0, 1500.0)
}

/// Points the document at another dataset without a user gesture (tests only).
pub fn set_dataset(app: &mut EditorApp, spec: &str) {
    app.core.doc.file.training.dataset = Some(spec.to_string());
    app.core.doc.revalidate();
}

/// Clicks ▶ Start and runs frames until the run has made `steps` steps.
pub fn start_until_step(h: &mut Harness<'_, EditorApp>, steps: u64) {
    h.get_by_label("▶ Start").click();
    wait_for(h, "the first steps", |s| s.core.training.step >= steps);
}

/// Clicks ⏸ Pause and runs frames until the run is paused.
pub fn pause(h: &mut Harness<'_, EditorApp>) {
    h.get_by_label("⏸ Pause").click();
    wait_for(h, "paused", |s| s.core.training.phase == Phase::Paused);
}

/// Clicks ⏹ Stop and lets the stop go through.
pub fn stop(h: &mut Harness<'_, EditorApp>) {
    h.get_by_label("⏹ Stop").click();
    h.run_steps(2);
}
