//! Loader targets: safetensors weights and checkpoints, MNIST IDX (plain and .gz) and CSV,
//! each read through the engine's public entry points from a scratch file, as a user's file
//! would be.

use crate::guard::{Outcome, Target};
use crate::mutate::{self, pick};
use hyphae::Rng;
use hyphae::ecs::Runtime;
use hyphae::graph::ValidGraph;
use hyphae::train::checkpoint::Checkpoint;
use std::io::Write;
use std::path::PathBuf;

/// A loader's result as an outcome: errors are the expected answer to corrupt input.
fn outcome<T>(r: hyphae::Result<T>) -> Outcome {
    match r {
        Ok(_) => Outcome::Accepted,
        Err(_) => Outcome::Rejected,
    }
}

/// Safetensors files: mutated checkpoints (f32 weights, optimizer state, metadata) and
/// files of every float dtype; one that loads is then loaded into the XOR graph's runtime.
pub struct Safetensors {
    scratch: PathBuf,
    seeds: Vec<Vec<u8>>,
    runtime: Runtime,
}

const XOR: &str = "(version: 1, inputs: [(name: \"x\", shape: [2]), \
    (name: \"y\", shape: [1], source: Labels)], nodes: [\
    (name: \"fc1\", op: Linear(out_features: 8), inputs: [\"x\"]), \
    (name: \"act\", op: Tanh(), inputs: [\"fc1\"]), \
    (name: \"fc2\", op: Linear(out_features: 1), inputs: [\"act\"]), \
    (name: \"loss\", op: MSELoss(), inputs: [\"fc2\", \"y\"])])";

impl Safetensors {
    pub fn new(scratch: PathBuf) -> hyphae::Result<Self> {
        let mut runtime = Runtime::new(ValidGraph::from_ron(XOR, "xor")?)?;
        let mut ck = Checkpoint {
            tensors: runtime.state_dict(),
            ..Checkpoint::default()
        };
        ck.metadata.insert("step".into(), "12".into());
        ck.metadata.insert("epoch".into(), "1".into());
        ck.save(&scratch)?;
        let saved = std::fs::read(&scratch).map_err(|e| hyphae::Error::Other(e.to_string()))?;
        let mut seeds = vec![saved];
        // Every float dtype the reader converts, plus an integer one it must refuse.
        for (dtype, width) in [("F16", 2), ("BF16", 2), ("F64", 8), ("I32", 4)] {
            let data: Vec<u8> = (0..6 * width).map(|i| (i * 37 % 251) as u8).collect();
            let header = format!(
                "{{\"t\":{{\"dtype\":\"{dtype}\",\"shape\":[2,3],\"data_offsets\":[0,{}]}}}}",
                data.len()
            );
            let mut file = (header.len() as u64).to_le_bytes().to_vec();
            file.extend_from_slice(header.as_bytes());
            file.extend_from_slice(&data);
            seeds.push(file);
        }
        Ok(Safetensors {
            scratch,
            seeds,
            runtime,
        })
    }
}

const SAFETENSORS_WORDS: &[&str] = &[
    "F32",
    "F16",
    "BF16",
    "F64",
    "I64",
    "BOOL",
    "U8",
    "dtype",
    "shape",
    "data_offsets",
    "__metadata__",
    "[]",
    "null",
    "{}",
];

impl Target for Safetensors {
    fn name(&self) -> &'static str {
        "safetensors"
    }

    fn extension(&self) -> &'static str {
        "safetensors"
    }

    fn generate(&mut self, rng: &mut Rng) -> Vec<u8> {
        let mut file = pick(rng, &self.seeds).clone();
        let other = pick(rng, &self.seeds).clone();
        for _ in 0..1 + rng.below(3) {
            let header_len = file.get(..8).map_or(0, |b| {
                u64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as usize
            });
            match rng.below(4) {
                // The header's declared length.
                0 if file.len() >= 8 => {
                    let v = mutate::interesting_int(rng);
                    file[..8].copy_from_slice(&v.to_le_bytes());
                }
                // A number or keyword of the JSON header (offsets, shapes, dtypes).
                1 if file.len() >= 8 && header_len <= file.len() - 8 => {
                    let header = String::from_utf8_lossy(&file[8..8 + header_len]).into_owned();
                    let edited = mutate::mutate_text(rng, &header, SAFETENSORS_WORDS, "");
                    let mut next = (edited.len() as u64).to_le_bytes().to_vec();
                    next.extend_from_slice(edited.as_bytes());
                    next.extend_from_slice(&file[8 + header_len..]);
                    file = next;
                }
                _ => mutate::mutate_bytes(rng, &mut file, &[], &other),
            }
        }
        file
    }

    fn execute(&mut self, input: &[u8]) -> Outcome {
        if std::fs::write(&self.scratch, input).is_err() {
            return Outcome::Rejected;
        }
        let Ok(ck) = Checkpoint::load(&self.scratch) else {
            return Outcome::Rejected;
        };
        let _ = ck.meta_u64("step", &self.scratch);
        let _ = self.runtime.load_state_dict(&ck.tensors, "fuzz");
        Outcome::Accepted
    }
}

/// MNIST IDX pairs in a scratch folder. An input is `[flags][u32 images length][images]
/// [labels]`: flag bit 0 gzips the images, bit 1 the labels, bit 2 names them `train-`
/// rather than `t10k-`.
pub struct Idx {
    dir: PathBuf,
}

impl Idx {
    pub fn new(dir: PathBuf) -> Self {
        Idx { dir }
    }
}

