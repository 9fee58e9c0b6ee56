//! The `hyphae` command line: train, check, summary, ops, eval, predict, grads, bench.

mod bench;
mod commands;
mod inference;
mod progress;

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
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a graph; command-line values override the file's training settings.
    Train {
        /// The graph file (.ron).
        graph: PathBuf,
        /// Dataset: xor, spirals, moons, sine, shapes, mnist:DIR,
        /// csv:FILE[:label=COL,sep=;,header=yes|no|auto,drop=COL,COL,na=error|drop|mean,task=classify|regress].
        #[arg(long)]
        data: Option<String>,
        #[arg(long)]
        epochs: Option<usize>,
        #[arg(long)]
        batch_size: Option<usize>,
        /// Base learning rate.
        #[arg(long)]
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
        #[arg(long)]
        threads: Option<usize>,
        /// Stop after this many optimizer steps.
        #[arg(long)]
        max_steps: Option<u64>,
        /// Run folder for metrics.jsonl, checkpoints/ and best.safetensors.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Continue the run saved in this folder (or from this checkpoint file).
        #[arg(long)]
        resume: Option<PathBuf>,
    },
    /// Validate a graph: exit 0, or print every problem and exit 1.
    Check { graph: PathBuf },
    /// Per-node table: name, op, output shape, parameters, FLOPs; totals.
    Summary { graph: PathBuf },
    /// Every op with its config fields and their defaults.
    Ops,
    /// Loss, accuracy and confusion matrix of trained weights. By default on the run's own
    /// validation split: the data spec and split seed recorded in the weights file.
    Eval(inference::EvalArgs),
    /// Run a trained graph on raw CSV rows (standardised with the training statistics
    /// stored in the weights file; class names printed) or on a safetensors file of
    /// tensors named like the graph's inputs; prints the prediction per sample.
    Predict {
        graph: PathBuf,
        #[arg(long)]
        weights: PathBuf,
        /// rows.csv (or .csv.gz, .tsv) or inputs.safetensors.
        #[arg(long)]
        input: PathBuf,
        /// Node whose output to print (default: the classifier's logits or the last node).
        #[arg(long)]
        node: Option<String>,
        /// Ignore tensors in the weights file that are not the graph's (an error otherwise).
        #[arg(long)]
        allow_extra_weights: bool,
    },
    /// One forward and backward pass on a batch (safetensors, tensors named like the
    /// graph's inputs); writes every node's output and output gradient, every parameter's
    /// gradient and the loss to a safetensors file.
    Grads {
        graph: PathBuf,
        #[arg(long)]
        weights: Option<PathBuf>,
        #[arg(long)]
        batch: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Ignore tensors in the weights file that are not the graph's (an error otherwise).
        #[arg(long)]
        allow_extra_weights: bool,
    },
    /// Median training steps/s and ms/step on synthetic batches of the graph's shapes.
    Bench {
        graph: PathBuf,
        #[arg(long, default_value_t = 50)]
        steps: usize,
        #[arg(long)]
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
}

/// Runs the program; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
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
        } => {
            set_threads(threads)?;
            commands::train(commands::TrainArgs {
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
            })
        }
        Command::Check { graph } => commands::check(&graph),
        Command::Summary { graph } => commands::summary(&graph),
        Command::Ops => commands::ops(),
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
    }
}

/// Sizes rayon's global pool (the kernels' threads).
fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .map_err(|e| crate::Error::Other(format!("cannot start {n} threads: {e}")))?;
    }
    Ok(())
}
