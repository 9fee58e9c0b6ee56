//! A seeded mutation fuzzer for hyphae's loaders and graph validation, on stable Rust (see
//! `engine/fuzz/README.md`):
//!
//! ```sh
//! cargo run --release -p hyphae --example fuzz -- all --iters 100000 --seed 1
//! ```
//!
//! Targets: `graph` (RON text → parse → validate), `semantics` (mutated op fields, shapes,
//! wiring and settings → validate → one training step at batch 2), `safetensors`, `idx`,
//! `csv`. Every case is reproducible from (seed, case index); a panic, an allocation past
//! the cap or a hang is a finding, reported with the input that caused it.

mod graphs;
mod guard;
mod loaders;
mod mutate;

use clap::{Parser, ValueEnum};
use guard::{Runner, Stats, Target};
use std::path::PathBuf;
use std::time::Duration;

#[global_allocator]
static ALLOC: guard::Capped = guard::Capped;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Which {
    Graph,
    Semantics,
    Safetensors,
    Idx,
    Csv,
    /// Every target in turn (`--iters` each).
    All,
}

#[derive(Parser, Debug)]
#[command(about = "Seeded mutation fuzzing of hyphae's loaders and graph validation")]
struct Args {
    target: Which,
    /// Cases to run (per target).
    #[arg(long, default_value_t = 10_000)]
    iters: u64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Index of the first case: `--start i --iters 1` reruns case i of a seed.
    #[arg(long, default_value_t = 0)]
    start: u64,
    /// Run one saved input (a finding or a current-* file) instead of generating cases.
    #[arg(long)]
    replay: Option<PathBuf>,
    /// Folder for findings and scratch files.
    #[arg(long, default_value = "target/fuzz")]
    out: PathBuf,
    /// Cases slower than this are listed.
    #[arg(long, default_value_t = 2000)]
    slow_ms: u64,
    /// A case running longer than this is a hang: reported, and the run stops (exit 3).
    #[arg(long, default_value_t = 120)]
    hang_secs: u64,
    /// Memory limit for validation's estimate (graphs above it are rejected) ...
    #[arg(long, default_value = "1G")]
    memory_limit: String,
    /// ... and the cap on live heap bytes: an allocation past it is a finding (abort).
    #[arg(long, default_value = "6G")]
    alloc_cap: String,
}

fn main() {
    let args = Args::parse();
    let size = |s: &str| hyphae::graph::memory::parse_size(s).unwrap_or_else(|e| fail(&e));
    hyphae::graph::memory::set_limit(size(&args.memory_limit));
    guard::set_cap(size(&args.alloc_cap) as usize);
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        fail(&format!("{}: {e}", args.out.display()));
    }
    guard::quiet_panics();
    let runner = Runner {
        out: &args.out,
        seed: args.seed,
        slow: Duration::from_millis(args.slow_ms),
        epoch: guard::start_watchdog(Duration::from_secs(args.hang_secs)),
    };
    let which = match args.target {
        Which::All => vec![
            Which::Graph,
            Which::Semantics,
            Which::Safetensors,
            Which::Idx,
            Which::Csv,
        ],
        w => vec![w],
    };
    let graphs_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../graphs");
    let corpus = graphs::corpus(&graphs_dir);
    let mut findings = 0;
    for w in which {
        let mut target: Box<dyn Target> = match w {
            Which::Graph => Box::new(graphs::GraphText::new(corpus.clone())),
            Which::Semantics => Box::new(graphs::Semantics::new(&corpus)),
            Which::Safetensors => Box::new(
                loaders::Safetensors::new(args.out.join("scratch.safetensors"))
                    .unwrap_or_else(|e| fail(&e.to_string())),
            ),
            Which::Idx => Box::new(loaders::Idx::new(args.out.join("scratch-mnist"))),
            Which::Csv => Box::new(loaders::Csv::new(args.out.join("scratch.csv"))),
            Which::All => continue,
        };
        let stats = match &args.replay {
            Some(path) => {
                let input = std::fs::read(path).unwrap_or_else(|e| fail(&e.to_string()));
                let mut stats = Stats::default();
                runner.execute(target.as_mut(), 0, &input, &mut stats);
                stats
            }
            None => runner.run(target.as_mut(), args.start, args.iters),
        };
        print!("{}", stats.report(target.name()));
        findings += stats.panics.len();
    }
    std::process::exit(if findings > 0 { 1 } else { 0 });
}

fn fail(why: &str) -> ! {
    eprintln!("error: {why}");
    std::process::exit(2);
}
