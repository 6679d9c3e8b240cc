//! The gate's configuration, `ci/gate.json`: a fixed list of seeded cases,
//! each with its dataset, algorithm (a sweep registry name), build and query
//! parameters, and floors.
//!
//! A case is a one-run sweep ([`Case::sweep`]): the algorithm and its
//! parameters are checked by the same registry the sweep uses, so a case
//! may name any algorithm `omenbench run` knows, and a new index kind needs
//! no change here. Parsing is strict: unknown fields, algorithms and
//! parameters are errors that name the case and the field, so a typo cannot
//! silently weaken the gate.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

use anyhow::{bail, ensure, Context};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::ratio_floor::RatioFloor;
use crate::sweep::adapters::{Registry, SINGLE_INSERT};
use crate::sweep::config::{AlgorithmConfig, Sweep, SweepConfig};
use crate::sweep::scenario::Scenario;
use crate::sweep::Params;

/// The whole gate: the cases it runs, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// Free text for people reading the file; ignored by the gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The cases, run in this order.
    pub cases: Vec<Case>,
    /// Speed ratios between two engines that warn (never fail) when not
    /// met (`ratio_floor.rs`); run after the cases.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ratio_floors: Vec<RatioFloor>,
}

/// One gate case: an index built one way over one dataset, queried one way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique name; the key of the case's baseline entry.
    pub name: String,
    /// A dataset spec for [`crate::data::resolve`], e.g.
    /// `clustered-128-euclidean` or `digits-64-euclidean`.
    pub dataset: String,
    /// Train vectors to index (the first `n`); `None` uses the dataset's
    /// default (a whole file, with its shipped ground truth).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
    /// Test vectors to query (the first `queries`); `None` uses the
    /// dataset's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queries: Option<usize>,
    /// The algorithm's sweep registry name, e.g. `omendb-hnsw-disk`.
    pub algorithm: String,
    /// How vectors go in.
    pub insertion: Insertion,
    /// Build parameters, by the algorithm's names (`m`, `ef_construction`,
    /// `seed`, `pq_m`, …); the registry's default for any not given.
    pub build: Params,
    /// Query parameters.
    pub query: QueryParams,
    /// Absolute recall floors.
    pub floors: Floors,
    /// A workload other than static k-NN (`sweep::scenario`), shaped to
    /// make one run: one selectivity and one correlation for `filtered`.
    /// For `streaming` the floors bind the minimum over the search steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<Scenario>,
}

/// How a case's vectors are inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Insertion {
    /// One `add` call per vector, in row order, on one thread (the
    /// algorithm's `single_insert` build parameter set to 1).
    Single,
    /// One `add_batch` call with every vector, linked on all cores.
    Bulk,
}

impl fmt::Display for Insertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Insertion::Single => "single",
            Insertion::Bulk => "bulk",
        })
    }
}

/// Query parameters: the neighbours asked for, and the algorithm's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryParams {
    /// Neighbours asked per query; at least 10, since recall@10 is gated.
    pub k: usize,
    /// The algorithm's query parameters (`ef`, `rerank`, …).
    #[serde(flatten)]
    pub params: Params,
}

/// Absolute floors: a case below either recall fails, whatever its
/// baseline, and so does one over its RAM ceiling when it has one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Floors {
    /// Minimum recall@1 (ann-benchmarks' distance-threshold definition).
    pub recall_at_1: f64,
    /// Minimum recall@10.
    pub recall_at_10: f64,
    /// Most RAM bytes per vector the index's own accounting may report
    /// (a compressed kind's budget); no ceiling when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ram_bytes_per_vector: Option<f64>,
}

/// Build parameters that lead a fingerprint, in this order (the order the
/// committed baseline's fingerprints were written in).
const LEADING_BUILD: [&str; 3] = ["m", "ef_construction", "seed"];

