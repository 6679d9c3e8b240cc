//! `omenbench run`: the default sweep, or a config, with command-line
//! overrides.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use serde_json::Value;

use super::adapters::Registry;
use super::config::{AlgorithmConfig, SweepConfig, ThreadCounts};
use super::runner::{run_sweep_part, SweepOptions};
use super::shard::{self, Shard, ShardPlan};
use super::{defaults, machine, source};
use crate::data::prepare::CachedLoader;
use crate::data::resolve::Resolver;

/// Arguments of `omenbench run`.
#[derive(Args, Debug, Default)]
pub struct RunArgs {
    /// Sweep config (JSON, see harness/configs/); the default sweep when absent.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Dataset name (see `omenbench datasets list`), ann-benchmarks .hdf5
    /// path, or `base.fvecs:query.fvecs`; repeat for several. Replaces the
    /// config's datasets.
    #[arg(long = "dataset", value_name = "NAME_OR_PATH")]
    pub datasets: Vec<String>,
    /// Comma-separated train sizes, e.g. `100,1k,10k,100k,1M`.
    #[arg(long, value_delimiter = ',')]
    pub scales: Vec<String>,
    /// Comma-separated algorithm names; entries of the config with these
    /// names are kept, names it lacks are added with default parameters.
    #[arg(long, value_delimiter = ',')]
    pub algorithms: Vec<String>,
    /// Threads for builds and batch queries (default: all cores); a
    /// comma-separated list (`1,2,4`) measures batch QPS at each count and
    /// builds on the largest.
    #[arg(long, value_delimiter = ',')]
    pub threads: Vec<usize>,
    /// Query passes per parameter set (best reported, all kept).
    #[arg(long)]
    pub repeats: Option<usize>,
    /// Neighbours per query.
    #[arg(long)]
    pub k: Option<usize>,
    /// Cap on the number of queries.
    #[arg(long)]
    pub queries: Option<usize>,
    /// Also time each build on one thread.
    #[arg(long)]
    pub single_thread_build: bool,
    /// Build timeout, seconds.
    #[arg(long)]
    pub build_timeout: Option<f64>,
    /// Query-pass timeout, seconds.
    #[arg(long)]
    pub query_timeout: Option<f64>,
    /// Results directory (a sub-directory per sweep is made in it).
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// No progress bars or per-run lines (for CI).
    #[arg(long)]
    pub quiet: bool,
    /// Run only shard I of N (I from 0 to N − 1, as Slurm array task ids):
    /// a deterministic, cost-balanced part of the build sets. All N shards
    /// write into one sweep directory (see --sweep-id).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// With --shard: the sweep directory's name under --out, shared by all
    /// shards (default `sharded-<hash of the config>`, the same on every
    /// node).
    #[arg(long, requires = "shard")]
    pub sweep_id: Option<String>,
    /// Load datasets only from this prepared cache (`omenbench datasets
    /// prepare --cache-dir`); refuse to start when a subset is missing or
    /// was made from other sources. Never computes ground truth.
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
}

/// The config a `run` invocation means: the file or the default sweep, with
/// the command-line overrides applied.
pub fn effective_config(args: &RunArgs, registry: &Registry) -> anyhow::Result<SweepConfig> {
    let mut cfg = match &args.config {
        Some(path) => SweepConfig::load(path)?,
        None => defaults::default_sweep(),
    };
    if !args.datasets.is_empty() {
        cfg.datasets = args.datasets.clone();
    }
    if !args.scales.is_empty() {
        cfg.scales = args
            .scales
            .iter()
            .map(|s| Value::String(s.trim().to_string()))
            .collect();
    }
    if !args.algorithms.is_empty() {
        let mut chosen = Vec::new();
        for name in &args.algorithms {
            let name = name.trim();
            let in_config = cfg.algorithms.iter().any(|a| a.name == name);
            if registry.get(name).is_none() && !in_config {
                bail!(
                    "--algorithms: unknown algorithm `{name}` (known: {}, and the config's own entries)",
                    registry.names().join(", ")
                );
            }
            let from_config: Vec<AlgorithmConfig> = cfg
                .algorithms
                .iter()
                .filter(|a| a.name == name)
                .cloned()
                .collect();
            if from_config.is_empty() {
                chosen.push(AlgorithmConfig::with_defaults(name));
            } else {
                chosen.extend(from_config);
            }
        }
        cfg.algorithms = chosen;
    }
    match args.threads.as_slice() {
        [] => {}
        [one] => cfg.threads = Some(ThreadCounts::One(*one)),
        many => cfg.threads = Some(ThreadCounts::Many(many.to_vec())),
    }
    if let Some(r) = args.repeats {
        cfg.repeats = r;
    }
    if let Some(k) = args.k {
        cfg.k = k;
    }
    if args.queries.is_some() {
        cfg.queries = args.queries;
    }
    if args.single_thread_build {
        cfg.single_thread_build = true;
    }
    if let Some(t) = args.build_timeout {
        cfg.build_timeout_seconds = t;
    }
    if let Some(t) = args.query_timeout {
        cfg.query_timeout_seconds = t;
    }
    Ok(cfg)
}

