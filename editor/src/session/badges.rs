//! Training problems shown on the canvas: dead ReLUs, vanishing or exploding gradients,
//! and where NaN/Inf first appeared, each with a severity.

use super::state::TrainState;
use hyphae::ecs::{ParamStats, TensorStats};
use std::collections::{BTreeSet, HashMap};

/// ReLU outputs that are zero more often than this are flagged as mostly dead.
pub const DEAD_FRACTION: f32 = 0.9;
/// Gradient norms below this are flagged as vanishing.
pub const VANISHING_NORM: f64 = 1e-6;
/// Gradient norms above this are flagged as exploding.
pub const EXPLODING_NORM: f64 = 1e3;

/// A problem the canvas shows on a node.
#[derive(Clone, Debug, PartialEq)]
pub enum Badge {
    /// ReLU output zero this often.
    Dead(f32),
    Vanishing(f64),
    Exploding(f64),
    NonFinite,
}

/// How bad a badge is: the canvas colours it accordingly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth a look; training may still work (dead units, tiny gradients).
    Warning,
    /// Training is likely going wrong (exploding gradients).
    Serious,
    /// Training cannot go on (NaN/Inf).
    Fatal,
}

impl Badge {
    pub fn text(&self) -> String {
        match self {
            Badge::Dead(z) => format!("dead units {:.0}%", z * 100.0),
            Badge::Vanishing(g) if *g == 0.0 => "vanishing grad 0".into(),
            Badge::Vanishing(g) => format!("vanishing grad {g:.1e}"),
            Badge::Exploding(g) => format!("exploding grad {g:.1e}"),
            Badge::NonFinite => "NaN/Inf first here".into(),
        }
    }

    pub fn severity(&self) -> Severity {
        match self {
            Badge::Dead(_) | Badge::Vanishing(_) => Severity::Warning,
            Badge::Exploding(_) => Severity::Serious,
            Badge::NonFinite => Severity::Fatal,
        }
    }
}

/// The badges of one node from its latest statistics: `act` is its output's (only ReLUs are
/// checked for dead units), `params` its parameters' by parameter name (`weight`, `bias`).
/// Gradients are judged on the weight when the node has one: a bias in front of a
/// normalisation gets a gradient of ~0 by construction (the normalisation removes any
/// constant shift), which says nothing about the layer's health. At most one badge of
/// each kind.
pub fn node_badges(
    is_relu: bool,
    act: Option<&TensorStats>,
    params: &[(&str, &ParamStats)],
) -> Vec<Badge> {
    let mut out = Vec::new();
    if let Some(a) = act
        && is_relu
        && a.zero_fraction > DEAD_FRACTION
    {
        out.push(Badge::Dead(a.zero_fraction));
    }
    let has_weight = params.iter().any(|(n, _)| *n == "weight");
    let mut exploding = None;
    let mut vanishing = None;
    for (name, p) in params {
        if has_weight && *name != "weight" {
            continue;
        }
        let g = p.grad_norm;
        // All zero: nothing measured yet (a zero-initialised bias before its first update).
        if g == 0.0 && p.weight_norm == 0.0 {
            continue;
        }
        if !g.is_finite() || g > EXPLODING_NORM {
            exploding.get_or_insert(g);
        } else if g < VANISHING_NORM {
            // Exactly zero counts: the layer before a dead ReLU gets no gradient at all.
            vanishing.get_or_insert(g);
        }
    }
    out.extend(vanishing.map(Badge::Vanishing));
    out.extend(exploding.map(Badge::Exploding));
    out
}

