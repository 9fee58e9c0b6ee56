//! Building the training world from a validated graph: one entity per data input, node and
//! parameter (parameters initialised from the graph's seed) and the resources the systems
//! share. The schedules that run over it are built apart, in `schedules.rs`.

use super::components::*;
use super::systems::{EventSink, InputShape};
use crate::graph::ValidGraph;
use crate::ops::ParamKind;
use crate::tensor::{Rng, Tensor};
use bevy_ecs::prelude::*;

/// The world of a graph, ready for its first step.
pub fn build(graph: &ValidGraph) -> World {
    let mut world = World::new();
    let training = &graph.file.training;
    let seed = training.seed;

    let inputs: Vec<Entity> = graph
        .file
        .inputs
        .iter()
        .enumerate()
        .map(|(i, decl)| {
            world
                .spawn((
                    DataInput {
                        index: i,
                        name: decl.name.clone(),
                    },
                    InputShape(decl.shape.clone()),
                    Value(Tensor::zeros(&[0])),
                ))
                .id()
        })
        .collect();
    let node_entities: Vec<Entity> = graph
        .file
        .nodes
        .iter()
        .map(|_| world.spawn_empty().id())
        .collect();

    let mut all_params = Vec::new();
    let mut param_counter = 0u64;
    for (i, (decl, info)) in graph.file.nodes.iter().zip(&graph.nodes).enumerate() {
        let mut params = Vec::with_capacity(info.params.len());
        for (pi, spec) in info.params.iter().enumerate() {
            let init = decl.init.get(spec.name).unwrap_or(&spec.init);
            let mut rng = Rng::derived(seed, param_counter);
            param_counter += 1;
            let value = init.tensor(&spec.shape, spec.fan_in, spec.fan_out, &mut rng);
            let mut entity = world.spawn((
                Param {
                    node: node_entities[i],
                    index: pi,
                    name: format!("{}.{}", decl.name, spec.name),
                    lr_mult: decl.lr_mult,
                },
                Value(value),
                Grad::default(),
                OptState::default(),
                UpdateStats::default(),
                GradStats::default(),
            ));
            if spec.kind == ParamKind::Buffer {
                entity.insert(Buffer);
            }
            if decl.frozen {
                entity.insert(Frozen);
            }
            params.push(entity.id());
        }
        all_params.extend_from_slice(&params);
        let sources = info
            .sources
            .iter()
            .map(|r| match *r {
                crate::graph::Ref::Input(k) => inputs[k],
                crate::graph::Ref::Node(k) => node_entities[k],
            })
            .collect();
        world.entity_mut(node_entities[i]).insert((
            Node {
                index: i,
                name: decl.name.clone(),
                op: decl.op.clone(),
                sources,
                params,
                depth: info.depth,
                is_loss: info.is_loss,
            },
            Value(Tensor::zeros(&[0])),
            SavedState::default(),
            ValueGrad::default(),
            ActStats::default(),
            StepGrads::default(),
        ));
    }

    world.insert_resource(Topology {
        buckets: graph
            .buckets
            .iter()
            .map(|b| b.iter().map(|&i| node_entities[i]).collect())
            .collect(),
        inputs,
        losses: graph.losses.iter().map(|&i| node_entities[i]).collect(),
        params: all_params,
        nodes: node_entities,
    });
    world.insert_resource(ActivePhase::default());
    world.insert_resource(Batch::default());
    world.insert_resource(Hyper {
        optimizer: training.optimizer.clone(),
        schedule: training.schedule.clone(),
        warmup_steps: training.warmup_steps,
        clip: training.clip.clone(),
        stats_every: training.stats_every,
        seed,
    });
    world.insert_resource(StepState::default());
    world.insert_resource(Profile::default());
    world.insert_resource(EventSink(None));
    world
}
