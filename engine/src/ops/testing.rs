//! The op test helpers: central finite-difference gradient checking (used by every op's
//! tests and by the whole-graph checks of the runtime), seeded inputs, error assertions.
//!
//! The scalar under test is `L = Σ rᵢ·yᵢ` with fixed random weights `r`, accumulated in
//! f64, so every output element contributes with a different weight and a backward that
//! mixes up elements, drops a factor or transposes a matrix cannot pass.

use super::ParamKind;

// What an op's tests need besides the op: `use crate::ops::testing::*;`.
pub use super::{Ctx, Layer};
pub use crate::tensor::{Rng, Tensor};

/// Settings for a finite-difference check. The defaults suit f32 ops with O(1) values.
#[derive(Clone, Debug)]
pub struct GradCheck {
    /// Step for the central difference.
    pub eps: f32,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance (on the larger of the two gradient magnitudes).
    pub rtol: f64,
    /// At most this many elements are probed per tensor (chosen at random, seeded).
    pub max_elems: usize,
    pub seed: u64,
}

impl Default for GradCheck {
    fn default() -> Self {
        GradCheck {
            eps: 1e-2,
            atol: 2e-3,
            rtol: 2e-2,
            max_elems: 64,
            seed: 0,
        }
    }
}

/// Where a probed tensor sits in the op's arguments.
#[derive(Clone, Copy)]
enum Slot {
    Input(usize),
    Param(usize),
}

/// The weighted output sum `Σ rᵢ·yᵢ` in f64.
fn weighted_sum(y: &Tensor, r: &Tensor) -> f64 {
    y.data()
        .iter()
        .zip(r.data())
        .map(|(&a, &b)| a as f64 * b as f64)
        .sum()
}

impl GradCheck {
    /// Checks `layer`'s backward against finite differences for every input whose flag in
    /// `diff_inputs` is true and every trainable parameter. Returns a description of the
    /// first mismatch, or how many elements were compared.
    pub fn check(
        &self,
        layer: &dyn Layer,
        ctx: &Ctx,
        inputs: &[Tensor],
        params: &[Tensor],
        diff_inputs: &[bool],
    ) -> Result<usize, String> {
        let in_refs: Vec<&Tensor> = inputs.iter().collect();
        let p_refs: Vec<&Tensor> = params.iter().collect();
        let shapes: Vec<&[usize]> = inputs.iter().map(|t| t.shape()).collect();
        let specs = layer.params(&shapes).map_err(|e| e.to_string())?;
        let fwd = layer
            .forward(ctx, &in_refs, &p_refs)
            .map_err(|e| format!("forward failed: {e}"))?;
        let mut rng = Rng::seed(self.seed ^ 0x5eed);
        let r = Tensor::normal(fwd.output.shape(), 0.0, 1.0, &mut rng);
        let bwd = layer
            .backward(ctx, &in_refs, &p_refs, &fwd, &r)
            .map_err(|e| format!("backward failed: {e}"))?;
        if bwd.inputs.len() != inputs.len() || bwd.params.len() != params.len() {
            return Err(format!(
                "backward returned {} input and {} param gradients for {} inputs and {} params",
                bwd.inputs.len(),
                bwd.params.len(),
                inputs.len(),
                params.len()
            ));
        }

        let loss_with = |inputs: &[Tensor], params: &[Tensor]| -> Result<f64, String> {
            let i: Vec<&Tensor> = inputs.iter().collect();
            let p: Vec<&Tensor> = params.iter().collect();
            let f = layer.forward(ctx, &i, &p).map_err(|e| e.to_string())?;
            Ok(weighted_sum(&f.output, &r))
        };

        // What is probed: the flagged inputs and the trainable parameters, each with its
        // analytic gradient and a way to put a probe in its place.
        let mut probed: Vec<(String, &Tensor, Option<&Tensor>, Slot)> = Vec::new();
        for (ii, input) in inputs.iter().enumerate() {
            if diff_inputs.get(ii).copied().unwrap_or(false) {
                let slot = Slot::Input(ii);
                probed.push((format!("input {ii}"), input, bwd.inputs[ii].as_ref(), slot));
            }
        }
        for (pi, param) in params.iter().enumerate() {
            if specs.get(pi).is_none_or(|s| s.kind == ParamKind::Trainable) {
                let name = format!("parameter {}", specs.get(pi).map_or("?", |s| s.name));
                probed.push((name, param, bwd.params[pi].as_ref(), Slot::Param(pi)));
            }
        }
        let mut compared = 0;
        for (what, value, analytic, slot) in probed {
            let analytic = analytic.ok_or_else(|| format!("no gradient returned for {what}"))?;
            compared += self.compare(&what, value, analytic, |probe| {
                let (mut ins, mut ps) = (inputs.to_vec(), params.to_vec());
                match slot {
                    Slot::Input(i) => ins[i] = probe,
                    Slot::Param(i) => ps[i] = probe,
                }
                loss_with(&ins, &ps)
            })?;
        }
        Ok(compared)
    }

