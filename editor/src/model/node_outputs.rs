//! The nodes' outputs windows, without egui: which nodes show their outputs, the fixed
//! batch they run on (the first validation samples; noise inputs a seeded draw, so that
//! successive snapshots of a run are comparable), and the grids computed from the
//! trainer's model snapshots on background jobs, so that neither a frame nor a training
//! step waits for them.

use super::background::Background;
use hyphae::data::Split;
use hyphae::data::images::grid::{GridPixels, PixelRange, grid_pixels};
use hyphae::ecs::Model;
use hyphae::tensor::Tensor;
use hyphae::train::node_outputs::{self, OutputView};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Samples in the fixed batch (a 4×4 grid).
pub const BATCH: usize = 16;
/// Least time between two model snapshots asked for (the trainer pays a parameter copy).
pub const REFRESH: Duration = Duration::from_millis(500);
/// A request unanswered this long is asked again (the answer may have been lost to a
/// new run).
pub const NO_ANSWER: Duration = Duration::from_secs(3);
/// Seed of the noise inputs and of the ops that draw (a VAE's Reparameterize).
const SEED: u64 = 0;

/// A model snapshot as the trainer sends it: the forward-only model and its step.
pub type Snapshot = Arc<(Model, u64)>;

/// A snapshot remembered without keeping it alive (to tell whether another came).
type Held = Weak<(Model, u64)>;
/// A dataset spec (resolved) and its split seed.
pub type DataKey = (String, u64);

/// The batch every snapshot runs on.
#[derive(Clone, Debug)]
pub struct FixedBatch {
    pub features: Tensor,
    pub labels: Tensor,
    pub n: usize,
}

impl FixedBatch {
    /// The first [`BATCH`] validation samples of `split`, as evaluation feeds them.
    pub fn of(split: &Split) -> Result<FixedBatch, String> {
        let valid = &split.valid;
        let n = valid.len().min(BATCH);
        if n == 0 {
            return Err("the dataset has no validation samples to run the node on".into());
        }
        let idx: Vec<usize> = (0..n).collect();
        let features = valid.features.take(&idx, None).map_err(|e| e.to_string())?;
        let labels = first_rows(&valid.labels, n)?;
        Ok(FixedBatch {
            features,
            labels,
            n,
        })
    }
}

/// The first `n` rows of `t` (`[N, ...]`).
fn first_rows(t: &Tensor, n: usize) -> Result<Tensor, String> {
    let mut shape = t.shape().to_vec();
    let rows = shape.first().copied().unwrap_or(0);
    let per = t.numel().checked_div(rows).unwrap_or(0);
    if let Some(r) = shape.first_mut() {
        *r = n.min(rows);
    }
    let data = t.data().get(..n.min(rows) * per).unwrap_or(&[]).to_vec();
    Tensor::new(&shape, data).map_err(|e| e.to_string())
}

/// One computed grid: what a window draws.
#[derive(Clone, Debug)]
pub struct OutputGrid {
    /// Training step of the parameters it was computed with.
    pub step: u64,
    pub view: OutputView,
    /// Pictures in the grid (samples, or feature maps).
    pub tiles: usize,
    /// The node's channels (of which the feature maps show the first few).
    pub channels: usize,
    /// Images read as -1..1 (a Tanh output) rather than 0..1.
    pub signed: bool,
    pub pixels: GridPixels,
}

impl OutputGrid {
    /// The pixels as RGBA, for a texture.
    pub fn rgba(&self) -> Vec<u8> {
        let c = self.pixels.channels.max(1);
        let mut out = Vec::with_capacity(self.pixels.width * self.pixels.height * 4);
        for p in self.pixels.pixels.chunks_exact(c) {
            let (r, g, b) = match *p {
                [r, g, b] => (r, g, b),
                [v, ..] => (v, v, v),
                [] => (0, 0, 0),
            };
            out.extend_from_slice(&[r, g, b, 255]);
        }
        out
    }

