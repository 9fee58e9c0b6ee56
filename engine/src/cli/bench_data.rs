//! `hyphae bench-data`: how fast the loader turns a dataset into training batches, with no
//! model in the way (`engine/benches/images.sh` compares it with torchvision's
//! `ImageFolder` + `DataLoader`).

use crate::data::{self, Features, Loader, LoaderOptions};
use crate::error::{Error, Result};
use crate::graph::Augment;
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct BenchDataArgs {
    /// Dataset spec, e.g. `images:DIR:cache=0,workers=2`.
    #[arg(value_parser = super::args::data_spec)]
    spec: String,
    #[arg(long, default_value_t = 64, value_parser = super::args::positive_count)]
    batch_size: usize,
    /// Passes over the training split (each timed on its own).
    #[arg(long, default_value_t = 3, value_parser = super::args::positive_count)]
    epochs: usize,
    /// Augmentation as in a graph's `training.augment`, e.g. `(crop_padding: 4, hflip: true)`.
    #[arg(long, value_parser = parse_augment)]
    augment: Option<Augment>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn parse_augment(s: &str) -> std::result::Result<Augment, String> {
    let a: Augment = ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .from_str(s)
        .map_err(|e| format!("not an augment section: {e}"))?;
    let t = crate::graph::Training {
        augment: Some(a.clone()),
        ..Default::default()
    };
    match t.problems().first() {
        Some(p) => Err(format!("{}: {}", p.setting, p.message)),
        None => Ok(a),
    }
}

pub fn bench_data(a: BenchDataArgs) -> Result<i32> {
    let t0 = Instant::now();
    let split = data::load(&a.spec, a.seed)?;
    let train = Arc::new(split.train);
    println!(
        "loaded `{}` in {:.2} s: {} training samples of shape {:?}",
        a.spec,
        t0.elapsed().as_secs_f64(),
        train.len(),
        train.sample_shape()
    );
    let loader = Loader::new(
        Arc::clone(&train),
        LoaderOptions {
            batch_size: a.batch_size,
            seed: a.seed,
            augment: a.augment,
            ..LoaderOptions::default()
        },
    )?;
    println!(
        "batch size {}, {} worker thread(s)",
        a.batch_size,
        loader.workers()
    );
    let mut rates = Vec::with_capacity(a.epochs);
    for epoch in 0..a.epochs {
        let start = Instant::now();
        let mut seen = 0usize;
        for batch in loader.epoch(epoch as u64) {
            seen += batch?.0.dim(0);
        }
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        rates.push(seen as f64 / secs);
        println!(
            "epoch {epoch}: {seen} images in {secs:.3} s, {:.0} images/s",
            seen as f64 / secs
        );
    }
    rates.sort_by(f64::total_cmp);
    let median = rates
        .get(rates.len() / 2)
        .copied()
        .ok_or_else(|| Error::Other("no epochs ran".into()))?;
    println!("median: {median:.0} images/s");
    if let Features::Images(l) = &train.features {
        let (bytes, images, cap) = l.cache_usage();
        println!(
            "decoded-image cache: {images} images, {:.1} MB of {:.1} MB",
            bytes as f64 / 1048576.0,
            cap as f64 / 1048576.0
        );
    }
    Ok(0)
}
