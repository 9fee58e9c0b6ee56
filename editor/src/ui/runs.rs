//! The Runs window: every run of the project (the editor's and `hyphae train`'s, all in
//! `runs/<graph>/run-NNN`) with its settings and best and last evaluation. Ticked runs
//! can be renamed, tagged, hidden or deleted (after a confirmation naming them), their
//! curves overlaid (or, grouped by tag, drawn as mean ± std bands), and two of them
//! compared: the canvas marks what changed in the graph between them.

use super::{ERROR_RED, UiState};
use crate::app::EditorCore;
use crate::command::{Command, Queue};
use crate::model::run_bands::{band, by_tag};
use crate::model::runs::{self, DEFAULT_ROOT, Metric, RunRow, RunsList};
use egui::{Id, RichText, Ui};
use egui_plot::{ColorConflictHandling, FilledArea, Legend, Line, PlotPoints};
use hyphae::train::runs::{Evaluation, RunLabels};
use std::path::PathBuf;
use std::time::Duration;

/// The Runs window's state: the list and what is being typed or asked.
pub struct RunsPanel {
    pub list: RunsList,
    /// The folder whose `<graph>/run-NNN` are listed.
    pub root: PathBuf,
    pub show_hidden: bool,
    /// Runs of every graph, not only the open one's.
    pub all_graphs: bool,
    pub group_by_tag: bool,
    pub metric: Metric,
    /// The name and tags fields, and the ticked runs they were filled from.
    pub name_text: String,
    pub tags_text: String,
    labels_for: Vec<PathBuf>,
    /// Runs waiting for the user's "Delete" in the confirmation.
    pub confirm_delete: Vec<PathBuf>,
    /// Whether a run was live last frame: the list refreshes when one ends.
    was_live: bool,
}

impl Default for RunsPanel {
    fn default() -> Self {
        RunsPanel {
            list: RunsList::default(),
            root: PathBuf::from(DEFAULT_ROOT),
            show_hidden: false,
            all_graphs: false,
            group_by_tag: false,
            metric: Metric::default(),
            name_text: String::new(),
            tags_text: String::new(),
            labels_for: Vec::new(),
            confirm_delete: Vec::new(),
            was_live: false,
        }
    }
}

/// Colours of overlaid runs (the data view's class colours).
fn color(k: usize) -> egui::Color32 {
    super::data_view::class_color(k)
}

pub fn window(ctx: &egui::Context, core: &EditorCore, st: &mut UiState, q: &mut Queue) {
    let p = &mut st.runs;
    let live = core.training.is_live();
    let run_ended = std::mem::replace(&mut p.was_live, live) && !live;
    if !st.show_runs {
        return;
    }
    if p.list.root.as_ref() != Some(&p.root) || run_ended {
        p.list.refresh(&p.root);
    }
    if p.list.poll() {
        ctx.request_repaint_after(Duration::from_millis(50));
    }
    let mut open = true;
    egui::Window::new("Runs")
        .open(&mut open)
        .default_size([820.0, 560.0])
        .vscroll(true)
        .show(ctx, |ui| body(ui, core, p, q));
    st.show_runs &= open;
    confirm_delete(ctx, &mut st.runs, q);
}

/// The graph the open document is (its file's stem), whose runs are listed.
fn graph_name(core: &EditorCore) -> Option<String> {
    let path = core.doc.path.as_ref()?;
    Some(path.file_stem()?.to_string_lossy().to_string())
}

fn body(ui: &mut Ui, core: &EditorCore, p: &mut RunsPanel, q: &mut Queue) {
    let graph = graph_name(core).filter(|_| !p.all_graphs);
    ui.horizontal(|ui| {
        let whose = graph.as_deref().unwrap_or("every graph");
        ui.label(format!("runs of {whose} in {}", p.root.display()));
        if ui.button("⟳ Refresh").clicked() {
            q.push(Command::RefreshRuns(p.root.clone()));
        }
        if p.list.listing() {
            ui.spinner();
        }
    });
    ui.horizontal(|ui| {
        ui.checkbox(&mut p.show_hidden, "show hidden");
        ui.checkbox(&mut p.all_graphs, "all graphs");
    });
    if let Some(e) = &p.list.error {
        ui.colored_label(ERROR_RED, super::plain(e));
    }
    let visible: Vec<PathBuf> = (p.list.rows.iter())
        .filter(|r| p.show_hidden || !r.run.labels.hidden)
        .filter(|r| graph.as_ref().is_none_or(|g| &r.run.graph == g))
        .map(|r| r.run.dir.clone())
        .collect();
    // A run hidden or filtered away is no longer ticked: what is ticked is what is seen.
    p.list.checked.retain(|d| visible.contains(d));
    if visible.is_empty() {
        let none = if p.list.listing() {
            "listing…"
        } else {
            "no runs yet: train the graph (▶ Start, or `hyphae train`)"
        };
        ui.label(RichText::new(none).weak());
    } else {
        table(ui, p, &visible);
    }
    ui.separator();
    actions(ui, core, p, q);
    overlay(ui, p);
}

