//! How much memory one training step of a graph needs at its batch size, estimated at
//! validation so that a graph too big for the machine is an error that says why (and which
//! tensors are to blame) instead of an allocation abort minutes into a run.
//!
//! The estimate counts, in f32 bytes: parameters and buffers; a gradient for every trainable
//! parameter; the optimizer's state (SGD momentum 1×, Adam/AdamW 2×, RMSprop 1–2×); every
//! node's output and output gradient for a batch; what backward keeps (one output-sized
//! tensor for activations, normalisation, pooling and dropout, one input-sized tensor for
//! losses); and a convolution's im2col workspace. It is an estimate (within about 2× of the
//! real peak), made to catch absurd graphs, not to budget the last megabyte. All arithmetic
//! saturates in `u128`, so even a 10¹⁸-wide layer gives an estimate, not an overflow.

use super::format::GraphFile;
use super::validate::{GraphError, ValidGraph};
use crate::graph::Optimizer;
use crate::ops::{Category, ParamKind};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes per tensor element (every tensor is f32).
const F32: u128 = 4;

/// Share of the machine's memory a graph may need by default: what is left covers the
/// dataset, the program and the rest of the machine.
const DEFAULT_SHARE: (u64, u64) = (3, 4);

/// The limit when the machine's memory cannot be read (no `/proc/meminfo`).
const FALLBACK_LIMIT: u64 = 16 << 30;

/// The environment variable that sets the limit (`--memory-limit` wins over it).
pub const LIMIT_ENV: &str = "HYPHAE_MEMORY_LIMIT";

/// How many of the biggest tensors an over-limit error names.
const SHOWN: usize = 3;

/// One tensor of the estimate, for naming the biggest.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorNeed {
    pub node: String,
    /// `weight`, `output`, `saved for backward`, `im2col workspace`, ...
    pub what: String,
    pub shape: Vec<usize>,
    pub bytes: u128,
}

/// A training step's estimated memory need, by kind, in bytes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemoryEstimate {
    pub batch_size: usize,
    pub parameters: u128,
    pub gradients: u128,
    pub optimizer_state: u128,
    /// Data inputs and node outputs for one batch.
    pub activations: u128,
    /// Node output gradients for one batch.
    pub activation_grads: u128,
    /// What backward keeps, and convolution workspaces.
    pub saved: u128,
    /// The biggest single tensors, largest first.
    pub largest: Vec<TensorNeed>,
}

impl MemoryEstimate {
    /// Estimates `graph`'s need at its file's batch size (at least 1).
    pub fn of(graph: &ValidGraph) -> Self {
        let file = &graph.file;
        let batch = file.training.batch_size.max(1);
        let b = batch as u128;
        let states = optimizer_states(&file.training.optimizer);
        let mut est = MemoryEstimate {
            batch_size: batch,
            ..Self::default()
        };
        let mut tensors = Vec::new();
        for input in &file.inputs {
            let bytes = numel(&input.shape).saturating_mul(b).saturating_mul(F32);
            est.activations = est.activations.saturating_add(bytes);
            tensors.push(need(&input.name, "batch", &input.shape, batch, bytes));
        }
        for (decl, info) in file.nodes.iter().zip(&graph.nodes) {
            for p in &info.params {
                let bytes = numel(&p.shape).saturating_mul(F32);
                est.parameters = est.parameters.saturating_add(bytes);
                if p.kind == ParamKind::Trainable && !decl.frozen {
                    est.gradients = est.gradients.saturating_add(bytes);
                    est.optimizer_state = est
                        .optimizer_state
                        .saturating_add(bytes.saturating_mul(states));
                }
                tensors.push(TensorNeed {
                    node: decl.name.clone(),
                    what: p.name.to_string(),
                    shape: p.shape.clone(),
                    bytes,
                });
            }
            // Shapes are inferred for a batch of one: scale by the batch, except a loss's `[]`.
            let scale = if info.is_loss { 1 } else { b };
            let out = numel(&info.shape).saturating_mul(scale).saturating_mul(F32);
            est.activations = est.activations.saturating_add(out);
            est.activation_grads = est.activation_grads.saturating_add(out);
            tensors.push(need(&decl.name, "output", info.sample_shape(), batch, out));
            let in_shapes: Vec<&[usize]> = info
                .sources
                .iter()
                .map(|r| input_shape(graph, *r))
                .collect();
            let with_batch: Vec<Vec<usize>> =
                in_shapes.iter().map(|s| [&[1][..], *s].concat()).collect();
            let with_batch: Vec<&[usize]> = with_batch.iter().map(Vec::as_slice).collect();
            let op_saved = decl.op.layer().saved_numel(&with_batch);
            let saved = match decl.op.category() {
                _ if op_saved.is_some() => {
                    op_saved.unwrap_or(0).saturating_mul(b).saturating_mul(F32)
                }
                Category::Loss => in_shapes
                    .iter()
                    .map(|s| numel(s))
                    .max()
                    .unwrap_or(0)
                    .saturating_mul(b)
                    .saturating_mul(F32),
                Category::Activation
                | Category::Normalization
                | Category::Pooling
                | Category::Regularization
                | Category::Recurrent
                | Category::Attention => out,
                Category::Convolution => conv_workspace(info, &in_shapes),
                Category::Dense | Category::Shape | Category::Merge => 0,
            };
            est.saved = est.saved.saturating_add(saved);
            if saved > 0 {
                tensors.push(TensorNeed {
                    node: decl.name.clone(),
                    what: "saved for backward".into(),
                    shape: Vec::new(),
                    bytes: saved,
                });
            }
        }
        tensors.sort_by_key(|t| std::cmp::Reverse(t.bytes));
        tensors.truncate(SHOWN);
        est.largest = tensors;
        est
    }

