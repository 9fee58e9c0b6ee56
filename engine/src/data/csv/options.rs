//! The options of a `csv:FILE[:key=value,...]` spec.

use crate::error::{Error, Result};

/// Whether the first row names the columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Header {
    Yes,
    No,
    /// Decided from the file (see `table::detect_header`).
    Auto,
}

/// What to do with missing cells (empty, `NA`, `nan`, `?`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// Refuse the file, counting every missing value.
    Error,
    /// Leave out every row with a missing value.
    Drop,
    /// Fill a missing feature with its column's training mean (rows without a label are
    /// left out).
    Mean,
}

/// Classification or regression, when the label column alone can't say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    Classify,
    Regress,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CsvOptions {
    /// Label column: a header name or a 0-based index; default the last column.
    pub label: Option<String>,
    /// Delimiter; sniffed from the first lines when not given.
    pub sep: Option<u8>,
    pub header: Header,
    /// Columns left out (names or 0-based indices).
    pub drop: Vec<String>,
    pub missing: Missing,
    pub task: Option<Task>,
}

/// The keys a csv spec takes, in the order the help text shows them.
pub const KEYS: &str = "label=COL, sep=;|,|tab|space|pipe, header=yes|no|auto, drop=COL,COL, \
na=error|drop|mean, task=classify|regress";

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            label: None,
            sep: None,
            header: Header::Auto,
            drop: Vec::new(),
            missing: Missing::Error,
            task: None,
        }
    }
}

fn bad(why: String) -> Error {
    Error::config("dataset `csv`", format!("{why} (options: {KEYS})"))
}

impl CsvOptions {
    /// Parses `key=value` items separated by commas. `drop=` takes a comma-separated list
    /// (items without `=` continue it), and `sep=,` is the comma itself.
    pub fn parse(text: &str) -> Result<CsvOptions> {
        let mut o = CsvOptions::default();
        let text = text.replace("sep=,", "sep=comma");
        let mut last_key = String::new();
        for item in text.split(',').filter(|s| !s.trim().is_empty()) {
            let Some((key, value)) = item.split_once('=') else {
                if last_key == "drop" {
                    o.drop.push(item.trim().to_string());
                    continue;
                }
                return Err(bad(format!("option `{item}` should be key=value")));
            };
            let (key, value) = (key.trim(), value.trim());
            last_key = key.to_string();
            match key {
                "label" => o.label = Some(value.to_string()),
                "sep" => o.sep = Some(separator(value)?),
                "header" => {
                    o.header = match value {
                        "yes" | "true" => Header::Yes,
                        "no" | "false" => Header::No,
                        "auto" => Header::Auto,
                        _ => return Err(bad(format!("header=`{value}`: use yes, no or auto"))),
                    }
                }
                "drop" => o.drop.push(value.to_string()),
                "na" => {
                    o.missing = match value {
                        "error" => Missing::Error,
                        "drop" => Missing::Drop,
                        "mean" => Missing::Mean,
                        _ => return Err(bad(format!("na=`{value}`: use error, drop or mean"))),
                    }
                }
                "task" => {
                    o.task = Some(match value {
                        "classify" | "classification" => Task::Classify,
                        "regress" | "regression" => Task::Regress,
                        _ => return Err(bad(format!("task=`{value}`: use classify or regress"))),
                    })
                }
                _ => return Err(bad(format!("unknown option `{key}`"))),
            }
        }
        o.drop.retain(|d| !d.is_empty());
        Ok(o)
    }
}

fn separator(value: &str) -> Result<u8> {
    Ok(match value {
        "comma" => b',',
        "semicolon" => b';',
        "tab" | "\\t" | "\t" => b'\t',
        "space" | " " | "" => b' ',
        "pipe" => b'|',
        v if v.len() == 1 && v.is_ascii() => v.as_bytes()[0],
        v => {
            return Err(bad(format!(
                "sep=`{v}`: one character, or comma, semicolon, tab, space or pipe"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option() {
        let o = CsvOptions::parse(
            "label=species,sep=;,header=no,drop=id,Unnamed: 0,na=mean,task=classify",
        )
        .unwrap();
        assert_eq!(o.label.as_deref(), Some("species"));
        assert_eq!(o.sep, Some(b';'));
        assert_eq!(o.header, Header::No);
        assert_eq!(o.drop, vec!["id".to_string(), "Unnamed: 0".to_string()]);
        assert_eq!(o.missing, Missing::Mean);
        assert_eq!(o.task, Some(Task::Classify));
        assert_eq!(CsvOptions::parse("sep=,").unwrap().sep, Some(b','));
        assert_eq!(CsvOptions::parse("sep=tab").unwrap().sep, Some(b'\t'));
        assert_eq!(CsvOptions::parse("").unwrap(), CsvOptions::default());
    }

    #[test]
    fn mistakes_name_the_option_and_list_the_keys() {
        for (text, want) in [
            ("lable=x", "unknown option `lable`"),
            ("header=maybe", "header=`maybe`"),
            ("na=zero", "na=`zero`"),
            ("task=cluster", "task=`cluster`"),
            ("sep=ab", "sep=`ab`"),
            ("label=y,oops", "option `oops`"),
        ] {
            let e = CsvOptions::parse(text).unwrap_err().to_string();
            assert!(
                e.contains(want) && e.contains("na=error|drop|mean"),
                "{text}: {e}"
            );
        }
    }
}