    fn compare(
        &self,
        what: &str,
        x: &Tensor,
        analytic: &Tensor,
        loss: impl Fn(Tensor) -> Result<f64, String>,
    ) -> Result<usize, String> {
        if analytic.shape() != x.shape() {
            return Err(format!(
                "{what}: gradient shape {:?} differs from value shape {:?}",
                analytic.shape(),
                x.shape()
            ));
        }
        let n = x.numel();
        let mut idx: Vec<usize> = (0..n).collect();
        if n > self.max_elems {
            Rng::seed(self.seed).shuffle(&mut idx);
            idx.truncate(self.max_elems);
        }
        for &i in &idx {
            let orig = x.data()[i];
            let mut plus = x.clone();
            plus.data_mut()[i] = orig + self.eps;
            let mut minus = x.clone();
            minus.data_mut()[i] = orig - self.eps;
            let h = (plus.data()[i] as f64) - (minus.data()[i] as f64);
            let numeric = (loss(plus)? - loss(minus)?) / h;
            let a = analytic.data()[i] as f64;
            let tol = self.atol + self.rtol * a.abs().max(numeric.abs());
            let within = (a - numeric).abs() <= tol; // false for NaN too
            if !within {
                return Err(format!(
                    "{what}, element {i} of {:?}: analytic {a:.6} vs numeric {numeric:.6}",
                    x.shape()
                ));
            }
        }
        Ok(idx.len())
    }
}

/// A seeded N(0,1) tensor (test inputs).
pub fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::normal(shape, 0.0, 1.0, &mut Rng::seed(seed))
}

/// Checks `layer`'s gradients for every input (and parameter) with the default settings.
pub fn check_all_inputs(layer: &dyn Layer, ctx: &Ctx, inputs: &[Tensor], params: &[Tensor]) {
    check_case("gradient check", layer, ctx, inputs, params);
}

/// The message of the shape error `layer` gives for these input shapes.
pub fn shape_error(layer: &dyn Layer, shapes: &[&[usize]]) -> String {
    match layer.output_shape(shapes) {
        Ok(out) => panic!("{shapes:?} accepted, giving {out:?}"),
        Err(e) => e.to_string(),
    }
}

/// PyTorch parity of `op` on fixture `tests/fixtures/<family>/<name>.safetensors`, made by
/// that folder's `make_fixtures.py`: the module's state_dict under PyTorch's names, `input`,
/// `output`, the weights `R` of the loss `sum(output * R)` and `grad.input`,
/// `grad.<param>`. Asserts outputs and input/parameter gradients agree within 1e-4 relative
/// to each reference's largest magnitude, and returns the worst error.
pub fn pytorch_parity(family: &str, name: &str, op: &dyn Layer) -> f32 {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(family)
        .join(format!("{name}.safetensors"));
    let ck = crate::train::checkpoint::Checkpoint::load(&path).unwrap();
    let get = |n: &str| {
        ck.get(n)
            .unwrap_or_else(|| panic!("{name}: no `{n}`"))
            .clone()
    };
    let x = get("input");
    let specs = op.params(&[x.shape()]).unwrap();
    let params: Vec<Tensor> = specs.iter().map(|s| get(s.name)).collect();
    let p: Vec<&Tensor> = params.iter().collect();
    let ctx = Ctx::train(0);
    let fwd = op.forward(&ctx, &[&x], &p).unwrap();
    let bwd = op.backward(&ctx, &[&x], &p, &fwd, &get("R")).unwrap();
    let rel = |got: &Tensor, want: &Tensor, what: &str| {
        assert_eq!(got.shape(), want.shape(), "{name} {what}");
        got.max_abs_diff(want).unwrap() / want.data().iter().fold(1e-6f32, |m, v| m.max(v.abs()))
    };
    let mut worst = rel(&fwd.output, &get("output"), "output");
    let dx = bwd.inputs[0].as_ref().expect("an input gradient");
    worst = worst.max(rel(dx, &get("grad.input"), "input grad"));
    for (s, g) in specs.iter().zip(&bwd.params) {
        let g = g.as_ref().expect("a parameter gradient");
        worst = worst.max(rel(g, &get(&format!("grad.{}", s.name)), s.name));
    }
    assert!(worst < 1e-4, "{name}: max relative error {worst}");
    worst
}

/// A seeded tensor uniform in `[lo, hi)` (inputs confined to an op's domain).
pub fn uniform(shape: &[usize], seed: u64, lo: f32, hi: f32) -> Tensor {
    Tensor::uniform(shape, lo, hi, &mut Rng::seed(seed))
}

/// Asserts `got` matches `want` (PyTorch literals) within `tol`, relative to magnitudes
/// above 1 and absolute below.
pub fn assert_close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * w.abs().max(1.0),
            "element {i}: {g} vs {w} (got {got:?})"
        );
    }
}