    /// Every kind together.
    pub fn total(&self) -> u128 {
        [
            self.parameters,
            self.gradients,
            self.optimizer_state,
            self.activations,
            self.activation_grads,
            self.saved,
        ]
        .into_iter()
        .fold(0, u128::saturating_add)
    }

    /// `12.3 MiB at batch size 32 (parameters ..., ...)`.
    pub fn describe(&self) -> String {
        format!(
            "{} at batch size {} (parameters {}, gradients {}, optimizer state {}, \
             activations {}, activation gradients {}, saved for backward {})",
            human_bytes(self.total()),
            self.batch_size,
            human_bytes(self.parameters),
            human_bytes(self.gradients),
            human_bytes(self.optimizer_state),
            human_bytes(self.activations),
            human_bytes(self.activation_grads),
            human_bytes(self.saved),
        )
    }
}

impl ValidGraph {
    /// The estimated memory need of one training step at the file's batch size.
    pub fn memory_estimate(&self) -> MemoryEstimate {
        MemoryEstimate::of(self)
    }

    /// Errors when the estimate is over the limit ([`limit`]): run again after changing the
    /// batch size (a command-line override happens after validation).
    pub fn check_memory(&self) -> crate::error::Result<()> {
        check(self, None).map_err(|e| crate::error::Error::Graph(vec![e.to_string()]))
    }
}

/// Validation's memory check: the estimate against [`limit`], or an error stating the
/// estimate and the biggest tensors, placed at the biggest tensor's node.
pub fn check(graph: &ValidGraph, text: Option<&str>) -> Result<(), GraphError> {
    match limit() {
        Ok(l) => check_against(graph, text, l),
        Err(why) => Err(GraphError {
            origin: graph.origin.clone(),
            position: None,
            node: None,
            port: None,
            message: why,
        }),
    }
}

/// [`check`] with an explicit limit in bytes.
pub fn check_against(graph: &ValidGraph, text: Option<&str>, limit: u64) -> Result<(), GraphError> {
    let est = MemoryEstimate::of(graph);
    if est.total() <= u128::from(limit) {
        return Ok(());
    }
    let biggest: Vec<String> = est
        .largest
        .iter()
        .map(|t| {
            let shape = if t.shape.is_empty() {
                String::new()
            } else {
                format!(" {}", crate::error::ShapeDisplay(t.shape.clone()))
            };
            format!("`{}` {}{shape} {}", t.node, t.what, human_bytes(t.bytes))
        })
        .collect();
    let node = est.largest.first().map(|t| t.node.clone());
    Err(GraphError {
        origin: graph.origin.clone(),
        position: node
            .as_deref()
            .and_then(|n| text.and_then(|t| GraphFile::find_declaration(t, n))),
        node,
        port: None,
        message: format!(
            "estimated memory need {} is over the limit of {} (set it with --memory-limit \
             or {LIMIT_ENV}); biggest tensors: {}",
            est.describe(),
            human_bytes(u128::from(limit)),
            biggest.join(", ")
        ),
    })
}

/// Most elements one sample of a data input may have (2³², 16 GiB of f32). Larger inputs
/// are refused before shape inference, whose per-op arithmetic assumes counts that fit.
pub const MAX_INPUT_ELEMENTS: u128 = 1 << 32;

/// Why a data input's per-sample shape is too large, if it is.
pub fn oversized_input(shape: &[usize]) -> Option<String> {
    let n = numel(shape);
    (n > MAX_INPUT_ELEMENTS).then(|| {
        format!(
            "input shape {} has {} elements per sample, more than the {MAX_INPUT_ELEMENTS} \
             hyphae accepts",
            crate::error::ShapeDisplay(shape.to_vec()),
            if n == u128::MAX {
                "too many".to_string()
            } else {
                n.to_string()
            }
        )
    })
}