fn metric_text(e: &Evaluation) -> String {
    match (e.val_accuracy, e.val_loss) {
        (Some(a), _) => format!("{:.1}%", 100.0 * a),
        (None, Some(l)) => format!("loss {l:.4}"),
        (None, None) => "-".into(),
    }
}

fn table(ui: &mut Ui, p: &mut RunsPanel, visible: &[PathBuf]) {
    egui::Grid::new("runs-table")
        .striped(true)
        .min_col_width(40.0)
        .show(ui, |ui| {
            for h in [
                "run", "tags", "settings", "steps", "best", "last", "started",
            ] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for dir in visible {
                let Some(r) = p.list.row(dir).cloned() else {
                    continue;
                };
                row(ui, &mut p.list, &r);
                ui.end_row();
            }
        });
}

fn row(ui: &mut Ui, list: &mut RunsList, r: &RunRow) {
    let mut on = list.is_checked(&r.run.dir);
    let mut name = RichText::new(r.name());
    if r.run.labels.hidden {
        name = name.weak().italics();
    }
    let check = ui
        .checkbox(&mut on, name)
        .on_hover_text(r.run.dir.display().to_string());
    if check.changed() {
        list.set_checked(&r.run.dir, on);
    }
    ui.label(r.run.labels.tags.join(", "));
    match (&r.run.settings, &r.run.problem) {
        (_, Some(problem)) => {
            ui.colored_label(ERROR_RED, "⚠ labels unreadable")
                .on_hover_text(super::plain(problem));
        }
        (Some(s), None) => {
            ui.label(RichText::new(s).small());
        }
        (None, None) => {
            ui.label("-");
        }
    }
    ui.label(r.run.steps.to_string());
    ui.label(r.run.best.as_ref().map_or("-".into(), metric_text));
    ui.label(r.run.last().map_or("-".into(), metric_text));
    ui.label(RichText::new(r.started.map_or("-".into(), runs::utc_text)).small());
}

/// What applies to the ticked runs: labels, hide, delete, graph difference.
fn actions(ui: &mut Ui, core: &EditorCore, p: &mut RunsPanel, q: &mut Queue) {
    let ticked: Vec<RunRow> = p.list.checked_rows().into_iter().cloned().collect();
    if ticked.is_empty() {
        ui.label(RichText::new("tick runs to label, hide, delete, overlay or compare them").weak());
        if core.run_diff.is_some() && ui.button("Clear graph difference").clicked() {
            q.push(Command::ClearRunDiff);
        }
        return;
    }
    let dirs: Vec<PathBuf> = ticked.iter().map(|r| r.run.dir.clone()).collect();
    if p.labels_for != dirs {
        // Fields filled from the ticked runs (a name only for one run).
        p.name_text = match ticked.as_slice() {
            [one] => one.run.labels.name.clone().unwrap_or_default(),
            _ => String::new(),
        };
        p.tags_text = ticked[0].run.labels.tags.join(", ");
        p.labels_for = dirs.clone();
    }
    let set = |q: &mut Queue, r: &RunRow, labels: RunLabels| {
        q.push(Command::SetRunLabels {
            dir: r.run.dir.clone(),
            labels,
        });
    };
    ui.horizontal(|ui| {
        let one = ticked.len() == 1;
        let l = ui.label("name").id;
        ui.add_enabled(
            one,
            egui::TextEdit::singleline(&mut p.name_text)
                .id(Id::new("run-name"))
                .desired_width(140.0)
                .hint_text(if one { "run-NNN" } else { "one run at a time" }),
        )
        .labelled_by(l);
        let l = ui.label("tags").id;
        ui.add(
            egui::TextEdit::singleline(&mut p.tags_text)
                .id(Id::new("run-tags"))
                .desired_width(180.0)
                .hint_text("comma, separated"),
        )
        .labelled_by(l);
        if ui.button("Save labels").clicked() {
            let name = p.name_text.trim();
            for r in &ticked {
                let mut labels = r.run.labels.clone();
                if one {
                    labels.name = (!name.is_empty()).then(|| name.to_string());
                }
                labels.tags = runs::parse_tags(&p.tags_text);
                set(q, r, labels);
            }
        }
    });
    ui.horizontal(|ui| {
        let all_hidden = ticked.iter().all(|r| r.run.labels.hidden);
        let (text, hide) = if all_hidden {
            ("Show in list", false)
        } else {
            ("Hide from list", true)
        };
        if ui.button(text).clicked() {
            for r in &ticked {
                set(
                    q,
                    r,
                    RunLabels {
                        hidden: hide,
                        ..r.run.labels.clone()
                    },
                );
            }
        }
        if ui.button("Delete…").clicked() {
            p.confirm_delete = dirs.clone();
        }
        let two = ticked.len() == 2;
        let diff = ui
            .add_enabled(two, egui::Button::new("Show graph difference"))
            .on_disabled_hover_text("tick exactly two runs");
        if diff.clicked() {
            q.push(Command::ShowRunDiff {
                old: dirs[0].clone(),
                new: dirs[1].clone(),
            });
        }
        if core.run_diff.is_some() && ui.button("Clear graph difference").clicked() {
            q.push(Command::ClearRunDiff);
        }
    });
}

