//! Reading a CSV file into typed columns: gzip, a UTF-8 byte-order mark, the delimiter and
//! the header row are handled here, so the rest of the CSV code sees clean cells.
//!
//! Parsing itself is the `csv` crate's (quotes, escaped quotes, CRLF, quoted newlines). The
//! file is streamed: only the first [`SAMPLE_ROWS`] rows are kept as text (to sniff the
//! delimiter and decide whether row 1 is a header); later cells are stored as 8-byte
//! [`Cell`]s, text cells interned per column.

use super::options::{CsvOptions, Header};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::io::{BufReader, Cursor, Read};
use std::path::Path;

/// Rows read as text before the header and column count are decided.
const SAMPLE_ROWS: usize = 50;
/// Bytes looked at to sniff the delimiter.
const SAMPLE_BYTES: u64 = 64 * 1024;
/// Cells a file may hold (2^29, 4 GiB of cells): a bound for gzip input, whose size on disk
/// says nothing about its size inflated.
const MAX_CELLS: usize = 1 << 29;

pub(super) fn err(path: &Path, why: impl Into<String>) -> Error {
    Error::File {
        path: path.display().to_string(),
        why: why.into(),
    }
}

/// One cell: a finite number, missing, or text (an index into its column's `texts`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell {
    Num(f32),
    Missing,
    Text(u32),
}

#[derive(Clone, Debug, Default)]
pub struct Column {
    pub cells: Vec<Cell>,
    pub texts: Vec<String>,
    interned: HashMap<String, u32>,
}

impl Column {
    fn push(&mut self, raw: &str) {
        let cell = classify(raw);
        let cell = match cell {
            Cell::Text(_) => {
                let next = self.texts.len() as u32;
                let id = *self.interned.entry(raw.to_string()).or_insert(next);
                if id == next {
                    self.texts.push(raw.to_string());
                }
                Cell::Text(id)
            }
            c => c,
        };
        self.cells.push(cell);
    }

    pub fn text(&self, cell: Cell) -> Option<&str> {
        match cell {
            Cell::Text(i) => self.texts.get(i as usize).map(String::as_str),
            _ => None,
        }
    }
}

/// A cell's kind. Missing: empty or one of the usual placeholders (`NA`, `N/A`, `nan`,
/// `null`, `None`, `?`); `inf` counts as text, not data.
pub fn classify(cell: &str) -> Cell {
    const MISSING: [&str; 8] = ["", "na", "n/a", "nan", "null", "none", "?", "#n/a"];
    if MISSING.iter().any(|m| cell.eq_ignore_ascii_case(m)) {
        return Cell::Missing;
    }
    match cell.parse::<f32>() {
        Ok(v) if v.is_finite() => Cell::Num(v),
        _ => Cell::Text(0),
    }
}

/// The file as columns.
#[derive(Debug, Default)]
pub struct Table {
    /// Column names from the header row (None without one).
    pub names: Option<Vec<String>>,
    pub columns: Vec<Column>,
    /// Each column's index in the file (columns may be left out).
    pub origin: Vec<usize>,
    /// Columns in the file.
    pub source_columns: usize,
    /// 1-based line of each data row in the file.
    pub lines: Vec<u64>,
    /// Class names from an sklearn-style first row (`n_samples,n_features,name,name,...`).
    pub class_names: Option<Vec<String>>,
    /// What was decided on the user's behalf (header, delimiter, dropped columns).
    pub notes: Vec<String>,
}

impl Table {
    pub fn rows(&self) -> usize {
        self.lines.len()
    }

    /// `column `name` (index i)` or `column i`.
    pub fn describe(&self, c: usize) -> String {
        match self.names.as_ref().and_then(|n| n.get(c)) {
            Some(name) if !name.is_empty() => format!("column `{name}` (index {c})"),
            _ => format!("column {c}"),
        }
    }

    /// A column by header name or 0-based index.
    pub fn find(&self, key: &str) -> Option<usize> {
        self.names
            .as_ref()
            .and_then(|n| n.iter().position(|name| name == key))
            .or_else(|| {
                key.parse::<usize>()
                    .ok()
                    .filter(|&c| c < self.columns.len())
            })
    }

    /// What `find` accepts, for error messages.
    pub fn choices(&self) -> String {
        match &self.names {
            Some(n) => format!("columns are: {}", n.join(", ")),
            None => format!(
                "the file has no header row, so use an index 0..{}",
                self.columns.len()
            ),
        }
    }

    pub fn remove_column(&mut self, c: usize) {
        self.columns.remove(c);
        self.origin.remove(c);
        if let Some(n) = self.names.as_mut() {
            n.remove(c);
        }
    }
}

