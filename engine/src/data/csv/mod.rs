//! Tabular data from a CSV file (plain or gzip): numeric feature columns and one label
//! column, which may hold class names.
//!
//! `csv:FILE[:label=COL,sep=;,header=yes|no|auto,drop=a,b,na=error|drop|mean,task=classify|regress]`.
//! `table` reads the file (BOM, delimiter, header, trailing delimiters), `labels`
//! decides classes or regression, and this file picks the columns, handles missing values,
//! cuts the train/validation split and standardises with training-split statistics. Every
//! choice made without an option is reported in the split's notes, with the option that
//! changes it.

mod labels;
mod options;
mod rows;
mod table;

pub use labels::MAX_CLASSES;
pub use options::{CsvOptions, Header, Missing, Task};
pub use rows::read_features;

use super::preprocess::Preprocessing;
use super::{Dataset, Split, column_stats};
use crate::error::Result;
use crate::tensor::Tensor;
use std::path::Path;
use table::{Cell, Table, err};

/// Shuffle stream id for the train/valid cut.
const CSV_STREAM: u64 = 0x4353_5620;
/// Missing values listed by position in an error (the rest are counted).
const SHOWN_MISSING: usize = 5;

/// Splits `FILE[:options]` into the file and its options (the part after the last `:`
/// when it holds a `key=value`).
pub fn split_spec(rest: &str) -> (&str, Option<&str>) {
    match rest.rsplit_once(':') {
        Some((file, opts)) if opts.contains('=') && !file.is_empty() => (file, Some(opts)),
        _ => (rest, None),
    }
}

/// Options of `rest`, with any left unset taken from the spec a model was trained on, so
/// a separate test file is read the way the training file was.
fn options(rest: Option<&str>, fitted: Option<&Preprocessing>) -> Result<CsvOptions> {
    let mut o = CsvOptions::parse(rest.unwrap_or(""))?;
    let trained = fitted
        .and_then(|f| f.spec.strip_prefix("csv:"))
        .and_then(|s| split_spec(s).1)
        .map(CsvOptions::parse)
        .transpose()?;
    if let Some(t) = trained {
        o.label = o.label.or(t.label);
        o.sep = o.sep.or(t.sep);
        o.task = o.task.or(t.task);
        if o.header == Header::Auto {
            o.header = t.header;
        }
        if o.drop.is_empty() {
            o.drop = t.drop;
        }
        if o.missing == Missing::Error {
            o.missing = t.missing;
        }
    }
    Ok(o)
}

/// Loads `FILE[:options]`, cut 80/20 by a seeded shuffle. With `fitted` (a trained model's
/// preprocessing), features are standardised with its statistics and labels named by its
/// classes instead of being fitted afresh.
pub(crate) fn load(rest: &str, seed: u64, fitted: Option<&Preprocessing>) -> Result<Split> {
    let (file, opts) = split_spec(rest);
    let path = Path::new(file);
    let opts = options(opts, fitted)?;
    let mut table = table::read(path, &opts)?;
    let mut notes = std::mem::take(&mut table.notes);
    drop_columns(path, &mut table, &opts, &mut notes)?;
    let ncols = table.columns.len();
    if ncols < 2 {
        return Err(err(
            path,
            format!(
                "need at least 2 columns (features and a label), found {ncols}{}",
                if opts.sep.is_none() {
                    "; if the file uses another delimiter, say which with sep= (e.g. sep=;)"
                } else {
                    ""
                }
            ),
        ));
    }
    let label_col = match &opts.label {
        None => ncols - 1,
        Some(l) => table
            .find(l)
            .ok_or_else(|| err(path, format!("no label column `{l}`; {}", table.choices())))?,
    };
    let feature_cols: Vec<usize> = (0..ncols).filter(|&c| c != label_col).collect();
    check_numeric(path, &table, &feature_cols)?;
    let rows = usable_rows(
        path,
        &table,
        label_col,
        &feature_cols,
        opts.missing,
        &mut notes,
    )?;
    let known = fitted.map(|f| f.class_names.as_slice());
    let labels = labels::decide(path, &table, label_col, &rows, opts.task, known)?;
    notes.extend(labels.note.clone());
    let n = rows.len();
    if n < 2 {
        return Err(err(
            path,
            format!("{n} usable data row(s): need at least 2 to split into train and validation"),
        ));
    }
    let nf = feature_cols.len();
    let mut features = Vec::with_capacity(n * nf);
    for &r in &rows {
        features.extend(
            feature_cols
                .iter()
                .map(|&c| match table.columns[c].cells[r] {
                    Cell::Num(v) => v,
                    _ => f32::NAN, // missing, filled after standardising (na=mean)
                }),
        );
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().trim_end_matches(".csv").to_string())
        .unwrap_or_else(|| "csv".to_string());
    let label_shape = if labels.classes.is_some() {
        vec![n]
    } else {
        vec![n, 1]
    };
    let all = Dataset::new(
        name,
        Tensor::new(&[n, nf], features)?,
        Tensor::new(&label_shape, labels.values)?,
        labels.classes.as_ref().map(Vec::len),
    )?;

    // Seeded shuffle, 80/20 cut (both sides non-empty), then standardise with statistics of
    // the training side only, so nothing about the validation rows leaks into training.
    let (tr, va) = super::split_indices(n, seed, CSV_STREAM);
    let mut split = Split::new(all.subset(&tr)?, all.subset(&va)?);
    split.preprocessing = match fitted {
        Some(f) => f.clone(),
        None => {
            let (mean, std) = column_stats(split.train.features.tensor()?.data(), nf);
            Preprocessing {
                mean,
                std,
                feature_names: table
                    .names
                    .as_ref()
                    .map(|names| feature_cols.iter().map(|&c| names[c].clone()).collect())
                    .unwrap_or_default(),
                class_names: labels.classes.unwrap_or_default(),
                source_columns: table.source_columns,
                feature_columns: feature_cols.iter().map(|&c| table.origin[c]).collect(),
                fill_missing: opts.missing == Missing::Mean,
                ..Preprocessing::default()
            }
        }
    };
    split
        .preprocessing
        .standardise(split.train.features.tensor_mut()?)?;
    split
        .preprocessing
        .standardise(split.valid.features.tensor_mut()?)?;
    split.notes = notes;
    Ok(split)
}