    /// What the grid shows, in a line.
    pub fn caption(&self) -> String {
        match self.view {
            OutputView::Images => format!(
                "{} samples of the fixed batch · values {} drawn black..white",
                self.tiles,
                if self.signed { "-1..1" } else { "0..1" }
            ),
            OutputView::FeatureMaps => format!(
                "sample 0: {} of {} feature maps, each min..max scaled",
                self.tiles, self.channels
            ),
        }
    }
}

/// Runs `node` of `model` on `batch` (eval mode) and draws its outputs as a grid.
pub fn compute(
    model: &Model,
    step: u64,
    node: &str,
    batch: &FixedBatch,
) -> Result<OutputGrid, String> {
    let g = model.graph();
    let index = g
        .node_index(node)
        .ok_or_else(|| format!("`{node}` is not in the trained graph"))?;
    let inputs =
        node_outputs::fixed_inputs(g, Some(&batch.features), Some(&batch.labels), batch.n, SEED);
    let out = node_outputs::node_output(model, &inputs, index, SEED).map_err(|e| e.to_string())?;
    let per = out.shape().get(1..).unwrap_or(&[]);
    let (view, [c, h, w]) = node_outputs::drawn_as(per, &g.file.inputs)
        .ok_or_else(|| format!("`{node}`'s output {per:?} is not an image or feature maps"))?;
    let out = out
        .reshape(&[out.dim(0), c, h, w])
        .map_err(|e| e.to_string())?;
    let signed = view == OutputView::Images && node_outputs::signed_range(out.data());
    let (tiles, shape) = node_outputs::tiles(&out, view).map_err(|e| e.to_string())?;
    let unit = PixelRange {
        low: 0.0,
        high: 1.0,
    };
    let pixels = grid_pixels(&tiles, shape, 0, unit).map_err(|e| e.to_string())?;
    Ok(OutputGrid {
        step,
        view,
        tiles: tiles.dim(0),
        channels: c,
        signed,
        pixels,
    })
}

/// One node's window.
#[derive(Default)]
pub struct NodeWindow {
    pub grid: Option<OutputGrid>,
    pub error: Option<String>,
    job: Option<Background<OutputGrid>>,
    /// The snapshot the last job ran on: each is run once.
    ran: Option<Held>,
}

impl NodeWindow {
    /// Whether a grid is being computed.
    pub fn busy(&self) -> bool {
        self.job.as_ref().is_some_and(Background::running)
    }
}

/// The open windows and what they share: the fixed batch and when a snapshot was asked.
#[derive(Default)]
pub struct NodeOutputs {
    /// The nodes shown, in the order they were opened.
    pub windows: Vec<(String, NodeWindow)>,
    /// When a snapshot was last asked for, and the one held then.
    asked: Option<(Instant, Option<Held>)>,
    /// (dataset spec, split seed) of the batch, and the batch.
    batch: Option<(DataKey, Result<Arc<FixedBatch>, String>)>,
}

impl NodeOutputs {
    /// Opens `node`'s window, or closes it.
    pub fn toggle(&mut self, node: &str) {
        match self.windows.iter().position(|(n, _)| n == node) {
            Some(i) => {
                self.windows.remove(i);
            }
            None => self.windows.push((node.to_string(), NodeWindow::default())),
        }
    }

    pub fn is_shown(&self, node: &str) -> bool {
        self.windows.iter().any(|(n, _)| n == node)
    }

    pub fn window(&self, node: &str) -> Option<&NodeWindow> {
        self.windows.iter().find(|(n, _)| n == node).map(|(_, w)| w)
    }

    /// Whether to ask the trainer for a snapshot now: a window is open, the one held
    /// (`held`) is older than the run's `step`, the last request was answered (or got
    /// no answer in [`NO_ANSWER`]), and none was asked for in the last [`REFRESH`]. So at
    /// most two a second while training runs, never a pile of them behind a slow step,
    /// and one more once the run ends.
    pub fn wants_snapshot(&mut self, held: Option<&Snapshot>, step: u64) -> bool {
        if self.windows.is_empty() || held.is_some_and(|m| m.1 == step) {
            return false;
        }
        if let Some((at, with)) = &self.asked {
            let answered = match (with, held) {
                (Some(w), Some(h)) => !w.ptr_eq(&Arc::downgrade(h)),
                (None, None) => false,
                _ => true,
            };
            let waited = at.elapsed();
            if waited < REFRESH || (!answered && waited < NO_ANSWER) {
                return false;
            }
        }
        self.asked = Some((Instant::now(), held.map(Arc::downgrade)));
        true
    }

