//! [`DiskIndex`]: the struct, what it tells about itself, closing, and its
//! [`Index`] implementation. Creating and opening are in `recovery.rs`,
//! the write path in `write.rs`, checkpoints in `checkpoint.rs`.

use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;

use super::commit::{Commits, InFlight};
use super::durable::Syncs;

use super::options::{DiskUsage, OpenOptions, PageCache, RecoveryReport};
use super::wal::WalWriter;
use crate::engine::DurableEngine;
use crate::error::{Error, Result};
use crate::hnsw::GraphView;
use crate::hnsw_pq::HnswPqIndex;
use crate::index::{Index, MemoryUsage, Neighbor, SearchParams};
use crate::metric::Metric;
use crate::store::directory::IndexDir;
use crate::store::lock::DirLock;
use crate::store::mmap_vectors::file_sizes;
use crate::store::resident::resident_bytes;

/// The writer's state, behind one mutex: writes are checked, logged and
/// stored in log order under it.
pub(super) struct Writer {
    /// `None` when read-only.
    pub(super) wal: Option<WalWriter>,
    /// The checkpoint generation the log follows.
    pub(super) generation: u64,
    /// Writes logged since the last checkpoint.
    pub(super) ops_since_checkpoint: u64,
    /// Checksums of the vector rows, one per `CRC_CHUNK` bytes, as of
    /// the last checkpoint.
    pub(super) crcs: Vec<u32>,
    /// Bytes of vector rows `crcs` covers.
    pub(super) crc_bytes: usize,
    /// Why writes are refused: a checkpoint or a log sync failed (the
    /// first such failure); cleared by a checkpoint that succeeds.
    pub(super) refusal: Option<String>,
    /// The generation of the vector file the rows are in (0: `vectors.omv`;
    /// see `reorder.rs`). Ahead of `generation` while the checkpoint that
    /// renumbered the nodes has not taken effect.
    pub(super) vectors_generation: u64,
}

impl Writer {
    /// A writer for generation `generation` with no checksums yet.
    pub(super) fn new(wal: Option<WalWriter>, generation: u64) -> Self {
        Writer {
            wal,
            generation,
            ops_since_checkpoint: 0,
            crcs: Vec::new(),
            crc_bytes: 0,
            refusal: None,
            vectors_generation: 0,
        }
    }
}

/// A persistent index in a directory — any [`DiskKind`](crate::DiskKind):
/// vectors in a memory-mapped file, the graph (and, for the PQ kind, its
/// codebooks and codes) checkpointed, every write logged ahead. See the
/// module docs of [`storage`](super).
pub struct DiskIndex {
    pub(super) dir: IndexDir,
    pub(super) inner: Box<dyn DurableEngine>,
    /// Shared with the log's syncer thread.
    pub(super) writer: Arc<Mutex<Writer>>,
    /// Writes waiting for a leader to log and store them.
    pub(super) commits: Commits,
    /// Writes stored and still linking (a checkpoint waits for none).
    pub(super) links: InFlight,
    /// How far the log is durable, under `EveryOp` (`durable.rs`); shared
    /// with the syncer.
    pub(super) syncs: Arc<Syncs>,
    /// The log's syncer thread, for a writable `EveryOp` index.
    pub(super) syncer: Option<std::thread::JoinHandle<()>>,
    /// Set when a group's write made a checkpoint due, so writers look
    /// under the writer mutex only then (not after every link, which would
    /// queue each behind the next group's sync).
    pub(super) checkpoint_wanted: std::sync::atomic::AtomicBool,
    pub(super) opts: OpenOptions,
    pub(super) report: RecoveryReport,
    /// Rows per log record of a batch (records hold at most
    /// `MAX_RECORD_BYTES`; smaller in tests).
    pub(super) record_bytes: usize,
    pub(super) closed: bool,
    pub(super) _lock: DirLock,
    /// Tests: the next checkpoint fails right after its rename.
    #[cfg(test)]
    pub(super) fail_after_rename: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for DiskIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskIndex")
            .field("dir", &self.dir.root)
            .field("len", &self.inner.index().len())
            .field("read_only", &self.opts.read_only)
            .finish()
    }
}

