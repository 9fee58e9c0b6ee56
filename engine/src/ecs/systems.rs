//! The systems of a training step, in schedule order:
//! `load_batch → forward → loss → backward → clip → (optimizer ∥ statistics) → emit`.
//!
//! Nodes of one depth bucket are independent, so forward and backward run each bucket's
//! nodes in parallel (rayon); the optimizer updates parameters in parallel; statistics only
//! read values and gradients, so the executor runs them alongside the optimizer.
//!
//! No system checks for an earlier failure itself: the schedules' `no_error` run condition
//! skips the rest of a step once a system has recorded an error (see `schedules.rs`).

use super::components::*;
use super::events::TrainEvent;
use super::stats::{ParamStats, PerStep, TensorStats};
use crate::error::Error;
use crate::graph::Clip;
use crate::ops::{Backward, Ctx, Forward};
use crate::tensor::{Rng, Tensor};
use crate::train::optim;
use bevy_ecs::prelude::*;
use crossbeam_channel::Sender;
use rayon::prelude::*;
use std::time::Instant;

/// Where events go (none: the runtime runs quietly).
#[derive(Resource, Default)]
pub struct EventSink(pub Option<Sender<TrainEvent>>);

/// Declared per-sample shape of each data input, to check batches against.
#[derive(Component, Debug)]
pub struct InputShape(pub Vec<usize>);

/// The seed for a node's randomness at a step: independent streams per (run, step, node).
fn node_seed(seed: u64, step: u64, node: usize) -> u64 {
    Rng::derived(seed ^ step.wrapping_mul(0xA24B_AED4_963E_E407), node as u64).next_u64()
}

pub fn load_batch(
    batch: Res<Batch>,
    topo: Res<Topology>,
    inputs: Query<(&DataInput, &InputShape)>,
    mut values: Query<&mut Value>,
    mut st: ResMut<StepState>,
) {
    if batch.0.len() != topo.inputs.len() {
        st.error = Some(Error::Other(format!(
            "the batch has {} tensors but the graph has {} inputs",
            batch.0.len(),
            topo.inputs.len()
        )));
        return;
    }
    let batch_size = batch.0.first().and_then(|t| t.shape().first().copied());
    for (&e, t) in topo.inputs.iter().zip(&batch.0) {
        let Ok((input, shape)) = inputs.get(e) else {
            continue;
        };
        let ok = t.rank() == shape.0.len() + 1
            && t.shape()[1..] == shape.0[..]
            && t.shape().first().copied() == batch_size;
        if !ok {
            let mut want = vec![batch_size.unwrap_or(0)];
            want.extend_from_slice(&shape.0);
            st.error = Some(Error::shape_mismatch(
                format!("input `{}`", input.name),
                "batch tensor vs the graph's declared input shape [batch, ...]",
                t.shape(),
                &want,
            ));
            return;
        }
        if let Ok(mut v) = values.get_mut(e) {
            v.0 = t.clone();
        }
    }
}

/// One node's forward work, gathered before the parallel section.
struct ForwardJob<'a> {
    entity: Entity,
    node: &'a Node,
    inputs: Vec<Tensor>,
    params: Vec<Tensor>,
}

