//! Training phases: alternating optimisation of parts of one graph (a GAN's discriminator,
//! then its generator). Each phase names the losses it minimises, the nodes whose
//! parameters it updates and its optimizer, and runs every `every`-th batch. Phases run in
//! the order written, each as its own forward/backward/update over the same world; a graph
//! without phases trains all parameters on the sum of all losses, as before.
//!
//! A node's parameters belong to at most one phase, so each parameter has one optimizer
//! state (saved in checkpoints as without phases) and resuming is exact.

use super::training::{Optimizer, at_least_one};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// Shown in logs and metrics (`loss.<name>`).
    pub name: String,
    /// Loss nodes whose sum this phase minimises.
    pub losses: Vec<String>,
    /// Nodes whose parameters this phase updates (the others keep theirs).
    pub updates: Vec<String>,
    /// This phase's optimizer; default: `training.optimizer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer: Option<Optimizer>,
    /// Runs on every `every`-th batch (batch 0, every, 2·every, …).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub every: usize,
}

fn one() -> usize {
    1
}

fn is_one(v: &usize) -> bool {
    *v == 1
}

/// What is wrong with `phases` for a graph whose nodes are `nodes` (name, is a loss, has
/// parameters): each as (phase name, message).
pub fn problems(phases: &[Phase], nodes: &[(&str, bool, bool)]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(first) = phases.first()
        && phases.iter().all(|p| p.every != 1)
    {
        out.push((
            first.name.clone(),
            "no phase runs on every batch: give one phase every: 1".to_string(),
        ));
    }
    let mut owner: Vec<(&str, &str)> = Vec::new();
    for (i, p) in phases.iter().enumerate() {
        let mut bad = |m: String| out.push((p.name.clone(), m));
        if p.name.is_empty() {
            bad("a phase needs a name".into());
        }
        if phases[..i].iter().any(|q| q.name == p.name) {
            bad("two phases have this name".into());
        }
        if let Err(m) = at_least_one(p.every) {
            bad(format!("every {m}"));
        }
        for (field, message) in p.optimizer.iter().flat_map(Optimizer::problems) {
            bad(format!("optimizer.{field}: {message}"));
        }
        if p.losses.is_empty() {
            bad("losses is empty: name the loss nodes this phase minimises".into());
        }
        if p.updates.is_empty() {
            bad("updates is empty: name the nodes whose parameters this phase trains".into());
        }
        for l in &p.losses {
            match nodes.iter().find(|n| n.0 == l) {
                None => bad(format!("losses: no node named `{l}`")),
                Some(n) if !n.1 => bad(format!("losses: node `{l}` is not a loss")),
                _ => {}
            }
        }
        for u in &p.updates {
            match nodes.iter().find(|n| n.0 == u) {
                None => bad(format!("updates: no node named `{u}`")),
                Some(n) if !n.2 => bad(format!("updates: node `{u}` has no parameters")),
                _ => {}
            }
            match owner.iter().find(|(n, _)| n == u) {
                Some((_, other)) => bad(format!(
                    "updates: node `{u}` is already updated by phase `{other}` (a node's parameters belong to one phase)"
                )),
                None => owner.push((u, &p.name)),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(name: &str, losses: &[&str], updates: &[&str], every: usize) -> Phase {
        Phase {
            name: name.into(),
            losses: losses.iter().map(|s| s.to_string()).collect(),
            updates: updates.iter().map(|s| s.to_string()).collect(),
            optimizer: None,
            every,
        }
    }

    #[test]
    fn problems_name_the_phase_and_the_node() {
        let nodes = [
            ("g", false, true),
            ("d", false, true),
            ("relu", false, false),
            ("dl", true, false),
            ("gl", true, false),
        ];
        let ok = [
            phase("d", &["dl"], &["d"], 1),
            phase("g", &["gl"], &["g"], 2),
        ];
        assert!(problems(&ok, &nodes).is_empty());
        let rare = [phase("d", &["dl"], &["d"], 2)];
        assert!(problems(&rare, &nodes)[0].1.contains("every: 1"));
        let bad = [
            phase("d", &["dl", "g"], &["d", "relu"], 0),
            phase("d", &["nope"], &["d"], 1),
            phase("x", &[], &[], 1),
        ];
        let p: Vec<String> = problems(&bad, &nodes)
            .into_iter()
            .map(|(n, m)| format!("{n}: {m}"))
            .collect();
        let text = p.join("\n");
        for needle in [
            "d: every must be at least 1",
            "node `g` is not a loss",
            "node `relu` has no parameters",
            "d: two phases have this name",
            "no node named `nope`",
            "node `d` is already updated by phase `d`",
            "x: losses is empty",
            "x: updates is empty",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
    }
}
