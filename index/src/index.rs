//! The `Index` trait every index kind implements, and the types it speaks.

use crate::error::Result;
use crate::filter::Filter;
use crate::metric::Metric;

/// One search result: the caller's id and its distance under the index's
/// metric (squared L2, `1 − cos`, or `−dot`). Results are sorted ascending.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbor {
    /// The id the vector was added with.
    pub id: u64,
    /// Its distance to the query.
    pub distance: f32,
}

/// Per-query knobs, so one built index can be swept without rebuilding.
/// Each index kind reads the fields it understands and ignores the rest;
/// every kind honours `filter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchParams {
    /// Beam width for graph search (HNSW's `ef`); raised to `k` when smaller.
    pub ef: usize,
    /// How many candidates to re-score with exact distances (quantized
    /// indexes). For PQ, 0 turns re-ranking off; for SQ8, 0 picks its
    /// default depth (`hnsw_sq8::default_depth`), and results are always
    /// re-ranked.
    pub rerank: usize,
    /// Only ids this filter allows are returned (fewer than `k` when fewer
    /// pass; none for an empty allow-set). `None` searches everything.
    pub filter: Option<Filter>,
}

impl Default for SearchParams {
    fn default() -> Self {
        SearchParams {
            ef: 64,
            rerank: 0,
            filter: None,
        }
    }
}

impl SearchParams {
    /// Params with the given `ef` and no re-ranking.
    pub const fn with_ef(ef: usize) -> Self {
        SearchParams::with_rerank(ef, 0)
    }

    /// Params with the given `ef` and re-ranking depth.
    pub const fn with_rerank(ef: usize, rerank: usize) -> Self {
        SearchParams {
            ef,
            rerank,
            filter: None,
        }
    }

    /// These params, returning only ids `filter` allows.
    pub fn filtered(self, filter: Filter) -> Self {
        SearchParams {
            filter: Some(filter),
            ..self
        }
    }
}

/// Bytes an index holds, by component, as the index itself accounts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Full-precision vectors held in RAM.
    pub vectors: usize,
    /// Graph links and levels.
    pub graph: usize,
    /// Compressed codes and codebooks.
    pub codes: usize,
    /// External-id tables and maps.
    pub ids: usize,
    /// Everything else (locks, scratch pools, deletion marks).
    pub other: usize,
    /// Bytes kept on disk (memory-mapped files), not counted above.
    pub disk: usize,
}

impl MemoryUsage {
    /// Total bytes resident in RAM (everything but `disk`).
    pub fn ram_total(&self) -> usize {
        self.vectors + self.graph + self.codes + self.ids + self.other
    }
}

/// The interface every index kind implements. Object safe and `Send + Sync`:
/// indexes are shared across threads, and any number may live in one process.
pub trait Index: Send + Sync {
    /// Vector dimension.
    fn dims(&self) -> usize;
    /// The metric distances are measured in.
    fn metric(&self) -> Metric;
    /// Number of live (not deleted) vectors.
    fn len(&self) -> usize;
    /// Whether the index holds no live vectors.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Adds one vector under `id`. Fails on a wrong dimension, a non-finite
    /// value or an id already present.
    fn add(&self, id: u64, vector: &[f32]) -> Result<()>;
    /// Adds `ids.len()` vectors stored row-major in `vectors`, all or
    /// nothing: on any error (a bad row, an id taken or given twice) no
    /// vector of the batch is added.
    fn add_batch(&self, ids: &[u64], vectors: &[f32]) -> Result<()>;
    /// Deletes `id`: it is never returned again. Fails with
    /// [`UnknownId`](crate::Error::UnknownId) when `id` is not live.
    fn remove(&self, id: u64) -> Result<()>;
    /// Replaces the vector of `id`, or adds it when `id` is not live.
    fn update(&self, id: u64, vector: &[f32]) -> Result<()>;
    /// The `k` nearest neighbours of `query`, closest first.
    fn search(&self, query: &[f32], k: usize, params: &SearchParams) -> Result<Vec<Neighbor>>;
    /// Searches every row of `queries` (row-major) in parallel.
    fn search_batch(
        &self,
        queries: &[f32],
        k: usize,
        params: &SearchParams,
    ) -> Result<Vec<Vec<Neighbor>>> {
        use rayon::prelude::*;
        let d = self.dims();
        crate::validate::query_batch(queries, d)?;
        queries
            .par_chunks_exact(d)
            .map(|q| self.search(q, k, params))
            .collect()
    }
    /// Bytes held, by component.
    fn memory_usage(&self) -> MemoryUsage;
}
