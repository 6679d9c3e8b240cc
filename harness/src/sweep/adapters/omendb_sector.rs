//! `omendb-sector`: OmenDB's DiskANN-style index (`omendb::SectorIndex`):
//! codes, ids and the upper layers in RAM; each node's full vector and
//! layer-0 list in 4 KiB sectors on disk. Built as `omendb-hnsw-pq` (all
//! cores), written to a fresh directory, the in-RAM index dropped, then
//! opened (timed, RSS measured) and queried; `ef` is the beam search's
//! candidate pool (DiskANN's `L`). `beam_width` blocks are read at once per
//! step; the query parameter `direct = 1` reopens the index to read with
//! `O_DIRECT` (all of a step's reads in flight at once), so every read
//! comes from the device (the cold figures); `direct = 0` reads through the
//! page cache (warm after the first pass). Results carry `reads_per_query`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use omendb::{HnswPqIndex, Index, MemoryUsage, SearchParams, SectorIndex, SectorOptions};

use super::omendb_hnsw_pq::{pq_params, BUILD_PARAMS};
use super::omendb_shared::{batch_rows, search_params, search_rows, Insert};
use super::{param, AlgorithmSpec, BuildContext, ParamSpec};
use crate::sweep::adapter::{Adapter, Params, ReopenStats};

/// Registry entry.
pub const SPEC: AlgorithmSpec = AlgorithmSpec {
    name: "omendb-sector",
    build_params: &[
        BUILD_PARAMS[0],
        BUILD_PARAMS[1],
        BUILD_PARAMS[2],
        BUILD_PARAMS[3],
        ParamSpec::new("beam_width", 4, 1, omendb::sector::MAX_BEAM_WIDTH),
    ],
    query_params: &[
        ParamSpec::new("ef", 64, 1, 100_000),
        ParamSpec::new("direct", 0, 0, 1),
    ],
    make: &make,
};

static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

fn make(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
    let opts = SectorOptions {
        beam_width: param(ctx.build_params, "beam_width")?,
        direct: false,
    };
    Ok(Box::new(SectorAdapter {
        source: Some(HnswPqIndex::new(ctx.dims, ctx.metric, pq_params(ctx)?)?),
        opts,
        dir: std::env::temp_dir().join(format!(
            "omenbench-omendb-sector-{}-{}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::Relaxed)
        )),
        index: None,
        search: SearchParams::default(),
        reopen: None,
    }))
}

struct SectorAdapter {
    /// The index built in RAM, until it is written out.
    source: Option<HnswPqIndex>,
    opts: SectorOptions,
    dir: PathBuf,
    index: Option<SectorIndex>,
    search: SearchParams,
    reopen: Option<ReopenStats>,
}

impl SectorAdapter {
    fn index(&self) -> anyhow::Result<&SectorIndex> {
        self.index
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("omendb-sector: searched before build"))
    }
}

impl Adapter for SectorAdapter {
    fn name(&self) -> &str {
        SPEC.name
    }

    fn build(&mut self, train: &[f32], dims: usize, _threads: usize) -> anyhow::Result<()> {
        let source = self
            .source
            .take()
            .ok_or_else(|| anyhow::anyhow!("omendb-sector: built twice"))?;
        Insert::Batch.insert(&source, train, dims)?;
        let _ = std::fs::remove_dir_all(&self.dir);
        SectorIndex::write(&source, &self.dir)?;
        drop(source);
        let (index, stats) = ReopenStats::measure(|| Ok(SectorIndex::open(&self.dir, self.opts)?))?;
        self.index = Some(index);
        self.reopen = Some(stats);
        Ok(())
    }

    /// A change of `direct` reopens the index with the other kind of
    /// reads (the block file and its checksums are read again).
    fn set_query_params(&mut self, params: &Params) -> anyhow::Result<()> {
        self.search = search_params(params);
        let direct = params.get("direct").copied().unwrap_or(0) == 1;
        if direct != self.opts.direct {
            let opts = SectorOptions {
                direct,
                ..self.opts
            };
            self.index = None;
            let index = SectorIndex::open(&self.dir, opts)?;
            anyhow::ensure!(
                index.reads_direct() == direct,
                "omendb-sector: O_DIRECT refused by the file system of {}: no cold figures here",
                self.dir.display()
            );
            self.index = Some(index);
            self.opts = opts;
        }
        self.index()?.take_read_stats();
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
        self.index.as_ref().map(Index::memory_usage)
    }

    fn disk_bytes(&self) -> Option<u64> {
        self.index.as_ref().map(|i| i.memory_usage().disk as u64)
    }

    fn page_cache_bytes(&self) -> Option<u64> {
        self.index.as_ref()?.page_cache_bytes().ok()
    }

    fn reads_per_query(&self) -> Option<f64> {
        let stats = self.index.as_ref()?.take_read_stats();
        (stats.searches > 0).then(|| stats.blocks as f64 / stats.searches as f64)
    }

    fn reopen(&self) -> Option<ReopenStats> {
        self.reopen
    }
}

impl Drop for SectorAdapter {
    fn drop(&mut self) {
        self.index = None;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
