//! The `hyphae` command line: train, check, summary, ops, eval, predict, generate, grads,
//! bench, sample.

mod args;
mod bench;
mod bench_data;
mod commands;
mod generate;
mod image_eval;
mod inference;
mod progress;
mod sample;
mod sequence_eval;
mod train;

pub use bench::synthetic_batch;

use crate::error::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "hyphae",
    version,
    about = "Train and inspect neural-network graphs saved as RON files"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Largest estimated memory need a graph may have (e.g. 8G, 512M; binary units). Default:
    /// the HYPHAE_MEMORY_LIMIT environment variable, else 3/4 of the machine's memory.
    #[arg(long, global = true, value_parser = args::memory_size)]
    pub memory_limit: Option<u64>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a graph; command-line values override the file's training settings.
    Train {
        /// The graph file (.ron).
        #[arg(value_parser = args::readable_file)]
        graph: PathBuf,
        /// Dataset: xor, spirals, moons, sine, shapes, mnist:DIR,
        /// csv:FILE[:label=COL,sep=;,header=yes|no|auto,drop=COL,COL,na=error|drop|mean,task=classify|regress],
        /// images:DIR[:size=HxW,channels=gray|rgb,mean=M/..,std=S/..,normalize=false,cache=MB,workers=N].
        #[arg(long, value_parser = args::data_spec)]
        data: Option<String>,
        #[arg(long, value_parser = args::positive_count)]
        epochs: Option<usize>,
        #[arg(long, value_parser = args::positive_count)]
        batch_size: Option<usize>,
        /// Base learning rate (a finite number > 0).
        #[arg(long, value_parser = args::learning_rate, allow_negative_numbers = true)]
        lr: Option<f32>,
        /// Seeds initial weights, batch order and dropout (and the data split unless
        /// --split-seed or training.data_seed is given).
        #[arg(long)]
        seed: Option<u64>,
        /// Seeds the train/validation split and generated data alone, so runs with
        /// different --seed share one split (overrides training.data_seed).
        #[arg(long)]
        split_seed: Option<u64>,
        /// Worker threads for the kernels (default: all cores).
        #[arg(long, value_parser = args::threads)]
        threads: Option<usize>,
        /// Stop after this many optimizer steps.
        #[arg(long, value_parser = args::max_steps)]
        max_steps: Option<u64>,
        /// Run folder for metrics.jsonl, checkpoints/, best.safetensors and
        /// weights.safetensors (default: a new `runs/<graph>/run-NNN`; `runs/<graph>/latest`
        /// links to the newest). A folder that holds another run is refused.
        #[arg(long, value_parser = args::run_dir)]
        out: Option<PathBuf>,
        /// Continue the run saved in this folder (its newest checkpoint) or from this
        /// checkpoint file, with the run's settings unless flags change them.
        #[arg(long, value_parser = args::readable_file_or_dir)]
        resume: Option<PathBuf>,
        /// Save a checkpoint at least this often, in seconds (also mid-epoch).
        #[arg(long, default_value_t = crate::train::trainer::CHECKPOINT_EVERY_SECS, value_parser = args::seconds)]
        checkpoint_every: f64,
        /// Also save a checkpoint every this many optimizer steps.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        checkpoint_every_steps: Option<u64>,
        /// Also write the curves and per-layer histograms (at the graph's stats_every) as
        /// TensorBoard events in the run folder: `tensorboard --logdir runs/`.
        #[arg(long)]
        tensorboard: bool,
    },
    /// Validate a graph: exit 0, or print every problem and exit 1.
    Check {
        #[arg(value_parser = args::readable_file)]
        graph: PathBuf,
    },
    /// Per-node table: name, op, output shape, parameters, FLOPs, memory; totals.
    Summary {
        #[arg(value_parser = args::readable_file)]
        graph: PathBuf,
    },
    /// Every op with its config fields and their defaults.
    Ops,
    /// Every run under a runs folder (default `runs`): graph, settings, steps, best and last
    /// validation, the user's name and tags; hidden runs only with --all.
    Runs {
        #[arg(default_value = "runs")]
        root: PathBuf,
        /// Also list runs marked hidden.
        #[arg(long)]
        all: bool,
    },
    /// Loss, accuracy and confusion matrix of trained weights. By default on the run's own
    /// validation split: the data spec and split seed recorded in the weights file.
    Eval(inference::EvalArgs),
    /// Run a trained graph on raw CSV rows (standardised with the training statistics
    /// stored in the weights file; class names printed), on images (a PNG/JPEG file or a
    /// folder of them, resized to the graph's input and normalised with the stored
    /// statistics) or on a safetensors file of tensors named like the graph's inputs;
    /// prints the prediction per sample.
    Predict {
        #[arg(value_parser = args::readable_file)]
        graph: PathBuf,
        #[arg(long, value_parser = args::readable_file)]
        weights: PathBuf,
        /// rows.csv (or .csv.gz, .tsv), image.png|jpg, a folder of images, or
        /// inputs.safetensors.
        #[arg(long, value_parser = args::readable_file_or_dir)]
        input: PathBuf,
        /// Node whose output to print (default: the classifier's logits or the last node).
        #[arg(long)]
        node: Option<String>,
        /// Ignore tensors in the weights file that are not the graph's (an error otherwise).
        #[arg(long)]
        allow_extra_weights: bool,
    },
    /// Continue a text prompt with a trained next-character model (weights trained on
    /// `addition` or `text:FILE`, whose vocabulary the weights file records).
    Generate(generate::GenerateArgs),
    /// One forward and backward pass on a batch (safetensors, tensors named like the
    /// graph's inputs); writes every node's output and output gradient, every parameter's
    /// gradient and the loss to a safetensors file.
    Grads {
        #[arg(value_parser = args::readable_file)]
        graph: PathBuf,
        #[arg(long, value_parser = args::readable_file)]
        weights: Option<PathBuf>,
        #[arg(long, value_parser = args::readable_file)]
        batch: PathBuf,
        #[arg(long, value_parser = args::output_file)]
        out: PathBuf,
        /// Ignore tensors in the weights file that are not the graph's (an error otherwise).
        #[arg(long)]
        allow_extra_weights: bool,
    },
    /// Median training steps/s and ms/step on synthetic batches of the graph's shapes.
    Bench {
        #[arg(value_parser = args::readable_file)]
        graph: PathBuf,
        #[arg(long, default_value_t = 50, value_parser = args::bench_steps)]
        steps: usize,
        #[arg(long, value_parser = args::threads)]
        threads: Option<usize>,
        /// Run the whole schedule on one thread (bevy's single-threaded executor). By
        /// default the executor is picked by the graph's FLOPs (single-threaded for small).
        #[arg(long, conflicts_with = "multi_threaded_executor")]
        single_threaded_executor: bool,
        /// Use bevy's multi-threaded executor whatever the graph's size.
        #[arg(long)]
        multi_threaded_executor: bool,
        /// After timing, run the steps again with per-node timing and print where a step
        /// spends its time (forward and backward per node, the optimizer, the rest).
        #[arg(long)]
        profile: bool,
    },
    /// Data-loader throughput: walks a dataset's training split in shuffled batches for
    /// a few epochs (decoding, augmenting, normalising as training would, no model) and
    /// prints images/s per epoch and their median.
    BenchData(bench_data::BenchDataArgs),
    /// A PNG grid of a node's per-sample outputs as images (generator samples, VAE
    /// decodings, reconstructions, super-resolved images).
    Sample(sample::SampleArgs),
}

