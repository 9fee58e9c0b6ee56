//! Files on disk: graph listings for the dialogs and templates, and the recent-files list.

use std::path::{Path, PathBuf};

const MAX_RECENT: usize = 8;

/// `.ron` files and sub-folders of `dir`, folders first, sorted (hidden ones left out).
pub fn list_dir(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut entries: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "ron"))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    entries.sort_by_key(|p| (!p.is_dir(), p.clone()));
    entries
}

/// Every `.ron` file under `dir` (recursively when `deep`), sorted.
pub fn list_ron(dir: &Path, deep: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in list_dir(dir) {
        if p.is_dir() {
            if deep {
                out.extend(list_ron(&p, true));
            }
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Recently opened or saved files, newest first, optionally remembered in a file.
#[derive(Clone, Debug, Default)]
pub struct RecentFiles {
    pub paths: Vec<PathBuf>,
    /// Where the list is kept (one path per line); `None` keeps it in memory (tests).
    store: Option<PathBuf>,
}

impl RecentFiles {
    /// The list kept in `store`, loading what is there.
    pub fn stored_in(store: PathBuf) -> Self {
        let paths = std::fs::read_to_string(&store)
            .map(|t| {
                t.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(PathBuf::from)
                    .collect()
            })
            .unwrap_or_default();
        RecentFiles {
            paths,
            store: Some(store),
        }
    }

    pub fn remember(&mut self, path: &Path) {
        let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        self.paths.retain(|p| p != &path);
        self.paths.insert(0, path);
        self.paths.truncate(MAX_RECENT);
        if let Some(store) = &self.store {
            let text: String = self
                .paths
                .iter()
                .map(|p| format!("{}\n", p.display()))
                .collect();
            if let Some(dir) = store.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            // Losing the recent list is harmless; the document is what matters.
            let _ = std::fs::write(store, text);
        }
    }
}
