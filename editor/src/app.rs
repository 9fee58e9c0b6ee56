//! The editor window: menu bar, palette, canvas, inspector, status bar, dialogs.

use crate::canvas::{self, Action, ERROR_RED, Viewer};
use crate::doc::{Document, shape_text};
use crate::reflect::{self, Val};
use crate::train::TrainState;
use egui::emath::TSTransform;
use egui::{Color32, Id, Key, KeyboardShortcut, Modifiers, RichText, Ui};
use egui_snarl::ui::{SnarlStyle, SnarlWidget};
use egui_snarl::{NodeId, Snarl};
use hyphae::graph::Source;
use hyphae::graph::summary::{group_thousands, human_flops};
use hyphae::ops::{Category, Op};
use std::path::{Path, PathBuf};

const CANVAS_ID: &str = "hyphae-canvas";
const MAX_RECENT: usize = 8;

pub const SAVE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
pub const UNDO: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Z);
pub const REDO: KeyboardShortcut =
    KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::Z);
pub const REDO_Y: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Y);
pub const COPY: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::C);
pub const PASTE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::V);
pub const DUPLICATE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::D);
pub const OPEN: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
pub const NEW: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::N);

/// Every op with its default config, grouped by palette category, filtered by `search`
/// (case-insensitive, on the op's name or category).
pub fn ops_by_category(search: &str) -> Vec<(Category, Vec<Op>)> {
    let q = search.trim().to_lowercase();
    let mut groups: Vec<(Category, Vec<Op>)> = Vec::new();
    for op in Op::all_defaults() {
        let cat = op.category();
        if !q.is_empty()
            && !op.kind().to_lowercase().contains(&q)
            && !cat.label().to_lowercase().contains(&q)
        {
            continue;
        }
        match groups.iter_mut().find(|(c, _)| *c == cat) {
            Some((_, v)) => v.push(op),
            None => groups.push((cat, vec![op])),
        }
    }
    groups.sort_by_key(|(c, _)| *c);
    groups
}

/// Which view fills the centre.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Canvas,
    Summary,
}

/// What the in-app file dialog is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialogMode {
    Open,
    SaveAs,
}

/// A simple file dialog: a path field and the `.ron` files of a folder (no native dialog
/// toolkit is needed).
pub struct FileDialog {
    pub mode: DialogMode,
    pub path: String,
}

/// Something that would discard unsaved changes, waiting for the user's answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Pending {
    New,
    Template(PathBuf),
    Open(PathBuf),
    Quit,
}

/// The editor.
pub struct EditorApp {
    pub doc: Document,
    snarl: Snarl<String>,
    /// Names in snarl order (`NodeId(i)` ↔ `snarl_names[i]`).
    snarl_names: Vec<String>,
    /// The graph (without layout) the snarl was built from.
    snarl_built: Option<(Vec<hyphae::graph::InputDecl>, Vec<hyphae::graph::NodeDecl>)>,
    snarl_generation: u64,
    /// Selection by name, so it survives rebuilds of the snarl.
    pub selected: Vec<String>,
    pub search: String,
    /// Last message for the status bar (and whether it is an error).
    pub status: Option<(String, bool)>,
    pub view: View,
    pub dialog: Option<FileDialog>,
    pub pending: Option<Pending>,
    /// A file that failed to load: its path and the engine's message.
    pub load_error: Option<String>,
    pub recent: Vec<PathBuf>,
    /// Where recent files are remembered; `None` keeps them in memory only (tests).
    recent_store: Option<PathBuf>,
    /// Copied items as RON, shared by every graph opened in this window.
    pub clipboard: Option<String>,
    /// Folder of templates (`graphs/`).
    pub templates_dir: PathBuf,
    rename_buf: (String, String),
    field_error: Option<String>,
    /// Set when the window may close (changes saved or discarded).
    allow_close: bool,
    pastes: u32,
    canvas_rect: egui::Rect,
    /// Zoom and pan to show the whole graph on the next frame.
    pub fit_view: bool,
    /// The canvas view transform of the last frame (graph → screen).
    transform: TSTransform,
    /// Snarl's own selection last frame, to notice when it changes (Shift+click, rectangle).
    snarl_selection: Vec<String>,
    /// Live training: the session, its curves and per-layer statistics.
    pub training: TrainState,
    /// The window title last sent: a viewport command asks for another frame, so sending
    /// the title every frame kept the window repainting flat out, even idle.
    window_title: String,
}