/// A seeded N(0,1) tensor with every |x| ≥ `gap`: inputs for ops with a kink at 0 (ReLU,
/// L1, MaxPool ties), so a finite difference never straddles it.
pub fn randn_away_from_zero(shape: &[usize], seed: u64, gap: f32) -> Tensor {
    randn(shape, seed).map(move |x| {
        if x.abs() < gap {
            x.signum() * gap + x
        } else {
            x
        }
    })
}

/// Params for `layer` at these input shapes, from their default init (seeded).
pub fn default_params(layer: &dyn Layer, inputs: &[&[usize]], seed: u64) -> Vec<Tensor> {
    let mut rng = Rng::seed(seed);
    match layer.params(inputs) {
        Ok(specs) => specs
            .iter()
            .map(|s| s.init.tensor(&s.shape, s.fan_in, s.fan_out, &mut rng))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Distinct values spaced 0.1 apart in random order: no near-ties for the checker.
pub fn distinct(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut v: Vec<f32> = (0..n).map(|i| (i as f32 - n as f32 / 2.0) * 0.1).collect();
    Rng::seed(seed).shuffle(&mut v);
    Tensor::new(shape, v).unwrap()
}

/// Asserts that an error message mentions every one of `parts` (the op, a port, the
/// shapes), printing the message if not.
pub fn assert_mentions(err: &str, parts: &[&str]) {
    for part in parts {
        assert!(err.contains(part), "{part:?} missing from: {err}");
    }
}

/// `layer`'s eval-mode output for the input `0, 1, 2, …` of `shape` (PyTorch's
/// `torch.arange(n).reshape(shape)`), the input of the shape ops' literal tests.
pub fn forward_arange(layer: &dyn Layer, shape: &[usize]) -> Tensor {
    let x = Tensor::from_fn(shape, |i| i as f32);
    match layer.forward(&Ctx::eval(), &[&x], &[]) {
        Ok(f) => f.output,
        Err(e) => panic!("forward on {shape:?}: {e}"),
    }
}

/// Asserts that `layer` refuses each of `cases` (input shapes) with an error mentioning
/// every one of its parts.
pub fn assert_shape_errors(layer: &dyn Layer, cases: &[(&[&[usize]], &[&str])]) {
    for (shapes, parts) in cases {
        assert_mentions(&shape_error(layer, shapes), parts);
    }
}

/// The message of the error `layer`'s forward (in eval mode) gives for these inputs and
/// parameters.
pub fn forward_error(layer: &dyn Layer, inputs: &[&Tensor], params: &[&Tensor]) -> String {
    match layer.forward(&Ctx::eval(), inputs, params) {
        Ok(f) => panic!("forward accepted, giving {:?}", f.output.shape()),
        Err(e) => e.to_string(),
    }
}

/// Asserts `got` matches `want` within `tol` absolute, whatever the magnitudes (the
/// stricter check, for references known to a fixed number of decimals).
pub fn assert_close_abs(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "element {i}: got {g}, want {w}");
    }
}

/// Asserts a two-input loss's value (training mode) and the gradients of both inputs
/// against PyTorch's literals, within `tol` (as [`assert_close`]).
pub fn assert_loss_literals(
    loss: &dyn Layer,
    inputs: [&Tensor; 2],
    value: f32,
    grads: [&[f32]; 2],
    tol: f32,
) {
    let ctx = Ctx::train(0);
    let fwd = loss.forward(&ctx, &inputs, &[]).expect("forward");
    assert_close(fwd.output.data(), &[value], tol);
    let bwd = loss
        .backward(&ctx, &inputs, &[], &fwd, &Tensor::scalar(1.0))
        .expect("backward");
    for (i, want) in grads.iter().enumerate() {
        let got = bwd.inputs[i].as_ref().expect("an input gradient");
        assert_close(got.data(), want, tol);
    }
}

/// Checks a one-input op's gradients (its input and parameters) in training and in eval
/// mode, where normalisations take different paths; `what` names the case on failure.
pub fn check_in_train_and_eval(layer: &dyn Layer, x: &Tensor, params: &[Tensor], what: &str) {
    for ctx in [Ctx::train(0), Ctx::eval()] {
        let inputs = std::slice::from_ref(x);
        if let Err(e) = GradCheck::default().check(layer, &ctx, inputs, params, &[true]) {
            panic!("{what} {ctx:?}: {e}");
        }
    }
}

/// [`check_all_inputs`] naming the case a test's loop is at in the failure message.
/// Returns how many elements were compared.
pub fn check_case(
    what: &str,
    layer: &dyn Layer,
    ctx: &Ctx,
    inputs: &[Tensor],
    params: &[Tensor],
) -> usize {
    let all = vec![true; inputs.len()];
    match GradCheck::default().check(layer, ctx, inputs, params, &all) {
        Ok(n) => n,
        Err(e) => panic!("{what}: {e}"),
    }
}
