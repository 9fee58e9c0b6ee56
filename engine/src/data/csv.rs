//! Tabular data from a CSV file: numeric feature columns and one label column.
//!
//! Kept deliberately simple (comma-separated, optional double quotes, no multi-line cells):
//! enough for the usual small tabular sets, with errors that point at the exact line and
//! column of a bad cell.

use super::{Dataset, Split, column_stats, standardise};
use crate::error::{Error, Result};
use crate::tensor::{Rng, Tensor};
use std::path::Path;

/// Shuffle stream id for the train/valid cut.
const CSV_STREAM: u64 = 0x4353_5620;
/// An all-integer label column with more distinct classes than this is treated as a
/// regression target (prices, counts, years), not thousands of classes.
pub const MAX_CLASSES: usize = 1000;

/// `spec` is `FILE` or `FILE:label=COL` (COL a header name or a 0-based index).
pub(crate) fn load(spec: &str, seed: u64) -> Result<Split> {
    let (file, label) = match spec.rsplit_once(":label=") {
        Some((f, l)) => (f, Some(l.trim())),
        None => (spec, None),
    };
    let path = Path::new(file);
    let text = std::fs::read_to_string(path).map_err(|e| err(path, format!("cannot read: {e}")))?;
    parse(path, &text, label, seed)
}

fn err(path: &Path, why: impl Into<String>) -> Error {
    Error::File {
        path: path.display().to_string(),
        why: why.into(),
    }
}

/// Splits one line into trimmed cells; `"..."` may hold commas and `""` is a literal quote.
fn split_row(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(c),
        }
    }
    cells.push(cur.trim().to_string());
    cells
}

/// A finite number, or None (so `nan`/`inf` cells count as non-numeric, not as data).
fn number(cell: &str) -> Option<f32> {
    cell.parse::<f32>().ok().filter(|v| v.is_finite())
}

