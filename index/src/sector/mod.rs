//! `SectorIndex`: a DiskANN-style index. Only the PQ codes, the ids and the
//! HNSW's upper layers stay in RAM; each node's full vector and layer-0
//! list sit together on disk in 4 KiB sectors (`store/sector_file.rs`), so
//! one read brings both.
//!
//! ```text
//! query ─► ADC table ─► descent over the upper layers (RAM, codes)
//!            │
//!            ▼
//!   beam search on layer 0 (beam.rs): a pool of `ef` candidates ranked by
//!   ADC; each step reads the blocks of the `beam_width` best unexpanded
//!   ones at once, scores every record of each new block exactly from its
//!   vector (the node and its block mates: its graph neighbourhood, after
//!   the build's breadth-first renumbering), and ranks the node's
//!   neighbours by their codes
//!            │
//!            ▼
//!   the `k` best records read, by exact distance
//! ```
//!
//! Built from a [`HnswPqIndex`] ([`SectorIndex::write`]: its graph, codes
//! and vectors) and read-only: writes return [`Error::ReadOnly`]; to change
//! the data, change the source index and write it again. Every block read
//! is checked against its crc32c, kept in RAM.
//!
//! RAM per vector: the code (`m` bytes), the id (8), the upper layers
//! (about `4 (M + 2) / M` bytes), a block checksum (4 per block) and a
//! deletion bit; at 128 dimensions and `m` = 32, about 45 bytes.

mod beam;
mod persist;
mod upper;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::distance::Kernels;
use crate::error::{Error, Result};
use crate::hnsw_pq::HnswPqIndex;
use crate::index::{Index, MemoryUsage, Neighbor, SearchParams};
use crate::metric::Metric;
use crate::pq::ProductQuantizer;
use crate::store::sector_file::SectorFile;
use crate::validate;
use beam::Scratch;
use upper::UpperLayers;

/// The most blocks one beam step may read.
pub const MAX_BEAM_WIDTH: usize = 64;

/// How a [`SectorIndex`] is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectorOptions {
    /// Blocks read at once per beam step (DiskANN's `W`), 1..=64.
    pub beam_width: usize,
    /// Read with `O_DIRECT`, bypassing the page cache, so every read is a
    /// device read (where the file system allows it; Linux only).
    pub direct: bool,
}

impl Default for SectorOptions {
    fn default() -> Self {
        SectorOptions {
            beam_width: 4,
            direct: false,
        }
    }
}

/// Reads made by searches, for the reads-per-query figure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Searches run.
    pub searches: u64,
    /// Blocks read by them.
    pub blocks: u64,
}

/// Codes in RAM, graph and full vectors on disk (see the module docs).
pub struct SectorIndex {
    dims: usize,
    metric: Metric,
    kernels: Kernels,
    pq: ProductQuantizer,
    codes: Vec<u8>,
    ids: Vec<u64>,
    /// Bitset over nodes, bit set = deleted.
    deleted: Vec<u64>,
    live: usize,
    upper: UpperLayers,
    entry: u32,
    top: usize,
    max0: usize,
    crcs: Vec<u32>,
    file: SectorFile,
    beam_width: usize,
    scratch: Mutex<Vec<Scratch>>,
    reads: AtomicU64,
    searches: AtomicU64,
}

impl SectorIndex {
    /// Writes `index` (its graph, codes and vectors; trained and not
    /// empty) as a sector index into `dir`, replacing one there.
    pub fn write(index: &HnswPqIndex, dir: impl AsRef<Path>) -> Result<()> {
        persist::write(index, dir.as_ref())
    }

    /// Opens the sector index in `dir`.
    pub fn open(dir: impl AsRef<Path>, opts: SectorOptions) -> Result<Self> {
        persist::open(dir.as_ref(), opts)
    }

    /// Searches and the blocks they read since the last
    /// [`take_read_stats`](Self::take_read_stats).
    pub fn take_read_stats(&self) -> ReadStats {
        ReadStats {
            searches: self.searches.swap(0, Ordering::Relaxed),
            blocks: self.reads.swap(0, Ordering::Relaxed),
        }
    }

