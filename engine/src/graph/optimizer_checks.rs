//! An optimizer's moving average setting (`ema_momentum`) and the range checks of every
//! optimizer field, shared by `training.optimizer` and each phase's own optimizer.

use super::training::{Optimizer, fraction, non_negative, positive};

impl Optimizer {
    /// The momentum of the parameters' moving average, if the optimizer keeps one.
    pub fn ema_momentum(&self) -> Option<f32> {
        match *self {
            Optimizer::Sgd { ema_momentum, .. }
            | Optimizer::Adam { ema_momentum, .. }
            | Optimizer::AdamW { ema_momentum, .. }
            | Optimizer::RmsProp { ema_momentum, .. } => ema_momentum,
        }
    }

    pub fn set_ema_momentum(&mut self, m: Option<f32>) {
        match self {
            Optimizer::Sgd { ema_momentum, .. }
            | Optimizer::Adam { ema_momentum, .. }
            | Optimizer::AdamW { ema_momentum, .. }
            | Optimizer::RmsProp { ema_momentum, .. } => *ema_momentum = m,
        }
    }

    /// Each optimizer field outside its range, as (field, message); `problems` and the
    /// phases' checks prefix the field with where the optimizer is.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut check = |field: &'static str, r: std::result::Result<(), String>| {
            if let Err(message) = r {
                out.push((field, message));
            }
        };
        check("lr", positive(self.lr()));
        match *self {
            Optimizer::Sgd {
                momentum,
                dampening,
                nesterov,
                weight_decay,
                ..
            } => {
                check("momentum", non_negative(momentum));
                check("dampening", non_negative(dampening));
                check("weight_decay", non_negative(weight_decay));
                if nesterov && !(momentum > 0.0 && dampening == 0.0) {
                    check(
                        "nesterov",
                        Err("needs momentum > 0 and dampening 0 (as in PyTorch)".into()),
                    );
                }
            }
            Optimizer::Adam {
                betas,
                eps,
                weight_decay,
                ..
            }
            | Optimizer::AdamW {
                betas,
                eps,
                weight_decay,
                ..
            } => {
                check("betas", fraction(betas.0).and_then(|_| fraction(betas.1)));
                check("eps", positive(eps));
                check("weight_decay", non_negative(weight_decay));
            }
            Optimizer::RmsProp {
                alpha,
                eps,
                momentum,
                weight_decay,
                ..
            } => {
                check("alpha", fraction(alpha));
                check("eps", positive(eps));
                check("momentum", non_negative(momentum));
                check("weight_decay", non_negative(weight_decay));
            }
        }
        if let Some(m) = self.ema_momentum() {
            check("ema_momentum", fraction(m));
        }
        out
    }
}
