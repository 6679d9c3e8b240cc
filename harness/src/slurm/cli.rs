//! `omenbench slurm` (write and submit a sharded sweep), `slurm status DIR`,
//! `slurm resume DIR`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

use crate::data::paths;
use crate::sweep::{machine, Registry, SweepConfig};

use super::job::JobSpec;
use super::script::submit_script;
use super::status::{render, shard_statuses, to_rerun, ShardState, SlurmCommands};

/// Arguments of `omenbench slurm`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SlurmArgs {
    /// `status` or `resume` of an earlier submission.
    #[command(subcommand)]
    pub command: Option<SlurmCommand>,
    /// Writing and submitting a new sharded sweep.
    #[command(flatten)]
    pub submit: SubmitArgs,
}

/// `omenbench slurm --config X --shards N …`.
#[derive(Args, Debug, Default)]
pub struct SubmitArgs {
    /// Sweep config (JSON, see harness/configs/).
    #[arg(long, required = true)]
    pub config: Option<PathBuf>,
    /// Shards (array tasks) to split the sweep into.
    #[arg(long, required = true)]
    pub shards: Option<usize>,
    /// Slurm partition of every job.
    #[arg(long)]
    pub partition: Option<String>,
    /// CPUs per task (the shard's --threads).
    #[arg(long, default_value_t = 1)]
    pub cpus_per_task: usize,
    /// Time limit of the prepare job and of each shard task (`HH:MM:SS`,
    /// `D-HH`).
    #[arg(long)]
    pub time: Option<String>,
    /// Memory of the prepare job and of each shard task (`16G`).
    #[arg(long)]
    pub mem: Option<String>,
    /// The job directory (config copy, scripts, logs, results, report).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Prepared dataset cache (a path every node sees); default DIR/cache.
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// The `omenbench` binary the jobs run; default this one.
    #[arg(long)]
    pub omenbench: Option<PathBuf>,
    /// Print the submit script instead of writing and submitting it.
    #[arg(long)]
    pub dry_run: bool,
}

/// `omenbench slurm status|resume DIR`.
#[derive(Subcommand, Debug)]
pub enum SlurmCommand {
    /// Each shard's state (done, queued, running, failed, timed out); exits
    /// 1 while any shard is not done.
    Status {
        /// The job directory (`--out` of `omenbench slurm`).
        dir: PathBuf,
    },
    /// Re-submit only the shards that are neither done nor queued, then a
    /// new report job.
    Resume {
        /// The job directory.
        dir: PathBuf,
        /// Print the submit script instead of writing and submitting it.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Runs `omenbench slurm …`.
pub fn execute(args: SlurmArgs) -> anyhow::Result<()> {
    match args.command {
        Some(SlurmCommand::Status { dir }) => status(&dir),
        Some(SlurmCommand::Resume { dir, dry_run }) => resume(&dir, dry_run),
        None => submit(args.submit),
    }
}

/// An absolute form of `p` (relative to the current directory), not
/// requiring it to exist.
fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("resolving {}", p.display()))
}

/// Whether `sbatch` is on the PATH.
fn has_sbatch() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join("sbatch").is_file()))
}

