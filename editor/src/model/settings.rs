//! Checks on training settings typed in the editor: a value that cannot train is refused
//! with the reason, never clamped behind the user's back.

use hyphae::graph::{Optimizer, Schedule, Training};

/// `Ok` when every setting is usable, else what is wrong with the first that is not.
pub fn check(t: &Training) -> Result<(), String> {
    lr(t.optimizer.lr())?;
    let (momentum, decay) = match &t.optimizer {
        Optimizer::Sgd {
            momentum,
            weight_decay,
            ..
        }
        | Optimizer::RmsProp {
            momentum,
            weight_decay,
            ..
        } => (*momentum, *weight_decay),
        Optimizer::Adam {
            betas,
            weight_decay,
            ..
        }
        | Optimizer::AdamW {
            betas,
            weight_decay,
            ..
        } => {
            for (name, b) in [("beta1", betas.0), ("beta2", betas.1)] {
                if !(0.0..1.0).contains(&b) {
                    return Err(format!("{name} must be in [0, 1), not {b}"));
                }
            }
            (0.0, *weight_decay)
        }
    };
    if let Some(m) = t.optimizer.ema_momentum()
        && !(0.0..1.0).contains(&m)
    {
        return Err(format!("ema_momentum must be in [0, 1), not {m}"));
    }
    if !(momentum.is_finite() && momentum >= 0.0) {
        return Err(format!("momentum must be a number ≥ 0, not {momentum}"));
    }
    if !(decay.is_finite() && decay >= 0.0) {
        return Err(format!("weight_decay must be a number ≥ 0, not {decay}"));
    }
    match t.schedule {
        Schedule::Step { gamma, .. } | Schedule::Exponential { gamma }
            if !(gamma.is_finite() && gamma > 0.0) =>
        {
            return Err(format!("gamma must be a number > 0, not {gamma}"));
        }
        Schedule::Cosine { eta_min, .. } if !(eta_min.is_finite() && eta_min >= 0.0) => {
            return Err(format!("eta_min must be a number ≥ 0, not {eta_min}"));
        }
        _ => {}
    }
    if t.batch_size == 0 {
        return Err("batch size must be at least 1".into());
    }
    if t.epochs == 0 {
        return Err("epochs must be at least 1".into());
    }
    Ok(())
}

/// A learning rate must be a finite number above zero.
pub fn lr(lr: f32) -> Result<(), String> {
    if lr.is_finite() && lr > 0.0 {
        Ok(())
    } else {
        Err(format!("the learning rate must be a number > 0, not {lr}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_settings_are_refused_with_the_reason() {
        let mut t = Training::default();
        assert!(check(&t).is_ok());
        for bad in [0.0, -1e-3, f32::NAN, f32::INFINITY] {
            t.optimizer.set_lr(bad);
            let e = check(&t).unwrap_err();
            assert!(e.contains("learning rate"), "{e}");
        }
        // Large but finite is the user's choice: accepted as typed, not clamped.
        t.optimizer.set_lr(1e5);
        assert!(check(&t).is_ok());
        t.batch_size = 0;
        assert!(check(&t).unwrap_err().contains("batch size"));
    }
}