/// A saturating element count.
fn numel(shape: &[usize]) -> u128 {
    shape
        .iter()
        .fold(1u128, |n, &d| n.saturating_mul(d as u128))
}

/// A batch tensor: the per-sample shape with the batch in front.
fn need(node: &str, what: &str, sample: &[usize], batch: usize, bytes: u128) -> TensorNeed {
    let mut shape = vec![batch];
    shape.extend_from_slice(sample);
    TensorNeed {
        node: node.to_string(),
        what: what.to_string(),
        shape,
        bytes,
    }
}

/// The shape (batch of one) that feeds a node from `r`.
fn input_shape(graph: &ValidGraph, r: super::Ref) -> &[usize] {
    match r {
        super::Ref::Input(k) => graph.file.inputs.get(k).map_or(&[], |d| &d.shape),
        super::Ref::Node(k) => graph.nodes.get(k).map_or(&[], |n| n.sample_shape()),
    }
}

/// A convolution's im2col buffer: one column per kernel tap and input channel of a group
/// (the weight's size over its first dimension) for every spatial position of the larger of
/// input and output (a transposed convolution works on the input's positions).
fn conv_workspace(info: &super::NodeInfo, in_shapes: &[&[usize]]) -> u128 {
    let Some(w) = info.params.first().filter(|p| !p.shape.is_empty()) else {
        return 0;
    };
    let taps = numel(&w.shape) / (w.shape[0].max(1) as u128);
    let positions = |sample: &[usize]| numel(sample.get(1..).unwrap_or(&[]));
    let out = positions(info.sample_shape());
    let inp = in_shapes.first().map_or(0, |s| positions(s));
    taps.saturating_mul(out.max(inp)).saturating_mul(F32)
}

/// Tensors of optimizer state per trainable parameter (the moving average included).
fn optimizer_states(opt: &Optimizer) -> u128 {
    let moments = match *opt {
        Optimizer::Sgd { momentum, .. } => u128::from(momentum != 0.0),
        Optimizer::Adam { .. } | Optimizer::AdamW { .. } => 2,
        Optimizer::RmsProp { momentum, .. } => 1 + u128::from(momentum > 0.0),
    };
    moments + u128::from(opt.ema_momentum().is_some())
}

/// The limit set by `--memory-limit` (0: not set).
static LIMIT: AtomicU64 = AtomicU64::new(0);

/// Sets the limit for this process (the command line's `--memory-limit`).
pub fn set_limit(bytes: u64) {
    LIMIT.store(bytes.max(1), Ordering::Relaxed);
}

/// The memory limit in bytes: `--memory-limit`, else `HYPHAE_MEMORY_LIMIT`, else 3/4 of the
/// machine's memory (16 GiB where it cannot be read). An unreadable variable is an error.
pub fn limit() -> Result<u64, String> {
    let set = LIMIT.load(Ordering::Relaxed);
    if set > 0 {
        return Ok(set);
    }
    static DEFAULT: OnceLock<Result<u64, String>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| match std::env::var(LIMIT_ENV) {
            Ok(v) => parse_size(&v).map_err(|e| format!("{LIMIT_ENV}=`{v}`: {e}")),
            Err(_) => {
                Ok(machine_memory()
                    .map_or(FALLBACK_LIMIT, |m| m / DEFAULT_SHARE.1 * DEFAULT_SHARE.0))
            }
        })
        .clone()
}

/// `MemTotal` from `/proc/meminfo`, in bytes.
fn machine_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// A size such as `512M`, `1.5G`, `16GiB` or `1000000` (bytes); units are binary
/// (K = 1024) and case-insensitive; `off` means no limit.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("off") {
        return Ok(u64::MAX);
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a size such as 512M or 16G"))?;
    let power = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 1,
        "m" | "mb" | "mib" => 2,
        "g" | "gb" | "gib" => 3,
        "t" | "tb" | "tib" => 4,
        "p" | "pb" | "pib" => 5,
        other => return Err(format!("unknown unit `{other}` (use K, M, G, T or P)")),
    };
    let bytes = value * 1024f64.powi(power);
    if !(bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("`{s}` is not a size between 1 byte and 16 EiB"));
    }
    Ok(bytes as u64)
}