fn submit(a: SubmitArgs) -> anyhow::Result<()> {
    let (Some(config), Some(shards)) = (a.config, a.shards) else {
        bail!("omenbench slurm needs --config and --shards");
    };
    if shards == 0 {
        bail!("--shards must be at least 1");
    }
    if a.cpus_per_task == 0 {
        bail!("--cpus-per-task must be at least 1");
    }
    let cfg = SweepConfig::load(&config)?;
    let sweep = cfg.validate(&Registry::builtin())?;
    let sets = crate::sweep::shard::build_sets(&sweep).len();
    if shards > sets {
        eprintln!(
            "omenbench slurm: warning: {shards} shards for {sets} build set(s): {} shard(s) will have nothing to run",
            shards - sets
        );
    }
    let sweep_id = format!("slurm-{}", machine::now_compact());
    let dir = absolute(
        &a.out
            .unwrap_or_else(|| PathBuf::from("results").join(&sweep_id)),
    )?;
    let omenbench = match a.omenbench {
        Some(p) => absolute(&p)?,
        None => std::env::current_exe().context("finding this omenbench binary")?,
    };
    let spec = JobSpec {
        cache_dir: match a.cache_dir {
            Some(c) => absolute(&c)?,
            None => dir.join("cache"),
        },
        dir,
        shards,
        sweep_id,
        partition: a.partition,
        cpus_per_task: a.cpus_per_task,
        time: a.time,
        mem: a.mem,
        omenbench,
        root: absolute(&paths::repo_root())?,
    };
    let title = format!(
        "{} split into {shards} shard(s) ({sets} build sets), written {}",
        config.display(),
        machine::now_rfc3339()
    );
    let all: Vec<usize> = (0..shards).collect();
    let script = submit_script(&spec, &all, &title);
    if a.dry_run {
        print!("{script}");
        return Ok(());
    }
    if JobSpec::spec_path(&spec.dir).exists() {
        bail!(
            "{} already holds a submission; use `omenbench slurm status|resume {}` or another --out",
            spec.dir.display(),
            spec.dir.display()
        );
    }
    std::fs::create_dir_all(spec.logs_dir())
        .with_context(|| format!("creating {}", spec.logs_dir().display()))?;
    std::fs::write(spec.config_path(), serde_json::to_vec_pretty(&cfg)?)
        .with_context(|| format!("writing {}", spec.config_path().display()))?;
    spec.save()?;
    launch(&spec, &script, "submit.sh")
}

/// Writes `script` as `DIR/<name>` and runs it when `sbatch` is on the PATH.
fn launch(spec: &JobSpec, script: &str, name: &str) -> anyhow::Result<()> {
    let path = spec.dir.join(name);
    std::fs::write(&path, script).with_context(|| format!("writing {}", path.display()))?;
    if !has_sbatch() {
        println!(
            "omenbench slurm: wrote {}; sbatch is not on the PATH here, so run `bash {}` on a login node",
            path.display(),
            path.display()
        );
        return Ok(());
    }
    let status = Command::new("bash")
        .arg(&path)
        .status()
        .with_context(|| format!("running {}", path.display()))?;
    if !status.success() {
        bail!(
            "{} failed ({status}); nothing more was submitted",
            path.display()
        );
    }
    println!(
        "omenbench slurm: submitted {}; follow with `omenbench slurm status {}`; report in {}",
        path.display(),
        spec.dir.display(),
        spec.report_dir().join("index.html").display()
    );
    Ok(())
}

fn status(dir: &Path) -> anyhow::Result<()> {
    let spec = JobSpec::load(dir)?;
    let st = shard_statuses(&spec, &SlurmCommands);
    print!("{}", render(&spec, &st));
    let done = st
        .iter()
        .filter(|s| matches!(s.state, ShardState::Done(_)))
        .count();
    if done < st.len() {
        std::process::exit(1);
    }
    Ok(())
}

fn resume(dir: &Path, dry_run: bool) -> anyhow::Result<()> {
    let spec = JobSpec::load(dir)?;
    let st = shard_statuses(&spec, &SlurmCommands);
    let rerun = to_rerun(&st);
    if rerun.is_empty() {
        print!("{}", render(&spec, &st));
        println!("omenbench slurm: nothing to resume");
        return Ok(());
    }
    let round = (1..)
        .find(|k| !spec.dir.join(format!("resume-{k}.sh")).exists())
        .unwrap_or(1);
    let title = format!(
        "resume {round} of {}: shard(s) {} of {}, written {}",
        spec.dir.display(),
        super::job::array_list(&rerun),
        spec.shards,
        machine::now_rfc3339()
    );
    let script = submit_script(&spec, &rerun, &title);
    if dry_run {
        print!("{script}");
        return Ok(());
    }
    launch(&spec, &script, &format!("resume-{round}.sh"))
}