    /// The fixed batch of the dataset `key` (spec, split seed), made from `split` the
    /// first time.
    pub fn batch(&mut self, key: DataKey, split: &Split) -> Result<Arc<FixedBatch>, String> {
        if self.batch.as_ref().is_none_or(|(k, _)| *k != key) {
            self.batch = Some((key, FixedBatch::of(split).map(Arc::new)));
            // Another batch: every window runs again.
            for (_, w) in &mut self.windows {
                w.ran = None;
            }
        }
        match &self.batch {
            Some((_, b)) => b.clone(),
            None => Err("no batch".into()),
        }
    }

    /// Picks up finished jobs and starts one per window whose grid is not from `model`
    /// yet. Returns the nodes with a new grid.
    pub fn update(&mut self, model: &Snapshot, batch: &Arc<FixedBatch>) -> Vec<String> {
        let mut fresh = Vec::new();
        for (node, w) in &mut self.windows {
            if let Some(r) = w.job.as_mut().and_then(Background::poll) {
                w.job = None;
                match r {
                    Ok(g) => {
                        w.grid = Some(g);
                        w.error = None;
                        fresh.push(node.clone());
                    }
                    Err(e) => w.error = Some(e),
                }
            }
            let done = w
                .ran
                .as_ref()
                .is_some_and(|r| r.ptr_eq(&Arc::downgrade(model)));
            if done || w.busy() {
                continue;
            }
            w.ran = Some(Arc::downgrade(model));
            let (m, b, n) = (model.clone(), batch.clone(), node.clone());
            w.job = Some(Background::spawn("hyphae-outputs", move || {
                compute(&m.0, m.1, &n, &b)
            }));
        }
        fresh
    }