/// "Delete run-003 (spirals_mlp, 120 steps)? …", then the command.
fn confirm_delete(ctx: &egui::Context, p: &mut RunsPanel, q: &mut Queue) {
    if p.confirm_delete.is_empty() {
        return;
    }
    let described: Vec<String> = (p.confirm_delete.iter())
        .map(|d| match p.list.row(d) {
            Some(r) => format!("{} ({}, {} steps)", r.name(), r.run.graph, r.run.steps),
            None => runs::folder(d),
        })
        .collect();
    let mut answer = None;
    egui::Modal::new(Id::new("delete-runs")).show(ctx, |ui| {
        match described.as_slice() {
            [one] => ui.label(format!(
                "Delete {one}? This removes its folder and checkpoints."
            )),
            many => ui.label(format!(
                "Delete {} runs ({})? This removes their folders and checkpoints.",
                many.len(),
                many.join("; ")
            )),
        };
        ui.horizontal(|ui| {
            if ui.button("Delete").clicked() {
                answer = Some(true);
            }
            if ui.button("Cancel").clicked() {
                answer = Some(false);
            }
        });
    });
    match answer {
        Some(true) => {
            for d in std::mem::take(&mut p.confirm_delete) {
                q.push(Command::DeleteRun(d));
            }
        }
        Some(false) => p.confirm_delete.clear(),
        None => {}
    }
}

/// The ticked runs' curves in one plot, or one mean ± std band per tag.
fn overlay(ui: &mut Ui, p: &mut RunsPanel) {
    let ticked: Vec<RunRow> = p.list.checked_rows().into_iter().cloned().collect();
    if ticked.is_empty() {
        return;
    }
    ui.horizontal(|ui| {
        egui::ComboBox::from_label("curve")
            .selected_text(p.metric.label())
            .show_ui(ui, |ui| {
                for m in Metric::ALL {
                    ui.selectable_value(&mut p.metric, m, m.label());
                }
            });
        ui.checkbox(&mut p.group_by_tag, "group by tag")
            .on_hover_text("one mean ± std band per tag, on the steps all its runs logged");
    });
    let mut series: Vec<(String, Vec<[f64; 2]>)> = Vec::new();
    for r in &ticked {
        match p.list.curves(&r.run.dir) {
            None => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!("reading {}…", r.name()));
                });
                ui.ctx().request_repaint_after(Duration::from_millis(50));
                return;
            }
            Some(Err(e)) => {
                ui.colored_label(ERROR_RED, super::plain(e));
            }
            Some(Ok(c)) => series.push((r.name(), p.metric.of(c).to_vec())),
        }
    }
    // A band and its mean line share a legend entry: the line's colour (the last) wins.
    let legend = Legend::default().color_conflict_handling(ColorConflictHandling::PickLast);
    let plot = (super::plots::still_plot("runs-overlay", 260.0))
        .legend(legend)
        .x_axis_label("step");
    if p.group_by_tag {
        let tags: Vec<&[String]> = ticked
            .iter()
            .map(|r| r.run.labels.tags.as_slice())
            .collect();
        let groups = by_tag(&tags);
        let mut shown = Vec::new();
        plot.show(ui, |pl| {
            for (k, (tag, members)) in groups.iter().enumerate() {
                let curves: Vec<&[[f64; 2]]> = (members.iter())
                    .filter_map(|&i| series.get(i).map(|s| s.1.as_slice()))
                    .collect();
                let b = band(&curves);
                let n = members.len();
                let name = format!("{tag} ({n} run{})", if n == 1 { "" } else { "s" });
                let c = color(k);
                pl.add(
                    FilledArea::new(&name, &b.steps, &b.lower(), &b.upper())
                        .fill_color(c.gamma_multiply(0.3)),
                );
                pl.line(Line::new(name.clone(), PlotPoints::from(b.mean_points())).color(c));
                shown.push(name);
            }
        });
        let plural = if groups.len() == 1 { "" } else { "s" };
        ui.label(format!(
            "{} band{plural}: {}",
            groups.len(),
            shown.join(", ")
        ));
    } else {
        plot.show(ui, |pl| {
            for (k, (name, pts)) in series.iter().enumerate() {
                pl.line(Line::new(name.clone(), PlotPoints::from(pts.clone())).color(color(k)));
            }
        });
        let names: Vec<&str> = series.iter().map(|s| s.0.as_str()).collect();
        ui.label(format!("{} series: {}", names.len(), names.join(", ")));
    }
}
