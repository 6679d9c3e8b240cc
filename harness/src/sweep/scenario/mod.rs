//! Workloads beyond static k-NN: the sweep config's `scenario` field.
//!
//! ```json
//! "scenario": { "kind": "filtered", "selectivities": [0.5, 0.1, 0.01, 0.001],
//!               "correlations": ["none", "clusters"], "seed": 42 }
//! "scenario": { "kind": "streaming", "initial": 0.5, "steps": ["search", {"insert": 0.1}] }
//! ```
//! A config without `scenario` is a plain k-NN sweep (`runner.rs`); one with
//! it runs here instead, over the same datasets, scales, algorithms and
//! grids, and writes the same result documents plus the scenario fields
//! (`record.rs`).
//!
//! Panics are caught and recorded per run as in k-NN sweeps; the sweep's
//! timeouts bind the Python worker (killed past them) but not in-process
//! engines, whose steps run to the end. Sharded runs are refused. The config's
//! `interleave` and `isolate_builds` do not apply: a scenario's engines run
//! one after another in this process (the Python ones in their worker).
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | [`Scenario`] (the config field), the scenario sweep loop, emitting results |
//! | `record.rs` | the result fields: `scenario`, `selectivity`, `filter`, `streaming` |
//! | `filtered.rs` | `filtered`: labels × selectivities, recall@10 and QPS under each filter |
//! | `runbook.rs` | `streaming`'s runbook: config, expansion into operations, live-set ground truth |
//! | `streaming.rs` | `streaming`: running a runbook, per-step recall, throughput, latency |
//! | `live.rs` | in-process engines with inserts, deletes and filtered search (OmenDB RAM and disk, usearch) |
//! | `table.rs` | the end-of-sweep table (`summary.md`) of a scenario sweep |
//! | `worker.rs` | the Python engines (hnswlib, faiss HNSW) through `harness/adapters/scenario.py` |

pub mod filtered;
pub mod live;
pub mod record;
pub mod runbook;
pub mod streaming;
pub mod table;
pub mod worker;

use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use super::assemble::{fill_recall, RunId, SweepStamp};
use super::config::{AlgorithmPlan, Sweep};
use super::machine;
use super::progress::run_line;
use super::results::{ResultWriter, RunResult};
use super::runner::{SweepOptions, SweepSummary};
use super::shard::ShardPlan;
use super::source::LoadDataset;
use crate::data::groundtruth::GroundTruth;
use crate::data::Dataset;

pub use filtered::FilteredConfig;
pub use record::ScenarioFields;
pub use runbook::Runbook;

/// The workload a sweep config asks for (absent: plain k-NN).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Scenario {
    /// Search under label filters of chosen selectivities.
    Filtered(FilteredConfig),
    /// A runbook of inserts, deletes and searches.
    Streaming(Runbook),
}

impl Scenario {
    /// The scenario's name in results (`filtered`, `streaming`).
    pub fn name(&self) -> &'static str {
        match self {
            Scenario::Filtered(_) => "filtered",
            Scenario::Streaming(_) => "streaming",
        }
    }

    /// Checks the scenario's own fields and that every algorithm can run it.
    pub fn validate(&self, algorithms: &[AlgorithmPlan]) -> anyhow::Result<()> {
        match self {
            Scenario::Filtered(c) => c.validate().context("scenario")?,
            Scenario::Streaming(r) => r.validate().context("scenario")?,
        }
        for (i, a) in algorithms.iter().enumerate() {
            let name = a.spec.name;
            let ok = match self {
                Scenario::Filtered(_) => filtered::can_run(name),
                Scenario::Streaming(_) => streaming::can_run(name),
            };
            if !ok {
                bail!(
                    "algorithms[{i}]: `{name}` cannot run the {} scenario (engines that can: {})",
                    self.name(),
                    match self {
                        Scenario::Filtered(_) => filtered::ENGINES,
                        Scenario::Streaming(_) => streaming::ENGINES,
                    }
                );
            }
        }
        Ok(())
    }
}

/// Where a scenario's results go, and what it has written.
pub(crate) struct Emitter<'a> {
    pub(crate) sweep: &'a Sweep,
    pub(crate) stamp: SweepStamp,
    pub(crate) writer: ResultWriter,
    pub(crate) quiet: bool,
    pub(crate) errors: usize,
    pub(crate) finished: Vec<RunResult>,
    /// Builds and searches run in this pool (`sweep.threads` wide).
    pub(crate) pool: rayon::ThreadPool,
}

