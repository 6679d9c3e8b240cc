//! In-process engines as the scenarios drive them: an index that takes
//! inserts, deletes and (filtered) searches, from several threads at once.
//!
//! | name | kind | filter | delete |
//! |---|---|---|---|
//! | `omendb-hnsw` | [`omendb::HnswIndex`] in RAM | native (`SearchParams::filtered`) | `remove` |
//! | `omendb-hnsw-disk` | [`omendb::DiskIndex`] in a fresh directory (default durability) | native | `remove` |
//! | `usearch` | `usearch::Index` (feature `usearch`) | native (`filtered_search` predicate) | `remove` |
//!
//! Every other in-process algorithm of the registry runs the filtered
//! scenario by post-filtering (`postfilter.rs`); the Python engines run in
//! their scenario worker (`worker.rs`).

use std::sync::Arc;

use anyhow::{bail, Context};
use omendb::{DiskIndex, Durability, HnswIndex, HnswParams, Index, Metric, OpenOptions};
use omendb::{Filter, SearchParams};

use crate::data::labels::Labels;
use crate::sweep::adapter::Params;
use crate::sweep::adapters::param;

/// A label as an engine applies it: the members, a bitmap over every id
/// (for predicates), and OmenDB's allow-set (built once, reused by every
/// query).
#[derive(Clone)]
pub struct Allow {
    /// The label.
    pub labels: Arc<Labels>,
    /// `bitmap[id]`: whether `id` is allowed.
    pub bitmap: Arc<Vec<bool>>,
    /// OmenDB's filter over the same ids.
    pub omendb: Filter,
}

impl Allow {
    /// The label's bitmap and allow-set.
    pub fn new(labels: Arc<Labels>) -> Self {
        let bitmap = Arc::new(labels.bitmap());
        let omendb = Filter::allow_ids(labels.allowed.iter().map(|&id| u64::from(id)));
        Allow {
            labels,
            bitmap,
            omendb,
        }
    }

    /// Whether `id` is allowed (ids past the bitmap are not).
    pub fn allows(&self, id: u64) -> bool {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.bitmap.get(i))
            .copied()
            .unwrap_or(false)
    }
}

/// An index the scenarios insert into, delete from and search.
pub trait LiveIndex: Send + Sync {
    /// Adds `rows` (`dims` wide) under `ids`.
    fn insert(&self, ids: &[u64], rows: &[f32]) -> anyhow::Result<()>;
    /// Deletes `id`.
    fn remove(&self, id: u64) -> anyhow::Result<()>;
    /// Sets the search beam (`ef`) for the searches that follow.
    fn set_ef(&mut self, ef: usize);
    /// The ids of the `k` nearest neighbours of `query` that `filter`
    /// allows (all live vectors when `None`), closest first.
    fn search(&self, query: &[f32], k: usize, filter: Option<&Allow>) -> anyhow::Result<Vec<u32>>;
}

/// What making a live engine needs.
#[derive(Debug, Clone, Copy)]
pub struct LiveContext<'a> {
    /// Vector dimension.
    pub dims: usize,
    /// Metric.
    pub metric: Metric,
    /// Most vectors the index will hold at once (usearch reserves them).
    pub capacity: usize,
    /// Threads that may call the index at once.
    pub threads: usize,
    /// The build-parameter set (`m`, `ef_construction`, `seed`).
    pub build_params: &'a Params,
}

/// Whether `name` is an engine this file makes.
pub fn is_live(name: &str) -> bool {
    matches!(name, "omendb-hnsw" | "omendb-hnsw-disk")
        || (cfg!(feature = "usearch") && name == "usearch")
}

/// Makes the live engine `name` (see [`is_live`]).
pub fn make(name: &str, ctx: &LiveContext<'_>) -> anyhow::Result<Box<dyn LiveIndex>> {
    match name {
        "omendb-hnsw" => {
            let index = HnswIndex::new(ctx.dims, ctx.metric, hnsw_params(ctx.build_params)?)?;
            Ok(Box::new(Omendb::new(Box::new(index), None)))
        }
        "omendb-hnsw-disk" => {
            let dir = tempfile::Builder::new()
                .prefix("omenbench-scenario-")
                .tempdir()
                .context("a directory for the disk index")?;
            let index = DiskIndex::create(
                dir.path(),
                ctx.dims,
                ctx.metric,
                hnsw_params(ctx.build_params)?,
                OpenOptions::with_durability(Durability::default()),
            )?;
            Ok(Box::new(Omendb::new(Box::new(index), Some(dir))))
        }
        #[cfg(feature = "usearch")]
        "usearch" => Ok(Box::new(usearch_live::Usearch::new(ctx)?)),
        other => bail!("`{other}` has no in-process scenario engine"),
    }
}