    /// Drops the block file's pages from the page cache, so the next reads
    /// come from the device (cold figures without `O_DIRECT`).
    pub fn drop_cache(&self) {
        self.file.drop_cache();
    }

    /// The block file's path.
    pub fn sectors_path(&self) -> &Path {
        self.file.path()
    }

    /// Bytes of the block file the page cache holds now (`mincore`): RAM
    /// the index's own accounting leaves out.
    pub fn page_cache_bytes(&self) -> Result<u64> {
        crate::store::resident::resident_bytes(self.file.path())
            .map_err(|e| Error::io(self.file.path(), e))
    }

    /// Whether reads bypass the page cache: `direct` was asked for and the
    /// file system took `O_DIRECT` (tmpfs does not).
    pub fn reads_direct(&self) -> bool {
        self.file.direct()
    }

    /// Blocks read at once per beam step.
    pub fn beam_width(&self) -> usize {
        self.beam_width
    }

    fn node_count(&self) -> usize {
        self.ids.len()
    }

    #[inline]
    fn code(&self, node: u32) -> &[u8] {
        let m = self.pq.m();
        &self.codes[node as usize * m..(node as usize + 1) * m]
    }

    #[inline]
    fn is_deleted(&self, node: u32) -> bool {
        self.deleted[node as usize / 64] >> (node % 64) & 1 == 1
    }
}

impl Index for SectorIndex {
    fn dims(&self) -> usize {
        self.dims
    }

    fn metric(&self) -> Metric {
        self.metric
    }

    fn len(&self) -> usize {
        self.live
    }

    fn add(&self, _id: u64, _vector: &[f32]) -> Result<()> {
        Err(Error::ReadOnly)
    }

    fn add_batch(&self, _ids: &[u64], _vectors: &[f32]) -> Result<()> {
        Err(Error::ReadOnly)
    }

    fn remove(&self, _id: u64) -> Result<()> {
        Err(Error::ReadOnly)
    }

    fn update(&self, _id: u64, _vector: &[f32]) -> Result<()> {
        Err(Error::ReadOnly)
    }

    /// `ef` is the candidate pool's size (DiskANN's `L`); `rerank` is not
    /// read (every node read is scored exactly). A small allow-set filter
    /// ranks its ids by their codes and reads the best `ef`.
    fn search(&self, query: &[f32], k: usize, params: &SearchParams) -> Result<Vec<Neighbor>> {
        validate::query(query, self.dims, k, self.live)?;
        let ef = params.ef.max(k);
        let table = self.pq.adc_table(query)?;
        let q = self.metric.prepared(query, &self.kernels);
        let mut scratch = self
            .scratch
            .lock()
            .pop()
            .unwrap_or_else(|| Scratch::new(self.node_count(), self.beam_width, &self.file));
        let found = match &params.filter {
            Some(f) if f.ids().is_some() && f.scans_exactly(self.live, ef) => {
                self.scan_filtered(&q, &table, k, ef, f, &mut scratch)
            }
            filter => self.beam(&q, &table, k, ef, filter.as_ref(), &mut scratch),
        };
        self.scratch.lock().push(scratch);
        let (found, reads) = found?;
        self.reads.fetch_add(reads, Ordering::Relaxed);
        self.searches.fetch_add(1, Ordering::Relaxed);
        Ok(found)
    }

    fn memory_usage(&self) -> MemoryUsage {
        let scratch: usize = self.scratch.lock().iter().map(Scratch::memory_bytes).sum();
        MemoryUsage {
            vectors: 0,
            graph: self.upper.memory_bytes(),
            codes: self.codes.len() + self.pq.memory_bytes(),
            ids: 8 * self.ids.len(),
            other: 4 * self.crcs.len() + 8 * self.deleted.len() + scratch,
            disk: self.file.file_bytes() as usize,
        }
    }
}
