//! What every op implements and what the runtime hands it: [`Layer`], [`Ctx`], the
//! forward/backward results, parameter specs and the arity/parameter checks.

use crate::error::{Error, Result};
use crate::ops::Init;
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// What one op needs to know about the step it runs in.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    /// Train mode (batch statistics, dropout active) or eval mode.
    pub training: bool,
    /// Seed for this op's randomness in this step (dropout masks); the runtime derives it
    /// from (run seed, step, node) so runs are reproducible.
    pub seed: u64,
    /// Bit `i` set: backward must return input `i`'s gradient. A clear bit (a data input,
    /// whose gradient nobody reads) lets backward skip that work and return `None`.
    pub input_grads: u64,
    /// Statistics are due on this step: backward may report extras that cost a pass of
    /// their own (a recurrent op's per-step gradient norms, [`Backward::step_grad_norms`]).
    pub stats: bool,
}

impl Ctx {
    pub fn train(seed: u64) -> Self {
        Ctx {
            training: true,
            seed,
            input_grads: u64::MAX,
            stats: false,
        }
    }

    pub fn eval() -> Self {
        Ctx {
            training: false,
            seed: 0,
            input_grads: u64::MAX,
            stats: false,
        }
    }

    /// Whether backward must compute input `i`'s gradient.
    pub fn wants_input_grad(&self, i: usize) -> bool {
        i >= 64 || self.input_grads & (1 << i) != 0
    }
}

/// Trainable weight or non-trained buffer (BatchNorm running statistics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParamKind {
    Trainable,
    Buffer,
}

/// One parameter an op owns: its PyTorch name (`weight`, `bias`, `running_mean`), shape,
/// default initialisation and the fans that scale it.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    pub name: &'static str,
    pub shape: Vec<usize>,
    pub init: Init,
    pub fan_in: usize,
    pub fan_out: usize,
    pub kind: ParamKind,
}

impl ParamSpec {
    pub fn trainable(
        name: &'static str,
        shape: Vec<usize>,
        init: Init,
        fans: (usize, usize),
    ) -> Self {
        ParamSpec {
            name,
            shape,
            init,
            fan_in: fans.0,
            fan_out: fans.1,
            kind: ParamKind::Trainable,
        }
    }

    pub fn buffer(name: &'static str, shape: Vec<usize>, init: Init) -> Self {
        ParamSpec {
            name,
            shape,
            init,
            fan_in: 1,
            fan_out: 1,
            kind: ParamKind::Buffer,
        }
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// What forward keeps for backward, beyond the inputs and output (which the runtime keeps
/// anyway): e.g. MaxPool's argmax, Dropout's mask, BatchNorm's normalised input.
#[derive(Clone, Debug, Default)]
pub struct Saved {
    pub tensors: Vec<Tensor>,
    pub indices: Vec<u32>,
}

impl Saved {
    pub fn none() -> Self {
        Saved::default()
    }

    pub fn tensors(tensors: Vec<Tensor>) -> Self {
        Saved {
            tensors,
            indices: Vec::new(),
        }
    }

    /// Saved tensor `i`, or an error naming the op if forward did not keep it.
    pub fn tensor(&self, op: &str, i: usize) -> Result<&Tensor> {
        self.tensors
            .get(i)
            .ok_or_else(|| Error::Other(format!("{op}: backward called without forward state")))
    }
}

/// Output of a forward pass.
#[derive(Clone, Debug)]
pub struct Forward {
    pub output: Tensor,
    pub saved: Saved,
    /// New values for buffers, as (parameter index, value): BatchNorm's running statistics
    /// in train mode. The op never mutates its parameters itself.
    pub buffer_updates: Vec<(usize, Tensor)>,
}

impl Forward {
    pub fn new(output: Tensor, saved: Saved) -> Self {
        Forward {
            output,
            saved,
            buffer_updates: Vec::new(),
        }
    }

    pub fn output(output: Tensor) -> Self {
        Forward::new(output, Saved::none())
    }
}

/// Gradients from a backward pass: one per input (None for inputs with no gradient, such
/// as class-index targets) and one per parameter (None for buffers).
#[derive(Clone, Debug, Default)]
pub struct Backward {
    pub inputs: Vec<Option<Tensor>>,
    pub params: Vec<Option<Tensor>>,
    /// Recurrent ops, when [`Ctx::stats`] is set: per time step, the batch mean of
    /// ‖∂L/∂h_t‖, the total gradient reaching the top layer's output at `t` (from the
    /// output and back through time). Shows gradients vanishing through time.
    pub step_grad_norms: Option<Vec<f32>>,
}

impl Backward {
    /// The gradients of an op with no parameters: one per input.
    pub fn inputs(inputs: Vec<Option<Tensor>>) -> Self {
        Backward {
            inputs,
            params: Vec::new(),
            step_grad_norms: None,
        }
    }

    /// The gradient of a one-input op with no parameters.
    pub fn input(dx: Tensor) -> Self {
        Backward::inputs(vec![Some(dx)])
    }
}

/// The shapes of these tensors, for calling [`Layer::output_shape`] from forward/backward.
pub fn shapes<'a>(inputs: &[&'a Tensor]) -> Vec<&'a [usize]> {
    inputs.iter().map(|t| t.shape()).collect()
}

