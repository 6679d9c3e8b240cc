//! The adapters shared by OmenDB's index kinds. [`OmendbAdapter`]: any
//! in-memory [`omendb::Index`] behind the harness trait. [`OmendbDiskAdapter`]:
//! a [`DiskIndex`] built into a fresh directory, closed, and reopened
//! read-only, so queries run on the reopened index as after a restart, with
//! the reopen timed and its RSS measured ([`ReopenStats`]). The kinds differ
//! only in how their registry entry creates the index.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use omendb::{DiskIndex, OpenOptions};
use omendb::{Index, MemoryUsage, SearchParams};

use super::{param, SINGLE_INSERT};
use crate::sweep::adapter::{Adapter, Params, ReopenStats};

/// How a build puts the train vectors into the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Insert {
    /// One `add_batch` call with every vector (a bulk load, all cores).
    #[default]
    Batch,
    /// One `add` call per vector, in row order, on the calling thread.
    OneByOne,
}

impl Insert {
    /// The mode a build-parameter set asks for ([`SINGLE_INSERT`]; a batch
    /// when absent).
    pub fn from_params(params: &Params) -> anyhow::Result<Insert> {
        if !params.contains_key(SINGLE_INSERT) {
            return Ok(Insert::Batch);
        }
        Ok(match param(params, SINGLE_INSERT)? {
            0 => Insert::Batch,
            _ => Insert::OneByOne,
        })
    }

    /// Inserts every row of `train` (`dims` wide), ids = row numbers, and
    /// checks the index then holds them all.
    pub(super) fn insert(
        self,
        index: &dyn Index,
        train: &[f32],
        dims: usize,
    ) -> anyhow::Result<()> {
        let before = index.len();
        match self {
            Insert::Batch => index.add_batch(&train_ids(train, dims), train)?,
            Insert::OneByOne => {
                for (row, v) in train.chunks_exact(dims).enumerate() {
                    index
                        .add(row as u64, v)
                        .map_err(|e| anyhow::anyhow!("adding train vector {row}: {e}"))?;
                }
            }
        }
        let n = train.len() / dims;
        anyhow::ensure!(
            index.len() == before + n,
            "the index holds {} vectors after inserting {n}",
            index.len()
        );
        Ok(())
    }
}

/// An OmenDB index behind the harness trait.
pub struct OmendbAdapter {
    name: &'static str,
    index: Box<dyn Index>,
    search: SearchParams,
    insert: Insert,
}

impl OmendbAdapter {
    /// Wraps `index` as the algorithm called `name`, bulk-loaded.
    pub fn boxed(name: &'static str, index: impl Index + 'static) -> Box<dyn Adapter> {
        Self::boxed_with(name, index, Insert::Batch)
    }

    /// Wraps `index` as the algorithm called `name`, built by `insert`.
    pub fn boxed_with(
        name: &'static str,
        index: impl Index + 'static,
        insert: Insert,
    ) -> Box<dyn Adapter> {
        Box::new(OmendbAdapter {
            name,
            index: Box::new(index),
            search: SearchParams::default(),
            insert,
        })
    }
}

/// The engine's per-query knobs from a query-parameter set: `ef` and
/// `rerank` where the algorithm has them, the engine's defaults otherwise.
pub fn search_params(params: &Params) -> SearchParams {
    let default = SearchParams::default();
    SearchParams::with_rerank(
        params.get("ef").copied().unwrap_or(default.ef),
        params.get("rerank").copied().unwrap_or(default.rerank),
    )
}

/// Caller ids (train row numbers) of a result list.
fn row_ids(found: &[omendb::Neighbor]) -> Vec<u32> {
    found.iter().map(|n| n.id as u32).collect()
}

/// Ids of the train rows: the row number of each.
fn train_ids(train: &[f32], dims: usize) -> Vec<u64> {
    (0..(train.len() / dims) as u64).collect()
}

/// One query through either adapter's index, as train row numbers.
pub(super) fn search_rows(
    index: &dyn Index,
    query: &[f32],
    k: usize,
    params: &SearchParams,
) -> anyhow::Result<Vec<u32>> {
    Ok(row_ids(&index.search(query, k, params)?))
}

/// A query set through the engine's own parallel `search_batch`.
pub(super) fn batch_rows(
    index: &dyn Index,
    queries: &[f32],
    k: usize,
    params: &SearchParams,
) -> anyhow::Result<Vec<Vec<u32>>> {
    let found = index.search_batch(queries, k, params)?;
    Ok(found.iter().map(|row| row_ids(row)).collect())
}

impl Adapter for OmendbAdapter {
    fn name(&self) -> &str {
        self.name
    }

    fn build(&mut self, train: &[f32], dims: usize, _threads: usize) -> anyhow::Result<()> {
        self.insert.insert(self.index.as_ref(), train, dims)
    }

    fn set_query_params(&mut self, params: &Params) -> anyhow::Result<()> {
        self.search = search_params(params);
        Ok(())
    }

    fn search(&self, query: &[f32], k: usize) -> anyhow::Result<Vec<u32>> {
        search_rows(self.index.as_ref(), query, k, &self.search)
    }

