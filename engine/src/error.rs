//! The engine's error type. Every variant names what went wrong and where (op, node, file),
//! so a user can fix their graph or data without reading a backtrace.

use std::fmt;

/// A shape, printed the way people write it: `[64, 1, 28, 28]`.
#[derive(Clone, PartialEq, Eq)]
pub struct ShapeDisplay(pub Vec<usize>);

impl fmt::Debug for ShapeDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for ShapeDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, "]")
    }
}

impl From<&[usize]> for ShapeDisplay {
    fn from(s: &[usize]) -> Self {
        ShapeDisplay(s.to_vec())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Two shapes that must agree do not (e.g. matmul inner dimensions, Add operands).
    #[error("{op}: shape mismatch: {what}: {lhs} vs {rhs}")]
    ShapeMismatch {
        op: String,
        what: String,
        lhs: ShapeDisplay,
        rhs: ShapeDisplay,
    },
    /// A single input shape the op cannot accept (wrong rank, too small for the kernel, ...).
    #[error("{op}: bad input shape {shape}: {why}")]
    BadShape {
        op: String,
        shape: ShapeDisplay,
        why: String,
    },
    /// An op config that can never work (zero stride, channels not divisible by groups, ...).
    #[error("{op}: invalid config: {why}")]
    InvalidConfig { op: String, why: String },
    /// Wrong number of inputs wired to an op.
    #[error("{op}: expects {expected} input(s), got {got}")]
    Arity {
        op: String,
        expected: String,
        got: usize,
    },
    /// Wrong number or shape of parameters handed to an op (e.g. a bad weights file).
    #[error("{op}: parameter `{name}`: {why}")]
    Param {
        op: String,
        name: String,
        why: String,
    },
    /// A value the op cannot use (class index out of range, non-finite target, ...).
    #[error("{op}: invalid value: {why}")]
    InvalidValue { op: String, why: String },
    /// An error inside a named graph node: wraps the op-level error with the node's name.
    #[error("node `{node}`: {source}")]
    Node {
        node: String,
        #[source]
        source: Box<Error>,
    },
    /// Anything about a file: which file, and what.
    #[error("{path}: {why}")]
    File { path: String, why: String },
    /// Everything wrong with a graph, one problem per line.
    #[error("{}", .0.join("\n"))]
    Graph(Vec<String>),
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn shape_mismatch(
        op: impl Into<String>,
        what: impl Into<String>,
        lhs: &[usize],
        rhs: &[usize],
    ) -> Self {
        Error::ShapeMismatch {
            op: op.into(),
            what: what.into(),
            lhs: lhs.into(),
            rhs: rhs.into(),
        }
    }

    pub fn bad_shape(op: impl Into<String>, shape: &[usize], why: impl Into<String>) -> Self {
        Error::BadShape {
            op: op.into(),
            shape: shape.into(),
            why: why.into(),
        }
    }

    pub fn config(op: impl Into<String>, why: impl Into<String>) -> Self {
        Error::InvalidConfig {
            op: op.into(),
            why: why.into(),
        }
    }

    pub fn value(op: impl Into<String>, why: impl Into<String>) -> Self {
        Error::InvalidValue {
            op: op.into(),
            why: why.into(),
        }
    }

    pub fn param(op: impl Into<String>, name: impl Into<String>, why: impl Into<String>) -> Self {
        Error::Param {
            op: op.into(),
            name: name.into(),
            why: why.into(),
        }
    }

    /// Attach the name of the graph node this error happened in.
    pub fn in_node(self, node: impl Into<String>) -> Self {
        Error::Node {
            node: node.into(),
            source: Box::new(self),
        }
    }
}
