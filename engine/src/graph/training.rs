//! Training settings as they appear in a graph file. The types live here (below `train/`)
//! because the file format owns them; `train/` gives them behaviour.

use serde::{Deserialize, Serialize};

/// Optimizer and its hyper-parameters (PyTorch names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Optimizer {
    Sgd {
        lr: f32,
        #[serde(default)]
        momentum: f32,
        #[serde(default)]
        dampening: f32,
        #[serde(default)]
        nesterov: bool,
        #[serde(default)]
        weight_decay: f32,
        /// Keep an exponential moving average of the parameters this optimizer updates
        /// (Keras's `ema_momentum`); the weights files a run writes hold the average.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ema_momentum: Option<f32>,
    },
    Adam {
        lr: f32,
        #[serde(default = "default_betas")]
        betas: (f32, f32),
        #[serde(default = "default_adam_eps")]
        eps: f32,
        #[serde(default)]
        weight_decay: f32,
        /// Keep an exponential moving average of the parameters this optimizer updates
        /// (Keras's `ema_momentum`); the weights files a run writes hold the average.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ema_momentum: Option<f32>,
    },
    AdamW {
        lr: f32,
        #[serde(default = "default_betas")]
        betas: (f32, f32),
        #[serde(default = "default_adam_eps")]
        eps: f32,
        #[serde(default = "default_adamw_decay")]
        weight_decay: f32,
        /// Keep an exponential moving average of the parameters this optimizer updates
        /// (Keras's `ema_momentum`); the weights files a run writes hold the average.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ema_momentum: Option<f32>,
    },
    RmsProp {
        lr: f32,
        #[serde(default = "default_rms_alpha")]
        alpha: f32,
        #[serde(default = "default_rms_eps")]
        eps: f32,
        #[serde(default)]
        momentum: f32,
        #[serde(default)]
        weight_decay: f32,
        /// Keep an exponential moving average of the parameters this optimizer updates
        /// (Keras's `ema_momentum`); the weights files a run writes hold the average.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ema_momentum: Option<f32>,
    },
}

fn default_betas() -> (f32, f32) {
    (0.9, 0.999)
}
fn default_adam_eps() -> f32 {
    1e-8
}
fn default_adamw_decay() -> f32 {
    1e-2
}
fn default_rms_alpha() -> f32 {
    0.99
}
fn default_rms_eps() -> f32 {
    1e-8
}

impl Default for Optimizer {
    fn default() -> Self {
        Optimizer::Sgd {
            lr: 0.01,
            momentum: 0.9,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            ema_momentum: None,
        }
    }
}

impl Optimizer {
    pub fn lr(&self) -> f32 {
        match *self {
            Optimizer::Sgd { lr, .. }
            | Optimizer::Adam { lr, .. }
            | Optimizer::AdamW { lr, .. }
            | Optimizer::RmsProp { lr, .. } => lr,
        }
    }

    pub fn set_lr(&mut self, new_lr: f32) {
        match self {
            Optimizer::Sgd { lr, .. }
            | Optimizer::Adam { lr, .. }
            | Optimizer::AdamW { lr, .. }
            | Optimizer::RmsProp { lr, .. } => *lr = new_lr,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Optimizer::Sgd { .. } => "SGD",
            Optimizer::Adam { .. } => "Adam",
            Optimizer::AdamW { .. } => "AdamW",
            Optimizer::RmsProp { .. } => "RMSprop",
        }
    }
}

/// Learning-rate schedule, counted in optimizer steps.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Schedule {
    #[default]
    Constant,
    /// Multiply by `gamma` every `step_size` steps.
    Step { step_size: usize, gamma: f32 },
    /// Multiply by `gamma` every step.
    Exponential { gamma: f32 },
    /// Cosine annealing from the base LR to `eta_min` over `t_max` steps.
    Cosine {
        t_max: usize,
        #[serde(default)]
        eta_min: f32,
    },
}

/// Gradient clipping, applied after backward and before the optimizer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Clip {
    /// Rescale all gradients together so their global L2 norm is at most this.
    Norm(f32),
    /// Clamp every gradient element to [-v, v].
    Value(f32),
}