fn idx_seed(n: u32, rows: u32, cols: u32) -> (Vec<u8>, Vec<u8>) {
    let mut images = vec![0, 0, 8, 3];
    for d in [n, rows, cols] {
        images.extend_from_slice(&d.to_be_bytes());
    }
    images.extend((0..n * rows * cols).map(|i| (i * 31 % 256) as u8));
    let mut labels = vec![0, 0, 8, 1];
    labels.extend_from_slice(&n.to_be_bytes());
    labels.extend((0..n).map(|i| (i % 10) as u8));
    (images, labels)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

impl Target for Idx {
    fn name(&self) -> &'static str {
        "idx"
    }

    fn extension(&self) -> &'static str {
        "idxcase"
    }

    fn generate(&mut self, rng: &mut Rng) -> Vec<u8> {
        let (n, side) = (1 + rng.below(12) as u32, 1 + rng.below(8) as u32);
        let (mut images, mut labels) = idx_seed(n, side, side);
        let flags = rng.below(8) as u8;
        for _ in 0..1 + rng.below(3) {
            let file = if rng.below(2) == 0 {
                &mut images
            } else {
                &mut labels
            };
            match rng.below(3) {
                // A header field: magic, count, rows or columns.
                0 => {
                    let at = 4 * rng.below(4).min(file.len() / 4);
                    let v = mutate::interesting_int(rng) as u32;
                    if file.len() >= at + 4 {
                        file[at..at + 4].copy_from_slice(&v.to_be_bytes());
                    }
                }
                _ => mutate::mutate_bytes(rng, file, &[], &[]),
            }
        }
        let mut images = if flags & 1 != 0 {
            gzip(&images)
        } else {
            images
        };
        let labels = if flags & 2 != 0 {
            gzip(&labels)
        } else {
            labels
        };
        if flags & 1 != 0 && rng.below(4) == 0 {
            mutate::mutate_bytes(rng, &mut images, &[], &[]); // a corrupt .gz
        }
        let mut input = vec![flags];
        input.extend_from_slice(&(images.len() as u32).to_le_bytes());
        input.extend_from_slice(&images);
        input.extend_from_slice(&labels);
        input
    }

    fn execute(&mut self, input: &[u8]) -> Outcome {
        let Some((&flags, rest)) = input.split_first() else {
            return Outcome::Rejected;
        };
        let Some(len) = rest
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        else {
            return Outcome::Rejected;
        };
        let rest = &rest[4..];
        let (images, labels) = rest.split_at((len as usize).min(rest.len()));
        let _ = std::fs::remove_dir_all(&self.dir);
        if std::fs::create_dir_all(&self.dir).is_err() {
            return Outcome::Rejected;
        }
        let prefix = if flags & 4 != 0 { "train" } else { "t10k" };
        let gz = |bit: u8| if flags & bit != 0 { ".gz" } else { "" };
        let files = [
            (format!("{prefix}-images-idx3-ubyte{}", gz(1)), images),
            (format!("{prefix}-labels-idx1-ubyte{}", gz(2)), labels),
        ];
        for (name, data) in files {
            if std::fs::write(self.dir.join(name), data).is_err() {
                return Outcome::Rejected;
            }
        }
        outcome(hyphae::data::load(
            &format!("mnist:{}", self.dir.display()),
            0,
        ))
    }
}

/// CSV tables. An input is the label option line (`:label=...` or empty), a newline, then
/// the table.
pub struct Csv {
    scratch: PathBuf,
}

impl Csv {
    pub fn new(scratch: PathBuf) -> Self {
        Csv { scratch }
    }
}

const CSV_SEEDS: &[&str] = &[
    "a,b,label\n1,2,0\n3,4,1\n5,6,2\n-1.5,2e3,1\n0,0,0\n",
    "x,y\n0.1,0.2\n0.3,0.4\n0.5,0.6\n0.7,0.8\n",
    "\"a, b\",c,class\n\"1\",2,cat\n3,\"4\",dog\n5,6,cat\n7,8,bird\n",
    "1,2,3\n4,5,6\n7,8,9\n",
    "f1;f2;t\n1;2;3\n",
    "a,b,c\r\n1,2,3\r\n4,5,6\r\n",
];

const CSV_WORDS: &[&str] = &[
    ",", "\"", "\n", "NaN", "inf", "-inf", "1e309", "label", "class", "", " ", "\r\n", "\u{feff}",
];

const LABEL_OPTIONS: &[&str] = &[
    "",
    "",
    ":label=label",
    ":label=class",
    ":label=0",
    ":label=2",
    ":label=99",
    ":label=",
    ":label=-1",
    ":label=y",
];

impl Target for Csv {
    fn name(&self) -> &'static str {
        "csv"
    }

    fn extension(&self) -> &'static str {
        "csvcase"
    }

    fn generate(&mut self, rng: &mut Rng) -> Vec<u8> {
        let mut text = pick(rng, CSV_SEEDS).to_string();
        let other = *pick(rng, CSV_SEEDS);
        for _ in 0..1 + rng.below(4) {
            text = mutate::mutate_text(rng, &text, CSV_WORDS, other);
        }
        format!("{}\n{text}", pick(rng, LABEL_OPTIONS)).into_bytes()
    }

    fn execute(&mut self, input: &[u8]) -> Outcome {
        let text = String::from_utf8_lossy(input);
        let (option, table) = text.split_once('\n').unwrap_or(("", &text));
        if std::fs::write(&self.scratch, table).is_err() {
            return Outcome::Rejected;
        }
        let spec = format!("csv:{}{option}", self.scratch.display());
        outcome(hyphae::data::load(&spec, 0))
    }
}