/// Opens `path`, gunzipping when it is gzip (by name or by its magic bytes).
fn open(path: &Path) -> Result<Box<dyn Read>> {
    let mut file = std::fs::File::open(path).map_err(|e| err(path, format!("cannot read: {e}")))?;
    let mut magic = [0u8; 2];
    let is_gz = path.extension().is_some_and(|e| e == "gz")
        || (file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b]);
    let file = std::fs::File::open(path).map_err(|e| err(path, format!("cannot read: {e}")))?;
    Ok(if is_gz {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(BufReader::new(file))
    })
}

/// Reads the whole file into a [`Table`].
pub fn read(path: &Path, opts: &CsvOptions) -> Result<Table> {
    let mut input = open(path)?;
    let mut sample = Vec::new();
    input
        .by_ref()
        .take(SAMPLE_BYTES)
        .read_to_end(&mut sample)
        .map_err(|e| err(path, format!("cannot read: {e}")))?;
    if sample.starts_with(b"\xef\xbb\xbf") {
        sample.drain(..3); // UTF-8 byte-order mark (Excel's "CSV UTF-8")
    }
    let mut notes = Vec::new();
    let sep = match opts.sep {
        Some(s) => s,
        None => {
            let s = sniff(&sample);
            if s != b',' {
                notes.push(format!(
                    "delimiter `{}` (sniffed; sep= to choose)",
                    (s as char).escape_default()
                ));
            }
            s
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sep)
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(Cursor::new(sample).chain(input));
    let mut records = reader.byte_records();
    let mut next_row = || -> Result<Option<(u64, Vec<String>)>> {
        for rec in records.by_ref() {
            let rec = rec.map_err(|e| {
                let at = e
                    .position()
                    .map_or(String::new(), |p| format!("line {}: ", p.line()));
                err(path, format!("{at}{e}"))
            })?;
            let line = rec.position().map_or(0, |p| p.line());
            let mut cells = Vec::with_capacity(rec.len());
            for field in rec.iter() {
                let text = std::str::from_utf8(field).map_err(|_| {
                    err(
                        path,
                        format!("line {line}: not UTF-8 text (save the file as UTF-8)"),
                    )
                })?;
                cells.push(text.to_string());
            }
            if sep == b' ' {
                cells.retain(|c| !c.is_empty()); // runs of spaces are one delimiter
            }
            if cells.iter().all(String::is_empty) {
                continue; // blank line
            }
            return Ok(Some((line, cells)));
        }
        Ok(None)
    };
    let mut sample_rows = Vec::new();
    while sample_rows.len() < SAMPLE_ROWS {
        match next_row()? {
            Some(r) => sample_rows.push(r),
            None => break,
        }
    }
    if sample_rows.is_empty() {
        return Err(err(path, "empty CSV file: no rows"));
    }
    let ncols = column_count(&sample_rows);
    let mut table = Table {
        notes,
        ..Table::default()
    };
    let first = &sample_rows[0];
    let first_is_header = match opts.header {
        Header::Yes => true,
        Header::No => false,
        Header::Auto => {
            let (is, note) = detect_header(&first.1, &sample_rows[1..], ncols);
            table.notes.extend(note);
            is
        }
    };
    let mut data_start = 0;
    if first_is_header {
        data_start = 1;
        if let Some(classes) = sklearn_header(&first.1, ncols) {
            table.notes.push(format!(
                "line {}: sklearn's `n_samples,n_features,class names` row: {} classes ({})",
                first.0,
                classes.len(),
                classes.join(", ")
            ));
            table.class_names = Some(classes);
        } else {
            let names = fit_row(path, first, ncols)?;
            table.names = Some(names);
        }
    }
    table.columns = vec![Column::default(); ncols];
    table.origin = (0..ncols).collect();
    table.source_columns = ncols;
    let store = |table: &mut Table, row: &(u64, Vec<String>)| -> Result<()> {
        let cells = fit_row(path, row, ncols)?;
        if table.lines.len().saturating_mul(ncols) >= MAX_CELLS {
            return Err(err(
                path,
                format!(
                    "line {}: more than {MAX_CELLS} cells; too large for hyphae's CSV reader",
                    row.0
                ),
            ));
        }
        for (col, cell) in table.columns.iter_mut().zip(&cells) {
            col.push(cell);
        }
        table.lines.push(row.0);
        Ok(())
    };
    for row in &sample_rows[data_start..] {
        store(&mut table, row)?;
    }
    while let Some(row) = next_row()? {
        store(&mut table, &row)?;
    }
    Ok(table)
}

/// The row's cells, exactly `ncols` of them: extra trailing empty cells (a trailing
/// delimiter) are dropped; any other length is an error naming the line.
fn fit_row(path: &Path, (line, cells): &(u64, Vec<String>), ncols: usize) -> Result<Vec<String>> {
    let mut cells = cells.clone();
    while cells.len() > ncols && cells.last().is_some_and(String::is_empty) {
        cells.pop();
    }
    if cells.len() != ncols {
        return Err(err(
            path,
            format!(
                "line {line}: {} columns, expected {ncols} (as on most of the first lines)",
                cells.len()
            ),
        ));
    }
    Ok(cells)
}

/// The usual number of cells per data row in the sample (the first row may be a header of
/// another length), not counting trailing empty cells that only some rows have.
fn column_count(rows: &[(u64, Vec<String>)]) -> usize {
    let data = if rows.len() > 1 { &rows[1..] } else { rows };
    let mut counts: HashMap<usize, usize> = HashMap::new();
    for (_, cells) in data {
        *counts.entry(cells.len()).or_default() += 1;
    }
    let mode = counts
        .into_iter()
        .max_by_key(|&(len, n)| (n, std::cmp::Reverse(len)))
        .map_or(0, |(len, _)| len);
    // Every row ends in an empty cell: a trailing delimiter, not a column.
    let trailing = data
        .iter()
        .all(|(_, c)| c.last().is_some_and(String::is_empty));
    if trailing && mode > 1 { mode - 1 } else { mode }
}

/// Picks the delimiter that splits the sample's first lines into the same number (> 1) of
/// cells most often; ties go to `,` then `;`, tab, `|`, space.
fn sniff(sample: &[u8]) -> u8 {
    let text = String::from_utf8_lossy(sample);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(20)
        .collect();
    let mut best = (0usize, b',');
    for cand in [b',', b';', b'\t', b'|', b' '] {
        let counts: Vec<usize> = lines
            .iter()
            .map(|l| {
                if cand == b' ' {
                    l.split_whitespace().count().saturating_sub(1)
                } else {
                    l.bytes().filter(|&b| b == cand).count()
                }
            })
            .collect();
        let Some(&typical) = counts.get(1).or(counts.first()) else {
            continue;
        };
        let agree = counts.iter().filter(|&&c| c == typical).count();
        if typical > 0 && agree * 2 > counts.len() && agree > best.0 {
            best = (agree, cand);
        }
    }
    best.1
}

/// Whether the first row names the columns, and a note when the reason is not obvious.
///
/// A header: some cell is text where the rows below hold numbers (`sepal_length` over
/// `5.1`), or every cell is text, or the row is pandas' default column names
/// (`0,1,2,...`, maybe after an empty index cell) with different values below — a numeric
/// header that would otherwise be trained on as a sample.
pub fn detect_header(
    first: &[String],
    rest: &[(u64, Vec<String>)],
    ncols: usize,
) -> (bool, Option<String>) {
    let kinds: Vec<Cell> = first.iter().map(|c| classify(c)).collect();
    let numeric_below = |c: usize| {
        rest.iter().any(|(_, r)| {
            r.get(c)
                .is_some_and(|v| matches!(classify(v), Cell::Num(_)))
        })
    };
    let text_over_numbers = kinds
        .iter()
        .enumerate()
        .any(|(c, k)| matches!(k, Cell::Text(_)) && numeric_below(c));
    if text_over_numbers || (!kinds.is_empty() && kinds.iter().all(|k| matches!(k, Cell::Text(_))))
    {
        return (true, None);
    }
    if first.len() != ncols && sklearn_header(first, ncols).is_some() {
        return (true, None);
    }
    let offset = usize::from(first.first().is_some_and(String::is_empty));
    let counting = first.len() > 1
        && first[offset..]
            .iter()
            .enumerate()
            .all(|(i, c)| c.parse::<usize>().ok() == Some(i));
    let data_differs = rest.first().is_none_or(|(_, r)| r != first);
    if counting && data_differs && !rest.is_empty() {
        return (
            true,
            Some(format!(
                "first row `{}` taken as a header (pandas' default column names); header=no to train on it",
                first.join(",")
            )),
        );
    }
    (false, None)
}

/// sklearn's bundled-dataset first row: `n_samples,n_features[,class names...]` where
/// `n_features` is one less than the data rows' width. Returns the class names.
fn sklearn_header(first: &[String], ncols: usize) -> Option<Vec<String>> {
    let n_features: usize = first.get(1)?.parse().ok()?;
    let _n_samples: usize = first.first()?.parse().ok()?;
    (first.len() != ncols && n_features + 1 == ncols).then(|| first[2..].to_vec())
}
