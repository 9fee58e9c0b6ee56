//! The Data window: the graph's dataset at a glance (sizes, shape, class balance, sample
//! images or rows, feature histograms) and, on request, a training batch exactly as the
//! network receives it. The data loads on a background thread; frames never wait for it.

use super::UiState;
use super::plots::still_plot;
use crate::app::EditorCore;
use crate::model::background::Background;
use crate::model::data_view::{self, DataSummary, SampleKind, Samples};
use crate::model::dataset;
use egui::{Color32, ColorImage, RichText, TextureHandle, TextureOptions, Ui};
use egui_plot::{Bar, BarChart, Plot, Points};
use std::sync::Arc;

/// Distinct colours for classes (the first ten; more repeat).
const CLASS_COLORS: [Color32; 10] = [
    Color32::from_rgb(250, 150, 50),
    Color32::from_rgb(70, 150, 250),
    Color32::from_rgb(110, 210, 110),
    Color32::from_rgb(235, 90, 110),
    Color32::from_rgb(180, 130, 240),
    Color32::from_rgb(240, 220, 80),
    Color32::from_rgb(90, 220, 220),
    Color32::from_rgb(240, 140, 210),
    Color32::from_rgb(170, 170, 170),
    Color32::from_rgb(160, 110, 70),
];

pub fn class_color(k: usize) -> Color32 {
    CLASS_COLORS[k % CLASS_COLORS.len()]
}

/// The loaded dataset and what the data, evaluation and boundary windows made from it.
#[derive(Default)]
pub struct DataPanels {
    load: Option<Background<DataSummary>>,
    pub summary: Option<Arc<DataSummary>>,
    pub error: Option<String>,
    /// (resolved spec, split seed) of what is loaded or loading.
    key: Option<(String, u64)>,
    gallery: Vec<TextureHandle>,
    batch_job: Option<Background<Samples>>,
    pub batch: Option<Samples>,
    batch_tex: Vec<TextureHandle>,
    /// The evaluation window's selected confusion cell (true, predicted) and its pictures.
    pub cell: Option<(usize, usize)>,
    pub cell_tex: Option<((usize, usize), Vec<TextureHandle>)>,
    pub boundary: super::boundary::BoundaryState,
}

impl DataPanels {
    /// Starts loading the graph's dataset when it is not the one held; returns what is
    /// loaded for it (`None` while loading, or with no dataset).
    pub fn ensure(&mut self, core: &EditorCore) -> Option<Arc<DataSummary>> {
        let training = &core.doc.file.training;
        let spec = training.dataset.as_deref()?;
        let key = (
            dataset::resolve(spec, core.doc.path.as_deref()),
            training.split_seed(),
        );
        if self.key.as_ref() != Some(&key) {
            // The evaluation's selected cell and the boundary view outlive a reload.
            *self = DataPanels {
                boundary: std::mem::take(&mut self.boundary),
                cell: self.cell,
                ..DataPanels::default()
            };
            let (spec, t) = (key.0.clone(), training.clone());
            self.load = Some(Background::spawn("hyphae-data", move || {
                data_view::summarise(&spec, &t)
            }));
            self.key = Some(key);
        }
        if let Some(r) = self.load.as_mut().and_then(Background::poll) {
            self.load = None;
            match r {
                Ok(s) => self.summary = Some(Arc::new(s)),
                Err(e) => self.error = Some(e),
            }
        }
        self.summary.clone()
    }

    /// (resolved spec, split seed) of what is loaded or loading.
    pub fn key(&self) -> Option<&(String, u64)> {
        self.key.as_ref()
    }

    pub fn loading(&self) -> bool {
        self.load.as_ref().is_some_and(Background::running)
    }
}

/// Textures of image samples (`None` for other kinds).
pub fn textures(ctx: &egui::Context, name: &str, s: &Samples) -> Vec<TextureHandle> {
    (0..s.features.dim(0))
        .map_while(|i| data_view::image_rgba(&s.features, i))
        .enumerate()
        .map(|(i, (w, h, px))| {
            let img = ColorImage::from_rgba_unmultiplied([w, h], &px);
            ctx.load_texture(format!("{name}-{i}"), img, TextureOptions::NEAREST)
        })
        .collect()
}

/// Pictures in rows, each with its caption below.
pub fn image_grid(ui: &mut Ui, tex: &[TextureHandle], captions: &[String]) {
    // Rows of a fixed count (egui's wrapping layout does not wrap nested columns).
    const CELL: f32 = 56.0;
    let per_row = ((ui.available_width() / CELL) as usize).max(1);
    for (row, caps) in tex.chunks(per_row).zip(captions.chunks(per_row)) {
        ui.horizontal(|ui| {
            for (t, c) in row.iter().zip(caps) {
                ui.vertical(|ui| {
                    ui.set_width(CELL - 8.0);
                    ui.add(egui::Image::new(t).fit_to_exact_size(egui::vec2(44.0, 44.0)));
                    ui.label(RichText::new(c).small());
                });
            }
        });
    }
}

