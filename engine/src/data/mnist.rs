//! MNIST from its original IDX files, plain or gzip-compressed.
//!
//! Every way a file can be wrong (missing, truncated, wrong magic, bad label, corrupt gzip)
//! is an error naming the file and the problem: a download that went wrong should be
//! obvious from the message alone.

use super::{Dataset, Options, Split};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Magic numbers of IDX files: 0x0000_08_03 (u8 data, 3 dims) and 0x0000_08_01 (u8, 1 dim).
const IMAGES_MAGIC: u32 = 2051;
const LABELS_MAGIC: u32 = 2049;
/// Normalisation of PyTorch's MNIST example (mean and std of the training pixels in [0, 1]).
pub const MEAN: f32 = 0.1307;
pub const STD: f32 = 0.3081;
const CLASSES: usize = 10;

fn file_err(path: &Path, why: impl Into<String>) -> Error {
    Error::File {
        path: path.display().to_string(),
        why: why.into(),
    }
}

/// `DIR/name`, or `DIR/name.gz` if only that exists.
fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    let plain = dir.join(name);
    let gz = dir.join(format!("{name}.gz"));
    [plain, gz].into_iter().find(|p| p.is_file())
}

/// Loads `DIR[:normalize=false]`: train = the train split and valid = t10k when both exist,
/// otherwise the one split present is cut 80/20 in file order (first 80% train). Pixels are
/// standardised with [`MEAN`] and [`STD`] unless `normalize=false`, which keeps them in
/// [0, 1] (what a VAE's BCE against its input needs).
pub(crate) fn load(rest: &str) -> Result<Split> {
    let (dir, opts) = super::csv::split_spec(rest);
    let mut opts = Options::parse("mnist", opts)?;
    let normalize = opts.take("normalize", true)?;
    opts.finish(&["normalize"])?;
    let dir = Path::new(dir);
    if !dir.is_dir() {
        return Err(file_err(dir, "MNIST directory not found"));
    }
    let mut splits = Vec::new();
    for prefix in ["train", "t10k"] {
        let images_name = format!("{prefix}-images-idx3-ubyte");
        let labels_name = format!("{prefix}-labels-idx1-ubyte");
        match (find(dir, &images_name), find(dir, &labels_name)) {
            (None, None) => {}
            (Some(i), Some(l)) => splits.push(load_pair(&i, &l, normalize)?),
            (Some(_), None) => {
                return Err(file_err(
                    &dir.join(&labels_name),
                    format!(
                        "file missing (also tried `{labels_name}.gz`); {images_name} is present"
                    ),
                ));
            }
            (None, Some(_)) => {
                return Err(file_err(
                    &dir.join(&images_name),
                    format!(
                        "file missing (also tried `{images_name}.gz`); {labels_name} is present"
                    ),
                ));
            }
        }
    }
    let mut splits = splits.into_iter();
    match (splits.next(), splits.next()) {
        (Some(train), Some(valid)) => Ok(Split::new(train, valid)),
        (Some(only), None) => {
            let n = only.len();
            let cut = n * 4 / 5;
            let idx: Vec<usize> = (0..n).collect();
            Ok(Split::new(
                only.subset(&idx[..cut])?,
                only.subset(&idx[cut..])?,
            ))
        }
        _ => Err(file_err(
            dir,
            "no MNIST files found: expected train-images-idx3-ubyte + train-labels-idx1-ubyte \
             and/or t10k-images-idx3-ubyte + t10k-labels-idx1-ubyte (each optionally .gz)",
        )),
    }
}

/// One split: images `[N, 1, rows, cols]` in [0, 1], standardised if `normalize`, labels
/// `[N]`.
fn load_pair(images_path: &Path, labels_path: &Path, normalize: bool) -> Result<Dataset> {
    let (dims, pixels) = read_idx(images_path, IMAGES_MAGIC, 3)?;
    let (ldims, label_bytes) = read_idx(labels_path, LABELS_MAGIC, 1)?;
    let (n, rows, cols) = (dims[0], dims[1], dims[2]);
    if ldims[0] != n {
        return Err(file_err(
            labels_path,
            format!(
                "{} labels but {} has {n} images",
                ldims[0],
                images_path.display()
            ),
        ));
    }
    if let Some((i, &v)) = label_bytes
        .iter()
        .enumerate()
        .find(|(_, v)| **v as usize >= CLASSES)
    {
        return Err(file_err(
            labels_path,
            format!("label {i} is {v}, outside 0..{}", CLASSES - 1),
        ));
    }
    let (mean, std) = if normalize { (MEAN, STD) } else { (0.0, 1.0) };
    let features = pixels
        .iter()
        .map(|&p| (p as f32 / 255.0 - mean) / std)
        .collect();
    Dataset::new(
        "mnist",
        Tensor::new(&[n, 1, rows, cols], features)?,
        Tensor::new(&[n], label_bytes.iter().map(|&v| v as f32).collect())?,
        Some(CLASSES),
    )
}