impl Case {
    /// A one-line fingerprint of everything that decides the case's figures;
    /// a baseline recorded under another fingerprint is stale. Parameters
    /// appear as given: `m`, `ef_construction`, `seed`, then `ef`, `k`, then
    /// the other build and then the other query parameters in name order.
    pub fn fingerprint(&self) -> String {
        let scale = |v: Option<usize>| v.map_or_else(|| "default".to_string(), |v| v.to_string());
        let mut f = format!(
            "{} n={} queries={} {} {}",
            self.dataset,
            scale(self.n),
            scale(self.queries),
            self.algorithm,
            self.insertion,
        );
        let mut push = |name: &str, v: usize| f.push_str(&format!(" {name}={v}"));
        for name in LEADING_BUILD {
            if let Some(&v) = self.build.get(name) {
                push(name, v);
            }
        }
        if let Some(&ef) = self.query.params.get("ef") {
            push("ef", ef);
        }
        push("k", self.query.k);
        for (name, &v) in &self.build {
            if !LEADING_BUILD.contains(&name.as_str()) {
                push(name, v);
            }
        }
        for (name, &v) in &self.query.params {
            if name != "ef" {
                push(name, v);
            }
        }
        if let Some(s) = &self.scenario {
            let json = serde_json::to_string(s).unwrap_or_default();
            f.push_str(&format!(" scenario={json}"));
        }
        f
    }

    /// The case as a one-run sweep over a dataset of `n_train` vectors:
    /// one repeat, `k` neighbours, every parameter checked by `registry`.
    pub fn sweep(&self, registry: &Registry, n_train: usize) -> anyhow::Result<Sweep> {
        let build = self.build_grid();
        let mut config = SweepConfig::from_json(
            &json!({
                "datasets": [self.dataset],
                "scales": [n_train.max(1)],
                "queries": self.queries,
                "k": self.query.k,
                "repeats": 1,
                "algorithms": [self.algorithm_config(build)],
            })
            .to_string(),
        )?;
        config.scenario = self.scenario.clone();
        config.validate(registry)
    }

    /// The case's algorithm as a sweep config entry, with build grid `build`.
    fn algorithm_config(&self, build: BTreeMap<String, serde_json::Value>) -> AlgorithmConfig {
        AlgorithmConfig {
            build,
            query: self
                .query
                .params
                .iter()
                .map(|(k, &v)| (k.clone(), json!(v)))
                .collect(),
            ..AlgorithmConfig::with_defaults(&self.algorithm)
        }
    }

    /// The build grid: the case's parameters, and `single_insert` = 1 for
    /// single insertion.
    fn build_grid(&self) -> BTreeMap<String, serde_json::Value> {
        let mut build: BTreeMap<String, serde_json::Value> = self
            .build
            .iter()
            .map(|(k, &v)| (k.clone(), json!(v)))
            .collect();
        if self.insertion == Insertion::Single {
            build.insert(SINGLE_INSERT.to_string(), json!(1));
        }
        build
    }

    /// Checks values serde cannot: names, counts, the algorithm and its
    /// parameters (against `registry`), floors. Errors name the field.
    pub fn validate(&self, registry: &Registry) -> anyhow::Result<()> {
        ensure!(!self.name.trim().is_empty(), "name: must not be empty");
        ensure!(
            !self.dataset.trim().is_empty(),
            "dataset: must not be empty"
        );
        ensure!(self.n != Some(0), "n: must be at least 1");
        ensure!(self.queries != Some(0), "queries: must be at least 1");
        ensure!(
            self.query.k >= 10,
            "query.k: must be at least 10 (recall@10 is gated), got {}",
            self.query.k
        );
        let Some(spec) = registry.get(&self.algorithm) else {
            bail!(
                "algorithm: unknown algorithm `{}` (known: {})",
                self.algorithm,
                registry.names().join(", ")
            );
        };
        if self.insertion == Insertion::Single
            && !spec.build_params.iter().any(|p| p.name == SINGLE_INSERT)
        {
            bail!(
                "insertion: `{}` takes its vectors in one batch only (use \"bulk\")",
                self.algorithm
            );
        }
        ensure!(
            !self.build.contains_key(SINGLE_INSERT),
            "build.{SINGLE_INSERT}: set by `insertion`, not here"
        );
        for (field, v) in [
            ("floors.recall_at_1", self.floors.recall_at_1),
            ("floors.recall_at_10", self.floors.recall_at_10),
        ] {
            ensure!(
                (0.0..=1.0).contains(&v),
                "{field}: must be within 0..=1, got {v}"
            );
        }
        // Parameter names and ranges, as a sweep checks them.
        let plan = self
            .algorithm_config(self.build_grid())
            .plan(registry, "")?;
        if let Some(s) = &self.scenario {
            ensure!(
                self.insertion == Insertion::Bulk,
                "insertion: scenario cases insert as their runbook says (use \"bulk\")"
            );
            if let Scenario::Filtered(f) = s {
                ensure!(
                    f.selectivities.len() == 1 && f.correlations.len() == 1,
                    "scenario: a gate case is one run: give one selectivity and one correlation"
                );
            }
            s.validate(std::slice::from_ref(&plan))?;
        }
        Ok(())
    }
}

