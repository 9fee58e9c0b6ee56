//! Training progress for people: an indicatif bar per epoch on a terminal, plain periodic
//! lines otherwise (CI logs, pipes), and a line per epoch with validation metrics.

use crate::train::trainer::{EpochReport, Event, StepReport};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

pub struct Progress {
    epochs: usize,
    bar: Option<ProgressBar>,
    /// The epoch whose steps are being shown.
    shown_epoch: Option<u64>,
    terminal: bool,
    batches: usize,
    last_line: Instant,
    last_epoch_line: Option<Instant>,
    window: Vec<f64>,
}

impl Progress {
    pub fn new(epochs: usize) -> Progress {
        Progress {
            epochs,
            bar: None,
            shown_epoch: None,
            terminal: std::io::stderr().is_terminal(),
            batches: 0,
            last_line: Instant::now(),
            last_epoch_line: None,
            window: Vec::new(),
        }
    }
}

fn pct(a: Option<f64>) -> String {
    a.map_or(String::new(), |a| format!(" acc {:.1}%", a * 100.0))
}

impl Progress {
    /// Shows what a training step did.
    pub fn event(&mut self, e: &Event) {
        match e {
            Event::Step(r) => {
                if self.shown_epoch != Some(r.epoch) {
                    self.epoch_start(r.epoch, r.batches);
                }
                self.step(r);
            }
            Event::Epoch(r) => self.epoch_end(r),
            Event::NonFinite { .. } | Event::Finished(_) => {}
        }
    }

    fn epoch_start(&mut self, epoch: u64, batches: usize) {
        self.shown_epoch = Some(epoch);
        self.batches = batches;
        self.window.clear();
        if self.terminal {
            let bar = ProgressBar::new(batches as u64);
            let style =
                ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(format!("epoch {}/{}", epoch + 1, self.epochs));
            self.bar = Some(bar);
        }
        self.last_line = Instant::now();
    }

    fn step(&mut self, r: &StepReport) {
        self.window.push(r.outcome.loss);
        if self.window.len() > 50 {
            self.window.remove(0);
        }
        let smooth = self.window.iter().sum::<f64>() / self.window.len() as f64;
        let msg = format!(
            "loss {smooth:.4}{} {:.0} samples/s lr {:.3e}",
            pct(r.accuracy),
            r.samples_per_sec,
            r.outcome.lr
        );
        if let Some(bar) = &self.bar {
            bar.set_position(r.batch as u64);
            bar.set_message(msg);
        } else if self.last_line.elapsed() >= Duration::from_secs(5) {
            eprintln!(
                "epoch {}/{} batch {}/{} step {}: {msg}",
                r.epoch + 1,
                self.epochs,
                r.batch,
                self.batches,
                r.outcome.step
            );
            self.last_line = Instant::now();
        }
    }

    fn epoch_end(&mut self, r: &EpochReport) {
        self.shown_epoch = None;
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        // Thousands of tiny epochs (XOR) get a line every few seconds, not one each.
        let last = r.epoch as usize + 1 >= self.epochs;
        if !last
            && self
                .last_epoch_line
                .is_some_and(|t| t.elapsed() < Duration::from_secs(2))
        {
            return;
        }
        self.last_epoch_line = Some(Instant::now());
        eprintln!(
            "epoch {}/{}: train loss {:.4}{} | valid loss {:.4}{} | {:.1} s",
            r.epoch + 1,
            self.epochs,
            r.train_loss,
            pct(r.train_accuracy),
            r.valid.loss,
            pct(r.valid.accuracy),
            r.seconds
        );
    }
}
