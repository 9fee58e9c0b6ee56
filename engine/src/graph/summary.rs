//! The per-node summary table (like Keras `summary()` and Neural Network Console's network
//! statistics): output shape, parameter count and FLOPs for each node, and totals.

use super::validate::ValidGraph;
use crate::error::ShapeDisplay;
use crate::ops::ParamKind;

/// One row of the summary.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    pub name: String,
    pub op: String,
    /// Per-sample output shape (losses: `[]`).
    pub output_shape: Vec<usize>,
    pub params: usize,
    pub buffers: usize,
    /// Forward FLOPs per sample.
    pub flops: u64,
}

impl ValidGraph {
    /// Rows in file order.
    pub fn summary(&self) -> Vec<SummaryRow> {
        self.file
            .nodes
            .iter()
            .zip(&self.nodes)
            .map(|(decl, info)| SummaryRow {
                name: decl.name.clone(),
                op: decl.op.kind().to_string(),
                output_shape: info.sample_shape().to_vec(),
                params: info.param_count(),
                buffers: info
                    .params
                    .iter()
                    .filter(|p| p.kind == ParamKind::Buffer)
                    .map(|p| p.numel())
                    .sum(),
                flops: info.flops,
            })
            .collect()
    }

    /// The summary as a text table with totals.
    pub fn summary_table(&self) -> String {
        let rows = self.summary();
        let mut cells: Vec<[String; 5]> = vec![[
            "node".into(),
            "op".into(),
            "output shape".into(),
            "params".into(),
            "FLOPs".into(),
        ]];
        for r in &rows {
            cells.push([
                r.name.clone(),
                r.op.clone(),
                ShapeDisplay(r.output_shape.clone()).to_string(),
                group_thousands(r.params as u64),
                human_flops(r.flops),
            ]);
        }
        let widths: Vec<usize> = (0..5)
            .map(|c| {
                cells
                    .iter()
                    .map(|row| row[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for (i, row) in cells.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let pad = widths[c] - cell.chars().count();
                if c >= 3 {
                    out.push_str(&" ".repeat(pad));
                    out.push_str(cell);
                } else {
                    out.push_str(cell);
                    out.push_str(&" ".repeat(pad));
                }
                out.push_str(if c < 4 { "  " } else { "\n" });
            }
            if i == 0 {
                let total: usize = widths.iter().sum::<usize>() + 8;
                out.push_str(&"-".repeat(total));
                out.push('\n');
            }
        }
        let buffers: usize = rows.iter().map(|r| r.buffers).sum();
        out.push_str(&format!(
            "total: {} trainable parameters, {} buffer values, {} FLOPs per sample (forward)\n",
            group_thousands(self.param_count() as u64),
            group_thousands(buffers as u64),
            human_flops(self.flops())
        ));
        out.push_str(&format!(
            "memory per training step (estimate): {}\n",
            self.memory_estimate().describe()
        ));
        out
    }
}

/// `1234567` → `1,234,567`.
pub fn group_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// FLOPs with an SI suffix: `12.3M`.
pub fn human_flops(f: u64) -> String {
    let f = f as f64;
    if f >= 1e9 {
        format!("{:.2}G", f / 1e9)
    } else if f >= 1e6 {
        format!("{:.2}M", f / 1e6)
    } else if f >= 1e3 {
        format!("{:.1}K", f / 1e3)
    } else {
        format!("{f}")
    }
}