/// Runs a sweep; Ctrl-C stops it after the current step, keeping every
/// finished result (a second Ctrl-C exits at once).
pub fn execute(args: RunArgs) -> anyhow::Result<()> {
    let registry = Registry::builtin();
    let cfg = effective_config(&args, &registry)?;
    let sweep = cfg.validate(&registry)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            eprintln!("\nomenbench: second interrupt, exiting now");
            std::process::exit(130);
        }
        eprintln!(
            "\nomenbench: interrupted; finishing the current step (Ctrl-C again to quit now)"
        );
    })
    .context("installing the Ctrl-C handler")?;
    let opts = SweepOptions {
        out: args.out.clone(),
        quiet: args.quiet,
        stop,
        // Isolated builds: each Rust engine in `omenbench worker` (this binary).
        worker: Some(std::env::current_exe().context("locating the omenbench binary")?),
    };
    let plan = match args.shard {
        Some(s) => Some(ShardPlan::new(
            &sweep,
            s,
            args.sweep_id
                .clone()
                .unwrap_or_else(|| shard::default_sweep_id(&sweep)),
        )),
        None => None,
    };
    let plan = plan.as_ref();
    let cached = match &args.cache_dir {
        Some(dir) => {
            let resolver = Resolver {
                cache: dir.clone(),
                fetch: false,
                ..Resolver::from_env()
            };
            let loader = CachedLoader::open(resolver, &source::data_plan(&sweep))?;
            loader.check(&needed(&sweep, plan))?;
            Some(loader)
        }
        None => {
            // Every dataset resolved and its files checked before the first build.
            for spec in &sweep.datasets {
                source::check(spec).with_context(|| format!("dataset `{spec}`"))?;
            }
            None
        }
    };
    if let Some(p) = plan {
        eprintln!(
            "omenbench: shard {}: {} of {} build set(s), {:.0}% of the estimated cost, into {}",
            p.shard,
            p.owned.len(),
            shard::build_sets(&sweep).len(),
            100.0 * p.cost / p.total_cost.max(1.0),
            args.out.join(&p.sweep_id).display()
        );
    }
    let from_cache = |spec: &str, n: usize, q: Option<usize>, _: bool| match &cached {
        Some(l) => l.load(spec, n, q),
        None => source::load(spec, n, q, false),
    };
    let load: &source::LoadDataset<'_> = if cached.is_some() {
        &from_cache
    } else {
        &source::load
    };
    let summary = run_sweep_part(&sweep, load, &opts, plan)?;
    if !args.quiet {
        println!("{}", summary.table);
    }
    println!(
        "omenbench: {} result(s), {} with errors, in {} ({:.0} s){}",
        summary.results.len(),
        summary.errors,
        summary.dir.display(),
        summary.seconds,
        if summary.interrupted {
            ", interrupted"
        } else {
            ""
        }
    );
    if all_failed(summary.results.len(), summary.errors) {
        bail!(
            "every run failed ({} of {}); see the errors above",
            summary.errors,
            summary.results.len()
        );
    }
    if let Some(s) = args.shard {
        if summary.interrupted {
            std::process::exit(130);
        }
        // Every build set of this shard ran: leave the marker `slurm status`
        // counts. The report is written once all shards are in.
        let marker = shard::DoneMarker {
            shard: s,
            results: summary.results.len(),
            errors: summary.errors,
            build_sets: plan.map_or(0, |p| p.owned.len()),
            seconds: summary.seconds,
            host: shard::host_name(),
            finished: machine::now_rfc3339(),
        };
        let path = shard::write_marker(&summary.dir, &marker)?;
        println!(
            "omenbench: shard {s} done ({}); when all shards are: omenbench report {}",
            path.display(),
            summary.dir.display()
        );
        return Ok(());
    }
    // The sweep's HTML report beside its results; a report that cannot be
    // written is worth a warning, not the sweep's exit status.
    match crate::report::write_report(&summary.dir, &summary.dir.join("report")) {
        Ok(path) => println!("omenbench: report in {}", path.display()),
        Err(e) => eprintln!("omenbench: warning: no report written: {e:#}"),
    }
    if summary.interrupted {
        std::process::exit(130);
    }
    Ok(())
}

/// Whether a sweep of `runs` runs, `errors` of them failed, failed as a
/// whole (and exits non-zero): every run failed.
pub fn all_failed(runs: usize, errors: usize) -> bool {
    runs > 0 && errors == runs
}

/// The (dataset, scale) pairs a run loads: those of its shard's build sets.
fn needed(sweep: &super::config::Sweep, plan: Option<&ShardPlan>) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (d, spec) in sweep.datasets.iter().enumerate() {
        for (s, &scale) in sweep.scales.iter().enumerate() {
            if plan.is_none_or(|p| p.needs(d, s)) {
                out.push((spec.clone(), scale));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_and_unknown_names_error() {
        let r = Registry::builtin();
        let args = RunArgs {
            datasets: vec!["x".into()],
            scales: vec!["1k".into(), "2k".into()],
            algorithms: vec!["omendb-flat".into(), "hnsw_rs".into()],
            k: Some(5),
            ..Default::default()
        };
        let c = effective_config(&args, &r).unwrap();
        assert_eq!(c.datasets, vec!["x"]);
        assert_eq!(c.scales.len(), 2);
        assert_eq!(c.k, 5);
        let names: Vec<&str> = c.algorithms.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, vec!["omendb-flat", "hnsw_rs"]);
        let bad = RunArgs {
            algorithms: vec!["faiss".into()],
            ..Default::default()
        };
        let e = effective_config(&bad, &r).unwrap_err().to_string();
        assert!(e.contains("--algorithms") && e.contains("faiss"), "{e}");
    }

    #[test]
    fn a_sweep_fails_only_when_every_run_failed() {
        assert!(all_failed(16, 16));
        assert!(!all_failed(16, 15));
        assert!(!all_failed(0, 0));
    }
}
