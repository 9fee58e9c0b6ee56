//! Value parsers for the command line's arguments. Every number and path is checked while
//! the command line is parsed, so a bad one is a usage error (exit code 2) that names the
//! argument and says what is wrong, never a panic or a failure halfway through a run.
//! (A file can still vanish between the check and its use; that is reported by the reader.)

use std::path::{Path, PathBuf};

/// Most worker threads `--threads` accepts: far beyond any machine's cores, low enough that
/// starting the pool cannot exhaust the process's thread limit.
pub const MAX_THREADS: usize = 1024;

/// Most steps `hyphae bench --steps` accepts (it keeps one timing per step).
pub const MAX_BENCH_STEPS: usize = 1_000_000;

/// A file that exists, is not a directory, and can be opened for reading.
pub fn readable_file(s: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(s);
    check_readable_file(&path)?;
    Ok(path)
}

fn check_readable_file(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot open: {e}"))?;
    if meta.is_dir() {
        return Err("is a directory, not a file".into());
    }
    std::fs::File::open(path)
        .map(drop)
        .map_err(|e| format!("cannot read: {e}"))
}

/// A directory that exists and can be listed.
fn check_readable_dir(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot open: {e}"))?;
    if !meta.is_dir() {
        return Err("is not a directory".into());
    }
    std::fs::read_dir(path)
        .map(drop)
        .map_err(|e| format!("cannot read: {e}"))
}

/// A readable file or folder: `--resume` (a run folder or a checkpoint file), `predict
/// --input` (an image folder or a file).
pub fn readable_file_or_dir(s: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(s);
    if path.is_dir() {
        check_readable_dir(&path)?;
    } else {
        check_readable_file(&path)?;
    }
    Ok(path)
}

/// `train --out`: a run folder; created when absent, but never an existing file.
pub fn run_dir(s: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(s);
    if s.is_empty() {
        return Err("is empty".into());
    }
    if path.exists() && !path.is_dir() {
        return Err("exists and is not a directory".into());
    }
    Ok(path)
}

/// An output file: not a directory, in a folder that exists.
pub fn output_file(s: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(s);
    if s.is_empty() || path.is_dir() {
        return Err("is a directory, not a file name".into());
    }
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) if !dir.is_dir() => Err(format!("folder {} does not exist", dir.display())),
        _ => Ok(path),
    }
}

/// `--data`: a dataset spec; the folder of `mnist:DIR` or `images:DIR` and the file of
/// `csv:FILE` must be there. The spec itself is parsed (and its options checked) by the data loader.
pub fn data_spec(s: &str) -> Result<String, String> {
    let spec = s.trim();
    if spec.is_empty() {
        return Err(format!("is empty; valid specs: {}", crate::data::SPECS));
    }
    if let Some(rest) = spec.strip_prefix("mnist:") {
        let (dir, _) = crate::data::csv::split_spec(rest);
        check_readable_dir(Path::new(dir)).map_err(|e| format!("MNIST folder `{dir}` {e}"))?;
    } else if let Some(rest) = spec.strip_prefix("csv:") {
        // `csv:FILE[:options]`, split as the CSV loader splits it.
        let (file, _) = crate::data::csv::split_spec(rest);
        check_readable_file(Path::new(file)).map_err(|e| format!("CSV file `{file}`: {e}"))?;
    } else if let Some(rest) = spec.strip_prefix("images:") {
        let (dir, _) = crate::data::csv::split_spec(rest);
        check_readable_dir(Path::new(dir)).map_err(|e| format!("image folder `{dir}` {e}"))?;
    }
    Ok(spec.to_string())
}

/// A count that must be at least 1 (`--epochs`, `--batch-size`): the file's own rule.
pub fn positive_count(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|e| format!("not a whole number: {e}"))?;
    crate::graph::training::at_least_one(n).map(|_| n)
}

