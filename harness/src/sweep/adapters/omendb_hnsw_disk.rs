//! `omendb-hnsw-disk`: OmenDB's HNSW in an index directory. The build loads
//! into a fresh directory with the bulk-load durability, closes it (a
//! checkpoint), and reopens it, so queries run on the memory-mapped vectors
//! of a reopened index, as after a restart.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use omendb::storage::{DiskHnswIndex, Durability, OpenOptions};
use omendb::{HnswParams, Index, MemoryUsage, Metric, SearchParams};

use super::omendb_shared::{row_ids, search_params};
use super::{param, AlgorithmSpec, BuildContext, ParamSpec};
use crate::sweep::adapter::{Adapter, Params};

/// Registry entry.
pub const SPEC: AlgorithmSpec = AlgorithmSpec {
    name: "omendb-hnsw-disk",
    build_params: &[
        ParamSpec::new("m", 16, 2, 256),
        ParamSpec::new("ef_construction", 200, 1, 100_000),
        ParamSpec::new("seed", 42, 0, usize::MAX),
    ],
    query_params: &[ParamSpec::new("ef", 64, 1, 100_000)],
    make,
};

/// Distinguishes the directories of builds in one process.
static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

fn make(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
    let params = HnswParams {
        m: param(ctx.build_params, "m")?,
        ef_construction: param(ctx.build_params, "ef_construction")?,
        seed: param(ctx.build_params, "seed")? as u64,
        ..Default::default()
    };
    let dir = std::env::temp_dir().join(format!(
        "omenbench-disk-{}-{}",
        std::process::id(),
        NEXT_DIR.fetch_add(1, Ordering::Relaxed)
    ));
    Ok(Box::new(OmendbHnswDisk {
        dir,
        dims: ctx.dims,
        metric: ctx.metric,
        params,
        index: None,
        search: SearchParams::default(),
        open_seconds: None,
    }))
}

/// [`DiskHnswIndex`] behind the harness trait.
pub struct OmendbHnswDisk {
    dir: PathBuf,
    dims: usize,
    metric: Metric,
    params: HnswParams,
    index: Option<DiskHnswIndex>,
    search: SearchParams,
    open_seconds: Option<f64>,
}

impl OmendbHnswDisk {
    fn index(&self) -> anyhow::Result<&DiskHnswIndex> {
        self.index
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("omendb-hnsw-disk: searched before build"))
    }

    /// Seconds the reopen took (validation, mapping, graph load).
    pub fn open_seconds(&self) -> Option<f64> {
        self.open_seconds
    }
}

impl Adapter for OmendbHnswDisk {
    fn name(&self) -> &str {
        SPEC.name
    }

    fn build(&mut self, train: &[f32], dims: usize, _threads: usize) -> anyhow::Result<()> {
        let _ = std::fs::remove_dir_all(&self.dir);
        let index = DiskHnswIndex::create(
            &self.dir,
            self.dims,
            self.metric,
            self.params,
            Durability::Never,
        )?;
        let ids: Vec<u64> = (0..(train.len() / dims) as u64).collect();
        index.add_batch(&ids, train)?;
        index.close()?;
        let t = Instant::now();
        let reopened = DiskHnswIndex::open(&self.dir, OpenOptions::read_only())?;
        self.open_seconds = Some(t.elapsed().as_secs_f64());
        self.index = Some(reopened);
        Ok(())
    }

    fn set_query_params(&mut self, params: &Params) -> anyhow::Result<()> {
        self.search = search_params(params);
        Ok(())
    }

    fn search(&self, query: &[f32], k: usize) -> anyhow::Result<Vec<u32>> {
        Ok(row_ids(&self.index()?.search(query, k, &self.search)?))
    }

    fn memory_usage(&self) -> Option<MemoryUsage> {
        self.index.as_ref().map(|i| i.memory_usage())
    }

    fn disk_bytes(&self) -> Option<u64> {
        self.index.as_ref().map(|i| i.disk_usage().total())
    }
}

impl Drop for OmendbHnswDisk {
    fn drop(&mut self) {
        self.index = None;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