fn hnsw_params(p: &Params) -> anyhow::Result<HnswParams> {
    Ok(HnswParams {
        m: param(p, "m")?,
        ef_construction: param(p, "ef_construction")?,
        seed: param(p, "seed")? as u64,
        ..Default::default()
    })
}

/// An OmenDB index kind; a disk index keeps its directory alive.
struct Omendb {
    index: Box<dyn Index>,
    ef: usize,
    /// Dropped after the index (field order), removing the directory.
    _dir: Option<tempfile::TempDir>,
}

impl Omendb {
    fn new(index: Box<dyn Index>, dir: Option<tempfile::TempDir>) -> Self {
        Omendb {
            index,
            ef: 64,
            _dir: dir,
        }
    }
}

impl LiveIndex for Omendb {
    fn insert(&self, ids: &[u64], rows: &[f32]) -> anyhow::Result<()> {
        Ok(self.index.add_batch(ids, rows)?)
    }

    fn remove(&self, id: u64) -> anyhow::Result<()> {
        Ok(self.index.remove(id)?)
    }

    fn set_ef(&mut self, ef: usize) {
        self.ef = ef;
    }

    fn search(&self, query: &[f32], k: usize, filter: Option<&Allow>) -> anyhow::Result<Vec<u32>> {
        let mut params = SearchParams::with_ef(self.ef);
        if let Some(f) = filter {
            params = params.filtered(f.omendb.clone());
        }
        let found = self.index.search(query, k, &params)?;
        Ok(found.iter().map(|n| n.id as u32).collect())
    }
}

#[cfg(feature = "usearch")]
mod usearch_live {
    use anyhow::anyhow;
    use omendb::Metric;
    use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

    use super::{param, Allow, LiveContext, LiveIndex};

    /// usearch with room reserved for every vector and thread up front (its
    /// `add` is thread-safe once capacity is reserved).
    pub struct Usearch {
        index: Index,
    }

    impl Usearch {
        pub fn new(ctx: &LiveContext<'_>) -> anyhow::Result<Self> {
            let metric = match ctx.metric {
                Metric::L2 => MetricKind::L2sq,
                Metric::Cosine => MetricKind::Cos,
                Metric::InnerProduct => MetricKind::IP,
            };
            let options = IndexOptions {
                dimensions: ctx.dims,
                metric,
                quantization: ScalarKind::F32,
                connectivity: param(ctx.build_params, "m")?,
                expansion_add: param(ctx.build_params, "ef_construction")?,
                expansion_search: 64,
                multi: false,
            };
            let index = Index::new(&options).map_err(|e| anyhow!("usearch Index::new: {e}"))?;
            // The insert pool, a search thread, the caller.
            let threads = ctx.threads.max(rayon::current_num_threads()) + 2;
            index
                .reserve_capacity_and_threads(ctx.capacity, threads)
                .map_err(|e| anyhow!("usearch reserve({}): {e}", ctx.capacity))?;
            Ok(Usearch { index })
        }
    }

    impl LiveIndex for Usearch {
        fn insert(&self, ids: &[u64], rows: &[f32]) -> anyhow::Result<()> {
            use rayon::prelude::*;
            let dims = rows.len() / ids.len().max(1);
            ids.par_iter()
                .zip(rows.par_chunks_exact(dims.max(1)))
                .try_for_each(|(&id, v)| {
                    self.index
                        .add(id, v)
                        .map_err(|e| anyhow!("usearch add({id}): {e}"))
                })
        }

        fn remove(&self, id: u64) -> anyhow::Result<()> {
            let removed = self
                .index
                .remove(id)
                .map_err(|e| anyhow!("usearch remove({id}): {e}"))?;
            anyhow::ensure!(
                removed == 1,
                "usearch remove({id}) removed {removed} entries"
            );
            Ok(())
        }

        fn set_ef(&mut self, ef: usize) {
            self.index.change_expansion_search(ef);
        }

        fn search(
            &self,
            query: &[f32],
            k: usize,
            filter: Option<&Allow>,
        ) -> anyhow::Result<Vec<u32>> {
            let found = match filter {
                None => self.index.search(query, k),
                Some(f) => self.index.filtered_search(query, k, |key| f.allows(key)),
            }
            .map_err(|e| anyhow!("usearch search: {e}"))?;
            found
                .keys
                .iter()
                .map(|&key| u32::try_from(key).map_err(|_| anyhow!("usearch key {key} past u32")))
                .collect()
        }
    }
}
