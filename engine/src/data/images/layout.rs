//! Finding the images and classes of a folder in torchvision's `ImageFolder` layout:
//! `DIR/<class>/**/*.png|jpg|jpeg`, or `DIR/train/<class>/...` with `DIR/val/<class>/...`
//! as the validation split. Classes are the folder names sorted (as torchvision sorts
//! them), files sorted by path within each class.

use super::decode::file_err;
use crate::error::Result;
use std::path::{Path, PathBuf};

/// File extensions read as images (any case).
pub const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];
/// Names of the validation folder beside `train`.
const VALID_NAMES: [&str; 3] = ["val", "valid", "validation"];
/// Folder depth searched below a class folder (a symlink loop ends here, not in a hang).
const MAX_DEPTH: usize = 16;

/// Every image of a folder with its class.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub classes: Vec<String>,
    /// Training files first, then (with `train/` and `val/`) the validation files.
    pub files: Vec<PathBuf>,
    /// Class index of each file.
    pub labels: Vec<usize>,
    /// With `train/` and `val/`: how many of `files` are training files.
    pub train_count: Option<usize>,
}

/// Whether `path` has an image extension.
pub fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// Scans `dir`. With `known` (a trained model's class names), folders are matched to those
/// classes by name; otherwise the folders define the classes, and at least two are needed.
pub fn scan(dir: &Path, known: Option<&[String]>) -> Result<Layout> {
    if !dir.is_dir() {
        return Err(file_err(dir, "image folder not found"));
    }
    let subdirs = subfolders(dir)?;
    let has = |name: &str| subdirs.iter().any(|(n, _)| n == name);
    let valid_dir = VALID_NAMES.iter().find(|n| has(n)).map(|n| dir.join(n));
    if has("train") {
        let train = classes_in(&dir.join("train"))?;
        let mut layout = Layout::new(known, &train);
        layout.add(&dir.join("train"), train)?;
        if let Some(v) = valid_dir {
            layout.train_count = Some(layout.files.len());
            let valid = classes_in(&v)?;
            layout.add(&v, valid)?;
        }
        layout.check_classes(dir, known.is_some())?;
        return Ok(layout);
    }
    if let Some(v) = valid_dir {
        return Err(file_err(
            &v,
            "a validation folder without `train` beside it: put the training images in DIR/train/<class>/",
        ));
    }
    let found = classes_in(dir)?;
    let mut layout = Layout::new(known, &found);
    layout.add(dir, found)?;
    layout.check_classes(dir, known.is_some())?;
    Ok(layout)
}

impl Layout {
    /// No files yet; the classes are `known`, else the class folders `found`.
    fn new(known: Option<&[String]>, found: &[(String, Vec<PathBuf>)]) -> Layout {
        Layout {
            classes: match known {
                Some(k) => k.to_vec(),
                None => found.iter().map(|(n, _)| n.clone()).collect(),
            },
            files: Vec::new(),
            labels: Vec::new(),
            train_count: None,
        }
    }

    /// Appends the files of `found` (class folders of `dir`), labelled by class name.
    fn add(&mut self, dir: &Path, found: Vec<(String, Vec<PathBuf>)>) -> Result<()> {
        for (name, files) in found {
            let Some(c) = self.classes.iter().position(|k| *k == name) else {
                return Err(file_err(
                    &dir.join(&name),
                    format!(
                        "class folder `{name}` is not one of the training classes ({})",
                        self.classes.join(", ")
                    ),
                ));
            };
            self.labels.extend(std::iter::repeat_n(c, files.len()));
            self.files.extend(files);
        }
        Ok(())
    }

    fn check_classes(&self, dir: &Path, fitted: bool) -> Result<()> {
        if !fitted && self.classes.len() < 2 {
            return Err(file_err(
                dir,
                format!(
                    "one class folder (`{}`): a classifier needs at least two, \
                     DIR/<class>/image.png for each class",
                    self.classes.join("")
                ),
            ));
        }
        Ok(())
    }
}

/// Sorted non-hidden subfolders of `dir` as (name, path).
fn subfolders(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for (name, path) in entries(dir)? {
        if path.is_dir() {
            out.push((name, path));
        }
    }
    Ok(out)
}

/// Sorted (name, path) of the non-hidden entries of `dir`.
fn entries(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let read = std::fs::read_dir(dir).map_err(|e| file_err(dir, format!("cannot list: {e}")))?;
    let mut out = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| file_err(dir, format!("cannot list: {e}")))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            out.push((name, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The class folders of `dir` with their images; errors on none, on an empty class
/// folder, and on images lying directly in `dir`.
fn classes_in(dir: &Path) -> Result<Vec<(String, Vec<PathBuf>)>> {
    let mut classes = Vec::new();
    let mut loose = 0;
    for (name, path) in entries(dir)? {
        if path.is_dir() {
            let mut files = Vec::new();
            images_under(&path, 0, &mut files)?;
            if files.is_empty() {
                return Err(file_err(
                    &path,
                    format!(
                        "class folder `{name}` has no images ({})",
                        EXTENSIONS.map(|e| format!(".{e}")).join(", ")
                    ),
                ));
            }
            files.sort();
            classes.push((name, files));
        } else if is_image(&path) {
            loose += 1;
        }
    }
    if classes.is_empty() {
        return Err(file_err(
            dir,
            if loose > 0 {
                format!(
                    "{loose} image(s) but no class folders: put each class's images in a folder \
                     named after it (DIR/<class>/image.png)"
                )
            } else {
                "no class folders with images: expected DIR/<class>/image.png (or DIR/train/<class>/ \
                 and DIR/val/<class>/)"
                    .into()
            },
        ));
    }
    Ok(classes)
}

/// The image files below `dir`, depth-first.
pub(super) fn images_under(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(file_err(
            dir,
            format!("folders nested more than {MAX_DEPTH} deep (a symlink loop?)"),
        ));
    }
    for (_, path) in entries(dir)? {
        if path.is_dir() {
            images_under(&path, depth + 1, out)?;
        } else if is_image(&path) {
            out.push(path);
        }
    }
    Ok(())
}
