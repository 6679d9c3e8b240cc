//! `omenbench datasets …` subcommands.

use clap::Subcommand;

/// The `datasets` subcommands.
#[derive(Subcommand, Debug)]
pub enum DatasetsCommand {
    /// List the datasets known by name.
    List,
}

/// Runs a `datasets` subcommand.
pub fn execute(cmd: DatasetsCommand) -> anyhow::Result<()> {
    match cmd {
        DatasetsCommand::List => {
            println!("(no datasets defined yet)");
            Ok(())
        }
    }
}
