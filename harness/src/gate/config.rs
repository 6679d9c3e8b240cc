//! The gate's configuration, `ci/gate.json`: a fixed list of seeded cases,
//! each with its dataset, index, build and query parameters, and floors.
//!
//! Parsing is strict: unknown fields and unknown algorithms are errors that
//! name the case and the field, so a typo cannot silently weaken the gate.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use anyhow::{bail, ensure, Context};
use serde::{Deserialize, Serialize};

/// The whole gate: the cases it runs, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// Free text for people reading the file; ignored by the gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The cases, run in this order.
    pub cases: Vec<Case>,
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
    /// Which index to build.
    pub algorithm: Algorithm,
    /// How vectors go in.
    pub insertion: Insertion,
    /// Build parameters.
    pub build: BuildParams,
    /// Query parameters.
    pub query: QueryParams,
    /// Absolute recall floors.
    pub floors: Floors,
}

/// The index a case builds.
///
/// A new index kind gets a variant here, its checks in [`Case::validate`],
/// a branch in `run.rs`'s `build`, and cases in `ci/gate.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    /// `omendb::HnswIndex`, in RAM.
    #[serde(rename = "omendb-hnsw")]
    OmendbHnsw,
    /// `omendb::HnswPqIndex`: the graph navigated by PQ codes, exact
    /// re-ranking. Needs `build.pq_m`, `query.rerank` and bulk insertion
    /// (its quantizer is trained on the first batch).
    #[serde(rename = "omendb-hnsw-pq")]
    OmendbHnswPq,
    /// `omendb::DiskIndex`: built in a temporary directory, closed
    /// (checkpointed), reopened read-only and searched from the files.
    #[serde(rename = "omendb-disk-hnsw")]
    OmendbDiskHnsw,
    /// `omendb::DiskIndex` of the PQ kind: graph and codes in RAM, full
    /// vectors only in the mapped file; built, closed, reopened read-only.
    /// Needs what `omendb-hnsw-pq` needs.
    #[serde(rename = "omendb-disk-hnsw-pq")]
    OmendbDiskHnswPq,
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::OmendbHnsw => "omendb-hnsw",
            Algorithm::OmendbHnswPq => "omendb-hnsw-pq",
            Algorithm::OmendbDiskHnsw => "omendb-disk-hnsw",
            Algorithm::OmendbDiskHnswPq => "omendb-disk-hnsw-pq",
        })
    }
}

/// How a case's vectors are inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Insertion {
    /// One `add` call per vector, in row order, on one thread.
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

/// Build parameters of an HNSW graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildParams {
    /// `M`: links per node on the upper layers (`2·M` on layer 0).
    pub m: usize,
    /// Beam width while inserting.
    pub ef_construction: usize,
    /// Seed of the level generator (and of the PQ training, if any).
    pub seed: u64,
    /// PQ sub-spaces (bytes per code); `omendb-hnsw-pq` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pq_m: Option<usize>,
}

/// Query parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryParams {
    /// Beam width of the search.
    pub ef: usize,
    /// Neighbours asked per query; at least 10, since recall@10 is gated.
    pub k: usize,
    /// Candidates re-ranked with exact distances; `omendb-hnsw-pq` only
    /// (0 turns re-ranking off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerank: Option<usize>,
}

/// Absolute floors: a case below either fails, whatever its baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Floors {
    /// Minimum recall@1 (ann-benchmarks' distance-threshold definition).
    pub recall_at_1: f64,
    /// Minimum recall@10.
    pub recall_at_10: f64,
}

impl Case {
    /// A one-line fingerprint of everything that decides the case's figures;
    /// a baseline recorded under another fingerprint is stale.
    pub fn fingerprint(&self) -> String {
        let scale = |v: Option<usize>| v.map_or_else(|| "default".to_string(), |v| v.to_string());
        let mut f = format!(
            "{} n={} queries={} {} {} m={} ef_construction={} seed={} ef={} k={}",
            self.dataset,
            scale(self.n),
            scale(self.queries),
            self.algorithm,
            self.insertion,
            self.build.m,
            self.build.ef_construction,
            self.build.seed,
            self.query.ef,
            self.query.k
        );
        if let Some(m) = self.build.pq_m {
            f.push_str(&format!(" pq_m={m}"));
        }
        if let Some(r) = self.query.rerank {
            f.push_str(&format!(" rerank={r}"));
        }
        f
    }

    /// Checks values serde cannot: names, counts, parameter ranges, floors.
    /// Errors name the field.
    pub fn validate(&self) -> anyhow::Result<()> {
        ensure!(!self.name.trim().is_empty(), "name: must not be empty");
        ensure!(
            !self.dataset.trim().is_empty(),
            "dataset: must not be empty"
        );
        ensure!(self.n != Some(0), "n: must be at least 1");
        ensure!(self.queries != Some(0), "queries: must be at least 1");
        let hnsw = omendb::HnswParams {
            m: self.build.m,
            ef_construction: self.build.ef_construction,
            seed: self.build.seed,
            ..omendb::HnswParams::default()
        };
        if let Err(e) = hnsw.validate() {
            bail!("build: {e}");
        }
        ensure!(
            self.query.k >= 10,
            "query.k: must be at least 10 (recall@10 is gated), got {}",
            self.query.k
        );
        ensure!(self.query.ef >= 1, "query.ef: must be at least 1, got 0");
        match self.algorithm {
            Algorithm::OmendbHnswPq | Algorithm::OmendbDiskHnswPq => {
                match self.build.pq_m {
                    None => bail!("build.pq_m: required by {}", self.algorithm),
                    Some(0) => bail!("build.pq_m: must be at least 1, got 0"),
                    Some(_) => {}
                }
                ensure!(
                    self.query.rerank.is_some(),
                    "query.rerank: required by {}",
                    self.algorithm
                );
                ensure!(
                    self.insertion == Insertion::Bulk,
                    "insertion: {} trains its quantizer on the first batch, so it needs \"bulk\"",
                    self.algorithm
                );
            }
            Algorithm::OmendbHnsw | Algorithm::OmendbDiskHnsw => {
                ensure!(
                    self.build.pq_m.is_none(),
                    "build.pq_m: only the PQ kinds take it, not {}",
                    self.algorithm
                );
                ensure!(
                    self.query.rerank.is_none(),
                    "query.rerank: only the PQ kinds take it, not {}",
                    self.algorithm
                );
            }
        }
        for (field, v) in [
            ("floors.recall_at_1", self.floors.recall_at_1),
            ("floors.recall_at_10", self.floors.recall_at_10),
        ] {
            ensure!(
                (0.0..=1.0).contains(&v),
                "{field}: must be within 0..=1, got {v}"
            );
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
        }
        let raw: Raw = serde_json::from_str(text).context("gate config")?;
        let mut cases = Vec::with_capacity(raw.cases.len());
        for (i, value) in raw.cases.into_iter().enumerate() {
            let label = match value.get("name").and_then(|n| n.as_str()) {
                Some(name) => format!("case {i} ({name:?})"),
                None => format!("case {i}"),
            };
            let case: Case = serde_json::from_value(value).with_context(|| label.clone())?;
            case.validate().with_context(|| label.clone())?;
            cases.push(case);
        }
        let config = GateConfig {
            description: raw.description,
            cases,
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
    pub fn validate(&self) -> anyhow::Result<()> {
        for (i, case) in self.cases.iter().enumerate() {
            case.validate()
                .with_context(|| format!("case {i} ({:?})", case.name))?;
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
        Ok(())
    }
}
