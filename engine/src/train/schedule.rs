//! Learning-rate schedules, evaluated per optimizer step (0-based).

use crate::graph::Schedule;

/// The learning rate at optimizer step `step` (0-based): the schedule applied to `base`,
/// times a linear warm-up factor over the first `warmup` steps.
pub fn lr_at(base: f32, schedule: &Schedule, warmup: usize, step: u64) -> f32 {
    let s = step as f64;
    let base_f = base as f64;
    let scheduled = match *schedule {
        Schedule::Constant => base_f,
        Schedule::Step { step_size, gamma } => {
            base_f * (gamma as f64).powi((step / step_size.max(1) as u64) as i32)
        }
        Schedule::Exponential { gamma } => base_f * (gamma as f64).powf(s),
        Schedule::Cosine { t_max, eta_min } => {
            let t_max = t_max.max(1) as f64;
            let t = s.min(t_max);
            let eta_min = eta_min as f64;
            eta_min + (base_f - eta_min) * (1.0 + (std::f64::consts::PI * t / t_max).cos()) / 2.0
        }
    };
    let warm = if (step as usize) < warmup {
        (s + 1.0) / warmup as f64
    } else {
        1.0
    };
    (scheduled * warm) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        assert_eq!(lr_at(0.1, &Schedule::Constant, 0, 1000), 0.1);
        let step = Schedule::Step {
            step_size: 10,
            gamma: 0.5,
        };
        assert_eq!(lr_at(1.0, &step, 0, 9), 1.0);
        assert_eq!(lr_at(1.0, &step, 0, 10), 0.5);
        assert_eq!(lr_at(1.0, &step, 0, 25), 0.25);
        let exp = Schedule::Exponential { gamma: 0.9 };
        assert!((lr_at(1.0, &exp, 0, 2) - 0.81).abs() < 1e-6);
        let cos = Schedule::Cosine {
            t_max: 100,
            eta_min: 0.0,
        };
        assert_eq!(lr_at(1.0, &cos, 0, 0), 1.0);
        assert!((lr_at(1.0, &cos, 0, 50) - 0.5).abs() < 1e-6);
        assert!(lr_at(1.0, &cos, 0, 100).abs() < 1e-6);
        assert!(lr_at(1.0, &cos, 0, 500).abs() < 1e-6);
        // warm-up: linear from 1/warmup to 1
        assert!((lr_at(1.0, &Schedule::Constant, 4, 0) - 0.25).abs() < 1e-6);
        assert!((lr_at(1.0, &Schedule::Constant, 4, 3) - 1.0).abs() < 1e-6);
        assert_eq!(lr_at(1.0, &Schedule::Constant, 4, 10), 1.0);
    }
}
