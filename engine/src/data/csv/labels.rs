//! The label column: classes or regression targets, decided from its values (or `task=`),
//! with a note whenever the choice is not obvious and the option that changes it.

use super::options::Task;
use super::table::{Cell, Table, err};
use crate::error::Result;
use std::collections::BTreeMap;
use std::path::Path;

/// An integer label column with more distinct values than this is a quantity (prices,
/// years), not classes, unless `task=classify` says otherwise.
pub const MAX_CLASSES: usize = 1000;

pub struct Labels {
    /// Class indices (classification) or targets (regression), one per row.
    pub values: Vec<f32>,
    /// Class names in index order; `None` for regression.
    pub classes: Option<Vec<String>>,
    pub note: Option<String>,
}

/// A label cell as the class name it stands for: numbers in their shortest form, so `1`,
/// `1.0` and ` 1` name one class.
fn name_of(table: &Table, col: usize, cell: Cell) -> Option<String> {
    match cell {
        Cell::Num(v) => Some(format!("{v}")),
        Cell::Text(_) => table.columns[col].text(cell).map(str::to_string),
        Cell::Missing => None,
    }
}

/// Decides the labels of `rows` (indices into the table; none has a missing label).
/// `known` are the class names of a trained model: labels map onto them, unknown ones are
/// an error.
pub fn decide(
    path: &Path,
    table: &Table,
    col: usize,
    rows: &[usize],
    task: Option<Task>,
    known: Option<&[String]>,
) -> Result<Labels> {
    let what = table.describe(col);
    let cells: Vec<Cell> = rows.iter().map(|&r| table.columns[col].cells[r]).collect();
    let first_text = rows
        .iter()
        .zip(&cells)
        .find(|(_, c)| matches!(c, Cell::Text(_)));
    if let Some(names) = known.filter(|k| !k.is_empty()) {
        let index: BTreeMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let mut values = Vec::with_capacity(rows.len());
        for (&r, &c) in rows.iter().zip(&cells) {
            let name = name_of(table, col, c).unwrap_or_default();
            let i = index.get(name.as_str()).ok_or_else(|| {
                err(
                    path,
                    format!(
                        "line {}, {what}: label `{name}` is not one of the model's classes ({})",
                        table.lines[r],
                        names.join(", ")
                    ),
                )
            })?;
            values.push(*i as f32);
        }
        return Ok(Labels {
            values,
            classes: Some(names.to_vec()),
            note: None,
        });
    }
    let regress = task == Some(Task::Regress) || known.is_some_and(<[String]>::is_empty);
    if regress {
        if let Some((&r, &c)) = first_text {
            return Err(err(
                path,
                format!(
                    "line {}, {what}: `{}` is not a number, and regression needs numeric labels \
                     (task=classify, or label= another column)",
                    table.lines[r],
                    name_of(table, col, c).unwrap_or_default()
                ),
            ));
        }
        return Ok(Labels {
            values: numbers(&cells),
            classes: None,
            note: None,
        });
    }
    let nums = numbers(&cells);
    let integers = first_text.is_none() && nums.iter().all(|v| v.fract() == 0.0);
    let mut distinct: Vec<f32> = nums.clone();
    distinct.sort_by(f32::total_cmp);
    distinct.dedup();
    let (lo, hi) = (
        distinct.first().copied().unwrap_or(0.0),
        distinct.last().copied().unwrap_or(0.0),
    );
    if first_text.is_none() && task != Some(Task::Classify) {
        if !integers {
            let example = nums
                .iter()
                .find(|v| v.fract() != 0.0)
                .copied()
                .unwrap_or(0.0);
            return Ok(Labels {
                values: nums,
                classes: None,
                note: Some(format!(
                    "label {what} holds non-integer numbers (e.g. {example}): a regression target \
                     (task=classify makes each distinct value a class)"
                )),
            });
        }
        if lo == 0.0 && hi < MAX_CLASSES as f32 {
            // 0-based class indices: kept as they are (a class absent from the file stays empty).
            let k = hi as usize + 1;
            let names = table
                .class_names
                .clone()
                .filter(|n| n.len() == k)
                .unwrap_or_else(|| (0..k).map(|i| i.to_string()).collect());
            let note = (k > 20)
                .then(|| format!("label {what}: {k} classes (task=regress if it is a quantity)"));
            return Ok(Labels {
                values: nums,
                classes: Some(names),
                note,
            });
        }
        if distinct.len() > 20 {
            return Ok(Labels {
                values: nums,
                classes: None,
                note: Some(format!(
                    "label {what} has {} distinct integers from {lo} to {hi}: a regression target \
                     (task=classify for classes)",
                    distinct.len()
                )),
            });
        }
    }
    // Classes by name: text labels, integers not starting at 0 (1-based, ±1) or task=classify.
    let mut names: Vec<String> = Vec::new();
    if first_text.is_none() {
        names.extend(distinct.iter().map(|v| format!("{v}")));
    } else {
        let mut set: Vec<String> = cells
            .iter()
            .filter_map(|&c| name_of(table, col, c))
            .collect();
        set.sort();
        set.dedup();
        names = set;
    }
    let index: BTreeMap<String, usize> = names
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, n)| (n, i))
        .collect();
    let values = cells
        .iter()
        .map(|&c| {
            name_of(table, col, c)
                .and_then(|n| index.get(&n))
                .copied()
                .unwrap_or(0) as f32
        })
        .collect();
    let shown = |names: &[String]| {
        let mut s = names.iter().take(8).cloned().collect::<Vec<_>>().join(", ");
        if names.len() > 8 {
            s.push_str(", …");
        }
        s
    };
    let note = if first_text.is_some() {
        format!("label {what}: {} classes ({})", names.len(), shown(&names))
    } else if lo == 1.0 && task != Some(Task::Classify) {
        format!(
            "label {what} runs from 1 ({} classes, no 0): the model numbers them from 0 \
             (`1` is output 0); eval and predict print the file's labels",
            names.len()
        )
    } else {
        format!(
            "label {what} has values {}: treated as {} classes (task=regress to predict the number)",
            shown(&names),
            names.len()
        )
    };
    Ok(Labels {
        values,
        classes: Some(names),
        note: Some(note),
    })
}

fn numbers(cells: &[Cell]) -> Vec<f32> {
    cells
        .iter()
        .map(|c| match c {
            Cell::Num(v) => *v,
            _ => f32::NAN,
        })
        .collect()
}