/// Leaves out the `drop=` columns, and a pandas index column (no name or `Unnamed: 0`,
/// values 0, 1, 2, ... in order) with a note.
fn drop_columns(
    path: &Path,
    table: &mut Table,
    opts: &CsvOptions,
    notes: &mut Vec<String>,
) -> Result<()> {
    let mut gone = Vec::new();
    for d in &opts.drop {
        let c = table
            .find(d)
            .ok_or_else(|| err(path, format!("drop: no column `{d}`; {}", table.choices())))?;
        gone.push(c);
    }
    if let Some(names) = &table.names {
        let is_index = |c: usize| {
            table.columns[c]
                .cells
                .iter()
                .enumerate()
                .all(|(i, cell)| *cell == Cell::Num(i as f32))
        };
        if let Some(c) = (0..names.len())
            .find(|&c| matches!(names[c].as_str(), "" | "Unnamed: 0") && is_index(c))
            .filter(|c| !gone.contains(c))
        {
            notes.push(format!(
                "column {c} (no name; 0, 1, 2, ...) is a pandas index: left out \
                 (save with to_csv(index=False) to leave it out of the file)"
            ));
            gone.push(c);
        }
    }
    gone.sort_unstable();
    gone.dedup();
    for &c in gone.iter().rev() {
        table.remove_column(c);
    }
    Ok(())
}

/// Feature columns must hold numbers: every column with text is named, with how to leave
/// it out.
fn check_numeric(path: &Path, table: &Table, feature_cols: &[usize]) -> Result<()> {
    let mut bad = Vec::new();
    for &c in feature_cols {
        let col = &table.columns[c];
        if let Some((r, cell)) = col
            .cells
            .iter()
            .enumerate()
            .find(|(_, x)| matches!(x, Cell::Text(_)))
        {
            bad.push(format!(
                "{} (`{}` on line {})",
                table.describe(c),
                col.text(*cell).unwrap_or_default(),
                table.lines[r]
            ));
        }
    }
    if bad.is_empty() {
        return Ok(());
    }
    Err(err(
        path,
        format!(
            "features must be numbers, but {} hold{} text: leave {} out with drop=COL, or choose \
             the label column with label=COL",
            bad.join(", "),
            if bad.len() == 1 { "s" } else { "" },
            if bad.len() == 1 { "it" } else { "them" }
        ),
    ))
}

/// Rows to use: all of them, or (na=drop) those without a missing value, or (na=mean) those
/// with a label. With na=error, any missing value is an error that counts them all.
fn usable_rows(
    path: &Path,
    table: &Table,
    label_col: usize,
    feature_cols: &[usize],
    missing: Missing,
    notes: &mut Vec<String>,
) -> Result<Vec<usize>> {
    let is_missing = |c: usize, r: usize| table.columns[c].cells[r] == Cell::Missing;
    let mut total = 0usize;
    let mut shown = Vec::new();
    let mut rows = Vec::with_capacity(table.rows());
    for r in 0..table.rows() {
        let mut row_missing = false;
        for c in feature_cols.iter().copied().chain([label_col]) {
            if is_missing(c, r) {
                total += 1;
                row_missing = true;
                if shown.len() < SHOWN_MISSING {
                    shown.push(format!("line {} {}", table.lines[r], table.describe(c)));
                }
            }
        }
        let keep = match missing {
            Missing::Error | Missing::Drop => !row_missing,
            Missing::Mean => !is_missing(label_col, r),
        };
        if keep {
            rows.push(r);
        }
    }
    if total == 0 {
        return Ok(rows);
    }
    let dropped = table.rows() - rows.len();
    match missing {
        Missing::Error => {
            let more = if total > shown.len() { ", …" } else { "" };
            Err(err(
                path,
                format!(
                    "{total} missing value(s) in {dropped} row(s) ({}{more}): write na=drop to \
                     leave those rows out, or na=mean to fill features with the training mean",
                    shown.join(", ")
                ),
            ))
        }
        Missing::Drop => {
            notes.push(format!(
                "na=drop: {dropped} row(s) with missing values left out"
            ));
            Ok(rows)
        }
        Missing::Mean => {
            notes.push(format!(
                "na=mean: {total} missing value(s) filled with the training mean{}",
                if dropped > 0 {
                    format!("; {dropped} row(s) without a label left out")
                } else {
                    String::new()
                }
            ));
            Ok(rows)
        }
    }
}

#[cfg(test)]
mod tests;
