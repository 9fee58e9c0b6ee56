//! Runs grouped by tag, drawn as one mean ± std band per group.
//!
//! The band is computed on the steps that every run of the group logged (no
//! interpolation): runs of one graph and batch size evaluate at the same steps, so
//! nothing is invented between points, and a run that stopped early shortens the band
//! rather than bending it. A step where any run's value is not finite is left out. The
//! standard deviation is the sample one (n − 1), 0 for a group of one run.

use std::collections::BTreeMap;

/// Mean ± std of a group's curves at the steps they share.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Band {
    pub steps: Vec<f64>,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

impl Band {
    pub fn lower(&self) -> Vec<f64> {
        self.mean
            .iter()
            .zip(&self.std)
            .map(|(m, s)| m - s)
            .collect()
    }

    pub fn upper(&self) -> Vec<f64> {
        self.mean
            .iter()
            .zip(&self.std)
            .map(|(m, s)| m + s)
            .collect()
    }

    pub fn mean_points(&self) -> Vec<[f64; 2]> {
        self.steps
            .iter()
            .zip(&self.mean)
            .map(|(&x, &y)| [x, y])
            .collect()
    }
}

/// The band of these curves ((step, value) points each). A step logged twice in one
/// curve (a resumed run repeats steps after its checkpoint) takes its last value.
pub fn band(curves: &[&[[f64; 2]]]) -> Band {
    let mut out = Band::default();
    if curves.is_empty() {
        return out;
    }
    // Steps are whole numbers; keyed as integers so equal steps match exactly.
    let by_step: Vec<BTreeMap<u64, f64>> = curves
        .iter()
        .map(|c| c.iter().map(|p| (p[0] as u64, p[1])).collect())
        .collect();
    let n = curves.len() as f64;
    for &step in by_step[0].keys() {
        let values: Option<Vec<f64>> = (by_step.iter())
            .map(|m| m.get(&step).copied().filter(|v| v.is_finite()))
            .collect();
        let Some(values) = values else { continue };
        let mean = values.iter().sum::<f64>() / n;
        let std = if values.len() > 1 {
            let ss = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>();
            (ss / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        out.steps.push(step as f64);
        out.mean.push(mean);
        out.std.push(std);
    }
    out
}

/// Runs by tag, in the order tags first appear; a run with several tags is in each of
/// their groups, a run without tags in "untagged". `tags[i]` are run `i`'s tags.
pub fn by_tag(tags: &[&[String]]) -> Vec<(String, Vec<usize>)> {
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    let mut add = |tag: &str, i: usize| match groups.iter_mut().find(|(t, _)| t == tag) {
        Some((_, members)) => members.push(i),
        None => groups.push((tag.to_string(), vec![i])),
    };
    for (i, ts) in tags.iter().enumerate() {
        if ts.is_empty() {
            add(UNTAGGED, i);
        }
        for t in ts.iter() {
            add(t, i);
        }
    }
    groups
}

/// The group of runs without tags.
pub const UNTAGGED: &str = "untagged";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_std_on_shared_steps() {
        let a = [[0.0, 1.0], [10.0, 2.0], [20.0, 3.0]];
        let b = [[0.0, 3.0], [10.0, 4.0]];
        let c = [[0.0, 5.0], [10.0, 6.0], [30.0, 9.0]];
        let band = band(&[&a, &b, &c]);
        assert_eq!(
            band.steps,
            vec![0.0, 10.0],
            "only the steps all three logged"
        );
        assert_eq!(band.mean, vec![3.0, 4.0]);
        // Values 1, 3, 5: squared deviations 4 + 0 + 4 over n - 1 = 2.
        assert_eq!(band.std, vec![2.0, 2.0]);
        assert_eq!(band.lower(), vec![1.0, 2.0]);
        assert_eq!(band.upper(), vec![5.0, 6.0]);
        assert_eq!(band.mean_points(), vec![[0.0, 3.0], [10.0, 4.0]]);
    }

    #[test]
    fn one_run_has_no_spread_and_bad_values_drop_their_step() {
        let a = [[1.0, 0.5], [2.0, f64::NAN], [2.0, 0.25]];
        let one = band(&[&a]);
        assert_eq!(
            (one.mean.clone(), one.std.clone()),
            (vec![0.5, 0.25], vec![0.0, 0.0])
        );
        let b = [[1.0, f64::INFINITY], [2.0, 0.75]];
        let two = band(&[&a, &b]);
        assert_eq!(two.steps, vec![2.0], "step 1 is infinite in b");
        assert_eq!(two.mean, vec![0.5]);
        assert!((two.std[0] - (0.125f64).sqrt()).abs() < 1e-12);
        assert_eq!(band(&[]), Band::default());
        let empty: [[f64; 2]; 0] = [];
        assert!(band(&[&a, &empty]).steps.is_empty(), "nothing shared");
    }

    #[test]
    fn runs_group_by_each_tag() {
        let (lr, wide, none) = (
            vec!["lr".to_string()],
            vec!["wide".to_string(), "lr".to_string()],
            Vec::new(),
        );
        let g = by_tag(&[&lr, &none, &wide]);
        assert_eq!(
            g,
            vec![
                ("lr".to_string(), vec![0, 2]),
                (UNTAGGED.to_string(), vec![1]),
                ("wide".to_string(), vec![2]),
            ]
        );
    }
}
