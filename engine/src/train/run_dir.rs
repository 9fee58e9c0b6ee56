//! Run folders: one per run (`runs/<graph>/run-NNN/`, with `runs/<graph>/latest` pointing at
//! the newest), the checkpoints inside one ordered by the step they record, and the
//! leftovers of writes a kill interrupted.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The name `runs/<graph>/latest` has; a symlink to the newest run folder on Unix.
pub const LATEST: &str = "latest";

fn io_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::File {
        path: path.display().to_string(),
        why: format!("{what}: {e}"),
    }
}

/// Creates the next numbered run folder `parent/run-NNN` (claimed with an atomic
/// `create_dir`, so two runs started at once never share one) and points `latest` at it.
pub fn new_run_dir(parent: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(parent).map_err(|e| io_error(parent, "cannot create folder", e))?;
    let highest = std::fs::read_dir(parent)
        .map_err(|e| io_error(parent, "cannot list folder", e))?
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_prefix("run-")?
                .parse()
                .ok()
        })
        .max()
        .unwrap_or(0u64);
    for n in highest + 1.. {
        let dir = parent.join(format!("run-{n:03}"));
        match std::fs::create_dir(&dir) {
            Ok(()) => {
                point_latest(parent, &dir);
                return Ok(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_error(&dir, "cannot create run folder", e)),
        }
    }
    unreachable!("run numbers are unbounded")
}

/// Points `parent/latest` at `dir`: a relative symlink (the `runs` folder can move; `cd`,
/// `tail -f latest/metrics.jsonl` and `--resume runs/x/latest` work as with any folder),
/// replaced atomically. Elsewhere, a text file naming the folder. Best effort: a run does
/// not fail because the pointer could not be updated.
fn point_latest(parent: &Path, dir: &Path) {
    let Some(name) = dir.file_name() else { return };
    let tmp = parent.join(format!(".{LATEST}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    #[cfg(unix)]
    let made = std::os::unix::fs::symlink(name, &tmp);
    #[cfg(not(unix))]
    let made = std::fs::write(&tmp, name.to_string_lossy().as_bytes());
    if made.is_ok() && std::fs::rename(&tmp, parent.join(LATEST)).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Points `parent/latest` at the highest-numbered run folder left in `parent`, or removes
/// it when none is left (after a run was deleted).
pub fn repoint_latest(parent: &Path) {
    let newest = std::fs::read_dir(parent).ok().and_then(|entries| {
        entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.is_dir()
                    && !p.is_symlink()
                    && (p.file_name().and_then(|n| n.to_str()))
                        .is_some_and(|n| n.starts_with("run-"))
            })
            .max()
    });
    match newest {
        Some(dir) => point_latest(parent, &dir),
        None => {
            let _ = std::fs::remove_file(parent.join(LATEST));
        }
    }
}

/// A run folder given by the user, with a `latest` text pointer followed where symlinks
/// are not used.
pub fn resolve(dir: &Path) -> PathBuf {
    if dir.file_name().is_some_and(|n| n == LATEST)
        && dir.is_file()
        && let Ok(name) = std::fs::read_to_string(dir)
        && let Some(parent) = dir.parent()
    {
        return parent.join(name.trim());
    }
    dir.to_path_buf()
}

/// Whether `dir` already holds a run (metrics or checkpoints): a fresh run must not mix
/// into it.
pub fn holds_run(dir: &Path) -> bool {
    std::fs::metadata(dir.join("metrics.jsonl")).is_ok_and(|m| m.len() > 0)
        || !checkpoints(&dir.join("checkpoints")).is_empty()
}

/// A safetensors file's metadata, read from its header alone.
pub fn read_metadata(path: &Path) -> Result<BTreeMap<String, String>> {
    use std::io::Read;
    let bad = |why: String| Error::File {
        path: path.display().to_string(),
        why,
    };
    let mut f = std::fs::File::open(path).map_err(|e| io_error(path, "cannot open", e))?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .map_err(|e| bad(format!("not a valid safetensors file: {e}")))?;
    let len = u64::from_le_bytes(len);
    let file_len = f
        .metadata()
        .map_err(|e| io_error(path, "cannot stat", e))?
        .len();
    if len > file_len.saturating_sub(8) || len > 100_000_000 {
        return Err(bad(format!(
            "not a valid safetensors file: header of {len} bytes in a file of {file_len}"
        )));
    }
    let mut header = vec![0u8; len as usize];
    f.read_exact(&mut header)
        .map_err(|e| bad(format!("not a valid safetensors file: {e}")))?;
    #[derive(serde::Deserialize)]
    struct Header {
        #[serde(rename = "__metadata__", default)]
        metadata: BTreeMap<String, String>,
    }
    let h: Header = serde_json::from_slice(&header).map_err(|e| bad(format!("header: {e}")))?;
    Ok(h.metadata)
}

/// The checkpoints in `dir` (`step-*.safetensors`) with the step each records, oldest
/// first. Ordered by the recorded step, never by file name (names stop sorting past
/// 8 digits); a file whose header cannot be read is left out.
pub fn checkpoints(dir: &Path) -> Vec<(u64, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(u64, PathBuf)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("step-") && n.ends_with(".safetensors"))
        })
        .filter_map(|p| {
            let step = read_metadata(&p).ok()?.get("step")?.parse().ok()?;
            Some((step, p))
        })
        .collect();
    found.sort();
    found
}

/// Removes temporary files that writes interrupted by a kill left behind
/// (`.NAME.PID.tmp`, see `util::write_atomic`), except this process's own.
pub fn remove_stray_temp_files(dir: &Path) {
    let own = format!(".{}.tmp", std::process::id());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let pid = name
            .strip_suffix(".tmp")
            .and_then(|n| n.rsplit_once('.'))
            .is_some_and(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
        if name.starts_with('.') && pid && !name.ends_with(&own) && path.is_file() {
            let _ = std::fs::remove_file(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::checkpoint::Checkpoint;

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hyphae-rundir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn numbered_folders_and_latest() {
        let root = temp("numbered");
        let a = new_run_dir(&root).unwrap();
        let b = new_run_dir(&root).unwrap();
        assert_eq!(a.file_name().unwrap(), "run-001");
        assert_eq!(b.file_name().unwrap(), "run-002");
        assert_eq!(
            std::fs::canonicalize(resolve(&root.join(LATEST))).unwrap(),
            std::fs::canonicalize(&b).unwrap()
        );
        assert!(!holds_run(&b));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn checkpoints_are_ordered_by_recorded_step_and_strays_removed() {
        let dir = temp("order");
        // Names that sort the wrong way: step 100000000 has more digits than the padding.
        for (name, step) in [
            ("step-99999999", 99_999_999u64),
            ("step-100000000", 100_000_000),
        ] {
            let mut ck = Checkpoint::default();
            ck.metadata.insert("step".into(), step.to_string());
            ck.save(&dir.join(format!("{name}.safetensors"))).unwrap();
        }
        let steps: Vec<u64> = checkpoints(&dir).into_iter().map(|(s, _)| s).collect();
        assert_eq!(steps, vec![99_999_999, 100_000_000]);
        let stray = dir.join(".step-00000005.safetensors.4242424.tmp");
        let own = dir.join(format!(".x.{}.tmp", std::process::id()));
        std::fs::write(&stray, b"half a file").unwrap();
        std::fs::write(&own, b"being written").unwrap();
        remove_stray_temp_files(&dir);
        assert!(!stray.exists() && own.exists());
        assert_eq!(checkpoints(&dir).len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
