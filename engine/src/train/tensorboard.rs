//! TensorBoard event files, so that a run opens in the tool people already use
//! (`tensorboard --logdir runs/`): the run's curves as scalar summaries and per-layer
//! statistics as histograms, written beside `metrics.jsonl` when a run asks for them.
//!
//! The format is TensorFlow's record log: each record is its length (u64, little
//! endian), the masked CRC-32C of those 8 bytes, the payload, and the payload's masked
//! CRC-32C. The payload is an `Event` protocol buffer; the few fields used are encoded
//! here by hand (field numbers from tensorflow/core/util/event.proto and summary.proto)
//! rather than pulling in a protobuf stack. Like `metrics.jsonl` the file is a log that
//! grows: each record is one write, so a kill leaves at most a torn last record, which
//! TensorBoard skips.

use crate::ecs::stats::Histogram;
use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// An open events file.
pub struct EventWriter {
    file: std::fs::File,
    path: PathBuf,
}

impl EventWriter {
    /// A new events file in `dir`, named as TensorBoard expects
    /// (`events.out.tfevents.<seconds>.hyphae`), starting with the version record.
    pub fn create(dir: &Path) -> Result<EventWriter> {
        let now = wall_time();
        // A resumed run gets a second file: a distinct name, never an overwrite.
        let mut path = dir.join(format!("events.out.tfevents.{}.hyphae", now as u64));
        let mut k = 1;
        while path.exists() {
            path = dir.join(format!("events.out.tfevents.{}.hyphae.{k}", now as u64));
            k += 1;
        }
        let file = std::fs::OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::File {
                path: path.display().to_string(),
                why: format!("cannot create TensorBoard events file: {e}"),
            })?;
        let mut w = EventWriter { file, path };
        let mut event = event_header(now, 0);
        string_field(&mut event, 3, "brain.Event:2");
        w.record(&event)?;
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One scalar point of the curve `tag` (non-finite values are skipped, as
    /// TensorBoard cannot plot them).
    pub fn scalar(&mut self, tag: &str, step: u64, value: f64) -> Result<()> {
        if !value.is_finite() {
            return Ok(());
        }
        let mut v = Vec::new();
        string_field(&mut v, 1, tag);
        fixed32_field(&mut v, 2, (value as f32).to_bits());
        self.summary(step, &v)
    }

    /// A histogram of `tag` at `step`: equal-width bins between `h.lo` and `h.hi`, with
    /// the tensor's sum and sum of squares for TensorBoard's mean and std.
    pub fn histogram(
        &mut self,
        tag: &str,
        step: u64,
        h: &Histogram,
        sum: f64,
        sum_squares: f64,
    ) -> Result<()> {
        let n: f64 = h.counts.iter().map(|&c| c as f64).sum();
        if n == 0.0 || !h.lo.is_finite() || !h.hi.is_finite() {
            return Ok(());
        }
        let width = (h.hi - h.lo) as f64 / h.counts.len().max(1) as f64;
        let limits: Vec<f64> = (1..=h.counts.len())
            .map(|i| h.lo as f64 + width * i as f64)
            .collect();
        let counts: Vec<f64> = h.counts.iter().map(|&c| c as f64).collect();
        let mut histo = Vec::new();
        fixed64_field(&mut histo, 1, (h.lo as f64).to_bits());
        fixed64_field(&mut histo, 2, (h.hi as f64).to_bits());
        fixed64_field(&mut histo, 3, n.to_bits());
        fixed64_field(&mut histo, 4, sum.to_bits());
        fixed64_field(&mut histo, 5, sum_squares.to_bits());
        packed_doubles(&mut histo, 6, &limits);
        packed_doubles(&mut histo, 7, &counts);
        let mut v = Vec::new();
        string_field(&mut v, 1, tag);
        bytes_field(&mut v, 5, &histo);
        self.summary(step, &v)
    }

    /// An event holding a summary with one value.
    fn summary(&mut self, step: u64, value: &[u8]) -> Result<()> {
        let mut summary = Vec::new();
        bytes_field(&mut summary, 1, value);
        let mut event = event_header(wall_time(), step);
        bytes_field(&mut event, 5, &summary);
        self.record(&event)
    }

    /// Appends one framed record with a single write.
    fn record(&mut self, payload: &[u8]) -> Result<()> {
        let len = (payload.len() as u64).to_le_bytes();
        let mut out = Vec::with_capacity(payload.len() + 16);
        out.extend_from_slice(&len);
        out.extend_from_slice(&masked_crc(&len).to_le_bytes());
        out.extend_from_slice(payload);
        out.extend_from_slice(&masked_crc(payload).to_le_bytes());
        self.file.write_all(&out).map_err(|e| Error::File {
            path: self.path.display().to_string(),
            why: format!("cannot write TensorBoard events: {e}"),
        })
    }
}

fn wall_time() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `Event.wall_time` (1, double) and `Event.step` (2, int64).
fn event_header(wall: f64, step: u64) -> Vec<u8> {
    let mut e = Vec::new();
    fixed64_field(&mut e, 1, wall.to_bits());
    varint(&mut e, 2 << 3);
    varint(&mut e, step);
    e
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field (wire type 2).
fn bytes_field(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    varint(out, (field << 3) | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn string_field(out: &mut Vec<u8>, field: u64, s: &str) {
    bytes_field(out, field, s.as_bytes());
}

/// A 64-bit field (wire type 1): doubles.
fn fixed64_field(out: &mut Vec<u8>, field: u64, bits: u64) {
    varint(out, (field << 3) | 1);
    out.extend_from_slice(&bits.to_le_bytes());
}

/// A 32-bit field (wire type 5): floats.
fn fixed32_field(out: &mut Vec<u8>, field: u64, bits: u32) {
    varint(out, (field << 3) | 5);
    out.extend_from_slice(&bits.to_le_bytes());
}

/// A packed `repeated double`.
fn packed_doubles(out: &mut Vec<u8>, field: u64, values: &[f64]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    bytes_field(out, field, &bytes);
}

/// CRC-32C (Castagnoli), bitwise: the records are small and few.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// TensorFlow's masking of stored CRCs (so a CRC of data holding CRCs stays strong).
fn masked_crc(data: &[u8]) -> u32 {
    let c = crc32c(data);
    c.rotate_right(15).wrapping_add(0xa282_ead8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The records of an events file, their CRCs checked.
    fn records(bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let len_bytes = &bytes[at..at + 8];
            let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
            let crc = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
            assert_eq!(crc, masked_crc(len_bytes), "length CRC");
            let payload = &bytes[at + 12..at + 12 + len];
            let crc = u32::from_le_bytes(bytes[at + 12 + len..at + 16 + len].try_into().unwrap());
            assert_eq!(crc, masked_crc(payload), "payload CRC");
            out.push(payload.to_vec());
            at += 16 + len;
        }
        out
    }

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        // The CRC-32C check value of "123456789" (RFC 3720, iSCSI).
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn writes_framed_version_scalar_and_histogram_records() {
        let dir = std::env::temp_dir().join(format!("hyphae-tb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut w = EventWriter::create(&dir).unwrap();
        w.scalar("loss/train", 7, 0.25).unwrap();
        w.scalar("loss/train", 8, f64::NAN).unwrap(); // skipped
        let h = Histogram {
            lo: -1.0,
            hi: 1.0,
            counts: vec![1, 3],
        };
        w.histogram("fc1/activations", 7, &h, 0.5, 2.0).unwrap();
        let bytes = std::fs::read(w.path()).unwrap();
        let recs = records(&bytes);
        assert_eq!(recs.len(), 3);
        let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        assert!(contains(&recs[0], b"brain.Event:2"));
        assert!(contains(&recs[1], b"loss/train"));
        assert!(contains(&recs[1], &0.25f32.to_le_bytes()));
        // step 7 as a varint after field 2's key
        assert!(contains(&recs[1], &[0x10, 7]));
        assert!(contains(&recs[2], b"fc1/activations"));
        assert!(contains(&recs[2], &4.0f64.to_le_bytes()), "count");
        assert!(contains(&recs[2], &0.0f64.to_le_bytes()), "bucket limit");
        // A second writer in the same folder and second gets its own file.
        let w2 = EventWriter::create(&dir).unwrap();
        assert_ne!(w2.path(), w.path());
        std::fs::remove_dir_all(&dir).ok();
    }
}