pub fn forward(
    topo: Res<Topology>,
    hyper: Res<Hyper>,
    nodes: Query<&Node>,
    mut values: Query<&mut Value>,
    mut saved: Query<&mut SavedState>,
    mut st: ResMut<StepState>,
    mut profile: ResMut<Profile>,
) {
    let training = st.training;
    let step = st.step;
    let timed = profile.enabled;
    let result = run_buckets(
        topo.buckets.iter(),
        &mut (&mut values, &mut saved, &mut *profile),
        timed,
        |(values, _, _), e| {
            let node = nodes.get(e).ok()?;
            Some(ForwardJob {
                entity: e,
                node,
                inputs: gather(&node.sources, |src| {
                    values.get(src).ok().map(|v| v.0.clone())
                }),
                params: gather(&node.params, |src| {
                    values.get(src).ok().map(|v| v.0.clone())
                }),
            })
        },
        |job| {
            let layer = job.node.op.layer();
            // deriving a seed is a ChaCha block per node: only for ops that draw from it
            let seed = if layer.uses_seed() {
                node_seed(hyper.seed, step, job.node.index)
            } else {
                0
            };
            let ctx = Ctx {
                training,
                seed,
                input_grads: u64::MAX,
                stats: false,
            };
            let ins: Vec<&Tensor> = job.inputs.iter().collect();
            let ps: Vec<&Tensor> = job.params.iter().collect();
            layer.forward(&ctx, &ins, &ps)
        },
        |(values, saved, profile), job, f: Forward, secs| {
            if timed {
                profile.add(job.node.index, secs, 0.0);
            }
            if let Ok(mut v) = values.get_mut(job.entity) {
                v.0 = f.output;
            }
            if let Ok(mut s) = saved.get_mut(job.entity) {
                s.0 = f.saved;
            }
            if training {
                for (pi, value) in f.buffer_updates {
                    if let Some(&pe) = job.node.params.get(pi)
                        && let Ok(mut v) = values.get_mut(pe)
                    {
                        v.0 = value;
                    }
                }
            }
            Ok(())
        },
    );
    if let Err(e) = result {
        st.error = Some(e);
    }
}

/// The values of these entities, in order (an empty tensor for one without a value).
fn gather(entities: &[Entity], value: impl Fn(Entity) -> Option<Tensor>) -> Vec<Tensor> {
    entities
        .iter()
        .map(|&e| value(e).unwrap_or_else(|| Tensor::zeros(&[0])))
        .collect()
}

/// Forward and backward alike, per depth bucket: gather each node's work from the world
/// (`gather`; None skips a node), run the bucket's nodes (`run`, in parallel when there
/// are several: nodes of one bucket are independent), then write the results back in
/// node order (`scatter`, given the seconds `run` took when `timed`). Stops at the first
/// error, which names its node.
fn run_buckets<'b, S, J: Sync + HasNode, R: Send>(
    buckets: impl Iterator<Item = &'b Vec<Entity>>,
    state: &mut S,
    timed: bool,
    mut gather: impl FnMut(&mut S, Entity) -> Option<J>,
    run: impl Fn(&J) -> crate::Result<R> + Sync,
    mut scatter: impl FnMut(&mut S, &J, R, f64) -> crate::Result<()>,
) -> crate::Result<()> {
    let timed_run = |job: &J| {
        let start = timed.then(Instant::now);
        let result = run(job).map_err(|e| e.in_node(job.node_name()));
        (result, start.map_or(0.0, |t| t.elapsed().as_secs_f64()))
    };
    for bucket in buckets {
        // A bucket of one node (every step of a chain) needs no job lists: at a few µs
        // per step, their allocations showed in small graphs' step time.
        if let [e] = bucket.as_slice() {
            if let Some(job) = gather(state, *e) {
                let (result, secs) = timed_run(&job);
                scatter(state, &job, result?, secs)?;
            }
            continue;
        }
        let jobs: Vec<J> = bucket.iter().filter_map(|&e| gather(state, e)).collect();
        let results: Vec<_> = jobs.par_iter().map(timed_run).collect();
        for (job, (result, secs)) in jobs.iter().zip(results) {
            scatter(state, job, result?, secs)?;
        }
    }
    Ok(())
}

/// The node a job works for, to name it in errors.
trait HasNode {
    fn node_name(&self) -> &str;
}

impl HasNode for ForwardJob<'_> {
    fn node_name(&self) -> &str {
        &self.node.name
    }
}

impl HasNode for BackwardJob<'_> {
    fn node_name(&self) -> &str {
        &self.node.name
    }
}

