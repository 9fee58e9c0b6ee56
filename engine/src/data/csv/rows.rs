//! Raw rows for `hyphae predict --input rows.csv`: the feature columns a model was trained
//! on, found by name (or by position in a header-less file), standardised with the stored
//! training statistics.

use super::table::{self, Cell, err};
use super::{CsvOptions, options};
use crate::data::Preprocessing;
use crate::error::Result;
use crate::tensor::Tensor;
use std::path::Path;

/// The rows of `path` as standardised features `[N, F]`, and each row's line in the file.
/// A label column may be present or not; other columns are ignored when the file has a
/// header naming the model's features.
pub fn read_features(path: &Path, fitted: &Preprocessing) -> Result<(Tensor, Vec<u64>)> {
    let nf = fitted.mean.len();
    if nf == 0 {
        return Err(err(
            path,
            "the weights file records no tabular preprocessing (the model was not trained on a \
             CSV, or by a hyphae that did not keep it): pass the inputs as a safetensors file",
        ));
    }
    let mut opts = options(None, Some(fitted))?;
    opts.label = None;
    let table = table::read(
        path,
        &CsvOptions {
            drop: Vec::new(),
            ..opts
        },
    )?;
    let ncols = table.columns.len();
    let cols: Vec<usize> = match &table.names {
        Some(names) if !fitted.feature_names.is_empty() => {
            let missing: Vec<&str> = fitted
                .feature_names
                .iter()
                .filter(|f| !names.contains(f))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return Err(err(
                    path,
                    format!(
                        "no column(s) {} that the model takes; the header has: {}",
                        missing.join(", "),
                        names.join(", ")
                    ),
                ));
            }
            fitted
                .feature_names
                .iter()
                .filter_map(|f| names.iter().position(|n| n == f))
                .collect()
        }
        _ if ncols == fitted.source_columns => fitted.feature_columns.clone(),
        _ if ncols == nf => (0..nf).collect(),
        _ => {
            return Err(err(
                path,
                format!(
                    "{ncols} columns: the model takes {nf} features ({}), so give those {nf} \
                     columns, the training file's {} columns, or a header naming them",
                    if fitted.feature_names.is_empty() {
                        "unnamed".to_string()
                    } else {
                        fitted.feature_names.join(", ")
                    },
                    fitted.source_columns
                ),
            ));
        }
    };
    if table.rows() == 0 {
        return Err(err(path, "no rows to predict"));
    }
    let mut data = Vec::with_capacity(table.rows() * nf);
    let mut missing = Vec::new();
    for r in 0..table.rows() {
        for &c in &cols {
            let col = &table.columns[c];
            match col.cells[r] {
                Cell::Num(v) => data.push(v),
                Cell::Missing => {
                    missing.push(format!("line {} {}", table.lines[r], table.describe(c)));
                    data.push(f32::NAN);
                }
                cell @ Cell::Text(_) => {
                    return Err(err(
                        path,
                        format!(
                            "line {}, {}: `{}` is not a number",
                            table.lines[r],
                            table.describe(c),
                            col.text(cell).unwrap_or_default()
                        ),
                    ));
                }
            }
        }
    }
    if !missing.is_empty() && !fitted.fill_missing {
        let n = missing.len();
        missing.truncate(5);
        return Err(err(
            path,
            format!(
                "{n} missing value(s) ({}): the model was not trained with na=mean, so give \
                 every feature",
                missing.join(", ")
            ),
        ));
    }
    let mut features = Tensor::new(&[table.rows(), nf], data)?;
    fitted.standardise(&mut features)?;
    Ok((features, table.lines.clone()))
}