/// Badges per node from the session's latest statistics. `is_relu` says which nodes are
/// ReLUs.
pub fn badges(st: &TrainState, is_relu: impl Fn(&str) -> bool) -> HashMap<String, Vec<Badge>> {
    // Parameter names are `node.param`.
    let mut params: HashMap<&str, Vec<(&str, &ParamStats)>> = HashMap::new();
    for (name, h) in &st.params {
        if let Some((node, param)) = name.rsplit_once('.')
            && !h.series.is_empty()
        {
            params.entry(node).or_default().push((param, &h.latest));
        }
    }
    let names: BTreeSet<&str> = st
        .nodes
        .keys()
        .map(String::as_str)
        .chain(params.keys().copied())
        .collect();
    let mut out: HashMap<String, Vec<Badge>> = HashMap::new();
    for name in names {
        let act = st.nodes.get(name).map(|h| &h.latest);
        let ps = params.get(name).map_or(&[][..], Vec::as_slice);
        let b = node_badges(is_relu(name), act, ps);
        if !b.is_empty() {
            out.insert(name.to_string(), b);
        }
    }
    if let Some(n) = st.non_finite_node() {
        out.entry(n.to_string()).or_default().push(Badge::NonFinite);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::trainer_thread::Msg;

    fn act(zero_fraction: f32) -> TensorStats {
        TensorStats {
            zero_fraction,
            ..TensorStats::default()
        }
    }

    fn param(grad_norm: f64) -> ParamStats {
        ParamStats {
            grad_norm,
            weight_norm: 1.0,
            ..ParamStats::default()
        }
    }

    #[test]
    fn a_mostly_zero_relu_is_dead_and_other_ops_are_not() {
        assert_eq!(
            node_badges(true, Some(&act(0.95)), &[]),
            vec![Badge::Dead(0.95)]
        );
        assert_eq!(Badge::Dead(0.95).text(), "dead units 95%");
        // At the threshold, or zeros from an op that is not a ReLU: no badge.
        assert!(node_badges(true, Some(&act(DEAD_FRACTION)), &[]).is_empty());
        assert!(node_badges(true, Some(&act(0.5)), &[]).is_empty());
        assert!(node_badges(false, Some(&act(1.0)), &[]).is_empty());
    }

    #[test]
    fn gradient_norms_outside_the_healthy_range_are_flagged() {
        let (tiny, zero, huge, fine) = (param(1e-8), param(0.0), param(5e3), param(0.1));
        assert_eq!(
            node_badges(false, None, &[("a", &fine), ("b", &tiny)]),
            vec![Badge::Vanishing(1e-8)]
        );
        assert_eq!(Badge::Vanishing(1e-8).text(), "vanishing grad 1.0e-8");
        // No gradient at all (the layer before a dead ReLU) is the extreme of vanishing.
        assert_eq!(
            node_badges(false, None, &[("weight", &zero)]),
            vec![Badge::Vanishing(0.0)]
        );
        assert_eq!(Badge::Vanishing(0.0).text(), "vanishing grad 0");
        assert_eq!(
            node_badges(false, None, &[("weight", &huge)]),
            vec![Badge::Exploding(5e3)]
        );
        assert_eq!(Badge::Exploding(5e3).text(), "exploding grad 5.0e3");
        let inf = param(f64::INFINITY);
        assert_eq!(
            node_badges(false, None, &[("weight", &inf)]),
            vec![Badge::Exploding(f64::INFINITY)]
        );
        assert!(node_badges(false, None, &[("a", &fine), ("b", &param(1e2))]).is_empty());
        // One badge per kind, whatever the number of parameters.
        assert_eq!(
            node_badges(false, None, &[("a", &tiny), ("b", &tiny)]).len(),
            1
        );
        // Nothing measured yet.
        let blank = ParamStats::default();
        assert!(node_badges(false, None, &[("weight", &blank)]).is_empty());
    }

    /// shapes_cnn's conv bias feeds a BatchNorm: its gradient is ~1e-8 by construction while
    /// the weight's is healthy. That is not a vanishing gradient.
    #[test]
    fn a_bias_in_front_of_a_normalisation_does_not_make_a_vanishing_badge() {
        let (weight, bias) = (param(0.38), param(1e-8));
        assert!(node_badges(false, None, &[("weight", &weight), ("bias", &bias)]).is_empty());
        // A vanishing weight is still flagged.
        assert_eq!(
            node_badges(false, None, &[("weight", &bias), ("bias", &weight)]),
            vec![Badge::Vanishing(1e-8)]
        );
    }

    #[test]
    fn severities_rank_the_badges() {
        assert!(Badge::NonFinite.severity() > Badge::Exploding(1e4).severity());
        assert!(Badge::Exploding(1e4).severity() > Badge::Vanishing(0.0).severity());
        assert_eq!(Badge::Dead(1.0).severity(), Severity::Warning);
    }

    #[test]
    fn badges_are_grouped_by_node_from_parameter_names() {
        let mut st = TrainState::default();
        st.apply(Msg::Stats {
            step: 10,
            nodes: vec![("relu1".into(), act(0.99)), ("tanh".into(), act(0.99))],
            params: vec![
                ("fc1.weight".into(), param(0.0)),
                ("fc1.bias".into(), param(0.0)),
                ("fc2.weight".into(), param(2e3)),
                ("fc3.weight".into(), param(0.3)),
            ],
        });
        let b = badges(&st, |n| n.starts_with("relu"));
        assert_eq!(b.get("relu1"), Some(&vec![Badge::Dead(0.99)]));
        assert_eq!(b.get("fc1"), Some(&vec![Badge::Vanishing(0.0)]));
        assert_eq!(b.get("fc2"), Some(&vec![Badge::Exploding(2e3)]));
        assert!(!b.contains_key("tanh") && !b.contains_key("fc3"));
    }
}