/// Checks that backward's incoming gradient has the output's shape.
pub fn check_grad_output(op: &str, grad_output: &Tensor, output: &[usize]) -> Result<()> {
    if grad_output.shape() != output {
        return Err(Error::shape_mismatch(
            op,
            "grad_output vs output",
            grad_output.shape(),
            output,
        ));
    }
    Ok(())
}

/// How many inputs an op takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    Exactly(usize),
    AtLeast(usize),
}

impl Arity {
    pub fn accepts(self, n: usize) -> bool {
        match self {
            Arity::Exactly(k) => n == k,
            Arity::AtLeast(k) => n >= k,
        }
    }
}

impl std::fmt::Display for Arity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arity::Exactly(k) => write!(f, "{k}"),
            Arity::AtLeast(k) => write!(f, "at least {k}"),
        }
    }
}

/// Palette grouping, as in Keras / Neural Network Console.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    Dense,
    Convolution,
    Pooling,
    Normalization,
    Activation,
    Shape,
    Merge,
    Regularization,
    Recurrent,
    Attention,
    Loss,
}

impl Category {
    pub fn label(self) -> &'static str {
        match self {
            Category::Dense => "Dense",
            Category::Convolution => "Convolution",
            Category::Pooling => "Pooling",
            Category::Normalization => "Normalization",
            Category::Activation => "Activation",
            Category::Shape => "Shape",
            Category::Merge => "Merge",
            Category::Regularization => "Regularization",
            Category::Recurrent => "Recurrent",
            Category::Attention => "Attention",
            Category::Loss => "Loss",
        }
    }
}

/// The behaviour every op implements. Shapes always include the batch dimension.
pub trait Layer {
    /// Number of inputs.
    fn arity(&self) -> Arity {
        Arity::Exactly(1)
    }

    /// Name of input port `i`, for error messages and the editor.
    fn input_name(&self, i: usize) -> String {
        default_input_name(self.arity(), i)
    }

    /// Whether forward draws random numbers from [`Ctx::seed`] (Dropout's masks).
    fn uses_seed(&self) -> bool {
        false
    }

    /// The output shape for these input shapes, or an error naming the op and shapes.
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>>;

    /// The parameters this op owns for these input shapes (empty for most ops).
    fn params(&self, _inputs: &[&[usize]]) -> Result<Vec<ParamSpec>> {
        Ok(Vec::new())
    }

    /// Elements forward keeps for backward at these input shapes, where the op knows better
    /// than its category's rule of thumb (the memory estimate uses it): a recurrent layer
    /// keeps every step's state.
    fn saved_numel(&self, _inputs: &[&[usize]]) -> Option<u128> {
        None
    }

    /// Forward FLOPs (multiply-adds count as 2) for one batch of these shapes.
    fn flops(&self, _inputs: &[&[usize]], output: &[usize]) -> u64 {
        output.iter().product::<usize>() as u64
    }

    fn forward(&self, ctx: &Ctx, inputs: &[&Tensor], params: &[&Tensor]) -> Result<Forward>;

    /// Gradients w.r.t. inputs and parameters, given dLoss/dOutput: what an op
    /// implements. Callers use [`Layer::backward`].
    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward>;

    /// [`Layer::backward_from`] with its arguments spelled out.
    fn backward(
        &self,
        ctx: &Ctx,
        inputs: &[&Tensor],
        params: &[&Tensor],
        forward: &Forward,
        grad_output: &Tensor,
    ) -> Result<Backward> {
        self.backward_from(BackwardArgs {
            ctx,
            inputs,
            params,
            forward,
            grad_output,
        })
    }
}

/// Checks the number of inputs against the op's arity.
pub fn check_arity(op: &str, arity: Arity, got: usize) -> Result<()> {
    if arity.accepts(got) {
        Ok(())
    } else {
        Err(Error::Arity {
            op: op.to_string(),
            expected: arity.to_string(),
            got,
        })
    }
}

/// The output shape of a one-input op whose output has its input's shape (norms,
/// attention, positional embeddings), once `check` accepts that input.
pub fn same_shape_output<T>(
    op: &str,
    arity: Arity,
    inputs: &[&[usize]],
    check: impl FnOnce(&[usize]) -> Result<T>,
) -> Result<Vec<usize>> {
    check_arity(op, arity, inputs.len())?;
    check(inputs[0])?;
    Ok(inputs[0].to_vec())
}