/// How a graph trains: everything the command line can override.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Training {
    pub optimizer: Optimizer,
    pub schedule: Schedule,
    /// Linear warm-up from 0 to the scheduled LR over this many steps.
    pub warmup_steps: usize,
    pub clip: Option<Clip>,
    pub batch_size: usize,
    pub epochs: usize,
    /// Seeds the initial weights, the batch order and dropout (and the data split unless
    /// `data_seed` is given).
    pub seed: u64,
    /// Seeds the train/validation split and generated data alone, so runs with different
    /// `seed`s can share one split (measuring seed variance). Default: `seed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_seed: Option<u64>,
    /// Skip an epoch's last batch when it is smaller than `batch_size` (a batch of one
    /// breaks BatchNorm's batch statistics, as in PyTorch's `DataLoader(drop_last=True)`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub drop_last: bool,
    /// Dataset spec: `xor`, `spirals`, `moons`, `sine`, `shapes`, `mnist:DIR`, `csv:FILE`;
    /// relative paths are taken from the graph file's folder.
    pub dataset: Option<String>,
    /// Compute layer statistics every this many steps (0: never).
    pub stats_every: usize,
    /// Random changes to each training image (image-folder datasets only); validation,
    /// `eval` and `predict` see the images as they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub augment: Option<Augment>,
    /// Alternating optimisation of parts of the graph (see [`super::phases`]); empty:
    /// every parameter trains on the sum of all losses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<super::phases::Phase>,
}

/// Seeded augmentation of training images, torchvision's transforms in this order:
/// `RandomCrop(padding)`, `RandomHorizontalFlip`, `RandomRotation` (nearest, fill 0),
/// `ColorJitter(brightness, contrast)`, then after normalisation `RandomErasing(p)`.
/// Every field is optional; the draws depend only on (seed, epoch, sample).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Augment {
    /// Pad each side with this many black pixels, then crop back to the image size at a
    /// random offset.
    pub crop_padding: usize,
    /// Mirror left-right with probability 1/2.
    pub hflip: bool,
    /// Rotate by an angle drawn uniformly from ±this many degrees.
    pub rotate_degrees: f32,
    pub jitter: Option<Jitter>,
    /// Probability of blanking one random rectangle (2–33% of the area, aspect 0.3–3.3).
    pub erase: f32,
}

/// Colour jitter: each factor is drawn from `[max(0, 1 - v), 1 + v]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Jitter {
    pub brightness: f32,
    pub contrast: f32,
}

impl Augment {
    /// Each field outside its range, as (setting path, message).
    fn problems(&self, check: &mut impl FnMut(&'static str, std::result::Result<(), String>)) {
        let at_most = |v: f32, max: f32| {
            non_negative(v).and_then(|_| {
                if v <= max {
                    Ok(())
                } else {
                    Err(format!("must be at most {max}, got {v}"))
                }
            })
        };
        if self.crop_padding > 1024 {
            check(
                "augment.crop_padding",
                Err(format!("must be at most 1024, got {}", self.crop_padding)),
            );
        }
        check(
            "augment.rotate_degrees",
            at_most(self.rotate_degrees, 180.0),
        );
        check("augment.erase", at_most(self.erase, 1.0));
        if let Some(j) = &self.jitter {
            check("augment.jitter.brightness", at_most(j.brightness, 1.0));
            check("augment.jitter.contrast", at_most(j.contrast, 1.0));
        }
    }
}

impl Training {
    /// The seed of the train/validation split: `data_seed`, else `seed`.
    pub fn split_seed(&self) -> u64 {
        self.data_seed.unwrap_or(self.seed)
    }
}

impl Default for Training {
    fn default() -> Self {
        Training {
            optimizer: Optimizer::default(),
            schedule: Schedule::Constant,
            warmup_steps: 0,
            clip: None,
            batch_size: 32,
            epochs: 10,
            seed: 0,
            data_seed: None,
            drop_last: false,
            dataset: None,
            stats_every: 10,
            augment: None,
            phases: Vec::new(),
        }
    }
}

/// A training setting outside its range: which one (`optimizer.lr`) and why.
#[derive(Clone, Debug, PartialEq)]
pub struct SettingProblem {
    /// Path of the setting inside `training`, e.g. `optimizer.betas`.
    pub setting: String,
    pub message: String,
}

impl SettingProblem {
    /// The setting's own field name (`betas`), to find it in the file.
    pub fn field(&self) -> &str {
        self.setting.rsplit('.').next().unwrap_or(&self.setting)
    }
}

/// A finite number > 0 (learning rates, eps, clip bounds, decay factors).
pub fn positive(v: f32) -> std::result::Result<(), String> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(format!("must be a finite number > 0, got {v}"))
    }
}

/// A finite number ≥ 0 (momentum, weight decay, eta_min).
pub fn non_negative(v: f32) -> std::result::Result<(), String> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(format!("must be a finite number ≥ 0, got {v}"))
    }
}

/// In [0, 1) (betas, RMSprop's alpha: a moving average that keeps some of the new value).
pub fn fraction(v: f32) -> std::result::Result<(), String> {
    if (0.0..1.0).contains(&v) {
        Ok(())
    } else {
        Err(format!("must be in [0, 1), got {v}"))
    }
}

