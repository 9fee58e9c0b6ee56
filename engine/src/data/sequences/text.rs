//! `text:FILE[:seq=N]`: a UTF-8 text file as character-level language-modelling data.
//! The vocabulary is the file's distinct characters in code-point order, or, when scoring
//! trained weights, the vocabulary they recorded (a character outside it is an error, never
//! a silently different mapping). The text is cut into consecutive windows of `seq` + 1
//! characters (stride `seq`); the last 10% of the windows are the validation set, so it is
//! text the model has not read.

use super::{next_token_set, token_split, vocabulary};
use crate::data::{Options, Preprocessing, Split, spec_error};
use crate::error::{Error, Result};
use std::path::Path;

/// Largest text file read (bytes): the tokens take 4 bytes each, twice.
const MAX_BYTES: u64 = 256 << 20;

pub(crate) fn load(path: &str, mut opts: Options, fitted: Option<&Preprocessing>) -> Result<Split> {
    let seq = opts.count("seq", 64, 1, 100_000)?;
    opts.finish(&["seq"])?;
    let file_err = |why: String| Error::File {
        path: path.to_string(),
        why,
    };
    let size = std::fs::metadata(Path::new(path))
        .map_err(|e| file_err(e.to_string()))?
        .len();
    if size > MAX_BYTES {
        return Err(file_err(format!(
            "{size} bytes is more than the {MAX_BYTES} a text set may hold"
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| file_err(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| file_err(format!("not UTF-8 text: {e}")))?;
    let chars: Vec<char> = text.chars().collect();
    let vocab = match fitted.filter(|f| !f.class_names.is_empty()) {
        Some(f) => vocabulary(&f.class_names)?,
        None => {
            let mut v = chars.clone();
            v.sort_unstable();
            v.dedup();
            v
        }
    };
    let mut tokens = Vec::with_capacity(chars.len());
    for (i, c) in chars.iter().enumerate() {
        let t = vocab.iter().position(|v| v == c).ok_or_else(|| {
            file_err(format!(
                "character {c:?} (character {i}) is not in the model's vocabulary of {}",
                vocab.len()
            ))
        })?;
        tokens.push(t);
    }
    let windows = tokens.len().saturating_sub(1) / seq;
    if windows < 2 {
        return Err(spec_error(format!(
            "`text:{path}`: {} characters make fewer than 2 windows of seq={seq} + 1; use a \
             smaller seq or a longer text",
            chars.len()
        )));
    }
    let rows: Vec<Vec<usize>> = (0..windows)
        .map(|w| tokens[w * seq..w * seq + seq + 1].to_vec())
        .collect();
    let held = (windows / 10).max(1);
    let (train, valid) = rows.split_at(windows - held);
    Ok(token_split(
        next_token_set("text", train)?,
        next_token_set("text", valid)?,
        &vocab,
    ))
}

#[cfg(test)]
mod tests {
    use crate::data::{load, load_fitted};

    #[test]
    fn windows_vocabulary_and_a_recorded_vocabulary() {
        let dir = std::env::temp_dir().join(format!("hyphae_text_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.txt");
        std::fs::write(&path, "abcabcabcabcabcabcabcab").unwrap(); // 23 chars
        let spec = format!("text:{}:seq=4", path.display());
        let s = load(&spec, 0).unwrap();
        assert_eq!(s.preprocessing.class_names, ["a", "b", "c"]);
        assert_eq!(s.train.features.shape(), &[4, 4]);
        assert_eq!(s.valid.features.shape(), &[1, 4]);
        assert_eq!(s.train.labels.data()[..4], [1.0, 2.0, 0.0, 1.0]);
        // a recorded vocabulary is used as is: other indices, and unknown characters fail
        let mut fitted = s.preprocessing.clone();
        fitted.class_names = vec!["c".into(), "b".into(), "a".into(), "x".into()];
        let again = load_fitted(&spec, 0, Some(&fitted)).unwrap();
        assert_eq!(again.train.features.tensor().unwrap().data()[0], 2.0);
        fitted.class_names.truncate(2);
        let err = load_fitted(&spec, 0, Some(&fitted))
            .unwrap_err()
            .to_string();
        assert!(err.contains("'a'") && err.contains("t.txt"), "{err}");
        assert!(load(&format!("text:{}:seq=20", path.display()), 0).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
