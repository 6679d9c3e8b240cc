//! `omenbench report` and `omenbench compare`.

use std::path::PathBuf;

use clap::Args;

/// Arguments of `omenbench report`.
#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// Directory of result documents, searched recursively.
    #[arg(default_value = "results")]
    pub results: PathBuf,
    /// Directory to write `index.html` into (created if missing).
    #[arg(long, default_value = "reports/latest")]
    pub out: PathBuf,
}

/// Arguments of `omenbench compare`.
#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// The baseline results directory.
    pub old: PathBuf,
    /// The results directory to judge against it.
    pub new: PathBuf,
    /// Directory to write `index.html` into (created if missing).
    #[arg(long, default_value = "reports/compare")]
    pub out: PathBuf,
}

/// Writes the report and says where.
pub fn execute_report(args: ReportArgs) -> anyhow::Result<()> {
    let path = super::write_report(&args.results, &args.out)?;
    println!("omenbench: report written to {}", path.display());
    Ok(())
}

/// Writes the comparison and says where.
pub fn execute_compare(args: CompareArgs) -> anyhow::Result<()> {
    let path = super::compare::write_compare(&args.old, &args.new, &args.out)?;
    println!("omenbench: comparison written to {}", path.display());
    Ok(())
}
