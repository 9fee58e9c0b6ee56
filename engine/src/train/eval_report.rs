//! What an evaluation says beyond loss and accuracy: per-sample predictions (to list the
//! samples of a confusion cell), per-class precision/recall/F1, and ROC and PR curves for
//! binary tasks. Pure maths over counts and scores, so the editor and tests share it.

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Most probabilities [`Predictions`] keeps (samples × classes): 10k MNIST samples take
/// 100k; a huge set keeps its first samples only and says so.
pub const MAX_KEPT_PROBS: usize = 4_000_000;

/// Per-sample predictions of one evaluation pass, in dataset order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Predictions {
    pub classes: usize,
    /// True class of sample `i`.
    pub labels: Vec<u32>,
    /// Predicted class (argmax) of sample `i`.
    pub predicted: Vec<u32>,
    /// Softmax probabilities, `classes` per sample.
    pub probs: Vec<f32>,
    /// Samples evaluated but not kept (over [`MAX_KEPT_PROBS`]).
    pub dropped: usize,
}

impl Predictions {
    pub fn new(classes: usize) -> Predictions {
        Predictions {
            classes,
            ..Predictions::default()
        }
    }

    /// Samples kept.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Adds a batch: `logits [B, C]` (C ≥ classes; extra scores are ignored by the argmax
    /// only if they lose) and `labels [B]` class indices.
    pub fn record(&mut self, logits: &Tensor, labels: &Tensor) -> Result<()> {
        let b = labels.numel();
        let shape = logits.shape();
        if shape.len() != 2 || shape[0] != b || shape[1] < self.classes || self.classes == 0 {
            return Err(Error::bad_shape(
                "predictions",
                shape,
                format!("want [{b}, {}] class scores", self.classes),
            ));
        }
        let c = shape[1];
        let room = MAX_KEPT_PROBS / self.classes;
        for (row, &t) in logits.data().chunks(c).zip(labels.data()) {
            if self.len() >= room {
                self.dropped += 1;
                continue;
            }
            let p = softmax(&row[..self.classes]);
            let arg = argmax(row);
            self.labels.push(t as u32);
            self.predicted.push(arg as u32);
            self.probs.extend_from_slice(&p);
        }
        Ok(())
    }

    /// Adds one sample with its class probabilities (already normalised).
    pub fn push(&mut self, label: u32, probs: &[f32]) {
        if probs.len() != self.classes || self.len() >= MAX_KEPT_PROBS / self.classes.max(1) {
            self.dropped += 1;
            return;
        }
        self.labels.push(label);
        self.predicted.push(argmax(probs) as u32);
        self.probs.extend_from_slice(probs);
    }

    /// Probabilities of sample `i`.
    pub fn probs_of(&self, i: usize) -> &[f32] {
        self.probs
            .get(i * self.classes..(i + 1) * self.classes)
            .unwrap_or(&[])
    }

    /// Samples (dataset indices) with true class `t` predicted as `p`: one confusion cell.
    pub fn cell(&self, t: usize, p: usize) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.labels[i] as usize == t && self.predicted[i] as usize == p)
            .collect()
    }

    /// Binary tasks: the probability of class 1 and whether each sample is class 1.
    pub fn binary_scores(&self) -> Option<(Vec<f32>, Vec<bool>)> {
        (self.classes == 2).then(|| {
            let s = (0..self.len()).map(|i| self.probs[i * 2 + 1]).collect();
            let y = self.labels.iter().map(|&l| l == 1).collect();
            (s, y)
        })
    }
}

fn softmax(row: &[f32]) -> Vec<f32> {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = row.iter().map(|&v| (v - m).exp()).collect();
    let s: f32 = e.iter().sum();
    e.iter()
        .map(|v| if s > 0.0 { v / s } else { f32::NAN })
        .collect()
}

fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Precision, recall and F1 of one class, from a confusion matrix.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassMetrics {
    /// Of the samples predicted as this class, the fraction that are (NaN: none predicted).
    pub precision: f64,
    /// Of the samples of this class, the fraction found (NaN: none in the data).
    pub recall: f64,
    /// Harmonic mean of the two (0 when both are 0, NaN when either is undefined).
    pub f1: f64,
    /// Samples of this class.
    pub support: u64,
}

/// Per-class metrics of `confusion[true][predicted]`.
pub fn class_metrics(confusion: &[Vec<u64>]) -> Vec<ClassMetrics> {
    let k = confusion.len();
    (0..k)
        .map(|c| {
            let tp = confusion[c].get(c).copied().unwrap_or(0) as f64;
            let support: u64 = confusion[c].iter().sum();
            let predicted: u64 = confusion
                .iter()
                .map(|r| r.get(c).copied().unwrap_or(0))
                .sum();
            let precision = tp / predicted as f64;
            let recall = tp / support as f64;
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            ClassMetrics {
                precision,
                recall,
                f1,
                support,
            }
        })
        .collect()
}

/// Unweighted mean of the defined values (macro average); NaN when none is.
pub fn macro_mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (s, n) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((0.0, 0), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { s / n as f64 }
}