pub fn loss(topo: Res<Topology>, nodes: Query<(&Node, &Value)>, mut st: ResMut<StepState>) {
    let mut total = 0.0f64;
    for &e in &topo.losses {
        if let Ok((_, v)) = nodes.get(e) {
            total += v.0.data().iter().map(|&x| x as f64).sum::<f64>();
        }
    }
    st.loss = total;
    st.non_finite_node = None;
    if !total.is_finite() {
        // Name the first node, in topological order, whose output went non-finite.
        'search: for bucket in &topo.buckets {
            for &e in bucket {
                if let Ok((node, v)) = nodes.get(e)
                    && v.0.non_finite_count() > 0
                {
                    st.non_finite_node = Some(node.name.clone());
                    break 'search;
                }
            }
        }
        if st.non_finite_node.is_none() {
            st.non_finite_node = topo
                .losses
                .first()
                .and_then(|&e| nodes.get(e).ok())
                .map(|(n, _)| n.name.clone());
        }
    }
}

struct BackwardJob<'a> {
    node: &'a Node,
    entity: Entity,
    /// Bit i: source i is a node (data inputs need no gradient).
    input_grads: u64,
    inputs: Vec<Tensor>,
    params: Vec<Tensor>,
    forward: Forward,
    grad: Tensor,
}

#[allow(clippy::too_many_arguments)]
pub fn backward(
    topo: Res<Topology>,
    nodes: Query<&Node>,
    values: Query<&Value>,
    mut saved: Query<&mut SavedState>,
    mut value_grads: Query<&mut ValueGrad>,
    mut grads: Query<(&mut Grad, Has<Frozen>, Has<Buffer>)>,
    mut step_grads: Query<&mut StepGrads>,
    mut st: ResMut<StepState>,
    mut profile: ResMut<Profile>,
) {
    let timed = profile.enabled;
    for mut g in value_grads.iter_mut() {
        g.0 = None;
    }
    for mut g in step_grads.iter_mut() {
        g.0 = None;
    }
    for (mut g, _, _) in grads.iter_mut() {
        g.0 = None;
    }
    for &e in &topo.losses {
        if let (Ok(mut g), Ok(v)) = (value_grads.get_mut(e), values.get(e)) {
            g.0 = Some(Tensor::ones(v.0.shape()));
        }
    }
    let (training, stats) = (st.training, st.collect_stats);
    let value = |e: Entity| values.get(e).ok().map(|v| v.0.clone());
    let result = run_buckets(
        topo.buckets.iter().rev(),
        &mut (
            &mut saved,
            &mut value_grads,
            &mut grads,
            &mut step_grads,
            &mut *profile,
        ),
        timed,
        |(saved, value_grads, _, _, _), e| {
            let node = nodes.get(e).ok()?;
            // no gradient reaches a node that is not upstream of a loss
            let grad = value_grads.get(e).ok().and_then(|g| g.0.clone())?;
            let kept = saved
                .get_mut(e)
                .map(|mut s| std::mem::take(&mut s.0))
                .unwrap_or_default();
            let input_grads = node
                .sources
                .iter()
                .enumerate()
                .filter(|&(i, src)| i < 64 && nodes.get(*src).is_ok())
                .fold(0u64, |m, (i, _)| m | 1 << i);
            Some(BackwardJob {
                node,
                entity: e,
                input_grads,
                inputs: gather(&node.sources, value),
                params: gather(&node.params, value),
                forward: Forward::new(value(e).unwrap_or_else(|| Tensor::zeros(&[0])), kept),
                grad,
            })
        },
        |job| {
            let ctx = Ctx {
                training,
                seed: 0,
                input_grads: job.input_grads,
                stats,
            };
            let ins: Vec<&Tensor> = job.inputs.iter().collect();
            let ps: Vec<&Tensor> = job.params.iter().collect();
            job.node
                .op
                .layer()
                .backward(&ctx, &ins, &ps, &job.forward, &job.grad)
        },
        |(_, value_grads, grads, step_grads, profile), job, b: Backward, secs| {
            if timed {
                profile.add(job.node.index, 0.0, secs);
            }
            if b.step_grad_norms.is_some()
                && let Ok(mut sg) = step_grads.get_mut(job.entity)
            {
                sg.0 = b.step_grad_norms;
            }
            let in_node = |e: crate::Error| e.in_node(&job.node.name);
            for (src, g) in job.node.sources.iter().zip(b.inputs) {
                // a data input's gradient is not needed
                if let Some(g) = g
                    && nodes.get(*src).is_ok()
                    && let Ok(mut vg) = value_grads.get_mut(*src)
                {
                    accumulate(&mut vg.0, g).map_err(in_node)?;
                }
            }
            for (pe, g) in job.node.params.iter().zip(b.params) {
                if let Some(g) = g
                    && let Ok((mut pg, frozen, buffer)) = grads.get_mut(*pe)
                    && !frozen
                    && !buffer
                {
                    accumulate(&mut pg.0, g).map_err(in_node)?;
                }
            }
            Ok(())
        },
    );
    if let Err(e) = result {
        st.error = Some(e);
    }
}

