//! The layer-op library: one file per op.
//!
//! Every op is a stateless function of (config, parameters, inputs): it states its output
//! shape, the parameters it owns (with PyTorch names, layouts and default initialisation),
//! computes forward, and computes backward from what forward chose to keep in [`Saved`].
//! The [`Op`] enum, which RON graph files (de)serialize, is the registry: adding an op is
//! one file plus one line in the `registry!` list below.
//!
//! Conventions: every shape includes the batch dimension first (`[N, C, H, W]` for images,
//! `[N, F]` for features); losses reduce to a scalar `[]` with PyTorch's default `mean`.

pub mod gradcheck;
pub mod init;

pub mod adaptive_avg_pool2d;
pub mod add;
pub mod avg_pool2d;
pub mod batch_norm1d;
pub mod batch_norm2d;
pub mod bce_with_logits;
pub mod concat;
pub mod conv2d;
pub mod conv_transpose2d;
pub mod cross_entropy;
pub mod dropout;
pub mod elu;
pub mod embedding;
pub mod flatten;
pub mod gaussian_kl;
pub mod gelu;
pub mod l1_loss;
pub mod layer_norm;
pub mod leaky_relu;
pub mod linear;
pub mod log_softmax;
pub mod max_pool2d;
pub mod mse_loss;
pub mod mul;
pub mod pixel_shuffle;
pub mod relu;
pub mod reshape;
pub mod sigmoid;
pub mod silu;
pub mod smooth_l1_loss;
pub mod softmax;
pub mod tanh;

pub use init::Init;

use crate::error::{Error, Result};
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
}

impl Ctx {
    pub fn train(seed: u64) -> Self {
        Ctx {
            training: true,
            seed,
            input_grads: u64::MAX,
        }
    }

    pub fn eval() -> Self {
        Ctx {
            training: false,
            seed: 0,
            input_grads: u64::MAX,
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
        match self.arity() {
            Arity::Exactly(1) => "input".to_string(),
            _ => format!("input{i}"),
        }
    }

    /// The output shape for these input shapes, or an error naming the op and shapes.
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>>;

    /// The parameters this op owns for these input shapes (empty for most ops).
    fn params(&self, _inputs: &[&[usize]]) -> Result<Vec<ParamSpec>> {
        Ok(Vec::new())
    }

    /// Forward FLOPs (multiply-adds count as 2) for one batch of these shapes.
    fn flops(&self, _inputs: &[&[usize]], output: &[usize]) -> u64 {
        output.iter().product::<usize>() as u64
    }

    /// Whether forward draws random numbers from `Ctx::seed` (the runtime derives one only then).
    fn uses_seed(&self) -> bool {
        false
    }

    fn forward(&self, ctx: &Ctx, inputs: &[&Tensor], params: &[&Tensor]) -> Result<Forward>;

    /// Gradients w.r.t. inputs and parameters, given dLoss/dOutput.
    fn backward(
        &self,
        ctx: &Ctx,
        inputs: &[&Tensor],
        params: &[&Tensor],
        forward: &Forward,
        grad_output: &Tensor,
    ) -> Result<Backward>;
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

/// A kernel size, stride, padding or dilation: one number for both axes, or `(h, w)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Size2 {
    Square(usize),
    Rect(usize, usize),
}

impl Size2 {
    pub fn h(self) -> usize {
        match self {
            Size2::Square(s) | Size2::Rect(s, _) => s,
        }
    }

    pub fn w(self) -> usize {
        match self {
            Size2::Square(s) | Size2::Rect(_, s) => s,
        }
    }
}

impl Default for Size2 {
    fn default() -> Self {
        Size2::Square(1)
    }
}

macro_rules! registry {
    ($( $variant:ident = $name:literal : $module:ident :: $ty:ident, $cat:ident; )*) => {
        /// Every op, with its config. This is what a graph file names.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        pub enum Op {
            $( #[serde(rename = $name)] $variant($module::$ty), )*
        }

        impl Op {
            /// The op's behaviour.
            pub fn layer(&self) -> &dyn Layer {
                match self { $( Op::$variant(c) => c, )* }
            }

            /// The name users write in graph files (PyTorch's class name).
            pub fn kind(&self) -> &'static str {
                match self { $( Op::$variant(_) => $name, )* }
            }

            pub fn category(&self) -> Category {
                match self { $( Op::$variant(_) => Category::$cat, )* }
            }

            /// One instance of every op with its default config (palette, `hyphae ops`).
            pub fn all_defaults() -> Vec<Op> {
                vec![ $( Op::$variant($module::$ty::default()), )* ]
            }
        }
    };
}

registry! {
    Linear = "Linear": linear::Linear, Dense;
    Embedding = "Embedding": embedding::Embedding, Dense;
    Conv2d = "Conv2d": conv2d::Conv2d, Convolution;
    ConvTranspose2d = "ConvTranspose2d": conv_transpose2d::ConvTranspose2d, Convolution;
    MaxPool2d = "MaxPool2d": max_pool2d::MaxPool2d, Pooling;
    AvgPool2d = "AvgPool2d": avg_pool2d::AvgPool2d, Pooling;
    AdaptiveAvgPool2d = "AdaptiveAvgPool2d": adaptive_avg_pool2d::AdaptiveAvgPool2d, Pooling;
    BatchNorm1d = "BatchNorm1d": batch_norm1d::BatchNorm1d, Normalization;
    BatchNorm2d = "BatchNorm2d": batch_norm2d::BatchNorm2d, Normalization;
    LayerNorm = "LayerNorm": layer_norm::LayerNorm, Normalization;
    Dropout = "Dropout": dropout::Dropout, Regularization;
    Relu = "ReLU": relu::Relu, Activation;
    LeakyRelu = "LeakyReLU": leaky_relu::LeakyRelu, Activation;
    Elu = "ELU": elu::Elu, Activation;
    Gelu = "GELU": gelu::Gelu, Activation;
    Silu = "SiLU": silu::Silu, Activation;
    Sigmoid = "Sigmoid": sigmoid::Sigmoid, Activation;
    Tanh = "Tanh": tanh::Tanh, Activation;
    Softmax = "Softmax": softmax::Softmax, Activation;
    LogSoftmax = "LogSoftmax": log_softmax::LogSoftmax, Activation;
    Flatten = "Flatten": flatten::Flatten, Shape;
    Reshape = "Reshape": reshape::Reshape, Shape;
    PixelShuffle = "PixelShuffle": pixel_shuffle::PixelShuffle, Shape;
    Add = "Add": add::Add, Merge;
    Mul = "Mul": mul::Mul, Merge;
    Concat = "Concat": concat::Concat, Merge;
    MseLoss = "MSELoss": mse_loss::MseLoss, Loss;
    L1Loss = "L1Loss": l1_loss::L1Loss, Loss;
    SmoothL1Loss = "SmoothL1Loss": smooth_l1_loss::SmoothL1Loss, Loss;
    CrossEntropyLoss = "CrossEntropyLoss": cross_entropy::CrossEntropyLoss, Loss;
    BceWithLogitsLoss = "BCEWithLogitsLoss": bce_with_logits::BceWithLogitsLoss, Loss;
    GaussianKlLoss = "GaussianKLLoss": gaussian_kl::GaussianKlLoss, Loss;
}
