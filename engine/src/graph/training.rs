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
    },
    Adam {
        lr: f32,
        #[serde(default = "default_betas")]
        betas: (f32, f32),
        #[serde(default = "default_adam_eps")]
        eps: f32,
        #[serde(default)]
        weight_decay: f32,
    },
    AdamW {
        lr: f32,
        #[serde(default = "default_betas")]
        betas: (f32, f32),
        #[serde(default = "default_adam_eps")]
        eps: f32,
        #[serde(default = "default_adamw_decay")]
        weight_decay: f32,
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
        }
    }
}