impl EditorApp {
    /// An empty document. `templates_dir` is where New-from-template looks.
    pub fn new(templates_dir: PathBuf) -> Self {
        let doc = Document::default();
        EditorApp {
            snarl: canvas::build(&doc),
            snarl_names: canvas::names(&doc),
            snarl_built: None,
            snarl_generation: doc.generation,
            doc,
            selected: Vec::new(),
            search: String::new(),
            status: None,
            view: View::Canvas,
            dialog: None,
            pending: None,
            load_error: None,
            recent: Vec::new(),
            recent_store: None,
            clipboard: None,
            templates_dir,
            rename_buf: (String::new(), String::new()),
            field_error: None,
            allow_close: false,
            pastes: 0,
            canvas_rect: egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(800.0, 600.0)),
            fit_view: true,
            transform: TSTransform::IDENTITY,
            snarl_selection: Vec::new(),
            training: TrainState::default(),
            window_title: String::new(),
        }
    }

    /// Remembers recent files in `path` (one per line), loading what is there.
    pub fn with_recent_store(mut self, path: PathBuf) -> Self {
        if let Ok(text) = std::fs::read_to_string(&path) {
            self.recent = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(PathBuf::from)
                .collect();
        }
        self.recent_store = Some(path);
        self
    }

    fn info(&mut self, msg: impl Into<String>) {
        self.status = Some((msg.into(), false));
    }

    fn error(&mut self, msg: impl Into<String>) {
        self.status = Some((msg.into(), true));
    }

    fn remember(&mut self, path: &Path) {
        let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        self.recent.retain(|p| p != &path);
        self.recent.insert(0, path);
        self.recent.truncate(MAX_RECENT);
        if let Some(store) = &self.recent_store {
            let text: String = self
                .recent
                .iter()
                .map(|p| format!("{}\n", p.display()))
                .collect();
            if let Some(dir) = store.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            // Losing the recent list is harmless; the document is what matters.
            let _ = std::fs::write(store, text);
        }
    }

    /// Opens `path`, replacing the document. On failure the current document stays and
    /// the engine's message (with line:column) is shown.
    pub fn open(&mut self, path: &Path) -> bool {
        match Document::load(path) {
            Ok(doc) => {
                self.set_document(doc);
                self.load_error = None;
                self.remember(path);
                self.info(format!("opened {}", path.display()));
                true
            }
            Err(e) => {
                self.load_error = Some(e.clone());
                self.error(e);
                false
            }
        }
    }

    /// A new document from a template: its graph, but no path (Save asks where).
    pub fn new_from_template(&mut self, path: &Path) -> bool {
        match Document::load(path) {
            Ok(mut doc) => {
                doc.path = None;
                let file = doc.file.clone();
                let mut fresh = Document::new(hyphae::graph::GraphFile::default(), None);
                fresh.file = file;
                fresh.revalidate();
                self.set_document(fresh);
                self.info(format!("new graph from template {}", path.display()));
                true
            }
            Err(e) => {
                self.load_error = Some(e.clone());
                self.error(e);
                false
            }
        }
    }

    pub fn new_document(&mut self) {
        self.set_document(Document::default());
        self.info("new graph");
    }

    fn set_document(&mut self, doc: Document) {
        self.doc = doc;
        self.selected.clear();
        self.field_error = None;
        self.sync_canvas(true);
        self.fit_view = true;
    }

    /// Saves to the document's path, or asks for one.
    pub fn save(&mut self) -> bool {
        match self.doc.path.clone() {
            Some(p) => self.save_as(&p),
            None => {
                self.open_dialog(DialogMode::SaveAs);
                false
            }
        }
    }

    pub fn save_as(&mut self, path: &Path) -> bool {
        match self.doc.save_to(path) {
            Ok(()) => {
                self.remember(path);
                self.info(format!("saved {}", path.display()));
                true
            }
            Err(e) => {
                self.error(format!("cannot save: {e}"));
                false
            }
        }
    }

    fn open_dialog(&mut self, mode: DialogMode) {
        let path = match (&self.doc.path, mode) {
            (Some(p), _) => p.display().to_string(),
            (None, DialogMode::SaveAs) => "untitled.ron".to_string(),
            (None, DialogMode::Open) => format!("{}/", self.templates_dir.display()),
        };
        self.dialog = Some(FileDialog { mode, path });
    }

    /// Runs `p` now, or asks first when there are unsaved changes.
    pub fn request(&mut self, p: Pending) {
        if self.doc.is_dirty() {
            self.pending = Some(p);
        } else {
            self.run_pending(p);
        }
    }

    fn run_pending(&mut self, p: Pending) {
        match p {
            Pending::New => self.new_document(),
            Pending::Template(path) => {
                self.new_from_template(&path);
            }
            Pending::Open(path) => {
                self.open(&path);
            }
            Pending::Quit => self.allow_close = true,
        }
    }

    /// Whether the window may close now (no unsaved changes, or the user said so).
    pub fn may_close(&self) -> bool {
        self.allow_close || !self.doc.is_dirty()
    }

    // ----- edits -----

    /// Applies one canvas action to the document.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::Connect { src, dst, port } => match self.doc.connect(&src, &dst, port) {
                Ok(()) => self.info(format!("connected {src} → {dst}")),
                Err(e) => self.error(e),
            },
            Action::Disconnect { dst, port } => self.doc.disconnect(&dst, port),
            Action::DropOutputs { src } => self.doc.edit(|f| {
                for n in &mut f.nodes {
                    n.inputs.retain(|i| i != &src);
                }
            }),
            Action::Add { op, pos } => {
                let name = self.doc.add_node(*op, pos);
                self.select(vec![name]);
            }
            Action::AddInput { pos } => {
                let name = self.doc.add_input(vec![1, 28, 28], pos);
                self.select(vec![name]);
            }
            Action::Delete(names) => {
                self.doc.delete(&names);
                self.selected.retain(|s| !names.contains(s));
            }
            Action::Duplicate(names) => {
                if let Some(text) = self.doc.copy(&names) {
                    match self.doc.paste(&text, (40.0, 40.0)) {
                        Ok(new) => self.select(new),
                        Err(e) => self.error(e),
                    }
                }
            }
        }
    }

    /// Selects these items (inspector and canvas highlight).
    pub fn select(&mut self, names: Vec<String>) {
        self.selected = names;
    }

    /// Adds an op at the middle of the visible canvas (palette click).
    pub fn add_op_at_view_center(&mut self, op: Op) {
        let pos = self.view_to_graph(self.canvas_rect.center());
        let k = (self.doc.file.nodes.len() % 5) as f32 * 30.0;
        self.apply(Action::Add {
            op: Box::new(op),
            pos: (pos.x + k - 80.0, pos.y + k - 40.0),
        });
    }

    /// Where a canvas (graph-space) point is on screen: node widgets report graph-space
    /// rectangles, so tests click through this.
    pub fn graph_to_screen(&self, p: egui::Pos2) -> egui::Pos2 {
        self.transform * p
    }

    fn view_to_graph(&self, p: egui::Pos2) -> egui::Pos2 {
        self.transform.inverse() * p
    }

    fn snarl_id(&self) -> Id {
        Id::new(CANVAS_ID)
    }

    pub fn copy_selection(&mut self, ctx: &egui::Context) {
        if let Some(text) = self.doc.copy(&self.selected) {
            ctx.copy_text(text.clone());
            self.info(format!("copied {} item(s)", self.selected.len()));
            self.clipboard = Some(text);
        }
    }

    /// Pastes `text` if it is a graph fragment, else the editor's own clipboard.
    pub fn paste(&mut self, text: Option<&str>) {
        let candidate = text
            .filter(|t| hyphae::graph::GraphFile::from_ron(t, "clipboard").is_ok())
            .map(str::to_string)
            .or_else(|| self.clipboard.clone());
        let Some(t) = candidate else { return };
        self.pastes += 1;
        let off = 40.0 * self.pastes as f32;
        match self.doc.paste(&t, (off, off)) {
            Ok(names) => {
                self.info(format!("pasted {} item(s)", names.len()));
                self.select(names);
            }
            Err(e) => self.error(e),
        }
    }

    pub fn undo(&mut self) {
        if self.doc.undo() {
            self.info("undo");
        }
    }

    pub fn redo(&mut self) {
        if self.doc.redo() {
            self.info("redo");
        }
    }

    /// Rebuilds the snarl when the graph's structure changed; positions alone are copied.
    fn sync_canvas(&mut self, force: bool) {
        if !force && self.snarl_generation == self.doc.generation {
            return;
        }
        self.snarl_generation = self.doc.generation;
        let structure = (self.doc.file.inputs.clone(), self.doc.file.nodes.clone());
        if !force && self.snarl_built.as_ref() == Some(&structure) {
            let ids: Vec<NodeId> = self.snarl.node_ids().map(|(id, _)| id).collect();
            for id in ids {
                if let Some(info) = self.snarl.get_node_info_mut(id)
                    && let Some(&(x, y)) = self.doc.file.layout.get(&info.value)
                {
                    info.pos = egui::pos2(x, y);
                }
            }
            return;
        }
        self.snarl = canvas::build(&self.doc);
        self.snarl_names = canvas::names(&self.doc);
        self.snarl_built = Some(structure);
        self.selected.retain(|s| self.doc.exists(s));
    }

    /// Copies node positions the user dragged into the document (one undo step per drag).
    fn collect_moves(&mut self) {
        let mut moves = Vec::new();
        for (id, pos, _) in self.snarl.nodes_pos_ids() {
            if let Some(name) = self.snarl_names.get(id.0) {
                let old = self.doc.file.layout.get(name).copied();
                if old.is_none_or(|(x, y)| (x - pos.x).abs() > 0.01 || (y - pos.y).abs() > 0.01) {
                    moves.push((name.clone(), (pos.x, pos.y)));
                }
            }
        }
        if !moves.is_empty() {
            self.doc.edit_keyed(Some("move".into()), |f| {
                for (n, p) in moves {
                    f.layout.insert(n, p);
                }
            });
            // The snarl already shows these positions.
            self.snarl_generation = self.doc.generation;
        }
    }

    // ----- UI -----

    fn shortcuts(&mut self, ctx: &egui::Context) {
        let typing = ctx.egui_wants_keyboard_input();
        let mut paste_text: Option<Option<String>> = None;
        let mut copy = false;
        ctx.input_mut(|i| {
            if !typing {
                i.events.retain(|e| match e {
                    egui::Event::Copy => {
                        copy = true;
                        false
                    }
                    egui::Event::Paste(t) => {
                        paste_text = Some(Some(t.clone()));
                        false
                    }
                    _ => true,
                });
            }
        });
        if ctx.input_mut(|i| i.consume_shortcut(&SAVE)) {
            self.save();
        }
        if ctx.input_mut(|i| i.consume_shortcut(&OPEN)) {
            self.open_dialog(DialogMode::Open);
        }
        if ctx.input_mut(|i| i.consume_shortcut(&NEW)) {
            self.request(Pending::New);
        }
        if typing {
            return;
        }
        if ctx.input_mut(|i| i.consume_shortcut(&REDO) || i.consume_shortcut(&REDO_Y)) {
            self.redo();
        }
        if ctx.input_mut(|i| i.consume_shortcut(&UNDO)) {
            self.undo();
        }
        if ctx.input_mut(|i| i.consume_shortcut(&COPY)) {
            copy = true;
        }
        if ctx.input_mut(|i| i.consume_shortcut(&PASTE)) && paste_text.is_none() {
            paste_text = Some(None);
        }
        if ctx.input_mut(|i| i.consume_shortcut(&DUPLICATE)) {
            self.apply(Action::Duplicate(self.selected.clone()));
        }
        if copy {
            self.copy_selection(ctx);
        }
        if let Some(t) = paste_text {
            self.paste(t.as_deref());
        }
        if ctx.input(|i| i.key_pressed(Key::Delete) || i.key_pressed(Key::Backspace))
            && !self.selected.is_empty()
        {
            self.apply(Action::Delete(self.selected.clone()));
        }
    }

    fn menu_bar(&mut self, ui: &mut Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.button("New").clicked() {
                    self.request(Pending::New);
                }
                ui.menu_button("New from template", |ui| {
                    let templates = list_ron(&self.templates_dir, true);
                    if templates.is_empty() {
                        ui.label("no templates found");
                    }
                    for t in templates {
                        let label = t
                            .strip_prefix(&self.templates_dir)
                            .unwrap_or(&t)
                            .display()
                            .to_string();
                        if ui.button(label).clicked() {
                            self.request(Pending::Template(t));
                        }
                    }
                });
                if ui.button("Open…").clicked() {
                    self.open_dialog(DialogMode::Open);
                }
                ui.menu_button("Open recent", |ui| {
                    if self.recent.is_empty() {
                        ui.label("no recent files");
                    }
                    for p in self.recent.clone() {
                        if ui.button(p.display().to_string()).clicked() {
                            self.request(Pending::Open(p));
                        }
                    }
                });
                ui.separator();
                if ui.button("Save").clicked() {
                    self.save();
                }
                if ui.button("Save As…").clicked() {
                    self.open_dialog(DialogMode::SaveAs);
                }
                ui.separator();
                if ui.button("Quit").clicked() {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.menu_button("Edit", |ui| {
                if ui
                    .add_enabled(self.doc.can_undo(), egui::Button::new("Undo"))
                    .clicked()
                {
                    self.undo();
                }
                if ui
                    .add_enabled(self.doc.can_redo(), egui::Button::new("Redo"))
                    .clicked()
                {
                    self.redo();
                }
                ui.separator();
                if ui.button("Copy").clicked() {
                    self.copy_selection(ui.ctx());
                }
                if ui.button("Paste").clicked() {
                    self.paste(None);
                }
                if ui.button("Duplicate").clicked() {
                    self.apply(Action::Duplicate(self.selected.clone()));
                }
                if ui.button("Delete").clicked() {
                    self.apply(Action::Delete(self.selected.clone()));
                }
                ui.separator();
                if ui.button("Select all").clicked() {
                    self.select(canvas::names(&self.doc));
                }
                if ui.button("Auto-layout").clicked() {
                    self.doc.auto_layout();
                    self.fit_view = true;
                }
            });
            ui.menu_button("View", |ui| {
                ui.radio_value(&mut self.view, View::Canvas, "Canvas");
                ui.radio_value(&mut self.view, View::Summary, "Summary table");
                if ui.button("Fit graph in view").clicked() {
                    self.fit_view = true;
                }
                ui.checkbox(&mut self.training.show_panel, "Training panel");
            });
            ui.separator();
            ui.selectable_value(&mut self.view, View::Canvas, "Canvas");
            ui.selectable_value(&mut self.view, View::Summary, "Summary");
            ui.separator();
            ui.toggle_value(&mut self.training.show_panel, "Training");
        });
    }

    fn palette(&mut self, ui: &mut Ui) {
        ui.heading("Palette");
        ui.add(
            egui::TextEdit::singleline(&mut self.search)
                .hint_text("search ops…")
                .desired_width(f32::INFINITY),
        );
        ui.label(
            RichText::new("click to add, or drag onto the canvas")
                .small()
                .weak(),
        );
        egui::ScrollArea::vertical().show(ui, |ui| {
            if (self.search.is_empty() || "input data".contains(&self.search.to_lowercase()))
                && ui.button("Data input").clicked()
            {
                let p = self.view_to_graph(self.canvas_rect.center());
                self.apply(Action::AddInput {
                    pos: (p.x - 80.0, p.y),
                });
            }
            let search = self.search.clone();
            for (cat, ops) in ops_by_category(&search) {
                egui::CollapsingHeader::new(cat.label())
                    .default_open(true)
                    .show(ui, |ui| {
                        for op in ops {
                            let kind = op.kind();
                            let r = ui.add(
                                egui::Button::new(kind)
                                    .min_size(egui::vec2(150.0, 0.0))
                                    .sense(egui::Sense::click_and_drag()),
                            );
                            if r.drag_started() {
                                egui::DragAndDrop::set_payload(ui.ctx(), op.clone());
                            }
                            if r.dragged() {
                                egui::Tooltip::always_open(
                                    ui.ctx().clone(),
                                    ui.layer_id(),
                                    Id::new("palette-drag"),
                                    egui::PopupAnchor::Pointer,
                                )
                                .show(|ui| ui.label(kind));
                            }
                            if r.clicked() {
                                self.add_op_at_view_center(op);
                            }
                        }
                    });
            }
        });
    }

    fn canvas(&mut self, ui: &mut Ui) {
        self.sync_canvas(false);
        let id = self.snarl_id();
        self.canvas_rect = ui.max_rect();
        let mut set_transform = None;
        if std::mem::take(&mut self.fit_view) {
            let mut bb = egui::Rect::NOTHING;
            for (_, p, _) in self.snarl.nodes_pos_ids() {
                bb.extend_with(p);
                bb.extend_with(p + egui::vec2(170.0, 110.0));
            }
            if bb.is_finite() {
                let bb = bb.expand(30.0);
                let r = self.canvas_rect;
                let scale = (r.width() / bb.width())
                    .min(r.height() / bb.height())
                    .clamp(0.5, 1.0);
                let translation = r.center().to_vec2() - bb.center().to_vec2() * scale;
                set_transform = Some(TSTransform::new(translation, scale));
            }
        }
        let style = SnarlStyle {
            collapsible: Some(false),
            node_layout: Some(egui_snarl::ui::NodeLayout::sandwich()),
            crisp_magnified_text: Some(false),
            min_scale: Some(0.2),
            max_scale: Some(2.0),
            ..SnarlStyle::new()
        };
        let badges = self
            .training
            .badges(|n| self.doc.node(n).is_some_and(|d| d.op.kind() == "ReLU"));
        let mut viewer = Viewer {
            badges: &badges,
            doc: &self.doc,
            actions: Vec::new(),
            rects: Vec::new(),
            selected: &self.selected,
            transform: self.transform,
            set_transform,
        };
        let response =
            SnarlWidget::new()
                .id(id)
                .style(style)
                .show(&mut self.snarl, &mut viewer, ui);
        let actions = viewer.actions;
        let rects = viewer.rects;
        self.transform = viewer.transform;
        // A plain click on a node selects it alone (snarl itself selects with Shift).
        let click = ui.ctx().input(|i| {
            (i.pointer.primary_clicked() && i.modifiers.is_none())
                .then(|| i.pointer.interact_pos())
                .flatten()
        });
        if let Some(p) = click
            && self.canvas_rect.contains(p)
            && !egui::Popup::is_any_open(ui.ctx())
        {
            let g = self.view_to_graph(p);
            let hit = rects
                .iter()
                .rev()
                .find(|(_, r)| r.contains(g))
                .map(|(id, _)| *id);
            let names = hit
                .and_then(|id| self.snarl_names.get(id.0).cloned())
                .into_iter()
                .collect();
            self.select(names);
        }
        if let Some(op) = response.dnd_release_payload::<Op>() {
            let p = ui
                .ctx()
                .pointer_interact_pos()
                .map(|p| self.view_to_graph(p))
                .unwrap_or_default();
            self.apply(Action::Add {
                op: Box::new((*op).clone()),
                pos: (p.x, p.y),
            });
        }
        self.collect_moves();
        for a in actions {
            self.apply(a);
        }
        let sel: Vec<String> = egui_snarl::ui::get_selected_nodes(id, ui.ctx())
            .into_iter()
            .filter_map(|n| self.snarl_names.get(n.0).cloned())
            .collect();
        if sel != self.snarl_selection {
            if !sel.is_empty() {
                self.selected = sel.clone();
            }
            self.snarl_selection = sel;
        }
        if self.doc.file.nodes.is_empty() && self.doc.file.inputs.is_empty() {
            ui.put(
                egui::Rect::from_center_size(self.canvas_rect.center(), egui::vec2(420.0, 60.0)),
                egui::Label::new(
                    RichText::new(
                        "Empty graph: add a Data input and ops from the palette,\n\
                         or right-click the canvas. Drag from an output to an input to connect.",
                    )
                    .weak(),
                ),
            );
        }
    }

    fn summary(&mut self, ui: &mut Ui) {
        ui.heading("Summary");
        egui::ScrollArea::both().show(ui, |ui| {
            egui::Grid::new("summary")
                .striped(true)
                .num_columns(5)
                .show(ui, |ui| {
                    for h in ["node", "op", "output shape", "params", "FLOPs"] {
                        ui.label(RichText::new(h).strong());
                    }
                    ui.end_row();
                    for n in &self.doc.file.nodes {
                        let inf = self.doc.inferred.get(&n.name);
                        ui.label(&n.name);
                        ui.label(n.op.kind());
                        ui.label(
                            inf.and_then(|i| i.sample_shape())
                                .map_or("?".into(), shape_text),
                        );
                        let params: usize = inf.map_or(0, |i| {
                            i.params
                                .iter()
                                .filter(|p| p.kind == hyphae::ops::ParamKind::Trainable)
                                .map(|p| p.numel())
                                .sum()
                        });
                        ui.label(group_thousands(params as u64));
                        ui.label(human_flops(inf.map_or(0, |i| i.flops)));
                        ui.end_row();
                    }
                });
            ui.separator();
            match &self.doc.valid {
                Some(v) => {
                    ui.label(RichText::new("hyphae summary:").weak());
                    ui.label(RichText::new(v.summary_table()).monospace());
                }
                None => {
                    ui.colored_label(ERROR_RED, "the graph has errors:");
                    for e in &self.doc.errors {
                        ui.colored_label(ERROR_RED, e.to_string());
                    }
                }
            }
        });
    }

    fn status_bar(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let name = self
                .doc
                .path
                .as_ref()
                .map_or("untitled".to_string(), |p| p.display().to_string());
            let dirty = if self.doc.is_dirty() { " •" } else { "" };
            ui.label(format!("{name}{dirty}"));
            ui.separator();
            if self.doc.errors.is_empty() {
                ui.colored_label(Color32::from_rgb(120, 200, 120), "valid");
            } else {
                ui.colored_label(ERROR_RED, format!("{} error(s)", self.doc.errors.len()));
            }
            ui.separator();
            let (params, flops) = self.doc.totals();
            ui.label(format!(
                "{} nodes · {} params · {} FLOPs/sample",
                self.doc.file.nodes.len(),
                group_thousands(params as u64),
                human_flops(flops)
            ));
            if let Some((msg, bad)) = &self.status {
                ui.separator();
                if *bad {
                    ui.colored_label(ERROR_RED, msg);
                } else {
                    ui.label(msg);
                }
            }
        });
    }

    fn inspector(&mut self, ui: &mut Ui) {
        ui.heading("Inspector");
        egui::ScrollArea::vertical().show(ui, |ui| match self.selected.len() {
            0 => {
                ui.label("Select a node to edit it.");
                ui.separator();
                ui.label("Description");
                let mut d = self.doc.file.description.clone();
                if ui
                    .add(egui::TextEdit::multiline(&mut d).desired_rows(3))
                    .changed()
                {
                    self.doc
                        .edit_keyed(Some("description".into()), |f| f.description = d);
                }
                if !self.doc.errors.is_empty() {
                    ui.separator();
                    ui.label(RichText::new("Errors").strong());
                    for e in &self.doc.errors {
                        ui.colored_label(ERROR_RED, e.to_string());
                    }
                }
            }
            1 => {
                let name = self.selected[0].clone();
                self.inspect_one(ui, &name);
            }
            n => {
                ui.label(format!("{n} items selected"));
                if ui.button("Duplicate").clicked() {
                    self.apply(Action::Duplicate(self.selected.clone()));
                }
                if ui.button("Delete").clicked() {
                    self.apply(Action::Delete(self.selected.clone()));
                }
            }
        });
    }

    fn inspect_one(&mut self, ui: &mut Ui, name: &str) {
        if !self.doc.exists(name) {
            return;
        }
        // Name (rename on Enter or focus loss).
        if self.rename_buf.0 != name {
            self.rename_buf = (name.to_string(), name.to_string());
        }
        ui.horizontal(|ui| {
            ui.label("name");
            let r = ui.add(
                egui::TextEdit::singleline(&mut self.rename_buf.1)
                    .id(Id::new("inspector-name"))
                    .desired_width(160.0),
            );
            if r.lost_focus() && self.rename_buf.1 != name {
                let new = self.rename_buf.1.trim().to_string();
                match self.doc.rename(name, &new) {
                    Ok(()) => {
                        self.rename_buf = (new.clone(), new.clone());
                        self.select(vec![new]);
                    }
                    Err(e) => {
                        self.rename_buf.1 = name.to_string();
                        self.error(e);
                    }
                }
            }
        });
        let name = self.selected.first().cloned().unwrap_or_default();
        if self.doc.is_input(&name) {
            self.inspect_input(ui, &name);
        } else {
            let params: Vec<String> = self
                .doc
                .inferred
                .get(&name)
                .map(|i| {
                    i.params
                        .iter()
                        .filter(|p| p.kind == hyphae::ops::ParamKind::Trainable)
                        .map(|p| format!("{name}.{}", p.name))
                        .collect()
                })
                .unwrap_or_default();
            // While it trains, what the node is doing matters more than its settings: its
            // live statistics come first, above the fold.
            if self.training.nodes.contains_key(&name) {
                crate::panel::node_live(ui, &self.training, &name, &params);
                ui.separator();
                self.inspect_node(ui, &name);
            } else {
                self.inspect_node(ui, &name);
                ui.separator();
                crate::panel::node_live(ui, &self.training, &name, &params);
            }
        }
        let errors: Vec<String> = self
            .doc
            .errors_for(&name)
            .iter()
            .map(|e| match &e.port {
                Some(p) => format!("input `{p}`: {}", e.message),
                None => e.message.clone(),
            })
            .collect();
        if !errors.is_empty() {
            ui.separator();
            for e in errors {
                ui.colored_label(ERROR_RED, e);
            }
        }
    }

    fn inspect_input(&mut self, ui: &mut Ui, name: &str) {
        let Some(idx) = self.doc.file.inputs.iter().position(|i| i.name == name) else {
            return;
        };
        let mut input = self.doc.file.inputs[idx].clone();
        ui.label(RichText::new("Data input").weak());
        let mut changed = false;
        ui.horizontal(|ui| {
            ui.label("source");
            egui::ComboBox::from_id_salt("input-source")
                .selected_text(format!("{:?}", input.source))
                .show_ui(ui, |ui| {
                    changed |= ui
                        .selectable_value(&mut input.source, Source::Features, "Features")
                        .changed();
                    changed |= ui
                        .selectable_value(&mut input.source, Source::Labels, "Labels")
                        .changed();
                });
        });
        ui.horizontal_wrapped(|ui| {
            ui.label("shape");
            for d in &mut input.shape {
                changed |= ui
                    .add(egui::DragValue::new(d).range(1..=1_000_000))
                    .changed();
            }
            if ui.small_button("+").clicked() {
                input.shape.push(1);
                changed = true;
            }
            if input.shape.len() > 1 && ui.small_button("−").clicked() {
                input.shape.pop();
                changed = true;
            }
        });
        if changed {
            self.doc
                .edit_keyed(Some(format!("{name}.input")), |f| f.inputs[idx] = input);
        }
    }

    fn inspect_node(&mut self, ui: &mut Ui, name: &str) {
        let Some(idx) = self.doc.file.nodes.iter().position(|n| n.name == name) else {
            return;
        };
        let node = self.doc.file.nodes[idx].clone();
        let kind = node.op.kind();
        ui.label(RichText::new(format!("{kind} · {}", node.op.category().label())).strong());
        ui.separator();
        // The config, field by field, from its RON form.
        let fields: Vec<(String, Val)> = match reflect::op_to_val(&node.op) {
            Ok(Val::Call(_, items)) => items
                .into_iter()
                .filter_map(|(k, v)| k.map(|k| (k, v)))
                .collect(),
            _ => Vec::new(),
        };
        let all = reflect::config_fields(kind);
        let mut new_fields = fields.clone();
        let mut changed_field: Option<String> = None;
        egui::Grid::new("config").num_columns(2).show(ui, |ui| {
            if all.is_empty() && fields.is_empty() {
                ui.label(RichText::new("no settings").weak());
                ui.end_row();
            }
            let order: Vec<String> = if all.is_empty() {
                fields.iter().map(|(k, _)| k.clone()).collect()
            } else {
                all.clone()
            };
            for field in order {
                let label = ui.label(&field).id;
                let present = new_fields.iter().position(|(k, _)| *k == field);
                match present {
                    Some(i) => {
                        let optional = is_optional(kind, &new_fields, &field);
                        ui.horizontal(|ui| {
                            if optional {
                                let mut on = true;
                                if ui.checkbox(&mut on, "").changed() && !on {
                                    new_fields.remove(i);
                                    changed_field = Some(field.clone());
                                    return;
                                }
                            }
                            let signed = reflect::accepts_negative(kind, &fields, &field);
                            let variants = reflect::enum_variants(kind, &field);
                            if value_widget(
                                ui,
                                &mut new_fields[i].1,
                                signed,
                                variants.as_deref(),
                                label,
                            ) {
                                changed_field = Some(field.clone());
                            }
                        });
                    }
                    None => {
                        let mut on = false;
                        ui.horizontal(|ui| {
                            if ui.checkbox(&mut on, "unset").changed() && on {
                                match reflect::initial_value(kind, &new_fields, &field) {
                                    Some(v) => {
                                        new_fields.push((field.clone(), v));
                                        changed_field = Some(field.clone());
                                    }
                                    None => {
                                        self.field_error =
                                            Some(format!("{field}: no default value to start from"))
                                    }
                                }
                            }
                        });
                    }
                }
                ui.end_row();
            }
        });
        if let Some(field) = changed_field {
            match reflect::with_fields(kind, &new_fields) {
                Ok(op) => {
                    self.field_error = None;
                    self.doc
                        .edit_keyed(Some(format!("{name}.{field}")), |f| f.nodes[idx].op = op);
                }
                Err(e) => self.field_error = Some(format!("{field}: {e}")),
            }
        }
        if let Some(e) = &self.field_error {
            ui.colored_label(ERROR_RED, e);
        }
        ui.separator();
        self.inspect_ports(ui, name, &node);
        ui.separator();
        let mut frozen = node.frozen;
        let mut lr = node.lr_mult;
        egui::Grid::new("node-settings")
            .num_columns(2)
            .show(ui, |ui| {
                ui.label("frozen");
                if ui.checkbox(&mut frozen, "").changed() {
                    self.doc.edit(|f| f.nodes[idx].frozen = frozen);
                }
                ui.end_row();
                ui.label("lr_mult");
                if ui
                    .add(egui::DragValue::new(&mut lr).range(0.0..=100.0).speed(0.01))
                    .changed()
                {
                    self.doc.edit_keyed(Some(format!("{name}.lr_mult")), |f| {
                        f.nodes[idx].lr_mult = lr
                    });
                }
                ui.end_row();
                if !node.init.is_empty() {
                    ui.label("init");
                    ui.label(RichText::new(reflect::init_text(&node)).monospace());
                    ui.end_row();
                }
            });
        ui.separator();
        // What the engine inferred.
        let inf = self.doc.inferred.get(name).cloned().unwrap_or_default();
        ui.horizontal(|ui| {
            ui.label("output shape");
            ui.label(RichText::new(inf.sample_shape().map_or("?".into(), shape_text)).monospace());
        });
        ui.label(format!("FLOPs/sample: {}", human_flops(inf.flops)));
        if !inf.params.is_empty() {
            ui.label(RichText::new("Parameters").strong());
            egui::Grid::new("params").striped(true).show(ui, |ui| {
                let mut total = 0;
                for p in &inf.params {
                    ui.label(p.name);
                    ui.label(RichText::new(shape_text(&p.shape)).monospace());
                    ui.label(group_thousands(p.numel() as u64));
                    ui.label(if p.kind == hyphae::ops::ParamKind::Buffer {
                        "buffer"
                    } else {
                        ""
                    });
                    ui.end_row();
                    if p.kind == hyphae::ops::ParamKind::Trainable {
                        total += p.numel();
                    }
                }
                ui.label(RichText::new("total").strong());
                ui.label("");
                ui.label(RichText::new(group_thousands(total as u64)).strong());
                ui.end_row();
            });
        }
    }

    /// Input ports as drop-downs of possible sources: connecting without dragging a wire.
    fn inspect_ports(&mut self, ui: &mut Ui, name: &str, node: &hyphae::graph::NodeDecl) {
        ui.label(RichText::new("Inputs").strong());
        let layer = node.op.layer();
        let ports = canvas::port_count(layer.arity(), node.inputs.len());
        let candidates: Vec<String> = canvas::names(&self.doc)
            .into_iter()
            .filter(|n| n != name)
            .collect();
        let mut action = None;
        egui::Grid::new("ports").num_columns(2).show(ui, |ui| {
            for port in 0..ports {
                let port_name = layer.input_name(port);
                let label = ui.label(&port_name).id;
                let current = node.inputs.get(port).cloned();
                egui::ComboBox::from_id_salt(("port", port))
                    .selected_text(current.clone().unwrap_or_else(|| "—".into()))
                    .show_ui(ui, |ui| {
                        if current.is_some()
                            && ui.selectable_label(false, "— (disconnect)").clicked()
                        {
                            action = Some(Action::Disconnect {
                                dst: name.to_string(),
                                port,
                            });
                        }
                        for c in &candidates {
                            if ui
                                .selectable_label(current.as_ref() == Some(c), c)
                                .clicked()
                                && current.as_ref() != Some(c)
                            {
                                action = Some(Action::Connect {
                                    src: c.clone(),
                                    dst: name.to_string(),
                                    port,
                                });
                            }
                        }
                    })
                    .response
                    .labelled_by(label);
                ui.end_row();
            }
        });
        if let Some(a) = action {
            self.apply(a);
        }
    }

    fn dialogs(&mut self, ctx: &egui::Context) {
        if let Some(err) = self.load_error.clone() {
            let mut open = true;
            egui::Window::new("Could not open the file")
                .collapsible(false)
                .open(&mut open)
                .show(ctx, |ui| {
                    ui.colored_label(ERROR_RED, RichText::new(&err).monospace());
                    ui.label("The current graph is unchanged.");
                    if ui.button("OK").clicked() {
                        self.load_error = None;
                    }
                });
            if !open {
                self.load_error = None;
            }
        }
        if let Some(p) = self.pending.clone() {
            egui::Modal::new(Id::new("unsaved")).show(ctx, |ui| {
                ui.heading("Unsaved changes");
                ui.label("Save the current graph first?");
                ui.horizontal(|ui| {
                    if ui.button("Save").clicked() && self.save() {
                        self.pending = None;
                        self.run_pending(p.clone());
                    }
                    if ui.button("Discard").clicked() {
                        self.pending = None;
                        self.run_pending(p.clone());
                    }
                    if ui.button("Cancel").clicked() {
                        self.pending = None;
                    }
                });
            });
        }
        let Some(mut dialog) = self.dialog.take() else {
            return;
        };
        let mut keep = true;
        let title = match dialog.mode {
            DialogMode::Open => "Open graph",
            DialogMode::SaveAs => "Save graph as",
        };
        egui::Window::new(title)
            .collapsible(false)
            .default_width(460.0)
            .show(ctx, |ui| {
                ui.horizontal(|ui| {
                    ui.label("path");
                    ui.add(
                        egui::TextEdit::singleline(&mut dialog.path)
                            .id(Id::new("dialog-path"))
                            .desired_width(360.0),
                    );
                });
                let typed = PathBuf::from(&dialog.path);
                let dir = if dialog.path.ends_with('/') || typed.is_dir() {
                    typed.clone()
                } else {
                    typed
                        .parent()
                        .map(Path::to_path_buf)
                        .filter(|p| !p.as_os_str().is_empty())
                        .unwrap_or_else(|| PathBuf::from("."))
                };
                ui.label(RichText::new(dir.display().to_string()).weak());
                egui::ScrollArea::vertical()
                    .max_height(260.0)
                    .show(ui, |ui| {
                        if let Some(parent) = dir.parent()
                            && ui.selectable_label(false, "📁 ..").clicked()
                        {
                            dialog.path = format!("{}/", parent.display());
                        }
                        for entry in list_dir(&dir) {
                            let is_dir = entry.is_dir();
                            let label = entry
                                .file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_default();
                            let label = if is_dir {
                                format!("📁 {label}")
                            } else {
                                label
                            };
                            if ui.selectable_label(false, label).clicked() {
                                dialog.path = if is_dir {
                                    format!("{}/", entry.display())
                                } else {
                                    entry.display().to_string()
                                };
                            }
                        }
                    });
                ui.horizontal(|ui| {
                    let ok = match dialog.mode {
                        DialogMode::Open => "Open",
                        DialogMode::SaveAs => "Save",
                    };
                    if ui.button(ok).clicked() {
                        let path = PathBuf::from(dialog.path.trim());
                        keep = false;
                        match dialog.mode {
                            DialogMode::Open => self.request(Pending::Open(path)),
                            DialogMode::SaveAs => {
                                let path = if path.extension().is_none() {
                                    path.with_extension("ron")
                                } else {
                                    path
                                };
                                if self.save_as(&path)
                                    && let Some(p) = self.pending.take()
                                {
                                    self.run_pending(p);
                                }
                            }
                        }
                    }
                    if ui.button("Cancel").clicked() {
                        keep = false;
                    }
                });
            });
        if keep {
            self.dialog = Some(dialog);
        }
    }

    /// One frame of the whole window.
    pub fn show(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        if ctx.input(|i| i.viewport().close_requested()) && !self.may_close() {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.pending = Some(Pending::Quit);
        }
        if self.allow_close && self.pending.is_none() && self.doc.is_dirty() {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        self.shortcuts(&ctx);
        if !ctx.input(|i| i.pointer.any_down()) {
            self.doc.end_gesture();
        }
        egui::Panel::top("menu").show(ui, |ui| self.menu_bar(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        // Drain the trainer's messages: never blocks, so frames never wait on training.
        self.training.poll();
        if self.training.show_panel {
            egui::Panel::bottom("training")
                .resizable(true)
                .default_size(250.0)
                .show(ui, |ui| {
                    crate::panel::training_panel(ui, &mut self.training, &mut self.doc)
                });
        }
        egui::Panel::left("palette")
            .default_size(190.0)
            .show(ui, |ui| self.palette(ui));
        egui::Panel::right("inspector")
            .default_size(300.0)
            .show(ui, |ui| self.inspector(ui));
        egui::CentralPanel::no_frame().show(ui, |ui| match self.view {
            View::Canvas => self.canvas(ui),
            View::Summary => {
                egui::Frame::central_panel(ui.style()).show(ui, |ui| self.summary(ui));
            }
        });
        self.dialogs(&ctx);
        crate::panel::confusion_window(&ctx, &mut self.training);
        let title = format!(
            "hyphae editor — {}{}",
            self.doc
                .path
                .as_ref()
                .map_or("untitled".to_string(), |p| p.display().to_string()),
            if self.doc.is_dirty() { " •" } else { "" }
        );
        if title != self.window_title {
            self.window_title = title.clone();
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title));
        }
    }
}