/// Rows of tabular samples: index, up to 8 features, then `extra` columns.
pub fn sample_table(
    ui: &mut Ui,
    id: &str,
    rows: &[(usize, Vec<f32>, Vec<String>)],
    names: &[String],
    extra: &[&str],
) {
    egui::Grid::new(id).striped(true).show(ui, |ui| {
        ui.label(RichText::new("#").strong());
        for n in names.iter().take(8) {
            ui.label(RichText::new(n).strong());
        }
        for e in extra {
            ui.label(RichText::new(*e).strong());
        }
        ui.end_row();
        for (i, f, x) in rows {
            ui.label(i.to_string());
            for v in f.iter().take(8) {
                ui.monospace(format!("{v:.3}"));
            }
            for e in x {
                ui.label(e);
            }
            ui.end_row();
        }
    });
}

/// Rows `(index, features, [label])` of `[K, F]` samples.
fn rows_of(s: &Samples) -> Vec<(usize, Vec<f32>, Vec<String>)> {
    let f = s.features.numel() / s.features.dim(0).max(1);
    s.labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let v = s.features.data().get(i * f..(i + 1) * f).unwrap_or(&[]);
            (i, v.to_vec(), vec![l.clone()])
        })
        .collect()
}

pub fn window(ctx: &egui::Context, core: &EditorCore, st: &mut UiState) {
    if !st.show_data {
        return;
    }
    let mut open = true;
    // A bounded width: the sample rows wrap instead of growing the window off screen.
    egui::Window::new("Data")
        .open(&mut open)
        .default_size([660.0, 640.0])
        .max_width(900.0)
        .vscroll(true)
        .show(ctx, |ui| {
            ui.set_max_width(ui.available_width().min(880.0));
            body(ui, core, st)
        });
    st.show_data &= open;
}

fn body(ui: &mut Ui, core: &EditorCore, st: &mut UiState) {
    let p = &mut st.panels;
    let Some(spec) = core.doc.file.training.dataset.clone() else {
        ui.label("no dataset: pick one in the training panel");
        return;
    };
    let Some(s) = p.ensure(core) else {
        if let Some(e) = &p.error {
            ui.colored_label(super::ERROR_RED, super::plain(e));
        } else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("loading {spec}…"));
            });
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        }
        return;
    };
    let (train, valid) = (s.split.train.len(), s.split.valid.len());
    ui.label(
        RichText::new(format!(
            "{spec}: {train} training, {valid} validation samples"
        ))
        .strong(),
    );
    ui.label(format!(
        "sample shape {:?} · label shape {:?} · {}",
        s.split.train.sample_shape(),
        s.split.train.label_shape(),
        match s.class_names.len() {
            0 => "regression".to_string(),
            k => format!("{k} classes"),
        }
    ));
    for n in &s.split.notes {
        ui.label(RichText::new(super::plain(n)).weak());
    }
    if !s.class_names.is_empty() {
        class_balance(ui, &s);
    }
    ui.separator();
    match s.kind {
        SampleKind::Image { .. } => {
            ui.label(RichText::new("training samples, a few of each class").weak());
            if p.gallery.is_empty() {
                p.gallery = textures(ui.ctx(), "gallery", &s.gallery);
            }
            image_grid(ui, &p.gallery, &s.gallery.labels);
        }
        SampleKind::Points => {
            scatter(ui, &s);
            if ui
                .button("Decision boundary")
                .on_hover_text("the model's class over the plane, refreshed while it trains")
                .clicked()
            {
                st.show_boundary = true;
            }
        }
        SampleKind::Table => {
            ui.label(RichText::new("the first training rows (one per class first)").weak());
            sample_table(
                ui,
                "data-rows",
                &rows_of(&s.gallery),
                &s.feature_names,
                &["label"],
            );
        }
        SampleKind::Other => {
            ui.label("samples of this shape are not drawn; counts and shapes above");
        }
    }
    let p = &mut st.panels;
    if !s.histograms.is_empty() {
        ui.separator();
        ui.label(RichText::new("feature histograms (training set)").weak());
        ui.horizontal_wrapped(|ui| {
            for h in &s.histograms {
                ui.vertical(|ui| {
                    ui.set_width(180.0);
                    ui.label(RichText::new(&h.name).small());
                    let w = ((h.hi - h.lo) as f64 / h.counts.len() as f64).max(1e-9);
                    let bars = h
                        .counts
                        .iter()
                        .enumerate()
                        .map(|(i, &c)| {
                            Bar::new(h.lo as f64 + (i as f64 + 0.5) * w, c as f64).width(w)
                        })
                        .collect();
                    still_plot(("hist", &h.name), 70.0)
                        .width(170.0)
                        .show_y(false)
                        .show(ui, |pl| pl.bar_chart(BarChart::new(h.name.clone(), bars)));
                });
            }
        });
    }
    ui.separator();
    batch_section(ui, core, p, &s);
}