/// Adds `g` into an optional gradient (the first contribution is taken as is: no copy).
fn accumulate(slot: &mut Option<Tensor>, g: Tensor) -> crate::Result<()> {
    match slot {
        Some(acc) => acc.axpy(1.0, &g),
        None => {
            *slot = Some(g);
            Ok(())
        }
    }
}

pub fn clip(hyper: Res<Hyper>, mut grads: Query<&mut Grad>, mut st: ResMut<StepState>) {
    st.grad_norm = None;
    match hyper.clip {
        None => {}
        Some(Clip::Value(v)) => {
            for mut g in grads.iter_mut() {
                if let Some(t) = g.0.as_mut() {
                    t.data_mut().iter_mut().for_each(|x| *x = x.clamp(-v, v));
                }
            }
        }
        Some(Clip::Norm(max_norm)) => {
            let total: f64 = grads
                .iter()
                .filter_map(|g| g.0.as_ref())
                .map(Tensor::norm_sq)
                .sum();
            let norm = total.sqrt();
            st.grad_norm = Some(norm);
            let scale = max_norm as f64 / (norm + 1e-6);
            if scale < 1.0 {
                for mut g in grads.iter_mut() {
                    if let Some(t) = g.0.as_mut() {
                        t.data_mut().iter_mut().for_each(|x| *x *= scale as f32);
                    }
                }
            }
        }
    }
}

type OptimizerQuery = (
    &'static Param,
    &'static mut Value,
    &'static Grad,
    &'static mut OptState,
    &'static mut UpdateStats,
);

/// Parameters the optimizer may change (provably disjoint from node entities).
type TrainableParams = (Without<Frozen>, Without<Buffer>, Without<Node>);

type OptimizerItem<'a> = (
    &'a Param,
    &'a mut Value,
    &'a Grad,
    &'a mut OptState,
    &'a mut UpdateStats,
);

