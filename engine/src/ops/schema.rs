//! The op schema: every op's name, category, one-line doc and config fields (name, type,
//! default or required, one-line doc), for `hyphae ops`, the editor's inspector and
//! anything else that shows or builds configs. Each op states its own next to its config
//! ([`Describe`]); a test checks every schema against what the graph-file format really
//! accepts, so the two cannot drift apart.

use super::Category;

/// One config field of an op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSchema {
    pub name: &'static str,
    /// The value's type as written in a graph file: `int`, `float`, `bool`, `size` (one
    /// int for both axes, or `(h, w)`), `[int]`, or the accepted strings (`"mean" | "sum"`).
    pub ty: &'static str,
    /// The value used when the field is left out, in graph-file syntax (`None` when
    /// leaving it out means "absent": inferred or unused); `None` here means required.
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

impl FieldSchema {
    /// A field every graph must give.
    pub const fn required(name: &'static str, ty: &'static str, doc: &'static str) -> Self {
        FieldSchema {
            name,
            ty,
            default: None,
            doc,
        }
    }

    /// A field that may be left out, taking `default`.
    pub const fn optional(
        name: &'static str,
        ty: &'static str,
        default: &'static str,
        doc: &'static str,
    ) -> Self {
        FieldSchema {
            name,
            ty,
            default: Some(default),
            doc,
        }
    }

    pub fn is_required(&self) -> bool {
        self.default.is_none()
    }
}

/// One op as graph files name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpSchema {
    /// The name graph files use (PyTorch's class name).
    pub name: &'static str,
    pub category: Category,
    /// What the op computes, in one line.
    pub doc: &'static str,
    pub fields: &'static [FieldSchema],
}

impl OpSchema {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&'static FieldSchema> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// An op's one-line doc and its config fields, stated next to its config struct.
pub trait Describe {
    const DOC: &'static str;
    const FIELDS: &'static [FieldSchema] = &[];
}

/// The `reduction` field every reducing loss has.
pub const REDUCTION: FieldSchema = FieldSchema::optional(
    "reduction",
    "\"mean\" | \"sum\"",
    "\"mean\"",
    "How the per-element terms become the scalar loss.",
);