fn class_balance(ui: &mut Ui, s: &DataSummary) {
    ui.label(RichText::new("class balance").weak());
    ui.horizontal(|ui| {
        ui.vertical(|ui| {
            for (k, name) in s.class_names.iter().enumerate() {
                let (t, v) = (
                    s.train_counts.get(k).copied().unwrap_or(0),
                    s.valid_counts.get(k).copied().unwrap_or(0),
                );
                ui.colored_label(class_color(k), format!("{name}: {t} train · {v} valid"));
            }
        });
        let bars = |counts: &[usize], dx: f64| -> Vec<Bar> {
            counts
                .iter()
                .enumerate()
                .map(|(k, &c)| {
                    Bar::new(k as f64 + dx, c as f64)
                        .width(0.4)
                        .fill(class_color(k))
                })
                .collect()
        };
        // Bars take their class's colour (the list beside it names them); valid in grey.
        still_plot("class-balance", 140.0)
            .width(320.0)
            .show_axes([false, true])
            .show(ui, |pl| {
                pl.bar_chart(BarChart::new("train", bars(&s.train_counts, -0.2)));
                pl.bar_chart(
                    BarChart::new("valid", bars(&s.valid_counts, 0.2))
                        .color(Color32::GRAY)
                        .element_formatter(Box::new(|b, _| format!("valid: {}", b.value))),
                );
            });
    });
}

/// 2-D points coloured by class (regression targets: by target above 0.5).
fn scatter(ui: &mut Ui, s: &DataSummary) {
    let Ok(x) = s.split.train.features.tensor() else {
        return;
    };
    let classes = s.class_names.len().max(2);
    let mut per: Vec<Vec<[f64; 2]>> = vec![Vec::new(); classes];
    for (i, p) in x.data().chunks(2).enumerate() {
        let k = point_class(&s.split.train.labels, i).min(classes - 1);
        per[k].push([p[0] as f64, p[1] as f64]);
    }
    Plot::new("data-points")
        .height(260.0)
        .data_aspect(1.0)
        .allow_scroll(false)
        .show(ui, |pl| {
            for (k, pts) in per.into_iter().enumerate() {
                let name = s
                    .class_names
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| k.to_string());
                pl.points(Points::new(name, pts).radius(2.5).color(class_color(k)));
            }
        });
}

/// The class of point `i` for colouring: its class index, or target > 0.5 (XOR's 0/1).
pub fn point_class(labels: &hyphae::tensor::Tensor, i: usize) -> usize {
    let per = labels.numel() / labels.dim(0).max(1);
    let v = labels.data().get(i * per).copied().unwrap_or(0.0);
    if per == 1 && labels.shape().len() == 2 {
        usize::from(v > 0.5)
    } else {
        v.max(0.0) as usize
    }
}

fn batch_section(ui: &mut Ui, core: &EditorCore, p: &mut DataPanels, s: &Arc<DataSummary>) {
    let running = p.batch_job.as_ref().is_some_and(Background::running);
    let b = ui
        .add_enabled(!running, egui::Button::new("Show a training batch"))
        .on_hover_text(
            "the first batch of epoch 1 as the network's input receives it: shuffled, \
             augmented and standardised by the engine's loader with these training settings",
        );
    if b.clicked() {
        let (s, t) = (s.clone(), core.doc.file.training.clone());
        p.batch_job = Some(Background::spawn("hyphae-batch", move || {
            data_view::training_batch(&s, &t)
        }));
    }
    if let Some(r) = p.batch_job.as_mut().and_then(Background::poll) {
        p.batch_job = None;
        match r {
            Ok(b) => {
                p.batch_tex = textures(ui.ctx(), "batch", &b);
                p.batch = Some(b);
                p.error = None;
            }
            Err(e) => p.error = Some(e),
        }
    }
    if running {
        ui.spinner();
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(50));
    }
    if let Some(e) = &p.error {
        ui.colored_label(super::ERROR_RED, super::plain(e));
    }
    let Some(b) = &p.batch else { return };
    ui.label(
        RichText::new(format!(
            "training batch of {} as the network receives it",
            b.labels.len()
        ))
        .strong(),
    );
    if p.batch_tex.is_empty() {
        sample_table(ui, "batch-rows", &rows_of(b), &s.feature_names, &["label"]);
    } else {
        image_grid(ui, &p.batch_tex, &b.labels);
    }
}
