//! The graph file: RON, versioned, readable by hand, stable on save.
//!
//! ```ron
//! (
//!     version: 1,
//!     inputs: [(name: "x", shape: [2]), (name: "y", shape: [1], source: Labels)],
//!     nodes: [
//!         (name: "fc1", op: Linear(out_features: 8), inputs: ["x"]),
//!         (name: "act", op: Tanh(), inputs: ["fc1"]),
//!         (name: "fc2", op: Linear(out_features: 1), inputs: ["act"]),
//!         (name: "loss", op: MSELoss(), inputs: ["fc2", "y"]),
//!     ],
//! )
//! ```

use super::training::Training;
use crate::error::{Error, Result};
use crate::ops::{Init, Op};
use ron::extensions::Extensions;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// Which part of a dataset sample feeds a graph input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    /// The sample's features (images, vectors).
    #[default]
    Features,
    /// The sample's label: class index for classifiers, target values for regression.
    Labels,
    /// Standard normal noise drawn for every batch (PyTorch's `randn`): a generator's or
    /// a decoder's latent input. Reproducible: drawn from the run's seed and the step.
    Noise,
    /// Uniform noise in [0, 1) drawn for every batch (PyTorch's `rand`).
    UniformNoise,
    /// All ones (`torch.ones`): a constant target, e.g. a GAN's "real" labels.
    Ones,
    /// All zeros (`torch.zeros`): a GAN's "fake" labels.
    Zeros,
}

impl Source {
    /// Every source, in the order the editor offers them.
    pub const ALL: [Source; 6] = [
        Source::Features,
        Source::Labels,
        Source::Noise,
        Source::UniformNoise,
        Source::Ones,
        Source::Zeros,
    ];

    /// Whether hyphae makes the input (noise or a constant) rather than reading it from
    /// the data.
    pub fn is_noise(self) -> bool {
        !matches!(self, Source::Features | Source::Labels)
    }

    /// A batch of `batch` samples of this noise or constant with per-sample `shape`, drawn
    /// from `(seed, stream)`; None for the data sources.
    pub fn draw(
        self,
        batch: usize,
        shape: &[usize],
        seed: u64,
        stream: u64,
    ) -> Option<crate::tensor::Tensor> {
        let mut full = vec![batch];
        full.extend_from_slice(shape);
        let mut rng = crate::tensor::Rng::derived(seed, NOISE_STREAM ^ stream);
        match self {
            Source::Noise => Some(crate::tensor::Tensor::normal(&full, 0.0, 1.0, &mut rng)),
            Source::UniformNoise => Some(crate::tensor::Tensor::uniform(&full, 0.0, 1.0, &mut rng)),
            Source::Ones => Some(crate::tensor::Tensor::ones(&full)),
            Source::Zeros => Some(crate::tensor::Tensor::zeros(&full)),
            Source::Features | Source::Labels => None,
        }
    }
}

/// Stream id for noise inputs, apart from every other draw made from a run's seed.
const NOISE_STREAM: u64 = 0x4015_E000_0000_0000;

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// A named data input with its per-sample shape (no batch dimension).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputDecl {
    pub name: String,
    pub shape: Vec<usize>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub source: Source,
}

fn one() -> f32 {
    1.0
}

fn is_one(v: &f32) -> bool {
    *v == 1.0
}

/// A graph node: a unique name, an op with its config, and its inputs by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeDecl {
    pub name: String,
    pub op: Op,
    pub inputs: Vec<String>,
    /// Frozen nodes keep their parameters fixed during training.
    #[serde(default, skip_serializing_if = "is_default")]
    pub frozen: bool,
    /// Multiplies the learning rate for this node's parameters.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub lr_mult: f32,
    /// Per-parameter initialisation overrides, by parameter name (`weight`, `bias`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub init: BTreeMap<String, Init>,
}

impl NodeDecl {
    pub fn new(name: impl Into<String>, op: Op, inputs: &[&str]) -> Self {
        NodeDecl {
            name: name.into(),
            op,
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            frozen: false,
            lr_mult: 1.0,
            init: BTreeMap::new(),
        }
    }
}

/// A whole graph file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphFile {
    pub version: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub inputs: Vec<InputDecl>,
    pub nodes: Vec<NodeDecl>,
    #[serde(default)]
    pub training: Training,
    /// Editor positions of nodes, inputs and groups, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub layout: BTreeMap<String, (f32, f32)>,
    /// Editor groups: named sets of nodes, drawn as one node while collapsed. Presentation
    /// only: training ignores them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupDecl>,
}