/// Positives and negatives counted at each distinct threshold, highest first: the steps
/// that both curves walk. Returns `(tp, fp)` after each step and the totals.
fn sweep(scores: &[f32], positive: &[bool]) -> (Vec<(f64, f64)>, f64, f64) {
    let mut idx: Vec<usize> = (0..scores.len().min(positive.len())).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut steps = Vec::new();
    for (k, &i) in idx.iter().enumerate() {
        if positive[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        // Tied scores are one threshold: emit a point only after the last of them.
        if idx.get(k + 1).is_none_or(|&j| scores[j] != scores[i]) {
            steps.push((tp, fp));
        }
    }
    (steps, tp, fp)
}

/// The ROC curve as `(false positive rate, true positive rate)` points from (0, 0) to
/// (1, 1), one per distinct score. Empty when a class is missing (the rates are undefined).
pub fn roc_curve(scores: &[f32], positive: &[bool]) -> Vec<[f64; 2]> {
    let (steps, p, n) = sweep(scores, positive);
    if p == 0.0 || n == 0.0 {
        return Vec::new();
    }
    std::iter::once([0.0, 0.0])
        .chain(steps.iter().map(|&(tp, fp)| [fp / n, tp / p]))
        .collect()
}

/// The precision-recall curve as `(recall, precision)` points, one per distinct score,
/// starting at recall 0 with the first point's precision (as scikit-learn draws it).
pub fn pr_curve(scores: &[f32], positive: &[bool]) -> Vec<[f64; 2]> {
    let (steps, p, _) = sweep(scores, positive);
    if p == 0.0 {
        return Vec::new();
    }
    let pts: Vec<[f64; 2]> = steps
        .iter()
        .map(|&(tp, fp)| [tp / p, tp / (tp + fp)])
        .collect();
    let first = pts.first().map_or(1.0, |q| q[1]);
    std::iter::once([0.0, first]).chain(pts).collect()
}

/// Area under a curve of `(x, y)` points by the trapezoid rule (ROC AUC).
pub fn trapezoid_area(pts: &[[f64; 2]]) -> f64 {
    pts.windows(2)
        .map(|w| (w[1][0] - w[0][0]) * (w[1][1] + w[0][1]) / 2.0)
        .sum()
}

/// Average precision: the PR curve's precision weighted by each step's recall gain (the
/// step-wise area scikit-learn's `average_precision_score` computes).
pub fn average_precision(pr: &[[f64; 2]]) -> f64 {
    pr.windows(2).map(|w| (w[1][0] - w[0][0]) * w[1][1]).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn precision_recall_f1_of_a_known_matrix() {
        // true 0: 5 right, 1 as class 1; true 1: 2 as class 0, 3 right, 0 as class 2;
        // true 2: nothing (no support), but predicted once from class 0.
        let conf = vec![vec![5, 1, 1], vec![2, 3, 0], vec![0, 0, 0]];
        let m = class_metrics(&conf);
        assert!(close(m[0].precision, 5.0 / 7.0));
        assert!(close(m[0].recall, 5.0 / 7.0));
        assert!(close(m[0].f1, 5.0 / 7.0));
        assert_eq!(m[0].support, 7);
        assert!(close(m[1].precision, 3.0 / 4.0));
        assert!(close(m[1].recall, 3.0 / 5.0));
        assert!(close(m[1].f1, 2.0 * 0.75 * 0.6 / 1.35));
        // Class 2: predicted once, never right; no samples: recall undefined.
        assert!(close(m[2].precision, 0.0));
        assert!(m[2].recall.is_nan() && m[2].f1.is_nan());
        assert!(close(
            macro_mean(m.iter().map(|c| c.recall)),
            (5.0 / 7.0 + 0.6) / 2.0
        ));
    }

    #[test]
    fn roc_and_pr_of_known_scores() {
        // scikit-learn: roc_auc_score([0,0,1,1],[.1,.4,.35,.8]) = 0.75,
        // average_precision_score(...) = 0.8333.
        let s = [0.1, 0.4, 0.35, 0.8];
        let y = [false, false, true, true];
        let roc = roc_curve(&s, &y);
        assert_eq!(
            roc,
            vec![[0.0, 0.0], [0.0, 0.5], [0.5, 0.5], [0.5, 1.0], [1.0, 1.0]]
        );
        assert!(close(trapezoid_area(&roc), 0.75));
        let pr = pr_curve(&s, &y);
        assert_eq!(pr[0], [0.0, 1.0]);
        assert_eq!(*pr.last().unwrap(), [1.0, 0.5]);
        assert!(close(average_precision(&pr), 0.5 + 0.5 * (2.0 / 3.0)));
        // A perfect ranking: AUC 1, AP 1; ties are one threshold.
        let roc = roc_curve(&[0.9, 0.9, 0.1], &[true, true, false]);
        assert_eq!(roc, vec![[0.0, 0.0], [0.0, 1.0], [1.0, 1.0]]);
        assert!(close(
            average_precision(&pr_curve(&[0.9, 0.9, 0.1], &[true, true, false])),
            1.0
        ));
        // One class only: no curve rather than NaN.
        assert!(roc_curve(&[0.2, 0.3], &[true, true]).is_empty());
        assert!(pr_curve(&[0.2], &[false]).is_empty());
    }

    #[test]
    fn predictions_keep_probabilities_and_list_a_cell() {
        let mut p = Predictions::new(2);
        let logits = Tensor::new(&[3, 2], vec![2.0, 0.0, 0.0, 2.0, 1.0, 1.0]).unwrap();
        let labels = Tensor::new(&[3], vec![0.0, 0.0, 1.0]).unwrap();
        p.record(&logits, &labels).unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p.predicted, vec![0, 1, 0]);
        assert_eq!(p.cell(0, 1), vec![1]);
        assert_eq!(p.cell(1, 0), vec![2]);
        let q = p.probs_of(0);
        assert!((q[0] - 0.880_797).abs() < 1e-5 && (q[0] + q[1] - 1.0).abs() < 1e-6);
        let (s, y) = p.binary_scores().unwrap();
        assert_eq!(y, vec![false, false, true]);
        assert!((s[2] - 0.5).abs() < 1e-6);
        assert!(p.record(&Tensor::zeros(&[2, 2]), &labels).is_err());
    }
}
