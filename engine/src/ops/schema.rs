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
    /// The value's type as written in a graph file: `uint` (a count or index, never
    /// negative), `int` (may be negative: a dimension counted from the end), `float`,
    /// `bool`, `size` (one uint for both axes, or `(h, w)`), `[int]`, `[uint]`, or the
    /// accepted names (`mean | sum`).
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

    /// Whether leaving the field out means "absent" (inferred or unused) rather than a
    /// value: such a field can be switched off.
    pub fn is_absent_by_default(&self) -> bool {
        self.default == Some("None")
    }

    /// The accepted names of a field that takes one of a few (`mean | sum`).
    pub fn variants(&self) -> Option<Vec<&'static str>> {
        self.ty
            .contains(" | ")
            .then(|| self.ty.split(" | ").collect())
    }

    /// Whether a negative number is a valid value.
    pub fn accepts_negative(&self) -> bool {
        matches!(self.ty, "int" | "[int]" | "float")
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
    "mean | sum",
    "mean",
    "How the per-element terms become the scalar loss.",
);

#[cfg(test)]
mod tests {
    use crate::ops::{Op, schema};
    use ron::extensions::Extensions;

    fn options() -> ron::Options {
        ron::Options::default()
            .with_default_extension(Extensions::IMPLICIT_SOME)
            .with_default_extension(Extensions::UNWRAP_VARIANT_NEWTYPES)
    }

    /// A valid value for a required field of this type.
    fn example(ty: &str) -> &'static str {
        match ty {
            "[int]" => "[-1]",
            "[uint]" => "[1]",
            "size" => "1",
            _ => "2",
        }
    }

    /// `(field, value)` of a serialized `Name(a: 1, b: (2, 3))`, split at top-level commas.
    fn fields_of(text: &str) -> Vec<(String, String)> {
        let inner = &text[text.find('(').map_or(text.len(), |i| i + 1)..text.len() - 1];
        let (mut out, mut depth, mut start) = (Vec::new(), 0, 0);
        let bytes = inner.as_bytes();
        for i in 0..=bytes.len() {
            match bytes.get(i) {
                Some(b'(' | b'[') => depth += 1,
                Some(b')' | b']') => depth -= 1,
                Some(b',') | None if depth == 0 => {
                    let part = inner[start..i].trim();
                    if let Some((k, v)) = part.split_once(':') {
                        out.push((k.trim().to_string(), v.trim().to_string()));
                    }
                    start = i + 1;
                }
                _ => {}
            }
        }
        out
    }

    fn value(text: &str) -> ron::Value {
        ron::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// Every schema says exactly what the graph-file format accepts: the same field names,
    /// required fields required, and each optional field's default the value a config gets
    /// when the field is left out.
    #[test]
    fn schema_matches_the_graph_format() {
        assert_eq!(schema().len(), Op::all_defaults().len());
        for s in schema() {
            // field names, from the format's own unknown-field error
            let err = options()
                .from_str::<Op>(&format!("{}(zzz_unknown: 1)", s.name))
                .unwrap_err()
                .to_string();
            let mut named: Vec<&str> = err
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|t| *t != "zzz_unknown" && !t.starts_with(char::is_uppercase))
                .collect();
            let mut declared: Vec<&str> = s.fields.iter().map(|f| f.name).collect();
            named.sort_unstable();
            declared.sort_unstable();
            assert_eq!(named, declared, "{}: {err}", s.name);
            // required fields alone make a valid config; leaving any one out does not
            let required: Vec<_> = s.fields.iter().filter(|f| f.is_required()).collect();
            let with = |skip: Option<&str>| {
                let given: Vec<String> = required
                    .iter()
                    .filter(|f| Some(f.name) != skip)
                    .map(|f| format!("{}: {}", f.name, example(f.ty)))
                    .collect();
                options().from_str::<Op>(&format!("{}({})", s.name, given.join(", ")))
            };
            let op = with(None).unwrap_or_else(|e| panic!("{}: {e}", s.name));
            assert_eq!(op.schema(), s);
            for f in &required {
                assert!(
                    with(Some(f.name)).is_err(),
                    "{}.{} required",
                    s.name,
                    f.name
                );
            }
            // types: a negative number is accepted exactly where the type says so
            for f in s.fields.iter().filter(|f| f.ty.contains("int")) {
                let others: Vec<String> = required
                    .iter()
                    .filter(|r| r.name != f.name)
                    .map(|r| format!("{}: {}", r.name, example(r.ty)))
                    .collect();
                let negative = if f.ty.starts_with('[') { "[-1]" } else { "-1" };
                let mut given = others;
                given.push(format!("{}: {negative}", f.name));
                let text = format!("{}({})", s.name, given.join(", "));
                assert_eq!(
                    options().from_str::<Op>(&text).is_ok(),
                    f.accepts_negative(),
                    "{text}"
                );
            }
            // defaults: the serialized config holds each optional field's default
            let text = options().to_string(&op).unwrap();
            let got = fields_of(&text);
            for f in s.fields.iter().filter(|f| !f.is_required()) {
                let v = got.iter().find(|(k, _)| k == f.name).map(|(_, v)| v);
                match (f.default, v) {
                    (Some("None"), None) => {}
                    // names (`mean`) compare as written, numbers by value (`1e-5`)
                    (Some(d), Some(v)) if d == v || value(d) == value(v) => {
                        assert!(
                            value(d) != ron::Value::Unit || d == v,
                            "{}.{}",
                            s.name,
                            f.name
                        )
                    }
                    (d, v) => panic!("{}.{}: default {d:?}, serialized {v:?}", s.name, f.name),
                }
            }
        }
    }
}