/// A named set of nodes (and inputs) the editor can collapse into one box, whose position
/// is the group's entry in `layout`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupDecl {
    pub name: String,
    pub nodes: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub collapsed: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Default for GraphFile {
    fn default() -> Self {
        GraphFile {
            version: FORMAT_VERSION,
            description: String::new(),
            inputs: Vec::new(),
            nodes: Vec::new(),
            training: Training::default(),
            layout: BTreeMap::new(),
            groups: Vec::new(),
        }
    }
}

fn ron_options() -> ron::Options {
    // `Linear(out_features: 8)` instead of `Linear((out_features: 8))`, and `5` for `Some(5)`.
    ron::Options::default()
        .with_default_extension(Extensions::UNWRAP_VARIANT_NEWTYPES)
        .with_default_extension(Extensions::IMPLICIT_SOME)
}

/// A parse error with the position the parser knows.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl GraphFile {
    /// Parses RON text. `origin` names the file in errors (`graphs/x.ron:3:14: ...`).
    pub fn from_ron(text: &str, origin: &str) -> Result<GraphFile> {
        ron_options()
            .from_str::<GraphFile>(text)
            .map_err(|e| Error::File {
                path: format!("{origin}:{}:{}", e.span.start.line, e.span.start.col),
                why: e.code.to_string(),
            })
    }

    /// Reads and parses a graph file.
    pub fn load(path: &Path) -> Result<GraphFile> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::File {
            path: path.display().to_string(),
            why: format!("cannot read graph file: {e}"),
        })?;
        Self::from_ron(&text, &path.display().to_string())
    }

    /// Pretty RON text; load → save → load gives the same graph.
    pub fn to_ron(&self) -> Result<String> {
        let pretty = ron::ser::PrettyConfig::new()
            .struct_names(false)
            .separate_tuple_members(false)
            .depth_limit(2)
            .indentor("    ".to_string());
        let mut text = ron_options()
            .to_string_pretty(self, pretty)
            .map_err(|e| Error::Other(format!("cannot serialise graph: {e}")))?;
        text.push('\n');
        Ok(text)
    }

    /// Writes the file atomically: a temporary file in the same folder, then a rename, so
    /// a crash mid-write never leaves a half-written graph.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = self.to_ron()?;
        crate::util::write_atomic(path, text.as_bytes())
    }

    /// Position (1-based line, column) of `name: "<name>"` in the source text: where a
    /// node or input is declared. RON gives no spans for values, so errors about a named
    /// node find it here.
    pub fn find_declaration(text: &str, name: &str) -> Option<(usize, usize)> {
        let needle = format!("\"{name}\"");
        let mut from = 0;
        while let Some(off) = text[from..].find(&needle) {
            let at = from + off;
            let before = text[..at].trim_end();
            if let Some(b) = before.strip_suffix(':')
                && b.trim_end().ends_with("name")
            {
                return Some(line_col(text, at));
            }
            from = at + needle.len();
        }
        None
    }

    /// Position of the string `"<item>"` after the declaration of `node` (an input
    /// reference inside that node's `inputs` list).
    pub fn find_reference(text: &str, node: &str, item: &str) -> Option<(usize, usize)> {
        let (line, _) = Self::find_declaration(text, node)?;
        let start: usize = text
            .split_inclusive('\n')
            .take(line - 1)
            .map(str::len)
            .sum();
        let needle = format!("\"{item}\"");
        let rest = &text[start..];
        let inputs_at = rest.find("inputs")?;
        let off = rest[inputs_at..].find(&needle)?;
        Some(line_col(text, start + inputs_at + off))
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, col)
}

#[cfg(test)]
mod noise_tests {
    use super::Source;

    #[test]
    fn noise_follows_seed_and_stream_and_data_sources_draw_nothing() {
        let a = Source::Noise.draw(4, &[3], 1, 0).unwrap();
        assert_eq!(a.shape(), &[4, 3]);
        assert_eq!(a.data(), Source::Noise.draw(4, &[3], 1, 0).unwrap().data());
        assert_ne!(a.data(), Source::Noise.draw(4, &[3], 1, 1).unwrap().data());
        assert_ne!(a.data(), Source::Noise.draw(4, &[3], 2, 0).unwrap().data());
        let ones = Source::Ones.draw(3, &[2], 1, 0).unwrap();
        assert_eq!((ones.shape(), ones.data()), (&[3, 2][..], &[1.0; 6][..]));
        assert_eq!(Source::Zeros.draw(2, &[], 1, 0).unwrap().data(), &[0.0; 2]);
        assert!(Source::Ones.is_noise() && !Source::Labels.is_noise());
        let u = Source::UniformNoise.draw(100, &[], 1, 0).unwrap();
        assert!(u.data().iter().all(|v| (0.0..1.0).contains(v)));
        assert!(Source::Features.draw(4, &[3], 1, 0).is_none());
        assert!(Source::Labels.draw(4, &[3], 1, 0).is_none());
    }
}