/// Deflate inflates at most ~1032:1, so a gzip file of `n` bytes holds at most this many
/// times `n` bytes: a header declaring more is corrupt, found before anything is inflated.
const MAX_GZIP_RATIO: u64 = 1032;

/// Reads an IDX file (plain, or gzip if its name ends in `.gz`): checks the header (magic,
/// `ndims` big-endian u32 sizes) first, then that the sizes fit in the file, and only then
/// reads exactly the promised data bytes, so a corrupt header never asks for more memory
/// than the file can hold. Returns the sizes and the data.
fn read_idx(path: &Path, magic: u32, ndims: usize) -> Result<(Vec<usize>, Vec<u8>)> {
    let file =
        std::fs::File::open(path).map_err(|e| file_err(path, format!("cannot read: {e}")))?;
    let file_len = file
        .metadata()
        .map_err(|e| file_err(path, format!("cannot read: {e}")))?
        .len();
    let is_gz = path.extension().is_some_and(|e| e == "gz");
    let gz = if is_gz { " (after decompression)" } else { "" };
    let mut input: Box<dyn Read> = if is_gz {
        Box::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    let read_err = |e: std::io::Error| {
        if is_gz {
            file_err(path, format!("corrupt gzip: {e}"))
        } else {
            file_err(path, format!("cannot read: {e}"))
        }
    };
    let header_len = 4 + 4 * ndims;
    let mut header = Vec::with_capacity(header_len);
    input
        .by_ref()
        .take(header_len as u64)
        .read_to_end(&mut header)
        .map_err(read_err)?;
    let word = |i: usize| -> Option<u32> {
        let b = header.get(4 * i..4 * i + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let truncated_header = || {
        file_err(
            path,
            format!(
                "truncated: expected at least {header_len} header bytes, found {}{gz}",
                header.len()
            ),
        )
    };
    let found = word(0).ok_or_else(truncated_header)?;
    if found != magic {
        return Err(file_err(
            path,
            format!(
                "wrong IDX magic {found} (0x{found:08x}), expected {magic} (0x{magic:08x}) for {}",
                if magic == IMAGES_MAGIC {
                    "an image file"
                } else {
                    "a label file"
                }
            ),
        ));
    }
    let dims: Vec<usize> = (1..=ndims)
        .map(|i| word(i).map(|d| d as usize))
        .collect::<Option<_>>()
        .ok_or_else(truncated_header)?;
    let data_len = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n.checked_add(header_len).is_some())
        .ok_or_else(|| file_err(path, format!("IDX sizes {dims:?} overflow")))?;
    let expected = data_len + header_len;
    let room = if is_gz {
        file_len.saturating_mul(MAX_GZIP_RATIO)
    } else {
        file_len
    };
    if expected as u64 > room {
        return Err(file_err(
            path,
            if is_gz {
                format!(
                    "header at offset 4 declares sizes {dims:?} ({expected} bytes), more than a \
                     {file_len}-byte gzip file can hold: corrupt header"
                )
            } else {
                format!("truncated: expected {expected} bytes for sizes {dims:?}, found {file_len}")
            },
        ));
    }
    let mut data = Vec::with_capacity(data_len);
    input
        .take(data_len as u64 + 1)
        .read_to_end(&mut data)
        .map_err(read_err)?;
    if data.len() < data_len {
        return Err(file_err(
            path,
            format!(
                "truncated: expected {expected} bytes for sizes {dims:?}, found {}{gz}",
                header_len + data.len()
            ),
        ));
    }
    if data.len() > data_len {
        return Err(file_err(
            path,
            format!(
                "trailing bytes after offset {expected}: expected {expected} bytes for sizes {dims:?}{gz}"
            ),
        ));
    }
    Ok((dims, data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    /// Where the real MNIST test split lives: `../shared/data/mnist` from the project root.
    fn real_dir() -> Option<PathBuf> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        [
            root.join("../shared/data/mnist"),
            root.join("../../shared/data/mnist"),
            PathBuf::from("/work/shared/data/mnist"),
        ]
        .into_iter()
        .find(|p| p.is_dir())
    }

    #[test]
    fn real_t10k_split() {
        let Some(dir) = real_dir() else {
            println!("skipped: MNIST directory not found (../shared/data/mnist)");
            return;
        };
        let s = super::super::load(&format!("mnist:{}", dir.display()), 0).unwrap();
        assert_eq!(s.train.features.shape(), &[8000, 1, 28, 28]);
        assert_eq!(s.train.labels.shape(), &[8000]);
        assert_eq!(s.valid.features.shape(), &[2000, 1, 28, 28]);
        assert_eq!(s.valid.labels.shape(), &[2000]);
        assert_eq!(s.train.num_classes, Some(10));
        assert_eq!(s.train.labels.data()[0], 7.0, "first t10k label is a 7");
        // Pixels 0 and 255 map to the ends of the standardised range.
        let (lo, hi) = (-MEAN / STD, (1.0 - MEAN) / STD);
        assert!((s.train.features.tensor().unwrap().min() - lo).abs() < 1e-5);
        assert!((s.train.features.tensor().unwrap().max() - hi).abs() < 1e-5);
        // Known class counts of the whole test split (README).
        let mut counts = s.train.class_counts().unwrap();
        for (c, v) in counts.iter_mut().zip(s.valid.class_counts().unwrap()) {
            *c += v;
        }
        assert_eq!(
            counts,
            [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
        );
        // The mean pixel of MNIST is near the standardisation mean, so features are ~0-mean.
        assert!(
            s.train.features.tensor().unwrap().mean().abs() < 0.1,
            "{}",
            s.train.features.tensor().unwrap().mean()
        );
    }

    /// A scratch directory unique to this test (removed first, so reruns start clean).
    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hyphae-mnist-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut b = magic.to_be_bytes().to_vec();
        for d in dims {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend_from_slice(data);
        b
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    /// `n` tiny 2×3 images with pixel value = image index and labels `i % 10`.
    fn write_split(dir: &Path, prefix: &str, n: u32, gzip: bool) {
        let pixels: Vec<u8> = (0..n).flat_map(|i| [i as u8; 6]).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let ext = if gzip { ".gz" } else { "" };
        let wrap = |b: &[u8]| if gzip { gz(b) } else { b.to_vec() };
        let img = idx(IMAGES_MAGIC, &[n, 2, 3], &pixels);
        let lab = idx(LABELS_MAGIC, &[n], &labels);
        std::fs::write(
            dir.join(format!("{prefix}-images-idx3-ubyte{ext}")),
            wrap(&img),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{prefix}-labels-idx1-ubyte{ext}")),
            wrap(&lab),
        )
        .unwrap();
    }

    fn load_err(dir: &Path) -> String {
        load(dir.to_str().unwrap()).unwrap_err().to_string()
    }

    #[test]
    fn both_splits_plain_and_gz() {
        let d = scratch("both");
        write_split(&d, "train", 20, false);
        write_split(&d, "t10k", 5, true);
        let s = load(d.to_str().unwrap()).unwrap();
        assert_eq!(s.train.features.shape(), &[20, 1, 2, 3]);
        assert_eq!(s.valid.features.shape(), &[5, 1, 2, 3]);
        assert_eq!(s.valid.labels.data(), &[0.0, 1.0, 2.0, 3.0, 4.0]);
        let px = s.train.features.tensor().unwrap().data()[6 * 3];
        assert!((px - (3.0 / 255.0 - MEAN) / STD).abs() < 1e-6);
        // normalize=false keeps the pixels in [0, 1]; an unknown option is an error
        let raw = load(&format!("{}:normalize=false", d.display())).unwrap();
        let px = raw.train.features.tensor().unwrap().data()[6 * 3];
        assert!((px - 3.0 / 255.0).abs() < 1e-7);
        let e = load(&format!("{}:normalise=false", d.display())).unwrap_err();
        assert!(e.to_string().contains("unknown option `normalise`"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn one_split_is_cut_80_20_in_order() {
        let d = scratch("one");
        write_split(&d, "train", 10, false);
        let s = load(d.to_str().unwrap()).unwrap();
        assert_eq!(
            s.train.labels.data(),
            &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
        );
        assert_eq!(s.valid.labels.data(), &[8.0, 9.0]);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn missing_directory_and_files() {
        let d = scratch("missing");
        let gone = d.join("nope");
        let e = load_err(&gone);
        assert!(
            e.contains("nope") && e.contains("directory not found"),
            "{e}"
        );
        let e = load_err(&d);
        assert!(
            e.contains("no MNIST files") && e.contains("t10k-images-idx3-ubyte"),
            "{e}"
        );
        write_split(&d, "t10k", 4, false);
        std::fs::remove_file(d.join("t10k-labels-idx1-ubyte")).unwrap();
        let e = load_err(&d);
        assert!(e.contains("t10k-labels-idx1-ubyte: file missing"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn truncated_file() {
        let d = scratch("trunc");
        write_split(&d, "t10k", 4, false);
        let p = d.join("t10k-images-idx3-ubyte");
        let mut b = std::fs::read(&p).unwrap();
        b.truncate(b.len() - 5);
        std::fs::write(&p, &b).unwrap();
        let e = load_err(&d);
        assert!(e.contains("t10k-images-idx3-ubyte: truncated"), "{e}");
        assert!(
            e.contains("expected 40 bytes") && e.contains("found 35"),
            "{e}"
        );
        // Truncated inside the header.
        std::fs::write(&p, &b[..6]).unwrap();
        let e = load_err(&d);
        assert!(e.contains("truncated") && e.contains("found 6"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn wrong_magic() {
        let d = scratch("magic");
        write_split(&d, "t10k", 4, true);
        // A label file where the image file should be.
        let p = d.join("t10k-images-idx3-ubyte.gz");
        std::fs::write(&p, gz(&idx(LABELS_MAGIC, &[4], &[0; 4]))).unwrap();
        let e = load_err(&d);
        assert!(
            e.contains("t10k-images-idx3-ubyte.gz: wrong IDX magic 2049"),
            "{e}"
        );
        assert!(e.contains("expected 2051"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn count_mismatch() {
        let d = scratch("count");
        write_split(&d, "t10k", 4, false);
        let lab = idx(LABELS_MAGIC, &[3], &[1, 2, 3]);
        std::fs::write(d.join("t10k-labels-idx1-ubyte"), lab).unwrap();
        let e = load_err(&d);
        assert!(e.contains("t10k-labels-idx1-ubyte: 3 labels but"), "{e}");
        assert!(e.contains("has 4 images"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn label_out_of_range() {
        let d = scratch("label");
        write_split(&d, "t10k", 4, false);
        let lab = idx(LABELS_MAGIC, &[4], &[1, 2, 12, 3]);
        std::fs::write(d.join("t10k-labels-idx1-ubyte"), lab).unwrap();
        let e = load_err(&d);
        assert!(
            e.contains("t10k-labels-idx1-ubyte: label 2 is 12, outside 0..9"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn corrupt_gzip() {
        let d = scratch("gzip");
        write_split(&d, "t10k", 4, true);
        let p = d.join("t10k-labels-idx1-ubyte.gz");
        let mut b = std::fs::read(&p).unwrap();
        let mid = b.len() / 2;
        for x in &mut b[10..mid] {
            *x ^= 0x5a;
        }
        std::fs::write(&p, &b).unwrap();
        let e = load_err(&d);
        assert!(e.contains("t10k-labels-idx1-ubyte.gz: corrupt gzip"), "{e}");
        // Not gzip at all.
        std::fs::write(&p, b"hello, not gzip").unwrap();
        let e = load_err(&d);
        assert!(e.contains("t10k-labels-idx1-ubyte.gz: corrupt gzip"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn gzip_header_sizes_are_checked_before_inflating() {
        let d = scratch("bomb");
        write_split(&d, "t10k", 4, true);
        // 60000 × 28 × 28 promised, 6 bytes given: refused from the header alone.
        let p = d.join("t10k-images-idx3-ubyte.gz");
        std::fs::write(&p, gz(&idx(IMAGES_MAGIC, &[60000, 28, 28], &[0; 6]))).unwrap();
        let e = load_err(&d);
        assert!(
            e.contains("t10k-images-idx3-ubyte.gz") && e.contains("more than a"),
            "{e}"
        );
        // Sizes whose product overflows.
        std::fs::write(
            &p,
            gz(&idx(IMAGES_MAGIC, &[u32::MAX, u32::MAX, u32::MAX], &[])),
        )
        .unwrap();
        let e = load_err(&d);
        assert!(e.contains("overflow") || e.contains("more than a"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    /// An error of the whole spec, with the checks `data::load` adds.
    fn spec_err(dir: &Path) -> String {
        super::super::load(&format!("mnist:{}", dir.display()), 0)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn empty_one_image_and_mismatched_sets_are_errors() {
        let d = scratch("tiny");
        for n in [0, 1] {
            write_split(&d, "t10k", n, false);
            let e = spec_err(&d);
            assert!(e.contains("set is empty"), "{n}: {e}");
        }
        // Train images 2×3, test images 3×2.
        write_split(&d, "train", 4, false);
        let img = idx(IMAGES_MAGIC, &[2, 3, 2], &[0; 12]);
        std::fs::write(d.join("t10k-images-idx3-ubyte"), img).unwrap();
        std::fs::write(
            d.join("t10k-labels-idx1-ubyte"),
            idx(LABELS_MAGIC, &[2], &[0, 1]),
        )
        .unwrap();
        let e = spec_err(&d);
        assert!(
            e.contains("differ in shape") && e.contains("[1, 2, 3]"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