/// Runs the program; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    if let Some(limit) = cli.memory_limit {
        crate::graph::memory::set_limit(limit);
    }
    match cli.command {
        Command::Train {
            graph,
            data,
            epochs,
            batch_size,
            lr,
            seed,
            split_seed,
            threads,
            max_steps,
            out,
            resume,
            checkpoint_every,
            checkpoint_every_steps,
            tensorboard,
        } => {
            set_threads(threads)?;
            train::train(train::TrainArgs {
                graph,
                data,
                epochs,
                batch_size,
                lr,
                seed,
                split_seed,
                max_steps,
                out,
                resume,
                checkpoint_every,
                checkpoint_every_steps,
                tensorboard,
            })
        }
        Command::Check { graph } => commands::check(&graph),
        Command::Summary { graph } => commands::summary(&graph),
        Command::Ops => commands::ops(),
        Command::Runs { root, all } => commands::runs(&root, all),
        Command::Eval(args) => {
            set_threads(args.threads)?;
            inference::eval(args)
        }
        Command::Predict {
            graph,
            weights,
            input,
            node,
            allow_extra_weights,
        } => inference::predict(&graph, &weights, &input, node, allow_extra_weights),
        Command::Generate(args) => generate::generate(args),
        Command::Grads {
            graph,
            weights,
            batch,
            out,
            allow_extra_weights,
        } => commands::grads(
            &graph,
            weights.as_deref(),
            &batch,
            &out,
            allow_extra_weights,
        ),
        Command::Bench {
            graph,
            steps,
            threads,
            single_threaded_executor,
            multi_threaded_executor,
            profile,
        } => {
            set_threads(threads)?;
            let executor = if single_threaded_executor {
                crate::ecs::Executor::SingleThreaded
            } else if multi_threaded_executor {
                crate::ecs::Executor::MultiThreaded
            } else {
                crate::ecs::Executor::Auto
            };
            bench::bench(&graph, steps, executor, profile)
        }
        Command::BenchData(args) => bench_data::bench_data(args),
        Command::Sample(args) => sample::sample(args),
    }
}

/// Sizes rayon's global pool (the kernels' threads).
fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| crate::Error::Other(format!("cannot start {n} threads: {e}")))?;
    }
    Ok(())
}
