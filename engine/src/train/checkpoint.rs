//! Checkpoints as safetensors files: weights and buffers under their PyTorch names (so a
//! PyTorch `state_dict` saved with safetensors loads as is), optimizer state under
//! `optim.<param>.<buffer>`, and run metadata (graph hash, step, epoch, seed).

use crate::error::{Error, Result};
use crate::tensor::Tensor;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Tensors and string metadata read from (or to write to) a safetensors file.
#[derive(Clone, Debug, Default)]
pub struct Checkpoint {
    /// In file order (sorted by name, as safetensors stores them).
    pub tensors: Vec<(String, Tensor)>,
    pub metadata: BTreeMap<String, String>,
}

impl Checkpoint {
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// A metadata value parsed as a number, with an error naming the file and key.
    pub fn meta_u64(&self, key: &str, origin: &Path) -> Result<u64> {
        let raw = self.meta(key).ok_or_else(|| Error::File {
            path: origin.display().to_string(),
            why: format!("checkpoint metadata has no `{key}`"),
        })?;
        raw.parse().map_err(|_| Error::File {
            path: origin.display().to_string(),
            why: format!("checkpoint metadata `{key}` is not a number: {raw:?}"),
        })
    }

    /// Writes the checkpoint atomically (temp file + rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes: Vec<Vec<u8>> = self
            .tensors
            .iter()
            .map(|(_, t)| t.data().iter().flat_map(|x| x.to_le_bytes()).collect())
            .collect();
        let mut views = Vec::with_capacity(self.tensors.len());
        for ((name, t), b) in self.tensors.iter().zip(&bytes) {
            let view =
                TensorView::new(Dtype::F32, t.shape().to_vec(), b).map_err(|e| Error::File {
                    path: path.display().to_string(),
                    why: format!("tensor `{name}`: {e}"),
                })?;
            views.push((name.clone(), view));
        }
        let meta: HashMap<String, String> = self.metadata.clone().into_iter().collect();
        let data = safetensors::serialize(views, Some(meta)).map_err(|e| Error::File {
            path: path.display().to_string(),
            why: format!("cannot encode safetensors: {e}"),
        })?;
        crate::util::write_atomic(path, &data)
    }

    /// Reads a safetensors file; f16, bf16 and f64 tensors are converted to f32.
    pub fn load(path: &Path) -> Result<Checkpoint> {
        let origin = path.display().to_string();
        let err = |why: String| Error::File {
            path: origin.clone(),
            why,
        };
        let bytes =
            std::fs::read(path).map_err(|e| err(format!("cannot read weights file: {e}")))?;
        let (_, header) = SafeTensors::read_metadata(&bytes)
            .map_err(|e| err(format!("not a valid safetensors file: {e}")))?;
        let metadata: BTreeMap<String, String> = header
            .metadata()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let st = SafeTensors::deserialize(&bytes)
            .map_err(|e| err(format!("not a valid safetensors file: {e}")))?;
        let mut tensors = Vec::new();
        let mut views = st.tensors();
        views.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, view) in views {
            let data = to_f32(view.dtype(), view.data())
                .map_err(|why| err(format!("tensor `{name}`: {why}")))?;
            let t = Tensor::new(view.shape(), data)
                .map_err(|e| err(format!("tensor `{name}`: {e}")))?;
            tensors.push((name, t));
        }
        Ok(Checkpoint { tensors, metadata })
    }
}

/// Decodes little-endian numbers of the given dtype to f32: floats, and the integer types
/// PyTorch writes for class targets (int64) and BatchNorm's `num_batches_tracked`.
fn to_f32(dtype: Dtype, bytes: &[u8]) -> std::result::Result<Vec<f32>, String> {
    Ok(match dtype {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F64 => bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
        Dtype::BF16 => bytes
            .chunks_exact(2)
            .map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16))
            .collect(),
        Dtype::F16 => bytes
            .chunks_exact(2)
            .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        Dtype::I64 => bytes
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
        Dtype::I32 => bytes
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
            .collect(),
        Dtype::I16 => bytes
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]) as f32)
            .collect(),
        Dtype::I8 => bytes.iter().map(|&b| b as i8 as f32).collect(),
        Dtype::U8 | Dtype::BOOL => bytes.iter().map(|&b| b as f32).collect(),
        other => {
            return Err(format!(
                "dtype {other:?} is not supported (expected F32, F16, BF16, F64, I64, I32, I16, I8, U8 or BOOL)"
            ));
        }
    })
}

/// IEEE half → single, including subnormals, infinities and NaN.
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: value = frac · 2^-24.
            let v = frac as f32 * f32::from_bits(0x3380_0000); // 2^-24
            return if sign != 0 { -v } else { v };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, _) => sign | 0x7fc0_0000 | (frac << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (frac << 13),
    };
    f32::from_bits(bits)
}

/// A short stable hash of a graph's text form, to notice a checkpoint from another graph.
pub fn graph_hash(text: &str) -> String {
    // FNV-1a 64: stable across runs and platforms (std's hasher is not).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_conversions() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert!(f16_to_f32(0x7c00).is_infinite());
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(to_f32(Dtype::BF16, &[0x80, 0x3f]).unwrap(), vec![1.0]);
        let mut longs = 3i64.to_le_bytes().to_vec();
        longs.extend((-1i64).to_le_bytes());
        assert_eq!(to_f32(Dtype::I64, &longs).unwrap(), vec![3.0, -1.0]);
        assert_eq!(to_f32(Dtype::I32, &7i32.to_le_bytes()).unwrap(), vec![7.0]);
        assert!(to_f32(Dtype::U64, &[0; 8]).is_err());
    }

    #[test]
    fn round_trip_with_metadata() {
        let dir = std::env::temp_dir().join(format!("hyphae-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.safetensors");
        let mut ck = Checkpoint::default();
        ck.tensors.push((
            "a.weight".into(),
            Tensor::new(&[2, 2], vec![1., 2., 3., 4.]).unwrap(),
        ));
        ck.tensors.push(("b".into(), Tensor::scalar(5.0)));
        ck.metadata.insert("step".into(), "42".into());
        ck.save(&path).unwrap();
        let back = Checkpoint::load(&path).unwrap();
        assert_eq!(back.get("a.weight").unwrap().data(), &[1., 2., 3., 4.]);
        assert_eq!(back.get("b").unwrap().shape(), &[] as &[usize]);
        assert_eq!(back.meta_u64("step", &path).unwrap(), 42);
        // A truncated file is an error naming the file, never a panic.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let err = Checkpoint::load(&path).unwrap_err().to_string();
        assert!(err.contains("c.safetensors"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
