//! Keyboard shortcuts: each key combination is read from the command that owns it, so the
//! menus show exactly the keys that work.

use crate::command::{Command, Queue};
use egui::{Key, KeyboardShortcut, Modifiers};

/// Redo's second key and Delete's second key, as on most desktops.
const REDO_Y: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Y);
const BACKSPACE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::Backspace);

/// Queues the commands whose shortcuts were pressed this frame.
pub fn read(ctx: &egui::Context, q: &mut Queue) {
    let typing = ctx.egui_wants_keyboard_input();
    // Copy and paste arrive as events (the platform turns Ctrl+C/V into them).
    if !typing {
        ctx.input_mut(|i| {
            i.events.retain(|e| match e {
                egui::Event::Copy => {
                    q.push(Command::Copy);
                    false
                }
                egui::Event::Paste(t) => {
                    q.push(Command::Paste(Some(t.clone())));
                    false
                }
                _ => true,
            })
        });
    }
    for c in Command::with_shortcuts() {
        if typing && !c.works_while_typing() {
            continue;
        }
        let Some(s) = c.shortcut() else { continue };
        if ctx.input_mut(|i| i.consume_shortcut(&s)) {
            q.push(c);
        }
    }
    if !typing {
        if ctx.input_mut(|i| i.consume_shortcut(&REDO_Y)) {
            q.push(Command::Redo);
        }
        if ctx.input_mut(|i| i.consume_shortcut(&BACKSPACE)) {
            q.push(Command::Delete);
        }
        // Without the platform's events (tests, some backends) the keys still work.
        if ctx.input_mut(|i| i.consume_shortcut(&Command::Copy.shortcut().expect("key"))) {
            q.push(Command::Copy);
        }
        if ctx.input_mut(|i| i.consume_shortcut(&Command::Paste(None).shortcut().expect("key"))) {
            q.push(Command::Paste(None));
        }
    }
}
