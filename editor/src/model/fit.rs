//! Values the editor fills in for the user: label shapes a loss expects, config values
//! that fit a node's inputs, data inputs that fit the dataset.

use super::dataset::DatasetInfo;
use super::document::{Document, EMPTY_SLOT};
use super::layout;
use super::reflect::{self, Val};
use hyphae::graph::{GraphFile, InputDecl, Source};
use hyphae::ops::{Category, FieldSchema, Op};

/// Whether a loss takes class indices as its target (the prediction has a class dim).
fn takes_class_indices(op: &Op) -> bool {
    matches!(op, Op::CrossEntropyLoss(_))
}

/// The per-sample shape a Labels input should have: what the loss it feeds expects as
/// target (class indices `[]` for cross-entropy on `[C]` logits, the prediction's shape
/// for regression losses), else `[]` (class indices, the common case).
pub fn label_shape(doc: &Document, input: &str) -> Vec<usize> {
    for n in &doc.file.nodes {
        if n.op.category() != Category::Loss || n.inputs.get(1).map(String::as_str) != Some(input) {
            continue;
        }
        let pred = n
            .inputs
            .first()
            .and_then(|p| doc.inferred.get(p))
            .and_then(|i| i.sample_shape())
            .map(<[usize]>::to_vec);
        if let Some(pred) = pred {
            return if takes_class_indices(&n.op) {
                pred.get(1..).map(<[usize]>::to_vec).unwrap_or_default()
            } else {
                pred
            };
        }
    }
    Vec::new()
}

/// A value for the unset size `field` of `node` that makes the op accept the inputs it
/// has (`in_features` from the inferred input width, `num_features` from the channels,
/// `normalized_shape` from the last dimension): each dimension of the first input's shape
/// is tried, last first.
pub fn fitting_value(
    doc: &Document,
    node: &str,
    fields: &[(String, Val)],
    field: &FieldSchema,
) -> Option<Val> {
    let value = |d: usize| match field.ty {
        "uint" => Some(Val::Int(d as i64)),
        "[uint]" => Some(Val::List(vec![Val::Int(d as i64)])),
        _ => None,
    };
    value(1)?;
    let n = doc.node(node)?;
    let kind = n.op.kind();
    let shapes: Option<Vec<Vec<usize>>> = n
        .inputs
        .iter()
        .map(|i| doc.inferred.get(i).and_then(|x| x.shape.clone()))
        .collect();
    let shapes = shapes.filter(|s| !s.is_empty())?;
    let refs: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
    let sample = shapes[0].get(1..)?;
    sample.iter().rev().find_map(|&d| {
        let mut f = fields.to_vec();
        f.push((field.name.to_string(), value(d)?));
        let op = reflect::with_fields(kind, &f).ok()?;
        op.layer().output_shape(&refs).ok()?;
        value(d)
    })
}

/// Makes the graph's data inputs match `info`: the Features input takes the sample shape;
/// for classification a Labels input of the label shape feeds the loss's target, and the
/// Linear layer feeding a cross-entropy loss outputs one logit per class. Inputs that are
/// missing are added. Returns what changed, for the status line.
pub fn fit_to_dataset(f: &mut GraphFile, info: &DatasetInfo) -> Vec<String> {
    let mut done = Vec::new();
    let left = f
        .layout
        .values()
        .fold((0.0f32, 0.0f32), |(x, y), p| (x.min(p.0), y.min(p.1)));
    let features = match f.inputs.iter().position(|i| i.source == Source::Features) {
        Some(k) => k,
        None => {
            add_input(f, "x", Source::Features, (left.0 - 260.0, left.1));
            f.inputs.len() - 1
        }
    };
    if f.inputs[features].shape != info.sample_shape {
        f.inputs[features].shape = info.sample_shape.clone();
        done.push(format!(
            "`{}` takes {}",
            f.inputs[features].name,
            super::infer::shape_text(&info.sample_shape)
        ));
    }
    let Some(classes) = info.classes else {
        return done;
    };
    let labels = match f.inputs.iter().position(|i| i.source == Source::Labels) {
        Some(k) => k,
        None => {
            add_input(f, "label", Source::Labels, (left.0 - 260.0, left.1 + 200.0));
            done.push("added the Labels input `label`".into());
            f.inputs.len() - 1
        }
    };
    if f.inputs[labels].shape != info.label_shape {
        f.inputs[labels].shape = info.label_shape.clone();
        done.push(format!(
            "`{}` takes {}",
            f.inputs[labels].name,
            super::infer::shape_text(&info.label_shape)
        ));
    }
    let label_name = f.inputs[labels].name.clone();
    let mut last_layers = Vec::new();
    for n in f.nodes.iter_mut().filter(|n| takes_class_indices(&n.op)) {
        if n.inputs.get(1).is_none_or(|t| t == EMPTY_SLOT) {
            n.inputs
                .resize(1.max(n.inputs.len()), EMPTY_SLOT.to_string());
            n.inputs.truncate(1);
            n.inputs.push(label_name.clone());
            done.push(format!("`{label_name}` feeds `{}`", n.name));
        }
        last_layers.extend(n.inputs.first().cloned());
    }
    for n in f.nodes.iter_mut().filter(|n| last_layers.contains(&n.name)) {
        if let Op::Linear(l) = &mut n.op
            && l.out_features != classes
        {
            l.out_features = classes;
            done.push(format!("`{}` outputs {classes} classes", n.name));
        }
    }
    done
}

fn add_input(f: &mut GraphFile, base: &str, source: Source, want: (f32, f32)) {
    let taken =
        |n: &str| f.inputs.iter().any(|i| i.name == n) || f.nodes.iter().any(|x| x.name == n);
    let name = std::iter::once(base.to_string())
        .chain((2..).map(|k| format!("{base}{k}")))
        .find(|n| !taken(n))
        .unwrap_or_else(|| base.to_string());
    let pos = layout::free_spot(f, want, (190.0, 100.0));
    f.layout.insert(name.clone(), pos);
    f.inputs.push(InputDecl {
        name,
        shape: Vec::new(),
        source,
    });
}