/// Checks that the op received exactly the parameters `specs` describes, by shape.
pub fn check_params(op: &str, specs: &[ParamSpec], params: &[&Tensor]) -> Result<()> {
    if specs.len() != params.len() {
        return Err(Error::param(
            op,
            "*",
            format!(
                "expected {} parameter(s), got {}",
                specs.len(),
                params.len()
            ),
        ));
    }
    for (spec, p) in specs.iter().zip(params) {
        if spec.shape != p.shape() {
            return Err(Error::param(
                op,
                spec.name,
                format!(
                    "expected shape {}, got {}",
                    crate::error::ShapeDisplay(spec.shape.clone()),
                    crate::error::ShapeDisplay(p.shape().to_vec())
                ),
            ));
        }
    }
    Ok(())
}

/// `input` for one-input ops, `input0`, `input1`, … otherwise.
pub fn default_input_name(arity: Arity, i: usize) -> String {
    match arity {
        Arity::Exactly(1) => "input".to_string(),
        _ => format!("input{i}"),
    }
}

/// An op whose [`Layer`] comes from its family's trait: pointwise activations
/// ([`Pointwise`](crate::ops::activation::Pointwise)), pair losses
/// ([`PairLoss`](crate::ops::loss::PairLoss)) and convolutions
/// ([`ConvKind`](crate::ops::conv::ConvKind)). Rust allows one blanket `Layer` impl only, so
/// the families share it: the op names its family here, and the family's
/// [`FamilyLayer`] impl is the op's `Layer`.
pub trait InFamily: Sized {
    type Family: FamilyLayer<Self>;
}

/// Makes each listed op a member of `$family`: its [`Layer`] is the family's. Each family's
/// `mod.rs` lists its members this way.
#[macro_export]
macro_rules! family {
    ($family:ty: $($op:ty),+ $(,)?) => {
        $( impl $crate::ops::InFamily for $op { type Family = $family; } )+
    };
}

/// [`Layer`]'s methods, written once per family for all of its members `T`.
pub trait FamilyLayer<T> {
    fn arity(_op: &T) -> Arity {
        Arity::Exactly(1)
    }

    fn input_name(op: &T, i: usize) -> String {
        default_input_name(Self::arity(op), i)
    }

    fn output_shape(op: &T, inputs: &[&[usize]]) -> Result<Vec<usize>>;

    fn params(_op: &T, _inputs: &[&[usize]]) -> Result<Vec<ParamSpec>> {
        Ok(Vec::new())
    }

    fn uses_seed(_op: &T) -> bool {
        false
    }

    fn saved_numel(_op: &T, _inputs: &[&[usize]]) -> Option<u128> {
        None
    }

    fn flops(op: &T, inputs: &[&[usize]], output: &[usize]) -> u64;

    fn forward(op: &T, ctx: &Ctx, inputs: &[&Tensor], params: &[&Tensor]) -> Result<Forward>;

    fn backward(op: &T, args: BackwardArgs<'_>) -> Result<Backward>;
}

/// [`Layer::backward`]'s arguments, bundled: what ops implement backward against.
#[derive(Clone, Copy)]
pub struct BackwardArgs<'a> {
    pub ctx: &'a Ctx,
    pub inputs: &'a [&'a Tensor],
    pub params: &'a [&'a Tensor],
    pub forward: &'a Forward,
    pub grad_output: &'a Tensor,
}

impl<'a> BackwardArgs<'a> {
    /// The inputs' shapes, once `grad_output` is checked to have the output shape `layer`
    /// gives for them (the error names `op`).
    pub fn checked_shapes(&self, op: &str, layer: &dyn Layer) -> Result<Vec<&'a [usize]>> {
        let shapes: Vec<&'a [usize]> = self.inputs.iter().map(|t| t.shape()).collect();
        check_grad_output(op, self.grad_output, &layer.output_shape(&shapes)?)?;
        Ok(shapes)
    }
}

impl<T: InFamily> Layer for T {
    fn arity(&self) -> Arity {
        T::Family::arity(self)
    }

    fn input_name(&self, i: usize) -> String {
        T::Family::input_name(self, i)
    }

    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        T::Family::output_shape(self, inputs)
    }

    fn params(&self, inputs: &[&[usize]]) -> Result<Vec<ParamSpec>> {
        T::Family::params(self, inputs)
    }

    fn uses_seed(&self) -> bool {
        T::Family::uses_seed(self)
    }

    fn saved_numel(&self, inputs: &[&[usize]]) -> Option<u128> {
        T::Family::saved_numel(self, inputs)
    }

    fn flops(&self, inputs: &[&[usize]], output: &[usize]) -> u64 {
        T::Family::flops(self, inputs, output)
    }

    fn forward(&self, ctx: &Ctx, inputs: &[&Tensor], params: &[&Tensor]) -> Result<Forward> {
        T::Family::forward(self, ctx, inputs, params)
    }

    fn backward_from(&self, args: BackwardArgs<'_>) -> Result<Backward> {
        T::Family::backward(self, args)
    }
}