impl DiskIndex {
    /// What the open found and replayed.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.report
    }

    /// The graph, for inspection (for a PQ-navigated index, the graph it
    /// navigates). Writes go through this index, which logs them first.
    pub fn hnsw(&self) -> GraphView<'_> {
        GraphView(self.inner.graph())
    }

    /// Bytes of graph links navigated in place in the mapped graph file
    /// rather than copied into the heap (after an open, until the first
    /// insert copies them). [`Index::memory_usage`] counts them as graph
    /// memory either way; this tells where they live.
    pub fn mapped_link_bytes(&self) -> usize {
        self.inner.graph().mapped_graph_bytes()
    }

    /// The PQ-navigated engine, when this directory holds one.
    pub fn pq(&self) -> Option<&HnswPqIndex> {
        self.inner.pq()
    }

    /// The index directory.
    pub fn path(&self) -> &Path {
        &self.dir.root
    }

    /// Whether the index was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.opts.read_only
    }

    /// Whether `id` is live.
    pub fn contains(&self, id: u64) -> bool {
        self.inner.graph().contains(id)
    }

    /// Writes everything buffered in the log and syncs it to stable storage.
    pub fn sync(&self) -> Result<()> {
        match self.writer.lock().wal.as_mut() {
            Some(w) => w.sync(),
            None => Ok(()),
        }
    }

    /// Why writes are refused, if they are: the checkpoint (explicit or
    /// automatic) or log sync that failed. A checkpoint that succeeds
    /// clears it.
    pub fn checkpoint_error(&self) -> Option<String> {
        self.writer.lock().refusal.clone()
    }

    /// Checkpoints (if so configured), trims the vector file and releases
    /// the directory. Dropping does the same but cannot report errors.
    pub fn close(mut self) -> Result<()> {
        self.closed = true;
        self.shutdown()
    }

    /// Bytes of each file in the directory.
    pub fn disk_usage(&self) -> DiskUsage {
        let (vector_file, vector_allocated) = file_sizes(&self.vector_path());
        let rows = self.inner.graph().node_count() as u64;
        DiskUsage {
            vector_file,
            vector_allocated,
            raw_vectors: rows * self.inner.index().dims() as u64 * 4,
            graph_file: file_sizes(&self.dir.graph()).0,
            wal_file: file_sizes(&self.dir.wal()).0,
            manifest: file_sizes(&self.dir.manifest()).0,
            rows,
        }
    }

    /// How much of the vector and graph files the page cache holds now
    /// (`mincore`; Linux only, an `Unsupported` I/O error elsewhere). A
    /// file not written yet (no checkpoint) holds nothing.
    pub fn page_cache(&self) -> Result<PageCache> {
        let resident = |path: &std::path::Path| match resident_bytes(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            other => other.map_err(|e| Error::io(path, e)),
        };
        Ok(PageCache {
            vector_file: resident(&self.vector_path())?,
            graph_file: resident(&self.dir.graph())?,
        })
    }

    fn shutdown(&mut self) -> Result<()> {
        if self.opts.read_only {
            return Ok(());
        }
        let mut w = self.writer.lock();
        if self.opts.checkpoint_on_close {
            if w.ops_since_checkpoint > 0 {
                self.checkpoint_locked(&mut w)?;
            }
            self.inner
                .graph()
                .with_vectors_mut(|v| v.mapped_mut().map_or(Ok(()), |m| m.shrink_to_fit()))
        } else {
            w.wal.as_mut().map_or(Ok(()), |wal| wal.sync())
        }
    }
}

impl Drop for DiskIndex {
    fn drop(&mut self) {
        if !self.closed {
            let _ = self.shutdown();
        }
        self.syncs.stop();
        if let Some(syncer) = self.syncer.take() {
            let _ = syncer.join();
        }
    }
}

impl Index for DiskIndex {
    fn dims(&self) -> usize {
        self.inner.index().dims()
    }

    fn metric(&self) -> Metric {
        self.inner.index().metric()
    }

    fn len(&self) -> usize {
        self.inner.index().len()
    }

    fn add(&self, id: u64, vector: &[f32]) -> Result<()> {
        self.add_one(id, vector)
    }

    fn add_batch(&self, ids: &[u64], vectors: &[f32]) -> Result<()> {
        self.add_many(ids, vectors)
    }

    fn remove(&self, id: u64) -> Result<()> {
        self.remove_one(id)
    }

    fn update(&self, id: u64, vector: &[f32]) -> Result<()> {
        self.update_one(id, vector)
    }

    fn search(&self, query: &[f32], k: usize, params: &SearchParams) -> Result<Vec<Neighbor>> {
        self.inner.index().search(query, k, params)
    }

    fn memory_usage(&self) -> MemoryUsage {
        MemoryUsage {
            disk: self.inner.graph().with_vectors(|v| v.disk_bytes()),
            ..self.inner.index().memory_usage()
        }
    }
}
