//! Op configs as editable values, for the inspector. Which fields an op has, their types,
//! defaults and accepted names come from the engine's op schema (`Op::schema`); the values
//! themselves are edited in their RON form: [`Val`] is a small RON tree that keeps variant
//! names (which `ron::Value` drops). An edited tree is printed back to RON and
//! deserialized as the typed `Op`, so every edit is validated as typed.

use hyphae::graph::NodeDecl;
use hyphae::ops::{FieldSchema, Op};
use ron::extensions::Extensions;

/// One RON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A bare identifier: a unit enum variant (`HeUniform`) or `None`.
    Ident(String),
    /// `Name(...)` or `(...)`: a struct (named items) or a tuple (positional items).
    Call(Option<String>, Vec<(Option<String>, Val)>),
    List(Vec<Val>),
}

impl Val {
    /// The RON text of this value.
    pub fn to_ron(&self) -> String {
        match self {
            Val::Bool(b) => b.to_string(),
            Val::Int(i) => i.to_string(),
            Val::Float(f) => {
                let s = f.to_string();
                if s.contains(['.', 'e', 'E', 'i', 'N']) {
                    s
                } else {
                    format!("{s}.0")
                }
            }
            Val::Str(s) => format!("{s:?}"),
            Val::Ident(s) => s.clone(),
            Val::Call(name, items) => {
                let inner: Vec<String> = items
                    .iter()
                    .map(|(k, v)| match k {
                        Some(k) => format!("{k}: {}", v.to_ron()),
                        None => v.to_ron(),
                    })
                    .collect();
                format!("{}({})", name.as_deref().unwrap_or(""), inner.join(", "))
            }
            Val::List(items) => {
                let inner: Vec<String> = items.iter().map(Val::to_ron).collect();
                format!("[{}]", inner.join(", "))
            }
        }
    }
}

/// Parses the RON subset that serialised configs use.
pub fn parse(text: &str) -> Result<Val, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected text at {}", p.i));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && (self.s[self.i] as char).is_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn ident(&mut self) -> String {
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_')
        {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }

    fn items(&mut self, close: u8) -> Result<Vec<(Option<String>, Val)>, String> {
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Ok(items);
            }
            // `name: value` or a positional value.
            let save = self.i;
            let mut key = None;
            if self
                .peek()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
            {
                let id = self.ident();
                if self.eat(b':') {
                    key = Some(id);
                } else {
                    self.i = save;
                }
            }
            items.push((key, self.value()?));
            if !self.eat(b',') {
                if self.eat(close) {
                    return Ok(items);
                }
                return Err(format!("expected `,` or `{}` at {}", close as char, self.i));
            }
        }
    }

    fn value(&mut self) -> Result<Val, String> {
        match self.peek() {
            None => Err("unexpected end".into()),
            Some(b'(') => {
                self.i += 1;
                Ok(Val::Call(None, self.items(b')')?))
            }
            Some(b'[') => {
                self.i += 1;
                Ok(Val::List(
                    self.items(b']')?.into_iter().map(|(_, v)| v).collect(),
                ))
            }
            Some(b'"') => {
                self.i += 1;
                let start = self.i;
                while self.i < self.s.len() && self.s[self.i] != b'"' {
                    if self.s[self.i] == b'\\' {
                        self.i += 1;
                    }
                    self.i += 1;
                }
                let raw = String::from_utf8_lossy(&self.s[start..self.i.min(self.s.len())]);
                self.i += 1;
                ron::from_str::<String>(&format!("\"{raw}\""))
                    .map(Val::Str)
                    .map_err(|e| e.to_string())
            }
            Some(c) if c == b'-' || c == b'+' || c == b'.' || c.is_ascii_digit() => {
                let start = self.i;
                self.i += 1;
                while self.i < self.s.len()
                    && (self.s[self.i].is_ascii_alphanumeric() || b".+-_".contains(&self.s[self.i]))
                {
                    self.i += 1;
                }
                let t = String::from_utf8_lossy(&self.s[start..self.i]).replace('_', "");
                if let Ok(i) = t.parse::<i64>() {
                    Ok(Val::Int(i))
                } else {
                    t.parse::<f64>()
                        .map(Val::Float)
                        .map_err(|e| format!("{t}: {e}"))
                }
            }
            Some(_) => {
                let id = self.ident();
                if id.is_empty() {
                    return Err(format!("unexpected character at {}", self.i));
                }
                match id.as_str() {
                    "true" => return Ok(Val::Bool(true)),
                    "false" => return Ok(Val::Bool(false)),
                    "inf" | "NaN" => return Ok(Val::Float(id.parse().unwrap_or(f64::NAN))),
                    _ => {}
                }
                if self.peek() == Some(b'(') {
                    self.i += 1;
                    Ok(Val::Call(Some(id), self.items(b')')?))
                } else {
                    Ok(Val::Ident(id))
                }
            }
        }
    }
}

fn options() -> ron::Options {
    ron::Options::default()
        .with_default_extension(Extensions::UNWRAP_VARIANT_NEWTYPES)
        .with_default_extension(Extensions::IMPLICIT_SOME)
}

/// An op as RON text (`Linear(out_features: 10, bias: true)`).
pub fn op_to_ron(op: &Op) -> Result<String, String> {
    options().to_string(op).map_err(|e| e.to_string())
}

/// Deserializes an op from RON text, with the deserializer's message on failure.
pub fn op_from_ron(text: &str) -> Result<Op, String> {
    options()
        .from_str::<Op>(text)
        .map_err(|e| e.code.to_string())
}

/// The op as a tree: `Call(Some(kind), fields)`.
pub fn op_to_val(op: &Op) -> Result<Val, String> {
    parse(&op_to_ron(op)?)
}

pub fn op_from_val(v: &Val) -> Result<Op, String> {
    op_from_ron(&v.to_ron())
}

/// Builds the op with `fields` replaced, validating as the typed config.
pub fn with_fields(kind: &str, fields: &[(String, Val)]) -> Result<Op, String> {
    let v = Val::Call(
        Some(kind.to_string()),
        fields
            .iter()
            .map(|(k, v)| (Some(k.clone()), v.clone()))
            .collect(),
    );
    op_from_val(&v)
}

/// A plain first value of `field`'s type, for an absent field being switched on; the
/// typed config then judges it like any edit.
pub fn start_value(field: &FieldSchema) -> Val {
    match field.ty {
        "float" => Val::Float(1.0),
        "bool" => Val::Bool(false),
        ty if ty.starts_with('[') => Val::List(vec![Val::Int(1)]),
        _ => Val::Int(1),
    }
}

/// The node's `init` map as RON, for display.
pub fn init_text(node: &NodeDecl) -> String {
    node.init
        .iter()
        .map(|(k, v)| format!("{k}: {}", options().to_string(v).unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The config fields of `op` that differ from the op's defaults, one per line (what the
/// canvas shows on a node).
pub fn short_config(op: &Op) -> Option<String> {
    let fields = |op: &Op| match op_to_val(op) {
        Ok(Val::Call(_, items)) => items,
        _ => Vec::new(),
    };
    let defaults = Op::all_defaults()
        .into_iter()
        .find(|d| d.kind() == op.kind())
        .map(|d| fields(&d))
        .unwrap_or_default();
    let lines: Vec<String> = fields(op)
        .into_iter()
        .filter(|item| !defaults.contains(item))
        .map(|(k, v)| match k {
            Some(k) => format!("{k}: {}", v.to_ron()),
            None => v.to_ron(),
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}