    fn batch_search(
        &self,
        queries: &[f32],
        _dims: usize,
        k: usize,
    ) -> anyhow::Result<Vec<Vec<u32>>> {
        batch_rows(self.index.as_ref(), queries, k, &self.search)
    }

    fn memory_usage(&self) -> Option<MemoryUsage> {
        Some(self.index.memory_usage())
    }
}

/// Creates an empty disk index in the directory it is given.
pub type CreateDisk = Box<dyn Fn(&Path) -> omendb::Result<DiskIndex> + Send + Sync>;

/// Distinguishes the directories of builds in one process.
static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

/// A [`DiskIndex`] behind the harness trait: built into its own
/// temporary directory (removed when the adapter is dropped), closed (a
/// checkpoint), then reopened read-only and queried.
pub struct OmendbDiskAdapter {
    name: &'static str,
    dir: PathBuf,
    create: CreateDisk,
    index: Option<DiskIndex>,
    search: SearchParams,
    reopen: Option<ReopenStats>,
    insert: Insert,
    /// Run on the reopened index before its queries.
    after_reopen: Option<AfterReopen>,
}

/// What an adapter does to its reopened index before querying it.
type AfterReopen = Box<dyn Fn(&DiskIndex) + Send + Sync>;

impl OmendbDiskAdapter {
    /// The algorithm called `name`, whose index `create` makes in an empty
    /// directory (with the durability a bulk load wants), bulk-loaded.
    pub fn boxed(
        name: &'static str,
        create: impl Fn(&Path) -> omendb::Result<DiskIndex> + Send + Sync + 'static,
    ) -> Box<dyn Adapter> {
        Self::boxed_with(name, create, Insert::Batch)
    }

    /// As [`boxed`](Self::boxed), built by `insert`.
    pub fn boxed_with(
        name: &'static str,
        create: impl Fn(&Path) -> omendb::Result<DiskIndex> + Send + Sync + 'static,
        insert: Insert,
    ) -> Box<dyn Adapter> {
        Box::new(Self::new(name, create, insert))
    }

    /// Runs `f` on the reopened index before it is queried.
    pub fn after_reopen(mut self, f: impl Fn(&DiskIndex) + Send + Sync + 'static) -> Self {
        self.after_reopen = Some(Box::new(f));
        self
    }

    /// The algorithm called `name`, whose index `create` makes in an empty
    /// directory, built by `insert`.
    pub fn new(
        name: &'static str,
        create: impl Fn(&Path) -> omendb::Result<DiskIndex> + Send + Sync + 'static,
        insert: Insert,
    ) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "omenbench-{name}-{}-{}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::Relaxed)
        ));
        OmendbDiskAdapter {
            name,
            dir,
            create: Box::new(create),
            index: None,
            search: SearchParams::default(),
            reopen: None,
            insert,
            after_reopen: None,
        }
    }

    fn index(&self) -> anyhow::Result<&DiskIndex> {
        self.index
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("{}: searched before build", self.name))
    }
}

impl Adapter for OmendbDiskAdapter {
    fn name(&self) -> &str {
        self.name
    }

    fn build(&mut self, train: &[f32], dims: usize, _threads: usize) -> anyhow::Result<()> {
        self.index = None;
        self.reopen = None;
        let _ = std::fs::remove_dir_all(&self.dir);
        let index = (self.create)(&self.dir)?;
        self.insert.insert(&index, train, dims)?;
        index.close()?;
        let dir = &self.dir;
        // Strict: a reopen that finds synced log records missing is an
        // error in the results, never a quietly smaller index.
        let opts = OpenOptions {
            strict: true,
            ..OpenOptions::read_only()
        };
        let (reopened, stats) = ReopenStats::measure(|| Ok(DiskIndex::open(dir, opts)?))?;
        if let Some(f) = &self.after_reopen {
            f(&reopened);
        }
        self.index = Some(reopened);
        self.reopen = Some(stats);
        Ok(())
    }

    fn set_query_params(&mut self, params: &Params) -> anyhow::Result<()> {
        self.search = search_params(params);
        Ok(())
    }

    fn search(&self, query: &[f32], k: usize) -> anyhow::Result<Vec<u32>> {
        search_rows(self.index()?, query, k, &self.search)
    }

    fn batch_search(
        &self,
        queries: &[f32],
        _dims: usize,
        k: usize,
    ) -> anyhow::Result<Vec<Vec<u32>>> {
        batch_rows(self.index()?, queries, k, &self.search)
    }

    fn memory_usage(&self) -> Option<MemoryUsage> {
        self.index.as_ref().map(|i| i.memory_usage())
    }

    fn disk_bytes(&self) -> Option<u64> {
        self.index.as_ref().map(|i| i.disk_usage().total())
    }

    fn page_cache_bytes(&self) -> Option<u64> {
        let index = self.index.as_ref()?;
        index.page_cache().ok().map(|p| p.total())
    }

    fn reopen(&self) -> Option<ReopenStats> {
        self.reopen
    }
}

impl Drop for OmendbDiskAdapter {
    fn drop(&mut self) {
        self.index = None;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
