//! Composite ops made of other ops run one after another (`TransformerEncoderLayer` is
//! LayerNorm, MultiheadAttention, Dropout, Linear, … in sequence): [`Stage`]s run forward
//! with [`forward`], their records packed into one [`Saved`] by [`pack`], and run backward
//! with [`backward`]. Each stage's randomness (a Dropout mask) comes from its own seed
//! stream, so forward and backward agree and two stages never share a mask.

use crate::error::{Error, Result};
use crate::ops::{Backward, Ctx, Forward, Layer, Saved};
use crate::tensor::{Rng, Tensor};
use std::ops::Range;

/// One-input op inside a composite: the op and its parameters' indices among the
/// composite's parameters (empty for parameterless ops).
pub struct Stage<'a> {
    pub op: &'a dyn Layer,
    pub params: Range<usize>,
    /// Seed stream of this stage, unique within the composite.
    pub site: u64,
}

/// What forward kept of one stage: its input and its forward.
#[derive(Clone, Debug)]
pub struct Record {
    pub input: Tensor,
    pub forward: Forward,
}

impl Stage<'_> {
    fn ctx(&self, ctx: &Ctx) -> Ctx {
        Ctx {
            seed: Rng::derived(ctx.seed, self.site).next_u64(),
            input_grads: u64::MAX,
            ..*ctx
        }
    }
}

/// Runs `stages` on `x` in order, appending one record per stage; returns the last output.
pub fn forward(
    stages: &[Stage<'_>],
    ctx: &Ctx,
    mut x: Tensor,
    params: &[&Tensor],
    records: &mut Vec<Record>,
) -> Result<Tensor> {
    for s in stages {
        let f =
            s.op.forward(&s.ctx(ctx), &[&x], &params[s.params.clone()])?;
        let out = f.output.clone();
        records.push(Record {
            input: x,
            forward: f,
        });
        x = out;
    }
    Ok(x)
}

/// Backward through `stages` (whose records are the last `stages.len()` of `records`, which
/// it removes), from the gradient `g` of the last output: stores each stage's parameter
/// gradients in `grads` and returns the gradient of the first input.
pub fn backward(
    stages: &[Stage<'_>],
    ctx: &Ctx,
    records: &mut Vec<Record>,
    params: &[&Tensor],
    grads: &mut [Option<Tensor>],
    mut g: Tensor,
) -> Result<Tensor> {
    for s in stages.iter().rev() {
        let r = records
            .pop()
            .ok_or_else(|| Error::Other("backward called without forward state".into()))?;
        let b: Backward = s.op.backward(
            &s.ctx(ctx),
            &[&r.input],
            &params[s.params.clone()],
            &r.forward,
            &g,
        )?;
        for (slot, pg) in grads[s.params.clone()].iter_mut().zip(b.params) {
            *slot = pg;
        }
        g = b
            .inputs
            .into_iter()
            .next()
            .flatten()
            .ok_or_else(|| Error::Other("a stage returned no input gradient".into()))?;
    }
    Ok(g)
}

/// All records in one [`Saved`]: per record its input, output and saved tensors; the
/// indices start with a header (record count, then each record's tensor and index counts)
/// followed by every record's indices. Tensors share storage, so nothing is copied.
pub fn pack(records: Vec<Record>) -> Saved {
    let mut saved = Saved::none();
    saved.indices.push(records.len() as u32);
    for r in &records {
        saved.indices.push(r.forward.saved.tensors.len() as u32);
        saved.indices.push(r.forward.saved.indices.len() as u32);
    }
    for r in records {
        saved.tensors.push(r.input);
        saved.tensors.push(r.forward.output);
        saved.tensors.extend(r.forward.saved.tensors);
        saved.indices.extend(r.forward.saved.indices);
    }
    saved
}

/// The records [`pack`] stored.
pub fn unpack(saved: &Saved) -> Result<Vec<Record>> {
    let bad = || Error::Other("backward called with damaged forward state".into());
    let idx = &saved.indices;
    let count = *idx.first().ok_or_else(bad)? as usize;
    let header = idx.get(1..1 + 2 * count).ok_or_else(bad)?;
    let (mut t, mut i) = (0, 1 + 2 * count);
    let mut records = Vec::with_capacity(count);
    for counts in header.chunks_exact(2) {
        let (nt, ni) = (counts[0] as usize, counts[1] as usize);
        let tensors = saved.tensors.get(t..t + 2 + nt).ok_or_else(bad)?;
        let indices = idx.get(i..i + ni).ok_or_else(bad)?;
        records.push(Record {
            input: tensors[0].clone(),
            forward: Forward::new(
                tensors[1].clone(),
                Saved {
                    tensors: tensors[2..].to_vec(),
                    indices: indices.to_vec(),
                },
            ),
        });
        t += 2 + nt;
        i += ni;
    }
    Ok(records)
}