pub fn optimizer(
    hyper: Res<Hyper>,
    st: Res<StepState>,
    phase: Res<ActivePhase>,
    mut params: Query<OptimizerQuery, TrainableParams>,
    mut profile: ResMut<Profile>,
) {
    let start = profile.enabled.then(Instant::now);
    let opt = &hyper.optimizer;
    let lr = st.lr;
    let collect_stats = st.collect_stats;
    let update = |(param, value, grad, state, stats): OptimizerItem<'_>| {
        let Some(g) = grad.0.as_ref() else { return };
        let w = value.0.data_mut();
        let update_sq = optim::update(
            opt,
            lr * param.lr_mult,
            w,
            g.data(),
            &mut state.0,
            collect_stats,
        );
        // the weight norm is another pass over the weights: only on statistics steps
        if collect_stats {
            let weight_sq: f64 = w.iter().map(|&x| x as f64 * x as f64).sum();
            *stats = UpdateStats {
                weight_norm: weight_sq.sqrt(),
                update_norm: update_sq.sqrt(),
            };
        }
    };
    // Parameters are independent: update them in parallel when there is enough work.
    // A phase updates only its nodes' parameters.
    let in_phase = |p: &Param| phase.updates.as_ref().is_none_or(|u| u.contains(&p.node));
    let items: Vec<OptimizerItem<'_>> = params
        .iter_mut()
        .filter(|(p, ..)| in_phase(p))
        .map(|(p, v, g, s, u)| (p, v.into_inner(), g, s.into_inner(), u.into_inner()))
        .collect();
    let total: usize = items.iter().map(|i| i.1.0.numel()).sum();
    if total >= crate::tensor::PARALLEL_MIN_ELEMS && items.len() > 1 {
        items.into_par_iter().for_each(update);
    } else {
        items.into_iter().for_each(update);
    }
    if let Some(t) = start {
        profile.optimizer += t.elapsed().as_secs_f64();
    }
}

pub fn statistics(
    mut nodes: Query<(&Node, &Value, &mut ActStats, &mut StepGrads), Without<Param>>,
    mut params: Query<(&Param, &Grad, &mut GradStats)>,
) {
    let mut node_items: Vec<_> = nodes
        .iter_mut()
        .map(|(_, v, s, g)| (v, s.into_inner(), g.into_inner().0.take()))
        .collect();
    node_items.par_iter_mut().for_each(|(v, s, steps)| {
        let mut stats = TensorStats::of(&v.0);
        stats.per_step = steps.take().and_then(|g| PerStep::of(&v.0, g));
        s.0 = Some(stats);
    });
    let mut param_items: Vec<_> = params
        .iter_mut()
        .map(|(_, g, s)| (g, s.into_inner()))
        .collect();
    param_items.par_iter_mut().for_each(|(g, s)| {
        s.0 = g.0.as_ref().map(|g| ParamStats {
            grad_norm: g.norm_sq().sqrt(),
            grad: TensorStats::of(g),
            ..ParamStats::default()
        });
    });
}

pub fn emit(
    st: Res<StepState>,
    topo: Res<Topology>,
    sink: Res<EventSink>,
    nodes: Query<(&Node, &ActStats)>,
    params: Query<(&Param, &GradStats, &UpdateStats)>,
) {
    let Some(tx) = sink.0.as_ref() else { return };
    let step = st.step + 1;
    if st.training {
        let _ = tx.send(TrainEvent::Step {
            step,
            loss: st.loss,
            lr: st.lr,
        });
    }
    if let Some(node) = &st.non_finite_node {
        let _ = tx.send(TrainEvent::NonFinite {
            step,
            node: node.clone(),
        });
    }
    if st.collect_stats {
        let mut node_stats = Vec::new();
        for bucket in &topo.buckets {
            for &e in bucket {
                if let Ok((n, s)) = nodes.get(e)
                    && let Some(s) = &s.0
                {
                    node_stats.push((n.index, n.name.clone(), s.clone()));
                }
            }
        }
        node_stats.sort_by_key(|(i, _, _)| *i);
        let mut param_stats = Vec::new();
        for &e in &topo.params {
            if let Ok((p, gs, us)) = params.get(e)
                && let Some(g) = &gs.0
            {
                let mut g = g.clone();
                g.weight_norm = us.weight_norm;
                g.update_ratio = if us.weight_norm > 0.0 {
                    us.update_norm / us.weight_norm
                } else {
                    0.0
                };
                param_stats.push((p.name.clone(), g));
            }
        }
        let _ = tx.send(TrainEvent::Stats {
            step,
            nodes: node_stats.into_iter().map(|(_, n, s)| (n, s)).collect(),
            params: param_stats,
        });
    }
}
