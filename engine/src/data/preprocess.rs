//! What a model needs to know about its data beyond its weights: where the data came from
//! (spec and split seed, so `eval` scores the run's own validation rows), how raw features
//! were standardised (training-split statistics), and the names of features and classes.
//!
//! It travels inside every checkpoint and weights file as one safetensors metadata entry,
//! [`METADATA_KEY`] (`hyphae.data`), holding this struct in RON. Safetensors metadata is a
//! string map, so PyTorch's loaders ignore it and the tensors stay a plain `state_dict`.

use crate::error::{Error, Result};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The safetensors metadata key that holds a [`Preprocessing`] in RON.
pub const METADATA_KEY: &str = "hyphae.data";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preprocessing {
    /// The dataset spec the model was trained on, its paths made absolute.
    pub spec: String,
    /// Seed of the train/validation cut (`training.data_seed`, else `training.seed`).
    pub split_seed: u64,
    /// Standardisation `(x - mean) / std` per feature column (tabular data, `[N, F]`) or per
    /// channel (images, `[N, C, H, W]`); empty when the loader standardises with fixed
    /// constants or not at all.
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    /// Feature column names in model order (tabular data with a header).
    pub feature_names: Vec<String>,
    /// Class names in class-index order (classifiers whose data names them).
    pub class_names: Vec<String>,
    /// Tabular data: the file's column count and the columns that became features, so a
    /// header-less file of raw rows can be read the same way.
    pub source_columns: usize,
    pub feature_columns: Vec<usize>,
    /// Missing feature values become the training mean (`na=mean`) instead of an error.
    pub fill_missing: bool,
}

impl Preprocessing {
    /// Adds this to a safetensors file's metadata.
    pub fn store(&self, metadata: &mut BTreeMap<String, String>) -> Result<()> {
        let text = ron::to_string(self)
            .map_err(|e| Error::Other(format!("cannot encode data preprocessing: {e}")))?;
        metadata.insert(METADATA_KEY.to_string(), text);
        Ok(())
    }

    /// Reads it back; `None` for files without it (PyTorch's, or hyphae's before it was kept).
    pub fn from_metadata(
        metadata: &BTreeMap<String, String>,
        origin: &str,
    ) -> Result<Option<Self>> {
        metadata
            .get(METADATA_KEY)
            .map(|text| {
                ron::from_str(text).map_err(|e| Error::File {
                    path: origin.to_string(),
                    why: format!("metadata `{METADATA_KEY}` is not valid: {e}"),
                })
            })
            .transpose()
    }

    /// Standardises raw features in place with the stored statistics: per column for
    /// `[N, F]`, per channel for `[N, C, ...]`. Missing values (NaN) become 0, the training
    /// mean, when `fill_missing` is set.
    pub fn standardise(&self, features: &mut Tensor) -> Result<()> {
        if self.mean.is_empty() {
            return Ok(());
        }
        let shape = features.shape().to_vec();
        let groups = shape.get(1).copied().unwrap_or(0);
        if groups != self.mean.len() || self.std.len() != self.mean.len() {
            return Err(Error::bad_shape(
                "preprocessing",
                &shape,
                format!(
                    "the model was trained on {} standardised features or channels",
                    self.mean.len()
                ),
            ));
        }
        let inner = shape.get(2..).map_or(1, crate::tensor::numel);
        let fill = self.fill_missing;
        for (i, x) in features.data_mut().iter_mut().enumerate() {
            let g = (i / inner.max(1)) % groups;
            *x = (*x - self.mean[g]) / self.std[g];
            if fill && x.is_nan() {
                *x = 0.0;
            }
        }
        Ok(())
    }

    /// The name of class `index` (its number when the data gave no names).
    pub fn class_name(&self, index: usize) -> String {
        self.class_names
            .get(index)
            .cloned()
            .unwrap_or_else(|| index.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trip_keeps_every_field_exactly() {
        let p = Preprocessing {
            spec: "csv:/tmp/a b.csv:label=species,sep=;".into(),
            split_seed: 7,
            mean: vec![0.1, 1.0 / 3.0, -2.5e-7],
            std: vec![1.0, 0.2, 3.0],
            feature_names: vec!["a, \"quoted\"".into(), "b".into(), "c".into()],
            class_names: vec!["setosa".into(), "virginica".into()],
            source_columns: 5,
            feature_columns: vec![1, 2, 3],
            fill_missing: true,
        };
        let mut meta = BTreeMap::new();
        p.store(&mut meta).unwrap();
        let back = Preprocessing::from_metadata(&meta, "w.safetensors").unwrap();
        assert_eq!(back, Some(p));
        assert_eq!(
            Preprocessing::from_metadata(&BTreeMap::new(), "w").unwrap(),
            None
        );
        meta.insert(METADATA_KEY.into(), "(spec: 3".into());
        let e = Preprocessing::from_metadata(&meta, "w.safetensors").unwrap_err();
        assert!(e.to_string().contains("w.safetensors"), "{e}");
    }

    #[test]
    fn standardise_per_column_and_per_channel() {
        let p = Preprocessing {
            mean: vec![1.0, 10.0],
            std: vec![2.0, 5.0],
            fill_missing: true,
            ..Preprocessing::default()
        };
        let mut rows = Tensor::new(&[2, 2], vec![3.0, 20.0, f32::NAN, 0.0]).unwrap();
        p.standardise(&mut rows).unwrap();
        assert_eq!(rows.data(), &[1.0, 2.0, 0.0, -2.0]);
        let mut img = Tensor::new(&[1, 2, 1, 2], vec![1.0, 3.0, 10.0, 15.0]).unwrap();
        p.standardise(&mut img).unwrap();
        assert_eq!(img.data(), &[0.0, 1.0, 0.0, 1.0]);
        let mut wrong = Tensor::zeros(&[1, 3]);
        assert!(p.standardise(&mut wrong).is_err());
    }
}