/// `--max-steps`: at least 1 (any u64 is a valid step count).
pub fn max_steps(s: &str) -> Result<u64, String> {
    let n: u64 = s.parse().map_err(|e| format!("not a whole number: {e}"))?;
    if n == 0 {
        return Err("must be at least 1".into());
    }
    Ok(n)
}

/// `--threads`: 1 to [`MAX_THREADS`].
pub fn threads(s: &str) -> Result<usize, String> {
    let n = positive_count(s)?;
    if n > MAX_THREADS {
        return Err(format!("must be at most {MAX_THREADS}"));
    }
    Ok(n)
}

/// `bench --steps`: 1 to [`MAX_BENCH_STEPS`].
pub fn bench_steps(s: &str) -> Result<usize, String> {
    let n = positive_count(s)?;
    if n > MAX_BENCH_STEPS {
        return Err(format!("must be at most {MAX_BENCH_STEPS}"));
    }
    Ok(n)
}

/// `--lr`: a finite number greater than 0, the rule of the file's `optimizer.lr`.
pub fn learning_rate(s: &str) -> Result<f32, String> {
    let lr: f32 = s.trim().parse().map_err(|e| format!("not a number: {e}"))?;
    crate::graph::training::positive(lr).map(|_| lr)
}

/// `--checkpoint-every`: seconds, a finite number > 0.
pub fn seconds(s: &str) -> Result<f64, String> {
    let v: f32 = s.trim().parse().map_err(|e| format!("not a number: {e}"))?;
    crate::graph::training::positive(v).map(|_| v as f64)
}

/// `--memory-limit`: a size such as `512M`, `16G` or `16GiB` (binary units), or bytes.
pub fn memory_size(s: &str) -> Result<u64, String> {
    crate::graph::memory::parse_size(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_range_checked() {
        assert_eq!(positive_count("3"), Ok(3));
        assert!(positive_count("0").is_err());
        assert!(positive_count("-1").is_err());
        assert!(threads("1025").is_err());
        assert_eq!(threads("1024"), Ok(1024));
        assert!(max_steps("0").is_err());
        assert_eq!(max_steps("18446744073709551615"), Ok(u64::MAX));
        assert!(max_steps("18446744073709551616").is_err());
        assert!(bench_steps("1000001").is_err());
        for bad in ["-1", "0", "nan", "NaN", "inf", "-inf", "1e39", "x"] {
            assert!(learning_rate(bad).is_err(), "{bad}");
        }
        assert_eq!(learning_rate("1e-3"), Ok(1e-3));
    }

    #[test]
    fn paths_are_checked() {
        let dir = std::env::temp_dir().join(format!("hyphae-args-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f.txt");
        std::fs::write(&file, "x").unwrap();
        let (d, f) = (dir.to_str().unwrap(), file.to_str().unwrap());
        assert!(readable_file(f).is_ok());
        assert!(readable_file(d).unwrap_err().contains("directory"));
        assert!(readable_file(&format!("{d}/none")).is_err());
        assert!(readable_file_or_dir(d).is_ok() && readable_file_or_dir(f).is_ok());
        assert!(readable_file_or_dir(&format!("{d}/none")).is_err());
        assert!(run_dir(d).is_ok() && run_dir(&format!("{d}/new")).is_ok());
        assert!(run_dir(f).is_err());
        assert!(output_file(&format!("{d}/out.safetensors")).is_ok());
        assert!(output_file(d).is_err());
        assert!(output_file(&format!("{d}/none/out.safetensors")).is_err());
        assert!(data_spec("spirals:classes=3").is_ok());
        assert!(data_spec(&format!("mnist:{d}")).is_ok());
        assert!(data_spec(&format!("mnist:{f}")).is_err());
        assert!(data_spec(&format!("csv:{f}:label=2")).is_ok());
        assert!(data_spec(&format!("csv:{d}")).is_err());
        assert!(data_spec(" ").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