fn parse(path: &Path, text: &str, label: Option<&str>, seed: u64) -> Result<Split> {
    // (1-based line number, cells) of every non-blank line.
    let mut rows = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, split_row(l)));
    let Some((first_line, first)) = rows.next() else {
        return Err(err(path, "empty CSV file"));
    };
    let ncols = first.len();
    let header = if first.iter().all(|c| number(c).is_some()) {
        None
    } else {
        Some(first.clone())
    };
    let col_name = |c: usize| match header.as_ref().and_then(|h| h.get(c)) {
        Some(name) => format!("column `{name}` (index {c})"),
        None => format!("column {c}"),
    };
    if ncols < 2 {
        return Err(err(
            path,
            format!(
                "line {first_line}: need at least 2 columns (features and a label), found {ncols}"
            ),
        ));
    }
    let label_col = match label {
        None => ncols - 1,
        Some(l) => {
            let by_name = header.as_ref().and_then(|h| h.iter().position(|n| n == l));
            match by_name.or_else(|| l.parse::<usize>().ok()) {
                Some(c) if c < ncols => c,
                Some(c) => {
                    return Err(err(
                        path,
                        format!("label column {c} out of range: the file has {ncols} columns"),
                    ));
                }
                None => {
                    let names = header
                        .as_ref()
                        .map(|h| format!("columns are: {}", h.join(", ")))
                        .unwrap_or_else(|| "the file has no header row".to_string());
                    return Err(err(path, format!("no label column `{l}`; {names}")));
                }
            }
        }
    };
    let data_rows = header
        .is_none()
        .then_some((first_line, first))
        .into_iter()
        .chain(rows);
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for (line, cells) in data_rows {
        if cells.len() != ncols {
            return Err(err(
                path,
                format!(
                    "line {line}: {} columns, expected {ncols} (as on line {first_line})",
                    cells.len()
                ),
            ));
        }
        for (c, cell) in cells.iter().enumerate() {
            let v = number(cell).ok_or_else(|| {
                err(
                    path,
                    format!("line {line}, {}: `{cell}` is not a number", col_name(c)),
                )
            })?;
            if c == label_col {
                labels.push(v);
            } else {
                features.push(v);
            }
        }
    }
    let n = labels.len();
    if n < 2 {
        return Err(err(
            path,
            format!("{n} data row(s): need at least 2 to split into train and validation"),
        ));
    }
    let nf = ncols - 1;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "csv".to_string());
    let is_class = labels.iter().all(|v| v.fract() == 0.0 && *v >= 0.0);
    let max = labels.iter().fold(0f32, |a, &b| a.max(b));
    let classes = (is_class && (max as usize) < MAX_CLASSES).then(|| max as usize + 1);
    let label_shape: Vec<usize> = if classes.is_some() {
        vec![n]
    } else {
        vec![n, 1]
    };
    let all = Dataset::new(
        name,
        Tensor::new(&[n, nf], features)?,
        Tensor::new(&label_shape, labels)?,
        classes,
    )?;

    // Seeded shuffle, 80/20 cut (both sides non-empty), then standardise with statistics of
    // the training side only, so nothing about the validation rows leaks into training.
    let mut idx: Vec<usize> = (0..n).collect();
    Rng::derived(seed, CSV_STREAM).shuffle(&mut idx);
    let cut = ((n * 4 + 2) / 5).clamp(1, n - 1);
    let (tr, va) = idx.split_at(cut);
    let mut train = all.subset(tr)?;
    let mut valid = all.subset(va)?;
    let (mean, std) = column_stats(train.features.data(), nf);
    standardise(train.features.data_mut(), &mean, &std);
    standardise(valid.features.data_mut(), &mean, &std);
    Ok(Split { train, valid })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str, label: Option<&str>) -> Result<Split> {
        parse(Path::new("t.csv"), text, label, 1)
    }

    /// Ten rows: x = i, y = 2i, class = i % 3.
    fn table(header: bool) -> String {
        let mut s = String::new();
        if header {
            s.push_str("x, y ,class\n");
        }
        for i in 0..10 {
            s.push_str(&format!("{i},{},{}\n", 2 * i, i % 3));
        }
        s
    }

    #[test]
    fn header_and_default_label_is_last_column() {
        for h in [true, false] {
            let s = parse_str(&table(h), None).unwrap();
            assert_eq!(s.train.features.shape(), &[8, 2]);
            assert_eq!(s.valid.features.shape(), &[2, 2]);
            assert_eq!(s.train.labels.shape(), &[8]);
            assert_eq!(s.train.num_classes, Some(3));
            assert_eq!(s.train.name, "t");
        }
    }

    #[test]
    fn label_by_name_and_index() {
        // Label `x` (values 0..9, classification with 10 classes); features y and class.
        let by_name = parse_str(&table(true), Some("x")).unwrap();
        let by_index = parse_str(&table(true), Some("0")).unwrap();
        assert_eq!(by_name, by_index);
        assert_eq!(by_name.train.num_classes, Some(10));
        // Rows stay intact: feature y (standardised) is a linear function of label x.
        let all: Vec<(f32, f32)> = [&by_name.train, &by_name.valid]
            .iter()
            .flat_map(|d| {
                let f = d
                    .features
                    .data()
                    .chunks(2)
                    .map(|r| r[0])
                    .collect::<Vec<_>>();
                f.into_iter().zip(d.labels.data().to_vec())
            })
            .collect();
        let (f0, x0) = all[0];
        let (f1, x1) = all[1];
        let slope = (f1 - f0) / (x1 - x0);
        for &(f, x) in &all {
            assert!((f - (f0 + slope * (x - x0))).abs() < 1e-4);
        }
        // Without a header, only indices work.
        let e = parse_str(&table(false), Some("x")).unwrap_err().to_string();
        assert!(
            e.contains("no label column `x`") && e.contains("no header"),
            "{e}"
        );
        let e = parse_str(&table(true), Some("z")).unwrap_err().to_string();
        assert!(e.contains("columns are: x, y, class"), "{e}");
        let e = parse_str(&table(true), Some("3")).unwrap_err().to_string();
        assert!(e.contains("out of range"), "{e}");
    }

    #[test]
    fn regression_labels() {
        let text = "a,b\n1,0.5\n2,1.5\n3,-2\n4,7\n5,1\n";
        let s = parse_str(text, None).unwrap();
        assert_eq!(s.train.num_classes, None);
        assert_eq!(s.train.labels.shape(), &[4, 1]);
        assert_eq!(s.valid.labels.shape(), &[1, 1]);
    }

    #[test]
    fn standardised_with_train_statistics_only() {
        // The label is the row id, so each row's raw features are known: x = id², y = 5.
        let mut text = String::from("x,y,id\n");
        for i in 0..20 {
            text.push_str(&format!("{},5,{i}\n", i * i));
        }
        let s = parse_str(&text, None).unwrap();
        let raw =
            |d: &Dataset| -> Vec<f64> { d.labels.data().iter().map(|&i| (i * i) as f64).collect() };
        let tr = raw(&s.train);
        let m = tr.iter().sum::<f64>() / tr.len() as f64;
        let sd = (tr.iter().map(|v| (v - m).powi(2)).sum::<f64>() / tr.len() as f64).sqrt();
        for d in [&s.train, &s.valid] {
            for (row, r) in d.features.data().chunks(2).zip(raw(d)) {
                assert!(
                    (row[0] as f64 - (r - m) / sd).abs() < 1e-5,
                    "{} vs {}",
                    row[0],
                    (r - m) / sd
                );
                assert_eq!(row[1], 0.0, "a constant column maps to 0");
            }
        }
        // The validation rows were not re-centred on their own statistics.
        let va = s.valid.features.data().chunks(2).map(|r| r[0]).sum::<f32>();
        assert!(va.abs() > 1e-3, "{va}");
    }

    #[test]
    fn non_numeric_cell_names_line_and_column() {
        let text = "x,y,class\n1,2,0\n3,abc,1\n";
        let e = parse_str(text, None).unwrap_err().to_string();
        assert!(
            e.contains("t.csv: line 3, column `y` (index 1): `abc` is not a number"),
            "{e}"
        );
        let text = "1,2,0\n\n3,4,1\n5,,1\n";
        let e = parse_str(text, None).unwrap_err().to_string();
        assert!(e.contains("line 4, column 1: `` is not a number"), "{e}");
        let e = parse_str("a,b\n1,nan\n2,3\n", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2, column `b` (index 1)"), "{e}");
    }

    #[test]
    fn ragged_row_names_line() {
        let text = "x,y,class\n1,2,0\n3,4\n";
        let e = parse_str(text, None).unwrap_err().to_string();
        assert!(e.contains("t.csv: line 3: 2 columns, expected 3"), "{e}");
    }

    #[test]
    fn quoted_cells_and_crlf() {
        let text = "\"a, the first\",\"b\"\r\n1,\"0\"\r\n2,1\r\n3,0\r\n";
        let s = parse_str(text, Some("b")).unwrap();
        assert_eq!(s.train.num_classes, Some(2));
        assert_eq!(s.train.len() + s.valid.len(), 3);
    }

    #[test]
    fn shuffle_is_seeded() {
        let a = parse(Path::new("t.csv"), &table(true), None, 5).unwrap();
        let b = parse(Path::new("t.csv"), &table(true), None, 5).unwrap();
        assert_eq!(a, b);
        let c = parse(Path::new("t.csv"), &table(true), None, 6).unwrap();
        assert_ne!(a.valid.labels.data(), c.valid.labels.data());
    }

    #[test]
    fn load_from_file_and_missing_file() {
        let p = std::env::temp_dir().join(format!("hyphae-csv-{}.csv", std::process::id()));
        std::fs::write(&p, table(true)).unwrap();
        let s = super::super::load(&format!("csv:{}:label=class", p.display()), 0).unwrap();
        assert_eq!(s.train.num_classes, Some(3));
        let _ = std::fs::remove_file(&p);
        let e = super::super::load(&format!("csv:{}", p.display()), 0).unwrap_err();
        assert!(e.to_string().contains("cannot read"), "{e}");
    }
}
