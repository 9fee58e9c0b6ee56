//! Which tensors of a weights file load into a graph, PyTorch-strict: every tensor must be
//! one of the graph's parameters or buffers, as `load_state_dict(strict=True)` demands, so
//! a file from another network is refused instead of silently half-used.

use super::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Tensors that are never weights: hyphae's optimizer state in its checkpoints, and
/// PyTorch's BatchNorm step counter (`num_batches_tracked`, int64), which hyphae does not
/// use: its running statistics use a fixed momentum, as PyTorch's do unless `momentum=None`.
fn is_bookkeeping(name: &str) -> bool {
    name.starts_with("optim.")
        || name.ends_with(".num_batches_tracked")
        || name == "num_batches_tracked"
}

/// The tensors of `ck` to load into a graph whose parameters and buffers are `expected`.
/// Others are an error that lists them, unless `allow_extra` (`--allow-extra-weights`).
pub fn model_tensors(
    ck: Checkpoint,
    expected: &[String],
    origin: &str,
    allow_extra: bool,
) -> Result<Vec<(String, Tensor)>> {
    let (ours, extra): (Vec<_>, Vec<_>) = ck
        .tensors
        .into_iter()
        .filter(|(n, _)| !is_bookkeeping(n))
        .partition(|(n, _)| expected.contains(n));
    if !extra.is_empty() && !allow_extra {
        let names: Vec<&str> = extra.iter().map(|(n, _)| n.as_str()).collect();
        return Err(Error::File {
            path: origin.to_string(),
            why: format!(
                "{} tensor(s) that are not parameters or buffers of the graph: {} \
                 (the graph's are: {}); pass --allow-extra-weights to ignore them",
                names.len(),
                names.join(", "),
                expected.join(", ")
            ),
        });
    }
    Ok(ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_tensors_are_refused_unless_allowed() {
        let mut ck = Checkpoint::default();
        for n in [
            "fc.weight",
            "bn.num_batches_tracked",
            "optim.fc.weight.buf1",
            "head.bias",
        ] {
            ck.tensors.push((n.into(), Tensor::scalar(1.0)));
        }
        let expected = vec!["fc.weight".to_string()];
        let e = model_tensors(ck.clone(), &expected, "w.safetensors", false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("w.safetensors")
                && e.contains("head.bias")
                && e.contains("--allow-extra-weights"),
            "{e}"
        );
        assert!(!e.contains("num_batches_tracked"), "{e}");
        let ok = model_tensors(ck, &expected, "w", true).unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].0, "fc.weight");
    }
}
