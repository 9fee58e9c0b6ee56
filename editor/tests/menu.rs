//! Menus, files and views: shortcuts shown, templates open clean, names after Save As,
//! the summary view, text the fonts can draw.

mod common;

use common::*;
use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable;
use hyphae_editor::Command;

/// Menu items show the keys that run them.
#[test]
fn menus_show_their_shortcuts() {
    let mut h = harness(editor());
    h.get_by_label("Edit").click();
    h.run_steps(2);
    for key in [
        "Ctrl+Z",
        "Ctrl+Shift+Z",
        "Ctrl+C",
        "Ctrl+V",
        "Ctrl+D",
        "Ctrl+F",
    ] {
        assert!(
            h.query_by_label_contains(key).is_some(),
            "`{key}` shown in the Edit menu"
        );
    }
}

/// A graph made from a template has no unsaved changes until edited.
#[test]
fn a_graph_from_a_template_starts_clean() {
    let mut h = harness(editor());
    h.state_mut()
        .push(Command::NewFromTemplate(workspace().join("graphs/xor.ron")));
    h.run_steps(3);
    let doc = &h.state().core.doc;
    assert_eq!(doc.file.nodes.len(), 4, "the template's graph");
    assert!(doc.path.is_none(), "no path: Save asks where");
    assert!(!doc.is_dirty(), "not dirty");
    // So New does not ask.
    h.key_press_modifiers(Modifiers::COMMAND, Key::N);
    h.run_steps(2);
    assert!(h.query_by_label("Unsaved changes").is_none());
}

/// After Save As, errors name the file, not "untitled".
#[test]
fn errors_name_the_file_after_save_as() {
    let mut h = harness(editor());
    add_from_palette(&mut h, "Linear");
    assert!(
        !h.state().core.doc.errors.is_empty(),
        "a Linear without input"
    );
    let dir = tmp_dir("saveas-errors");
    let path = dir.join("broken.ron");
    assert!(h.state_mut().save_as(&path));
    h.run_steps(2);
    let e = h.state().core.doc.errors[0].to_string();
    assert!(e.starts_with(&path.display().to_string()), "{e}");
    assert!(!e.contains("untitled"), "{e}");
}

/// The summary view shows one table (it showed the grid and the engine's text table).
#[test]
fn the_summary_shows_its_table_once() {
    let mut h = opened("editor/tests/data/mlp_example.ron");
    h.get_by_label("Summary").click();
    h.run_steps(2);
    let fc2 = h.get_all_by_label_contains("fc2").count();
    assert_eq!(fc2, 1, "one row for fc2");
}

/// Messages never use symbols the default fonts cannot draw (an arrow showed as a box).
#[test]
fn status_and_error_texts_are_drawable() {
    let mut h = harness(editor());
    let x = add_from_palette(&mut h, "Data input");
    let fc = add_from_palette(&mut h, "Linear");
    connect_in_inspector(&mut h, "input", &x);
    let act = add_from_palette(&mut h, "ReLU");
    connect_in_inspector(&mut h, "input", &fc);
    h.state_mut().select(vec![fc.clone()]);
    h.run_steps(2);
    connect_in_inspector(&mut h, "input", &act);
    let (msg, _) = h.state().core.status.clone().unwrap();
    assert!(msg.contains("cycle"), "{msg}");
    let font = egui::FontId::proportional(14.0);
    let ctx = h.ctx.clone();
    for text in [msg, hyphae_editor::ui::plain("a → b")] {
        let missing: Vec<char> = text
            .chars()
            .filter(|&c| !ctx.fonts_mut(|f| f.has_glyph(&font, c)))
            .collect();
        assert!(missing.is_empty(), "{text}: no glyph for {missing:?}");
    }
}