impl GateConfig {
    /// Parses a config from JSON text and validates every case. Errors name
    /// the case (by position and name) and the field.
    pub fn parse(text: &str) -> anyhow::Result<GateConfig> {
        // Cases are parsed one at a time so an error can say which.
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            #[serde(default)]
            description: Option<String>,
            cases: Vec<serde_json::Value>,
            #[serde(default)]
            ratio_floors: Vec<serde_json::Value>,
        }
        let raw: Raw = serde_json::from_str(text).context("gate config")?;
        let registry = Registry::builtin();
        let mut cases = Vec::with_capacity(raw.cases.len());
        for (i, value) in raw.cases.into_iter().enumerate() {
            let label = match value.get("name").and_then(|n| n.as_str()) {
                Some(name) => format!("case {i} ({name:?})"),
                None => format!("case {i}"),
            };
            let case: Case = serde_json::from_value(value).with_context(|| label.clone())?;
            case.validate(&registry).with_context(|| label.clone())?;
            cases.push(case);
        }
        let mut ratio_floors = Vec::with_capacity(raw.ratio_floors.len());
        for (i, value) in raw.ratio_floors.into_iter().enumerate() {
            let label = match value.get("name").and_then(|n| n.as_str()) {
                Some(name) => format!("ratio_floors[{i}] ({name:?})"),
                None => format!("ratio_floors[{i}]"),
            };
            let floor: RatioFloor = serde_json::from_value(value).with_context(|| label.clone())?;
            floor.validate(&registry).with_context(|| label.clone())?;
            ratio_floors.push(floor);
        }
        let config = GateConfig {
            description: raw.description,
            cases,
            ratio_floors,
        };
        config.check_names()?;
        Ok(config)
    }

    /// Reads and parses `path` (see [`GateConfig::parse`]).
    pub fn load(path: &Path) -> anyhow::Result<GateConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading gate config {}", path.display()))?;
        Self::parse(&text).with_context(|| path.display().to_string())
    }

    /// Validates a config built in code: every case, and unique names.
    pub fn validate(&self, registry: &Registry) -> anyhow::Result<()> {
        for (i, case) in self.cases.iter().enumerate() {
            case.validate(registry)
                .with_context(|| format!("case {i} ({:?})", case.name))?;
        }
        for (i, f) in self.ratio_floors.iter().enumerate() {
            f.validate(registry)
                .with_context(|| format!("ratio_floors[{i}] ({:?})", f.name))?;
        }
        self.check_names()
    }

    fn check_names(&self) -> anyhow::Result<()> {
        ensure!(!self.cases.is_empty(), "cases: the gate has no cases");
        let mut seen = HashSet::new();
        for case in &self.cases {
            ensure!(
                seen.insert(case.name.as_str()),
                "cases: the name {:?} is used twice",
                case.name
            );
        }
        for f in &self.ratio_floors {
            ensure!(
                seen.insert(f.name.as_str()),
                "ratio_floors: the name {:?} is used twice",
                f.name
            );
        }
        Ok(())
    }
}
