//! The scenario fields of a result document: what a filtered run searched
//! under, and a streaming run's per-step series. Absent (and not written)
//! for plain k-NN runs, so older documents read unchanged.

use serde::{Deserialize, Serialize};

use crate::sweep::metrics::Latency;

/// Fields every result carries, set by the scenario runners only; flattened
/// into [`RunResult`](crate::sweep::RunResult).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScenarioFields {
    /// `filtered` or `streaming`; absent for plain k-NN runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// Filtered runs: the share of train vectors the filter allows (as
    /// reached: allowed / n).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selectivity: Option<f64>,
    /// Filtered runs: the filter and how the engine applied it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<FilterRecord>,
    /// Streaming runs: the runbook's steps as measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streaming: Option<StreamingRecord>,
}

/// How a filtered run's filter was drawn and applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterRecord {
    /// The label's name (`s0.01-clusters`).
    pub label: String,
    /// The selectivity the config asked for.
    pub selectivity_asked: f64,
    /// `none` (uniform sample) or `clusters` (a region).
    pub correlation: String,
    /// The seed the label was drawn with.
    pub seed: u64,
    /// Ids the filter allows.
    pub allowed: usize,
    /// `native` (the engine's own filtered search) or `post-filter` (an
    /// unfiltered search for `searched_k` neighbours, then the filter).
    pub mode: String,
    /// Neighbours asked of the engine: `k` when native, more when
    /// post-filtering.
    pub searched_k: usize,
    /// File (relative to the document) holding the allowed ids and the
    /// exact ground truth under the filter, so recall can be recomputed.
    pub ground_truth_file: String,
}

/// One step of a streaming runbook, as measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Position in the expanded runbook (0 = the initial load).
    pub step: usize,
    /// `insert`, `delete`, `search` or `insert_while_searching`.
    pub op: String,
    /// Vectors inserted or deleted (0 for a search).
    pub count: usize,
    /// Live vectors after the step.
    pub live: usize,
    /// Wall time of the step's writes (or of the search pass), seconds.
    pub seconds: f64,
    /// Inserts or deletes per second.
    #[serde(default)]
    pub per_second: Option<f64>,
    /// Search steps: recall@10 against the exact neighbours of the live set.
    #[serde(default)]
    pub recall_at_10: Option<f64>,
    /// Search steps: searches run (a concurrent step: as many as fitted
    /// while the inserts ran).
    #[serde(default)]
    pub searches: usize,
    /// Search steps: per-query latency, milliseconds.
    #[serde(default)]
    pub latency_ms: Option<Latency>,
}

/// A streaming run: every step, and the figures over them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamingRecord {
    /// Every step in order.
    pub steps: Vec<StepRecord>,
    /// Inserts per second over every insert (initial load excluded).
    #[serde(default)]
    pub insert_per_second: Option<f64>,
    /// Deletes per second over every delete step.
    #[serde(default)]
    pub delete_per_second: Option<f64>,
    /// Latency over every read-only search step, milliseconds.
    #[serde(default)]
    pub latency_read_only_ms: Option<Latency>,
    /// Latency of searches run while an insert thread wrote, milliseconds.
    #[serde(default)]
    pub latency_under_writes_ms: Option<Latency>,
    /// File (relative to the document) holding the ids every search step
    /// returned.
    pub series_file: String,
    /// File (relative to the document) holding the expanded runbook and the
    /// exact ground truth of every search step.
    pub ground_truth_file: String,
}
