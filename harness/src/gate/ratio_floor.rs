//! Ratio floors: the gate's optional check that one engine stays at least
//! `floor` times as fast as another at equal recall (e.g. omendb-hnsw /
//! hnswlib single-thread QPS at recall@10 = 0.95 ≥ 1.0). It only ever
//! **warns**: speed on a shared machine is too noisy to fail a build on.
//!
//! Each floor is a small sweep of its two engines over one dataset
//! (interleaved passes; Rust engines in worker processes when the gate is
//! run by `omenbench gate`), the ratio interpolated on each engine's Pareto
//! frontier (`sweep::ratios`), median and range over the repeats.
//!
//! ```json
//! "ratio_floors": [{
//!   "name": "omendb-hnsw-vs-hnswlib-10k",
//!   "dataset": "clustered-128-euclidean", "n": 10000, "queries": 500, "repeats": 3,
//!   "engine":    {"name": "omendb-hnsw", "query": {"ef": [16, 32, 64, 128]}},
//!   "reference": {"name": "hnswlib",     "query": {"ef": [16, 32, 64, 128]}},
//!   "recall": 0.95, "floor": 1.0
//! }]
//! ```

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{ensure, Context};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::data::Dataset;
use crate::sweep::adapters::Registry;
use crate::sweep::config::{AlgorithmConfig, Sweep, SweepConfig};
use crate::sweep::ratios::{self, Ratio};
use crate::sweep::runner::{run_sweep, SweepOptions};
use crate::sweep::RunResult;

/// One ratio floor of the gate config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatioFloor {
    /// Unique name, used in messages and for its results directory.
    pub name: String,
    /// A dataset spec, as for cases.
    pub dataset: String,
    /// Train vectors (the first `n`); the dataset's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
    /// Queries (the first `queries`); the dataset's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queries: Option<usize>,
    /// Interleaved rounds of passes; the range is over these.
    #[serde(default = "default_repeats")]
    pub repeats: usize,
    /// The engine whose speed is checked, with its grids (a sweep entry).
    pub engine: AlgorithmConfig,
    /// The engine it is divided by.
    pub reference: AlgorithmConfig,
    /// The recall@10 the ratio is taken at.
    pub recall: f64,
    /// The median ratio below which the gate warns.
    pub floor: f64,
}

fn default_repeats() -> usize {
    3
}

/// What one ratio floor found.
#[derive(Debug, Clone, PartialEq)]
pub struct RatioCheck {
    /// The floor's name.
    pub name: String,
    /// The ratio, median and range over repeats (`None`: not measured).
    pub ratio: Option<Ratio>,
    /// A line for the gate's output.
    pub line: String,
    /// The warning, when the floor is not met or could not be checked.
    pub warning: Option<String>,
}

impl RatioFloor {
    /// Checks the recall, the floor and both engines' grids.
    pub fn validate(&self, registry: &Registry) -> anyhow::Result<()> {
        ensure!(
            self.recall > 0.0 && self.recall <= 1.0,
            "recall: {} is not in (0, 1]",
            self.recall
        );
        ensure!(
            self.floor.is_finite() && self.floor > 0.0,
            "floor: must be a positive ratio, got {}",
            self.floor
        );
        ensure!(
            self.engine.name != self.reference.name,
            "engine and reference are both `{}`",
            self.engine.name
        );
        self.sweep(registry, self.n.unwrap_or(1)).map(|_| ())
    }

    /// The floor's sweep over `n_train` vectors.
    pub fn sweep(&self, registry: &Registry, n_train: usize) -> anyhow::Result<Sweep> {
        let config = json!({
            "datasets": [self.dataset],
            "scales": [n_train],
            "repeats": self.repeats,
            "algorithms": [self.engine, self.reference],
        });
        let cfg: SweepConfig = serde_json::from_value(config).context("ratio floor sweep")?;
        cfg.validate(registry)
    }

    /// Runs the floor's sweep over `ds` (results under `out`; Rust engines
    /// in `worker` processes when given) and judges the ratio. Failed runs
    /// become a warning, never an error: only a sweep that cannot write its
    /// results is one.
    pub fn check(
        &self,
        ds: &Dataset,
        registry: &Registry,
        out: &Path,
        worker: Option<&Path>,
        progress: bool,
    ) -> anyhow::Result<RatioCheck> {
        let sweep = self.sweep(registry, ds.n_train())?;
        let opts = SweepOptions {
            out: out.join(super::run::sanitize(&self.name)),
            quiet: !progress,
            stop: Arc::new(AtomicBool::new(false)),
            worker: worker.map(Path::to_path_buf),
        };
        let load = |_: &str, _: usize, _: Option<usize>, _: bool| Ok(ds.clone());
        let summary = run_sweep(&sweep, &load, &opts)?;
        let of = |name: &str| -> Vec<&RunResult> {
            summary
                .runs
                .iter()
                .filter(|r| r.algorithm == name)
                .collect()
        };
        let (e, r): (Vec<_>, Vec<_>) = (of(&self.engine.name), of(&self.reference.name));
        let ratio = ratios::ratio(&e, &r, self.recall);
        let what = format!(
            "{} / {} at recall@10 {:.2} ({} × {}, {} rounds)",
            self.engine.name,
            self.reference.name,
            self.recall,
            ds.n_train(),
            ds.dims,
            self.repeats
        );
        let failed = summary.runs.iter().filter(|r| r.error.is_some()).count();
        let (line, warning) = match ratio {
            Some(q) => {
                let line = format!(
                    "ratio {}: {what}: {}; floor {:.2}",
                    self.name,
                    ratios::format_ratio(&q),
                    self.floor
                );
                let warn = (q.median < self.floor).then(|| {
                    format!(
                        "ratio {}: {what} is {:.2}×, below its floor {:.2} (warning only)",
                        self.name, q.median, self.floor
                    )
                });
                (line, warn)
            }
            None => {
                let why = if failed > 0 {
                    format!("{failed} of {} runs failed", summary.runs.len())
                } else {
                    "an engine does not reach that recall".to_string()
                };
                let line = format!("ratio {}: {what}: not measured ({why})", self.name);
                let warn = format!("ratio {}: not checked: {why} (warning only)", self.name);
                (line, Some(warn))
            }
        };
        Ok(RatioCheck {
            name: self.name.clone(),
            ratio,
            line,
            warning,
        })
    }
}
