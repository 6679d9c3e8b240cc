//! `omenbench run`.

use clap::Args;

/// Arguments of `omenbench run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Sweep config (JSON); the default sweep when absent.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
}

/// Runs a sweep.
pub fn execute(args: RunArgs) -> anyhow::Result<()> {
    let _ = args;
    anyhow::bail!("omenbench run: not implemented yet")
}