/// Bytes with a binary unit: `1.5 GiB`.
pub fn human_bytes(bytes: u128) -> String {
    const UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(nodes: &str, training: &str) -> ValidGraph {
        let text = format!(
            "(version: 1, inputs: [(name: \"x\", shape: [1, 4, 4]), \
             (name: \"y\", shape: [], source: Labels)], nodes: [{nodes}], training: ({training}))"
        );
        ValidGraph::from_ron(&text, "t.ron").unwrap_or_else(|e| panic!("{e}"))
    }

    const MLP: &str = "(name: \"flat\", op: Flatten(), inputs: [\"x\"]), \
        (name: \"fc\", op: Linear(out_features: 3), inputs: [\"flat\"]), \
        (name: \"loss\", op: CrossEntropyLoss(), inputs: [\"fc\", \"y\"])";

    #[test]
    fn counts_every_kind_exactly_for_a_small_mlp() {
        let g = graph(MLP, "batch_size: 10, optimizer: Adam(lr: 0.1)");
        let e = g.memory_estimate();
        // fc: weight [3, 16] + bias [3] = 51 floats; gradients the same; Adam keeps 2 more.
        assert_eq!(e.parameters, 51 * 4);
        assert_eq!(e.gradients, 51 * 4);
        assert_eq!(e.optimizer_state, 2 * 51 * 4);
        // inputs x (10·16) and y (10); outputs flat (10·16), fc (10·3), loss (1)
        assert_eq!(e.activations, (160 + 10 + 160 + 30 + 1) * 4);
        assert_eq!(e.activation_grads, (160 + 30 + 1) * 4);
        // the loss keeps its input's probabilities (10·3)
        assert_eq!(e.saved, 30 * 4);
        assert_eq!(e.largest[0].node, "x");
        assert!(g.check_memory().is_ok());
    }

    /// A recurrent layer keeps every step's state: x [1, 4, 4] is 4 steps of 4 features;
    /// LSTM(hidden 2) keeps its input (16), h of 5 states (10) and 4 steps of 6·2 cache.
    #[test]
    fn a_recurrent_layer_counts_every_step() {
        let nodes = "(name: \"rows\", op: Reshape(shape: [4, 4]), inputs: [\"x\"]), \
            (name: \"lstm\", op: LSTM(hidden_size: 2), inputs: [\"rows\"]), \
            (name: \"last\", op: Select(), inputs: [\"lstm\"]), \
            (name: \"loss\", op: CrossEntropyLoss(), inputs: [\"last\", \"y\"])";
        let e = graph(nodes, "batch_size: 10").memory_estimate();
        // + the loss's probabilities (10·2)
        assert_eq!(e.saved, (10 * (16 + 10 + 48) + 20) * 4);
    }

    #[test]
    fn over_the_limit_names_the_biggest_tensors_and_their_node() {
        let g = graph(MLP, "batch_size: 10");
        let err = check_against(&g, None, 100).unwrap_err();
        assert_eq!(err.node.as_deref(), Some("x"));
        let msg = err.to_string();
        for part in [
            "estimated memory need",
            "over the limit of 100 B",
            "`x` batch [10, 1, 4, 4] 640 B",
            "--memory-limit",
        ] {
            assert!(msg.contains(part), "{part}: {msg}");
        }
    }

    #[test]
    fn a_huge_linear_is_an_estimate_not_an_overflow() {
        for out in ["1000000000000", "4611686018427387904"] {
            let nodes = format!(
                "(name: \"flat\", op: Flatten(), inputs: [\"x\"]), \
                 (name: \"fc\", op: Linear(out_features: {out}), inputs: [\"flat\"])"
            );
            let text = format!(
                "(version: 1, inputs: [(name: \"x\", shape: [1, 1, 1])], nodes: [{nodes}])"
            );
            let err = ValidGraph::from_ron(&text, "huge.ron")
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("node `fc`") && err.contains("`fc` weight"),
                "{err}"
            );
        }
    }

    #[test]
    fn oversized_inputs_are_refused_before_shape_inference() {
        for shape in [
            "[1, 9007199254740993, 28]",
            "[3, 6, 18446744073709551615]",
            "[65536, 65537]",
        ] {
            let text = format!(
                "(version: 1, inputs: [(name: \"x\", shape: {shape})], \
                 nodes: [(name: \"f\", op: Flatten(), inputs: [\"x\"])])"
            );
            let err = ValidGraph::from_ron(&text, "big.ron")
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("node `x`") && err.contains("elements per sample"),
                "{err}"
            );
        }
        assert!(oversized_input(&[65536, 65536]).is_none());
    }

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("2K"), Ok(2048));
        assert_eq!(parse_size("1.5 GiB"), Ok(3 << 29));
        assert_eq!(parse_size("16g"), Ok(16 << 30));
        assert_eq!(parse_size("off"), Ok(u64::MAX));
        for bad in ["", "0", "-1G", "1X", "nan", "1e400", "100000P", "G"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
        assert_eq!(human_bytes(u128::MAX).split(' ').nth(1), Some("YiB"));
    }
}
