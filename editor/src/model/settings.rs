//! Checks on training settings typed in the editor: a value that cannot train is refused
//! with the reason, never clamped behind the user's back. The ranges are the engine's
//! (`Training::problems`, what `hyphae check` reports), so the editor and the CLI refuse
//! the same values with the same words.

use hyphae::graph::Training;
use hyphae::graph::training::positive;

/// `Ok` when every setting is usable, else what is wrong with the first that is not.
pub fn check(t: &Training) -> Result<(), String> {
    match t.problems().into_iter().next() {
        None => Ok(()),
        Some(p) => Err(format!("{} {}", p.setting, p.message)),
    }
}

/// A learning rate must be a finite number above zero.
pub fn lr(lr: f32) -> Result<(), String> {
    positive(lr).map_err(|m| format!("the learning rate {m}"))
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
            assert!(e.contains("optimizer.lr"), "{e}");
            assert!(lr(bad).unwrap_err().contains("learning rate"));
        }
        // Large but finite is the user's choice: accepted as typed, not clamped.
        t.optimizer.set_lr(1e5);
        assert!(check(&t).is_ok());
        t.optimizer.set_ema_momentum(Some(1.5));
        let e = check(&t).unwrap_err();
        assert!(e.contains("ema_momentum") && e.contains("[0, 1)"), "{e}");
        t.optimizer.set_ema_momentum(None);
        t.batch_size = 0;
        assert!(check(&t).unwrap_err().contains("batch_size"));
    }
}