    /// Whether a grid is being computed for any window.
    pub fn busy(&self) -> bool {
        self.windows.iter().any(|(_, w)| w.busy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyphae::graph::ValidGraph;
    use hyphae::train::trainer::{TrainOptions, Trainer};

    /// A conv's feature maps and a decoder's flat output (drawn as the input's images)
    /// from a trained snapshot; the batch is the first validation samples.
    #[test]
    fn grids_of_a_conv_and_a_flat_decoder() {
        let text = r#"(
    version: 1,
    inputs: [(name: "img", shape: [1, 28, 28])],
    nodes: [
        (name: "conv", op: Conv2d(out_channels: 4, kernel_size: 3, padding: 1), inputs: ["img"]),
        (name: "flat", op: Flatten(), inputs: ["conv"]),
        (name: "dec", op: Linear(out_features: 784), inputs: ["flat"]),
        (name: "sig", op: Sigmoid(), inputs: ["dec"]),
        (name: "target", op: Flatten(), inputs: ["img"]),
        (name: "loss", op: MSELoss(), inputs: ["sig", "target"]),
    ],
    training: (optimizer: Adam(lr: 0.01), batch_size: 8, epochs: 1, seed: 1),
)"#;
        let g = ValidGraph::from_ron(text, "t.ron").unwrap();
        let split = hyphae::data::load("shapes:train=16,valid=20", 0).unwrap();
        let batch = FixedBatch::of(&split).unwrap();
        assert_eq!(batch.n, BATCH);
        assert_eq!(batch.features.shape(), &[16, 1, 28, 28]);
        assert_eq!(batch.labels.shape(), &[16]);
        let mut t = Trainer::new(g, split, TrainOptions::default()).unwrap();
        t.step().unwrap();
        let (model, step) = t.snapshot();
        let maps = compute(&model, step, "conv", &batch).unwrap();
        assert_eq!(
            (maps.view, maps.tiles, maps.channels),
            (OutputView::FeatureMaps, 4, 4)
        );
        // 2×2 tiles of 28×28 with 2-pixel borders, grey.
        assert_eq!((maps.pixels.width, maps.pixels.height), (62, 62));
        assert_eq!(maps.rgba().len(), 62 * 62 * 4);
        let imgs = compute(&model, step, "sig", &batch).unwrap();
        assert_eq!(
            (imgs.view, imgs.tiles, imgs.signed),
            (OutputView::Images, 16, false)
        );
        assert_eq!(imgs.pixels.width, 4 * 30 + 2);
        let e = compute(&model, step, "loss", &batch).unwrap_err();
        assert!(e.contains("not an image"), "{e}");
        let e = compute(&model, step, "nope", &batch).unwrap_err();
        assert!(e.contains("not in the trained graph"), "{e}");
    }

    /// A generator fed only by noise: the same seeded draw for every snapshot (the grid
    /// of one model is the same twice), and its Tanh output read as -1..1.
    #[test]
    fn a_noise_fed_tanh_generator_draws_the_same_codes_each_time() {
        let text = r#"(
    version: 1,
    inputs: [(name: "img", shape: [1, 28, 28]), (name: "z", shape: [8], source: Noise)],
    nodes: [
        (name: "gen", op: Linear(out_features: 784), inputs: ["z"]),
        (name: "fake", op: Tanh(), inputs: ["gen"]),
        (name: "target", op: Flatten(), inputs: ["img"]),
        (name: "loss", op: MSELoss(), inputs: ["fake", "target"]),
    ],
    training: (optimizer: Adam(lr: 0.01), batch_size: 8, epochs: 1, seed: 1),
)"#;
        let g = ValidGraph::from_ron(text, "t.ron").unwrap();
        let split = hyphae::data::load("shapes:train=16,valid=4", 0).unwrap();
        let batch = FixedBatch::of(&split).unwrap();
        assert_eq!(batch.n, 4, "fewer validation samples than BATCH");
        let mut t = Trainer::new(g, split, TrainOptions::default()).unwrap();
        let (model, step) = t.snapshot();
        let a = compute(&model, step, "fake", &batch).unwrap();
        let b = compute(&model, step, "fake", &batch).unwrap();
        assert_eq!(a.pixels, b.pixels, "a fixed draw");
        assert_eq!((a.view, a.tiles, a.signed), (OutputView::Images, 4, true));
    }

    /// Snapshots are asked for only while a window is open and the held one is behind,
    /// one request at a time.
    #[test]
    fn snapshots_are_asked_for_when_behind_and_not_too_often() {
        let g = ValidGraph::from_ron(
            r#"(version: 1,
                inputs: [(name: "x", shape: [2]), (name: "y", shape: [2], source: Labels)],
                nodes: [
                    (name: "fc", op: Linear(out_features: 2), inputs: ["x"]),
                    (name: "loss", op: MSELoss(), inputs: ["fc", "y"]),
                ])"#,
            "t.ron",
        )
        .unwrap();
        let model = hyphae::ecs::Runtime::new(g).unwrap().model();
        let mut o = NodeOutputs::default();
        assert!(!o.wants_snapshot(None, 3), "no window open");
        o.toggle("fc");
        assert!(o.is_shown("fc"));
        assert!(o.wants_snapshot(None, 3));
        assert!(!o.wants_snapshot(None, 3), "asked a moment ago");
        let ago = |d: Duration| Instant::now().checked_sub(d).unwrap();
        o.asked.as_mut().unwrap().0 = ago(REFRESH);
        assert!(!o.wants_snapshot(None, 4), "not answered yet");
        o.asked.as_mut().unwrap().0 = ago(NO_ANSWER);
        assert!(o.wants_snapshot(None, 4), "no answer: asked again");
        let held: Snapshot = Arc::new((model, 4));
        o.asked.as_mut().unwrap().0 = ago(REFRESH);
        assert!(!o.wants_snapshot(Some(&held), 4), "up to date");
        assert!(o.wants_snapshot(Some(&held), 9), "answered, and behind");
        o.asked.as_mut().unwrap().0 = ago(REFRESH);
        assert!(
            !o.wants_snapshot(Some(&held), 9),
            "that request not answered yet"
        );
        o.toggle("fc");
        assert!(!o.is_shown("fc"));
    }
}