impl eframe::App for EditorApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}

/// Whether `field` is an optional value that is absent when unset (it disappears from
/// the serialised config when removed).
fn is_optional(kind: &str, fields: &[(String, Val)], field: &str) -> bool {
    let without: Vec<(String, Val)> = fields.iter().filter(|(k, _)| k != field).cloned().collect();
    match reflect::with_fields(kind, &without).and_then(|op| reflect::op_to_val(&op)) {
        Ok(Val::Call(_, items)) => !items.iter().any(|(k, _)| k.as_deref() == Some(field)),
        _ => false,
    }
}

/// A widget for one RON value; returns whether it changed.
fn value_widget(
    ui: &mut Ui,
    v: &mut Val,
    signed: bool,
    variants: Option<&[String]>,
    label: Id,
) -> bool {
    match v {
        Val::Bool(b) => ui.checkbox(b, "").labelled_by(label).changed(),
        Val::Int(i) => {
            let range = if signed {
                i64::MIN..=i64::MAX
            } else {
                0..=i64::MAX
            };
            ui.add(egui::DragValue::new(i).range(range).speed(0.1))
                .labelled_by(label)
                .changed()
        }
        Val::Float(f) => ui
            .add(egui::DragValue::new(f).speed(0.01).max_decimals(6))
            .labelled_by(label)
            .changed(),
        Val::Str(s) => ui.text_edit_singleline(s).labelled_by(label).changed(),
        Val::Ident(id) => match variants {
            Some(vs) => {
                let mut changed = false;
                egui::ComboBox::from_id_salt(ui.next_auto_id())
                    .selected_text(id.clone())
                    .show_ui(ui, |ui| {
                        for name in vs {
                            changed |= ui.selectable_value(id, name.clone(), name).changed();
                        }
                    });
                changed
            }
            None => {
                ui.label(id.as_str());
                false
            }
        },
        Val::Call(name, items) => {
            let mut changed = false;
            if let Some(n) = name {
                match variants {
                    Some(vs) => {
                        egui::ComboBox::from_id_salt(ui.next_auto_id())
                            .selected_text(n.clone())
                            .show_ui(ui, |ui| {
                                for vname in vs {
                                    changed |=
                                        ui.selectable_value(n, vname.clone(), vname).changed();
                                }
                            });
                    }
                    None => {
                        ui.label(n.as_str());
                    }
                }
            }
            for (k, item) in items.iter_mut() {
                if let Some(k) = k {
                    ui.label(k.as_str());
                }
                changed |= value_widget(ui, item, signed, None, label);
            }
            changed
        }
        Val::List(items) => {
            let mut changed = false;
            for item in items.iter_mut() {
                changed |= value_widget(ui, item, signed, None, label);
            }
            if ui.small_button("+").clicked() {
                let next = items.last().cloned().unwrap_or(Val::Int(1));
                items.push(next);
                changed = true;
            }
            if !items.is_empty() && ui.small_button("−").clicked() {
                items.pop();
                changed = true;
            }
            changed
        }
    }
}

/// `.ron` files and sub-folders of `dir`, folders first, sorted.
fn list_dir(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut entries: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "ron"))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    entries.sort_by_key(|p| (!p.is_dir(), p.clone()));
    entries
}

/// Every `.ron` file under `dir` (recursively when `deep`), sorted.
pub fn list_ron(dir: &Path, deep: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in list_dir(dir) {
        if p.is_dir() {
            if deep {
                out.extend(list_ron(&p, true));
            }
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}
