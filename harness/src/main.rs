//! `omenbench`: benchmark OmenDB's indexes beside reference libraries.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

use clap::{Parser, Subcommand};

use omenbench::{data, gate, report, slurm, sweep};

/// Benchmark harness for OmenDB and reference ANN libraries.
#[derive(Parser)]
#[command(name = "omenbench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List, make, inspect datasets and compute their ground truth.
    #[command(subcommand)]
    Datasets(data::cli::DatasetsCommand),
    /// Run a benchmark sweep (the default sweep when given no arguments).
    Run(Box<sweep::cli::RunArgs>),
    /// CI recall gate: run ci/gate.json's cases against floors and the baseline.
    Gate(gate::cli::GateArgs),
    /// Write the HTML report of a results directory (charts, tables).
    Report(report::cli::ReportArgs),
    /// Compare two results directories: overlaid charts, a table of deltas.
    Compare(report::cli::CompareArgs),
    /// Run a sweep sharded over a Slurm cluster (prepare job, job array,
    /// report job); `slurm status DIR`, `slurm resume DIR`.
    Slurm(Box<slurm::cli::SlurmArgs>),
    /// Host one built-in Rust engine for a sweep (JSON lines on stdin and
    /// stdout; started by `omenbench run` for isolated builds).
    #[command(hide = true)]
    Worker {
        /// The engine's registry name.
        algorithm: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Datasets(cmd) => data::cli::execute(cmd),
        Command::Run(args) => sweep::cli::execute(*args),
        Command::Gate(args) => gate::cli::execute(args),
        Command::Report(args) => report::cli::execute_report(args),
        Command::Compare(args) => report::cli::execute_compare(args),
        Command::Slurm(args) => slurm::cli::execute(*args),
        Command::Worker { algorithm } => sweep::worker::serve(&algorithm),
    }
}
