//! A forward-only `Model` for inference: the graph plus shared parameters. It is
//! `Send + Sync`, holds no per-call state, so any number of threads can run it at once.

use crate::error::{Error, Result};
use crate::graph::{Ref, ValidGraph};
use crate::ops::Ctx;
use crate::tensor::{Rng, Tensor};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct Model {
    graph: Arc<ValidGraph>,
    /// Parameters in graph order (node order, then each op's order).
    params: Arc<Vec<Tensor>>,
}

impl Model {
    pub fn new(graph: Arc<ValidGraph>, params: Vec<Tensor>) -> Model {
        Model {
            graph,
            params: Arc::new(params),
        }
    }

    pub fn graph(&self) -> &ValidGraph {
        &self.graph
    }

    /// Runs the graph in eval mode on one tensor per data input (`[N, ...]`; inputs that
    /// only feed losses may be omitted by passing an empty tensor). Returns every node's
    /// output, in node order; loss nodes whose inputs are missing are skipped.
    pub fn forward_all(&self, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        self.forward_with(inputs, 0, &[])
    }

    /// [`Model::forward_all`] with the seed of the ops that draw (Reparameterize), and
    /// `overrides`: nodes (by index) whose output is the given tensor instead of their op's
    /// (a VAE's code replaced by draws from the prior, to decode samples).
    pub fn forward_with(
        &self,
        inputs: &[Tensor],
        seed: u64,
        overrides: &[(usize, Tensor)],
    ) -> Result<Vec<Option<Tensor>>> {
        let g = &*self.graph;
        if inputs.len() != g.file.inputs.len() {
            return Err(Error::Other(format!(
                "the model takes {} inputs, got {}",
                g.file.inputs.len(),
                inputs.len()
            )));
        }
        let mut offsets = Vec::with_capacity(g.nodes.len());
        let mut acc = 0;
        for n in &g.nodes {
            offsets.push(acc);
            acc += n.params.len();
        }
        let mut outputs: Vec<Option<Tensor>> = vec![None; g.nodes.len()];
        for bucket in &g.buckets {
            for &i in bucket {
                if let Some((_, t)) = overrides.iter().find(|(k, _)| *k == i) {
                    outputs[i] = Some(t.clone());
                    continue;
                }
                let info = &g.nodes[i];
                let ins: Option<Vec<&Tensor>> = info
                    .sources
                    .iter()
                    .map(|r| match *r {
                        Ref::Input(k) => inputs.get(k).filter(|t| t.numel() > 0),
                        Ref::Node(k) => outputs[k].as_ref(),
                    })
                    .collect();
                let Some(ins) = ins else { continue };
                let ps: Vec<&Tensor> = self.params[offsets[i]..offsets[i] + info.params.len()]
                    .iter()
                    .collect();
                let decl = &g.file.nodes[i];
                let ctx = Ctx {
                    seed: Rng::derived(seed, i as u64).next_u64(),
                    ..Ctx::eval()
                };
                let f = decl
                    .op
                    .layer()
                    .forward(&ctx, &ins, &ps)
                    .map_err(|e| e.in_node(&decl.name))?;
                outputs[i] = Some(f.output);
            }
        }
        Ok(outputs)
    }

    /// The output of the named node.
    pub fn predict(&self, inputs: &[Tensor], node: &str) -> Result<Tensor> {
        let idx = self
            .graph
            .node_index(node)
            .ok_or_else(|| Error::Other(format!("no node named `{node}`")))?;
        self.forward_all(inputs)?.swap_remove(idx).ok_or_else(|| {
            Error::Other(format!(
                "node `{node}` could not be computed from the given inputs"
            ))
        })
    }
}