/// A count ≥ 1 (batch size, epochs, schedule periods).
pub fn at_least_one(v: usize) -> std::result::Result<(), String> {
    if v >= 1 {
        Ok(())
    } else {
        Err(format!("must be at least 1, got {v}"))
    }
}

impl Training {
    /// Every setting outside its range (NaN and infinities included), so that training
    /// never starts with values that would crash it or silently train nothing.
    pub fn problems(&self) -> Vec<SettingProblem> {
        let mut out: Vec<SettingProblem> = (self.optimizer.problems().into_iter())
            .map(|(field, message)| SettingProblem {
                setting: format!("optimizer.{field}"),
                message,
            })
            .collect();
        let mut check = |setting: &'static str, r: std::result::Result<(), String>| {
            if let Err(message) = r {
                out.push(SettingProblem {
                    setting: setting.to_string(),
                    message,
                });
            }
        };
        match self.schedule {
            Schedule::Constant => {}
            Schedule::Step { step_size, gamma } => {
                check("schedule.step_size", at_least_one(step_size));
                check("schedule.gamma", positive(gamma));
            }
            Schedule::Exponential { gamma } => check("schedule.gamma", positive(gamma)),
            Schedule::Cosine { t_max, eta_min } => {
                check("schedule.t_max", at_least_one(t_max));
                check("schedule.eta_min", non_negative(eta_min));
            }
        }
        match self.clip {
            Some(Clip::Norm(v) | Clip::Value(v)) => check("clip", positive(v)),
            None => {}
        }
        check("batch_size", at_least_one(self.batch_size));
        check("epochs", at_least_one(self.epochs));
        if let Some(a) = &self.augment {
            a.problems(&mut check);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_of(t: Training) -> Vec<String> {
        t.problems()
            .into_iter()
            .map(|p| format!("{}: {}", p.setting, p.message))
            .collect()
    }

    #[test]
    fn defaults_are_valid_and_every_bad_value_is_named() {
        assert!(Training::default().problems().is_empty());
        let bad = Training {
            optimizer: Optimizer::Adam {
                lr: f32::NAN,
                betas: (0.9, 1.0),
                eps: 0.0,
                weight_decay: -1.0,
                ema_momentum: Some(1.0),
            },
            schedule: Schedule::Step {
                step_size: 0,
                gamma: f32::INFINITY,
            },
            clip: Some(Clip::Value(-1.0)),
            batch_size: 0,
            epochs: 0,
            ..Training::default()
        };
        let p = problems_of(bad);
        for want in [
            "optimizer.lr: must be a finite number > 0, got NaN",
            "optimizer.betas: must be in [0, 1), got 1",
            "optimizer.eps: must be a finite number > 0, got 0",
            "optimizer.weight_decay: must be a finite number ≥ 0, got -1",
            "optimizer.ema_momentum: must be in [0, 1), got 1",
            "schedule.step_size: must be at least 1, got 0",
            "schedule.gamma: must be a finite number > 0, got inf",
            "clip: must be a finite number > 0, got -1",
            "batch_size: must be at least 1, got 0",
            "epochs: must be at least 1, got 0",
        ] {
            assert!(p.iter().any(|x| x == want), "{want} not in {p:#?}");
        }
        assert_eq!(p.len(), 10, "{p:#?}");
    }

    #[test]
    fn augment_ranges_name_the_field() {
        let bad = Training {
            augment: Some(Augment {
                crop_padding: 5000,
                rotate_degrees: f32::NAN,
                erase: 1.5,
                jitter: Some(Jitter {
                    brightness: -0.1,
                    contrast: 2.0,
                }),
                hflip: true,
            }),
            ..Training::default()
        };
        let p = problems_of(bad);
        for want in [
            "augment.crop_padding: must be at most 1024, got 5000",
            "augment.rotate_degrees: must be a finite number ≥ 0, got NaN",
            "augment.erase: must be at most 1, got 1.5",
            "augment.jitter.brightness: must be a finite number ≥ 0, got -0.1",
            "augment.jitter.contrast: must be at most 1, got 2",
        ] {
            assert!(p.iter().any(|x| x == want), "{want} not in {p:#?}");
        }
        assert_eq!(p.len(), 5, "{p:#?}");
        let ok: Training = ron::from_str(
            "(augment: Some((crop_padding: 4, hflip: true, rotate_degrees: 10.0, \
             jitter: Some((brightness: 0.2, contrast: 0.2)), erase: 0.25)))",
        )
        .unwrap();
        assert!(ok.problems().is_empty());
        let e = ron::from_str::<Training>("(augment: Some((flip: true)))").unwrap_err();
        assert!(e.to_string().contains("flip"), "{e}");
    }
}
