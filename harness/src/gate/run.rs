//! Running gate cases: every dataset resolved first (a missing or broken
//! one stops the gate before any build), then each case run as a one-run
//! sweep ([`Case::sweep`]) through the sweep's adapter registry and runner,
//! so the gate measures exactly what `omenbench run` would.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, ensure, Context};

use super::config::{Case, GateConfig};
use super::ratio_floor::RatioCheck;
use crate::data::{Dataset, Resolver};
use crate::sweep::adapters::Registry;
use crate::sweep::runner::{run_sweep, SweepOptions};
use crate::sweep::RunResult;

/// What one case measured.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// Train vectors indexed.
    pub n_train: usize,
    /// Queries searched.
    pub n_queries: usize,
    /// Recall@1, ann-benchmarks' distance-threshold definition.
    pub recall_at_1: f64,
    /// Recall@10, same definition.
    pub recall_at_10: f64,
    /// Seconds the build took (for on-disk kinds: insert, close, reopen).
    pub build_seconds: f64,
    /// Build throughput, vectors per second.
    pub build_vectors_per_s: f64,
    /// Single-query throughput on one thread, queries per second.
    pub qps: f64,
    /// Seconds the whole case took (its sweep run; loading excluded).
    pub wall_seconds: f64,
    /// The index's own RAM accounting per vector, when it reports one.
    pub ram_bytes_per_vector: Option<f64>,
}

impl CaseResult {
    /// The figures of a case's sweep result; an error when the run failed
    /// or lacks a figure the gate judges.
    pub fn from_run(case: &Case, r: &RunResult) -> anyhow::Result<CaseResult> {
        if let Some(e) = &r.error {
            bail!("{e}");
        }
        let need =
            |what: &str, v: Option<f64>| v.with_context(|| format!("the run recorded no {what}"));
        Ok(CaseResult {
            name: case.name.clone(),
            n_train: r.n,
            n_queries: r.n_queries,
            recall_at_1: need("recall@1", r.recall_at_1)?,
            recall_at_10: need("recall@10", r.recall_at_10)?,
            build_seconds: need("build time", r.build_seconds)?,
            build_vectors_per_s: r.build_vectors_per_second.unwrap_or(0.0),
            qps: need("single-thread QPS", r.qps_single_thread)?,
            wall_seconds: 0.0,
            ram_bytes_per_vector: r.bytes_per_vector.index,
        })
    }
}

/// How cases are run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where datasets come from (tests point it at temporary folders).
    pub resolver: Resolver,
    /// Progress lines and bars on stderr.
    pub progress: bool,
    /// Where the cases' sweep results are kept (one directory per case
    /// under it); `None`: a temporary directory, removed afterwards.
    pub out: Option<PathBuf>,
    /// The omenbench binary that hosts Rust engines in worker processes for
    /// the ratio floors (`omenbench gate` passes itself); `None` runs them
    /// in this process. Cases always run in this process.
    pub worker: Option<PathBuf>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            resolver: Resolver::from_env(),
            progress: true,
            out: None,
            worker: None,
        }
    }
}

/// The datasets of a gate, keyed by (spec, n, queries).
type DatasetKey = (String, Option<usize>, Option<usize>);

/// Runs every case of `config` in order. Every dataset is resolved before
/// the first build (each once, however many cases share it).
pub fn run_all(config: &GateConfig, opts: &RunOptions) -> anyhow::Result<Vec<CaseResult>> {
    let registry = Registry::builtin();
    config.validate(&registry)?;
    let mut datasets: HashMap<DatasetKey, Dataset> = HashMap::new();
    for case in &config.cases {
        let key = (case.dataset.clone(), case.n, case.queries);
        if datasets.contains_key(&key) {
            continue;
        }
        if opts.progress {
            eprintln!("gate: {}: loading {}", case.name, case.dataset);
        }
        let ds = opts
            .resolver
            .resolve(&case.dataset, case.n, case.queries, opts.progress)
            .with_context(|| format!("case {:?}: dataset {:?}", case.name, case.dataset))?;
        datasets.insert(key, ds);
    }
    let scratch;
    let out = match &opts.out {
        Some(dir) => dir.clone(),
        None => {
            scratch = tempfile::tempdir().context("making a directory for the gate's results")?;
            scratch.path().to_path_buf()
        }
    };
    let mut results = Vec::with_capacity(config.cases.len());
    for case in &config.cases {
        let ds = &datasets[&(case.dataset.clone(), case.n, case.queries)];
        let result = run_case(case, ds, &registry, &out, opts.progress)
            .with_context(|| format!("case {:?}", case.name))?;
        results.push(result);
    }
    Ok(results)
}

/// Runs `case` over `ds` as a one-run sweep writing under `out`, and takes
/// recall@1, recall@10, build and query speed from its result.
pub fn run_case(
    case: &Case,
    ds: &Dataset,
    registry: &Registry,
    out: &std::path::Path,
    progress: bool,
) -> anyhow::Result<CaseResult> {
    ds.validate()?;
    ensure!(
        ds.k() >= 10,
        "dataset {:?} has ground truth to depth {}; recall@10 needs 10",
        ds.name,
        ds.k()
    );
    let start = Instant::now();
    if progress {
        eprintln!(
            "gate: {}: {} over {} × {} ({} insertion)",
            case.name,
            case.algorithm,
            ds.n_train(),
            ds.dims,
            case.insertion
        );
    }
    let sweep = case.sweep(registry, ds.n_train())?;
    let opts = SweepOptions {
        out: out.join(sanitize(&case.name)),
        quiet: !progress,
        stop: Arc::new(AtomicBool::new(false)),
        worker: None,
    };
    let load = |_: &str, _: usize, _: Option<usize>, _: bool| Ok(ds.clone());
    let summary = run_sweep(&sweep, &load, &opts)?;
    let [run] = summary.runs.as_slice() else {
        bail!("the sweep made {} runs, not one", summary.runs.len());
    };
    let mut result = CaseResult::from_run(case, run)?;
    result.wall_seconds = start.elapsed().as_secs_f64();
    Ok(result)
}

/// Runs every ratio floor of `config` (datasets resolved first), after
/// the cases; their results go under `out` as the cases' do.
pub fn run_ratio_floors(config: &GateConfig, opts: &RunOptions) -> anyhow::Result<Vec<RatioCheck>> {
    let registry = Registry::builtin();
    let mut datasets = Vec::with_capacity(config.ratio_floors.len());
    for f in &config.ratio_floors {
        let ds = opts
            .resolver
            .resolve(&f.dataset, f.n, f.queries, opts.progress)
            .with_context(|| format!("ratio floor {:?}: dataset {:?}", f.name, f.dataset))?;
        datasets.push(ds);
    }
    let scratch;
    let out = match &opts.out {
        Some(dir) => dir.clone(),
        None => {
            scratch = tempfile::tempdir().context("making a directory for the gate's results")?;
            scratch.path().to_path_buf()
        }
    };
    config
        .ratio_floors
        .iter()
        .zip(&datasets)
        .map(|(f, ds)| {
            if opts.progress {
                eprintln!(
                    "gate: ratio {}: {} / {}",
                    f.name, f.engine.name, f.reference.name
                );
            }
            f.check(ds, &registry, &out, opts.worker.as_deref(), opts.progress)
                .with_context(|| format!("ratio floor {:?}", f.name))
        })
        .collect()
}

/// Keeps `[A-Za-z0-9._-]` of a case name for a directory name.
pub(crate) fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}
