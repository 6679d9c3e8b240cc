//! `omenbench`: benchmark OmenDB's indexes beside reference libraries.

use clap::{Parser, Subcommand};

use omenbench::{data, sweep};

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
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Datasets(cmd) => data::cli::execute(cmd),
        Command::Run(args) => sweep::cli::execute(*args),
    }
}