impl Emitter<'_> {
    /// A result shell for one run of `algorithm` on `ds`.
    pub(crate) fn result(
        &self,
        spec: &str,
        ds: &Dataset,
        algorithm: &str,
        build_params: &super::Params,
        process: &str,
    ) -> RunResult {
        let id = RunId {
            spec,
            ds: Some(ds),
            algorithm,
            build_params,
        };
        let mut r = self.stamp.result(id, process);
        r.batch_threads = 0;
        r
    }

    /// Writes `r` (and the ids found) and prints its line.
    pub(crate) fn emit(
        &mut self,
        mut r: RunResult,
        neighbors: Option<&[Vec<u32>]>,
    ) -> anyhow::Result<()> {
        r.timestamp = machine::now_rfc3339();
        if r.error.is_some() {
            self.errors += 1;
        }
        let mut line = run_line(&r);
        if let Some(s) = r.scenario.selectivity {
            line.push_str(&format!(" [selectivity {s}]"));
        }
        self.writer.write(&mut r, neighbors)?;
        if !self.quiet {
            eprintln!("{line}");
        }
        r.config = serde_json::Value::Null;
        self.finished.push(r);
        Ok(())
    }

    /// Writes `value` as JSON to `rel` under the sweep directory; returns `rel`.
    pub(crate) fn write_side_file(
        &self,
        rel: &str,
        value: &impl Serialize,
    ) -> anyhow::Result<String> {
        let path = self.writer.dir().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, serde_json::to_vec(value)?)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(rel.to_string())
    }
}

/// Fills `r`'s recall from `ids` against `truth` (in place of `ds`'s own
/// ground truth, restored after).
pub(crate) fn score(ds: &mut Dataset, truth: &GroundTruth, ids: &[Vec<u32>], r: &mut RunResult) {
    let nb = std::mem::replace(&mut ds.neighbors, truth.0.clone());
    let dist = std::mem::replace(&mut ds.distances, truth.1.clone());
    fill_recall(ds, ids, r.k, r);
    ds.neighbors = nb;
    ds.distances = dist;
}

/// Runs `sweep`'s scenario (which must be set): every dataset and scale,
/// then the scenario's own loop over the algorithms.
pub(crate) fn run(
    sweep: &Sweep,
    scenario: &Scenario,
    load: &LoadDataset<'_>,
    opts: &SweepOptions,
    shard: Option<&ShardPlan>,
) -> anyhow::Result<SweepSummary> {
    if shard.is_some() {
        bail!(
            "scenario {}: sharded runs are not supported (run it whole)",
            scenario.name()
        );
    }
    scenario.validate(&sweep.algorithms)?;
    let started = Instant::now();
    let stamp = SweepStamp::new(sweep, machine::now_compact())?;
    let writer = ResultWriter::create(&opts.out, stamp.sweep_id())?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(sweep.threads)
        .build()
        .context("scenario thread pool")?;
    let mut em = Emitter {
        sweep,
        stamp,
        writer,
        quiet: opts.quiet,
        errors: 0,
        finished: Vec::new(),
        pool,
    };
    let mut interrupted = false;
    'all: for spec in &sweep.datasets {
        for &scale in &sweep.scales {
            if opts.stop.load(Ordering::SeqCst) {
                interrupted = true;
                break 'all;
            }
            let mut ds = match load(spec, scale, sweep.queries, !opts.quiet) {
                Ok(ds) => ds,
                Err(e) => {
                    let none = super::Params::new();
                    for plan in &sweep.algorithms {
                        let id = RunId {
                            spec,
                            ds: None,
                            algorithm: plan.spec.name,
                            build_params: &none,
                        };
                        let mut r = em.stamp.result(id, super::adapter::IN_PROCESS);
                        r.n = scale;
                        r.error = Some(format!("loading dataset `{spec}` at {scale}: {e:#}"));
                        em.emit(r, None)?;
                    }
                    continue;
                }
            };
            match scenario {
                Scenario::Filtered(c) => filtered::run_dataset(&mut em, spec, &mut ds, c)?,
                Scenario::Streaming(b) => streaming::run_dataset(&mut em, spec, &mut ds, b)?,
            }
        }
    }
    let table = table::table(&em.finished);
    std::fs::write(em.writer.dir().join("summary.md"), &table)
        .with_context(|| format!("writing summary.md in {}", em.writer.dir().display()))?;
    Ok(SweepSummary {
        table,
        dir: em.writer.dir().to_path_buf(),
        results: em.writer.written().to_vec(),
        errors: em.errors,
        interrupted,
        seconds: started.elapsed().as_secs_f64(),
        runs: em.finished,
    })
}

/// A file-name-safe stem: `[A-Za-z0-9._-]`, the rest `_`.
pub(crate) fn stem(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}
