//! A classifier's decision over a 2-D feature plane, as TensorFlow Playground draws it: the
//! class probabilities on a grid spanning the data, from the forward-only [`Model`], so it
//! runs on any thread while training goes on.

use crate::ecs::Model;
use crate::error::{Error, Result};
use crate::graph::{Ref, ValidGraph};
use crate::tensor::Tensor;
use crate::train::eval_report::Predictions;

/// What a classifier's output node gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scores {
    /// `[N, C]` scores for cross-entropy: probabilities by softmax.
    Logits,
    /// `[N, 1]` values fitted to 0/1 targets (XOR with MSE): the value, clamped to 0..1,
    /// is the probability of class 1.
    Value,
}

/// A snapshot of a trained classifier: the model and where its class scores come out.
#[derive(Clone, Debug)]
pub struct Classifier {
    pub model: Model,
    /// The node whose output feeds the cross-entropy loss (class scores, `[N, C]`).
    pub logits: String,
    /// Which of the graph's inputs takes the features.
    pub features_input: usize,
    pub classes: usize,
    /// How the node's output reads as class probabilities.
    pub scores: Scores,
    /// Training step the parameters are from.
    pub step: u64,
}

impl Classifier {
    /// Class probabilities (softmax of the scores) of `features [N, ...]`.
    pub fn probabilities(&self, features: Tensor) -> Result<Predictions> {
        let n = features.dim(0);
        let inputs: Vec<Tensor> = (0..self.model.graph().file.inputs.len())
            .map(|i| {
                if i == self.features_input {
                    features.clone()
                } else {
                    Tensor::zeros(&[0])
                }
            })
            .collect();
        let scores = self.model.predict(&inputs, &self.logits)?;
        let per = scores.numel() / n.max(1);
        let mut p = Predictions::new(self.classes);
        // Labels are unknown on a grid: class 0 stands in (only probabilities are read).
        match self.scores {
            Scores::Logits => p.record(&scores.reshape(&[n, per])?, &Tensor::zeros(&[n]))?,
            Scores::Value => {
                for &v in scores.data().iter().step_by(per.max(1)) {
                    let v = if v.is_nan() { 0.5 } else { v.clamp(0.0, 1.0) };
                    p.push(0, &[1.0 - v, v]);
                }
            }
        }
        Ok(p)
    }
}

/// Class probabilities on a `res × res` grid over `x` and `y` (row 0 at the top, `y.1`).
#[derive(Clone, Debug, PartialEq)]
pub struct BoundaryGrid {
    pub res: usize,
    pub classes: usize,
    pub x: (f32, f32),
    pub y: (f32, f32),
    /// `res * res * classes`, row-major from the top-left cell.
    pub probs: Vec<f32>,
    pub step: u64,
}

impl BoundaryGrid {
    /// The probabilities of cell (row, col).
    pub fn cell(&self, row: usize, col: usize) -> &[f32] {
        let i = (row * self.res + col) * self.classes;
        self.probs.get(i..i + self.classes).unwrap_or(&[])
    }
}

/// Largest grid side: 128² points is one forward pass of 16k rows.
pub const MAX_RES: usize = 128;

/// Evaluates `c` at the centre of every cell of a `res × res` grid over the given ranges.
pub fn decision_grid(
    c: &Classifier,
    x: (f32, f32),
    y: (f32, f32),
    res: usize,
) -> Result<BoundaryGrid> {
    if !((2..=MAX_RES).contains(&res) && x.0 < x.1 && y.0 < y.1) {
        return Err(Error::Other(format!(
            "decision grid: resolution {res} (2..={MAX_RES}) over x {x:?}, y {y:?}"
        )));
    }
    let at = |lo: f32, hi: f32, k: usize| lo + (hi - lo) * (k as f32 + 0.5) / res as f32;
    let mut pts = Vec::with_capacity(res * res * 2);
    for row in 0..res {
        for col in 0..res {
            pts.push(at(x.0, x.1, col));
            pts.push(at(y.1, y.0, row));
        }
    }
    let p = c.probabilities(Tensor::new(&[res * res, 2], pts)?)?;
    Ok(BoundaryGrid {
        res,
        classes: c.classes,
        x,
        y,
        probs: p.probs,
        step: c.step,
    })
}

/// The box around 2-D points `[N, 2]`, widened by a tenth on each side (the plane around
/// the data, where a boundary shows how the model extrapolates).
pub fn data_range(features: &Tensor) -> Option<((f32, f32), (f32, f32))> {
    if features.shape().get(1) != Some(&2) {
        return None;
    }
    let mut lo = [f32::INFINITY; 2];
    let mut hi = [f32::NEG_INFINITY; 2];
    for p in features.data().chunks(2) {
        for k in 0..2 {
            if p[k].is_finite() {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
    }
    let pad = |k: usize| ((hi[k] - lo[k]) * 0.1).max(0.1);
    (lo[0] <= hi[0] && lo[1] <= hi[1]).then(|| {
        (
            (lo[0] - pad(0), hi[0] + pad(0)),
            (lo[1] - pad(1), hi[1] + pad(1)),
        )
    })
}

/// The node a one-output regression loss reads against `labels_input` (XOR's `fc2`), when
/// the features are 2-D points and it outputs one value: its value reads as P(class 1).
pub fn value_node(
    graph: &ValidGraph,
    features_input: usize,
    labels_input: usize,
) -> Option<String> {
    if graph.file.inputs.get(features_input)?.shape != [2] {
        return None;
    }
    graph
        .nodes
        .iter()
        .find_map(|info| match (info.sources.first(), info.sources.get(1)) {
            (Some(Ref::Node(k)), Some(Ref::Input(t)))
                if *t == labels_input && graph.nodes[*k].shape.get(1..) == Some(&[1][..]) =>
            {
                Some(graph.file.nodes[*k].name.clone())
            }
            _ => None,
        })
}
