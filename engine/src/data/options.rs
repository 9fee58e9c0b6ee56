//! The `key=value` options of a dataset spec (`spirals:classes=3,noise=0.1`,
//! `images:DIR:size=28x28`), shared by every kind that takes options.

use super::spec_error;
use crate::error::Result;
use std::collections::BTreeMap;

/// `key=value` options after a generated set's name (`spirals:classes=3,noise=0.1`),
/// separated by `,` or `:`. Each generator takes the keys it knows; leftovers are an error,
/// so a typo is reported instead of silently ignored.
pub(crate) struct Options {
    kind: String,
    map: BTreeMap<String, String>,
}

impl Options {
    pub(crate) fn parse(kind: &str, rest: Option<&str>) -> Result<Self> {
        let mut map = BTreeMap::new();
        for item in rest
            .unwrap_or("")
            .split([',', ':'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let (k, v) = item.split_once('=').ok_or_else(|| {
                spec_error(format!("`{kind}`: option `{item}` should be key=value"))
            })?;
            map.insert(k.trim().to_string(), v.trim().to_string());
        }
        Ok(Options {
            kind: kind.to_string(),
            map,
        })
    }

    pub(crate) fn take<T: std::str::FromStr>(&mut self, key: &str, default: T) -> Result<T> {
        Ok(self.maybe(key, "")?.unwrap_or(default))
    }

    /// The value of `key` if given; `expected` (when not empty) says what a valid one is.
    pub(crate) fn maybe<T: std::str::FromStr>(
        &mut self,
        key: &str,
        expected: &str,
    ) -> Result<Option<T>> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                let hint = if expected.is_empty() {
                    String::new()
                } else {
                    format!(": expected {expected}")
                };
                spec_error(format!(
                    "`{}`: option {key}=`{v}` is not valid{hint}",
                    self.kind
                ))
            }),
        }
    }

    /// A sample count in `min..=max` (the bound keeps a typo like `train=100000000` from
    /// asking for hundreds of gigabytes).
    pub(crate) fn count(
        &mut self,
        key: &str,
        default: usize,
        min: usize,
        max: usize,
    ) -> Result<usize> {
        let n = self.take(key, default)?;
        if n < min || n > max {
            return Err(spec_error(format!(
                "`{}`: {key}={n} is out of range ({min} to {max})",
                self.kind
            )));
        }
        Ok(n)
    }

    /// A noise level: finite, in 0..=10.
    pub(crate) fn noise(&mut self, default: f32) -> Result<f32> {
        let v: f32 = self.take("noise", default)?;
        if !(0.0..=10.0).contains(&v) {
            return Err(spec_error(format!(
                "`{}`: noise={v} is out of range (0 to 10)",
                self.kind
            )));
        }
        Ok(v)
    }

    /// Errors on any option no generator took, naming the ones that exist.
    pub(crate) fn finish(self, allowed: &[&str]) -> Result<()> {
        if let Some(k) = self.map.keys().next() {
            let list = if allowed.is_empty() {
                "none".to_string()
            } else {
                allowed.join(", ")
            };
            return Err(spec_error(format!(
                "`{}`: unknown option `{k}` (options: {list})",
                self.kind
            )));
        }
        Ok(())
    }
}
