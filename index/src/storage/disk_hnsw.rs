//! [`DiskHnswIndex`]: an [`HnswIndex`](crate::hnsw::HnswIndex) — or an [`HnswPqIndex`], navigated by
//! PQ codes held in RAM — whose vectors live in a memory-mapped file, whose
//! graph (and codebooks and codes) is checkpointed to disk, and whose writes
//! go through a write-ahead log first. [`DiskHnswIndex::open`] reads which
//! kind a directory holds from its manifest.
//!
//! ```text
//! add / add_batch / remove / update
//!   └─► validate ─► reserve room in the vector file ─► append to wal.log ─► apply to the HnswIndex
//! checkpoint (on demand, every N ops, when the log is large, on close)
//!   └─► sync vectors.omv ─► write graph.omg.tmp, sync, rename, sync dir ─► fresh wal.log (generation + 1)
//! open
//!   └─► lock ─► MANIFEST ─► graph.omg (checksums, structure) ─► map vectors.omv (row checksums)
//!       ─► replay wal.log if its generation is the graph's (a log one generation older
//!          was already checkpointed and is discarded)
//! ```
//!
//! Writes are stored in log order under one mutex (check, log, store the
//! vector and an unlinked node), then linked outside it, so the next write's
//! logging and fsync overlap the link; searches run alongside. Storing needs
//! the graph's exclusive lock, which waits for links in flight, so
//! one-at-a-time writers on many threads still take turns (a batch links on
//! all cores). A checkpoint waits for the links in flight, so it never
//! snapshots a half-linked node.

use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use super::directory::{commit_tmp, sync_dir, tmp_path, IndexDir};
use super::engine::Engine;
use super::format::{
    corrupt, read_sections, u32_at, u64_at, FileHeader, FileKind, SectionWriter, FLAG_REQUIRED,
    HEADER_LEN,
};
use super::lock::DirLock;
use super::manifest::Manifest;
use super::mapped_graph::MappedGraphFile;
use super::mmap_vectors::{file_sizes, verify_rows, MmapVectors};
use super::wal::{self, Durability, LogOp, LoggedOp, TornTail, WalWriter, MAX_RECORD_BYTES};
use crate::error::{Error, Result};
use crate::hnsw::vectors::VectorStore;
use crate::hnsw::{GraphView, HnswParams};
use crate::hnsw_pq::{HnswPqIndex, HnswPqParams};
use crate::index::{Index, MemoryUsage, Neighbor, SearchParams};
use crate::metric::Metric;
use crate::validate;

/// Graph-file section: per-chunk checksums of the vector rows.
pub const SEC_VECTOR_CRCS: u32 = 0x20;
/// Bytes of vector rows per checksum.
const CRC_CHUNK: usize = 1 << 20;

/// How [`DiskHnswIndex::open`] (and `create_with`) behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// Open without writing anything: no lock file created, the log
    /// replayed in memory only, every write refused with [`Error::ReadOnly`].
    pub read_only: bool,
    /// When the log reaches stable storage (see [`Durability`]).
    pub durability: Durability,
    /// Check the vector rows against their checkpoint checksums on open
    /// (reads the file once through the page cache, not into this process).
    pub verify_vectors: bool,
    /// Checkpoint after this many writes (`None`: only by log size, on
    /// demand and on close).
    pub checkpoint_every: Option<u64>,
    /// Checkpoint once the log holds this many bytes (0: never by size).
    pub checkpoint_log_bytes: u64,
    /// Checkpoint (and trim the vector file's growth room) when the index
    /// is closed or dropped. Off, closing only syncs the log.
    pub checkpoint_on_close: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            read_only: false,
            durability: Durability::default(),
            verify_vectors: true,
            checkpoint_every: None,
            checkpoint_log_bytes: 256 << 20,
            checkpoint_on_close: true,
        }
    }
}

impl OpenOptions {
    /// Default options with the given durability.
    pub fn with_durability(durability: Durability) -> Self {
        OpenOptions {
            durability,
            ..Self::default()
        }
    }

    /// Default options, read-only.
    pub fn read_only() -> Self {
        OpenOptions {
            read_only: true,
            ..Self::default()
        }
    }
}

/// What [`DiskHnswIndex::open`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The checkpoint generation opened.
    pub generation: u64,
    /// Nodes loaded from the checkpointed graph (deleted ones included).
    pub checkpoint_nodes: usize,
    /// Log records replayed on top of the checkpoint.
    pub replayed: usize,
    /// A final log record cut short by a crash, dropped.
    pub torn_tail: Option<TornTail>,
    /// The log belonged to the previous checkpoint (a crash between writing
    /// the graph and resetting the log) and was discarded: its writes are
    /// all in the checkpoint.
    pub stale_log_discarded: bool,
    /// Wall time of the open.
    pub open_time: Duration,
}

/// What one checkpoint wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointStats {
    /// Nodes written.
    pub nodes: usize,
    /// Bytes of the new graph file.
    pub graph_bytes: u64,
    /// Wall time.
    pub duration: Duration,
}

/// Bytes an index directory takes on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DiskUsage {
    /// Size of the vector file (growth room included).
    pub vector_file: u64,
    /// Bytes the file system allocated for it (growth room is sparse).
    pub vector_allocated: u64,
    /// Raw vector bytes: rows × dims × 4.
    pub raw_vectors: u64,
    /// The graph file.
    pub graph_file: u64,
    /// The log.
    pub wal_file: u64,
    /// The manifest.
    pub manifest: u64,
    /// Rows in the vector file (deleted ones included).
    pub rows: u64,
}

impl DiskUsage {
    /// Every file's size added up.
    pub fn total(&self) -> u64 {
        self.vector_file + self.graph_file + self.wal_file + self.manifest
    }

    /// Vector file size over the raw vector bytes (1.0 = no overhead).
    pub fn vector_overhead(&self) -> f64 {
        self.vector_file as f64 / self.raw_vectors.max(1) as f64
    }

    /// Total bytes per stored row.
    pub fn bytes_per_vector(&self) -> f64 {
        self.total() as f64 / self.rows.max(1) as f64
    }
}

struct Writer {
    /// `None` when read-only.
    wal: Option<WalWriter>,
    generation: u64,
    ops_since_checkpoint: u64,
    /// Checksums of the vector rows, one per [`CRC_CHUNK`] bytes, as of
    /// the last checkpoint.
    crcs: Vec<u32>,
    crc_bytes: usize,
    /// Why the last automatic checkpoint failed, if it did.
    last_checkpoint_error: Option<String>,
}

/// A persistent HNSW index in a directory. See the module docs.
pub struct DiskHnswIndex {
    dir: IndexDir,
    inner: Engine,
    writer: Mutex<Writer>,
    /// Held shared by every write while it links, exclusively by a checkpoint.
    linking: RwLock<()>,
    opts: OpenOptions,
    report: RecoveryReport,
    closed: bool,
    _lock: DirLock,
}

impl std::fmt::Debug for DiskHnswIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskHnswIndex")
            .field("dir", &self.dir.root)
            .field("len", &self.inner.index().len())
            .field("read_only", &self.opts.read_only)
            .finish()
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

impl DiskHnswIndex {
    /// Creates a new index in `dir` (created if missing; it must not hold
    /// an index already) with default options and the given durability.
    pub fn create(
        dir: impl AsRef<Path>,
        dims: usize,
        metric: Metric,
        params: HnswParams,
        durability: Durability,
    ) -> Result<Self> {
        Self::create_with(
            dir,
            dims,
            metric,
            params,
            OpenOptions::with_durability(durability),
        )
    }

    /// Creates a new index in `dir` with the given options.
    pub fn create_with(
        dir: impl AsRef<Path>,
        dims: usize,
        metric: Metric,
        params: HnswParams,
        opts: OpenOptions,
    ) -> Result<Self> {
        let manifest = Manifest {
            dims,
            metric,
            params,
            pq: None,
        };
        Self::create_from(dir.as_ref(), manifest, opts)
    }

    /// Creates a new index navigated by PQ codes in `dir`: graph and codes
    /// in RAM, full vectors (for exact re-ranking) in the mapped file, the
    /// codebooks and codes saved with every checkpoint. The first write
    /// trains the quantizer and must hold at least 256 vectors.
    pub fn create_pq(
        dir: impl AsRef<Path>,
        dims: usize,
        metric: Metric,
        params: HnswPqParams,
        durability: Durability,
    ) -> Result<Self> {
        Self::create_pq_with(
            dir,
            dims,
            metric,
            params,
            OpenOptions::with_durability(durability),
        )
    }

    /// [`create_pq`](Self::create_pq) with the given options.
    pub fn create_pq_with(
        dir: impl AsRef<Path>,
        dims: usize,
        metric: Metric,
        params: HnswPqParams,
        opts: OpenOptions,
    ) -> Result<Self> {
        // Also refuses dims = 0, as `create_from` would.
        params.pq.validate(dims)?;
        let manifest = Manifest {
            dims,
            metric,
            params: params.hnsw,
            pq: Some(params.pq),
        };
        Self::create_from(dir.as_ref(), manifest, opts)
    }

    fn create_from(dir: &Path, manifest: Manifest, opts: OpenOptions) -> Result<Self> {
        let (dims, metric, params) = (manifest.dims, manifest.metric, manifest.params);
        let t0 = Instant::now();
        if opts.read_only {
            return Err(Error::ReadOnly);
        }
        if dims == 0 {
            return Err(Error::invalid("dims", "must be at least 1"));
        }
        params.validate()?;
        let d = IndexDir::new(dir);
        std::fs::create_dir_all(&d.root).map_err(|e| Error::io(&d.root, e))?;
        let lock = DirLock::acquire(&d.lock(), &d.root, true)?;
        if d.manifest().exists() {
            return Err(Error::invalid(
                "dir",
                format!(
                    "{} already holds an index: open it instead",
                    d.root.display()
                ),
            ));
        }
        // Leftovers of a create that crashed before writing its manifest.
        for p in [
            d.vectors(),
            d.graph(),
            d.wal(),
            tmp_path(&d.graph()),
            tmp_path(&d.wal()),
        ] {
            match std::fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io(&p, e)),
                _ => {}
            }
        }
        let vectors = MmapVectors::create(&d.vectors(), dims, metric)?;
        let inner = Engine::create(&manifest, VectorStore::Mapped(vectors))?;
        let index = DiskHnswIndex {
            linking: RwLock::new(()),
            writer: Mutex::new(Writer {
                wal: None,
                generation: 0,
                ops_since_checkpoint: 0,
                crcs: Vec::new(),
                crc_bytes: 0,
                last_checkpoint_error: None,
            }),
            dir: d.clone(),
            inner,
            opts,
            report: RecoveryReport {
                generation: 0,
                checkpoint_nodes: 0,
                replayed: 0,
                torn_tail: None,
                stale_log_discarded: false,
                open_time: Duration::ZERO,
            },
            closed: false,
            _lock: lock,
        };
        {
            let mut w = index.writer.lock();
            index.write_graph(&mut w, 0)?;
            let header = FileHeader::new(FileKind::Wal, dims, metric);
            w.wal = Some(WalWriter::create(&d.wal(), &header, opts.durability)?);
        }
        // The manifest goes last: its presence means the index is complete.
        super::directory::atomic_write(&d.manifest(), &manifest.encode())?;
        let mut index = index;
        index.report.open_time = t0.elapsed();
        Ok(index)
    }

    /// Opens the index in `dir`: checks every header and checksum, maps the
    /// vectors, loads the graph and replays the log. See [`RecoveryReport`].
    pub fn open(dir: impl AsRef<Path>, opts: OpenOptions) -> Result<Self> {
        let t0 = Instant::now();
        let d = IndexDir::new(dir.as_ref());
        let lock = DirLock::acquire(&d.lock(), &d.root, !opts.read_only)?;
        let manifest = Manifest::decode(&read_file(&d.manifest())?, &d.manifest())?;
        let (dims, metric) = (manifest.dims, manifest.metric);

        let gpath = d.graph();
        // Mapped, not read: the link sections are navigated in place.
        let gfile = Arc::new(MappedGraphFile::open(&gpath)?);
        // SAFETY: nothing stores to the mapped words before `sections` (the
        // last borrow of these bytes) is dropped below: restoring only
        // reads, and the replay comes after.
        let gbytes = unsafe { gfile.bytes() };
        let gheader = FileHeader::decode(gbytes, FileKind::Graph, &gpath)?;
        gheader.expect_shape(dims, metric, &gpath)?;
        let sections = read_sections(gbytes, &gpath)?;
        for s in &sections {
            let known = Engine::knows_section(s.kind) || s.kind == SEC_VECTOR_CRCS;
            if !known && s.flags & FLAG_REQUIRED != 0 {
                return Err(Error::Incompatible {
                    file: gpath.clone(),
                    reason: format!("required section kind {:#x} unknown to this build", s.kind),
                });
            }
        }
        let n = usize::try_from(gheader.count)
            .map_err(|_| corrupt(&gpath, 24, "node count too large"))?;
        let (crcs, crc_bytes) = parse_crcs(&sections, n, dims, &gpath)?;
        let vpath = d.vectors();
        let vectors = MmapVectors::open(&vpath, dims, metric, n, !opts.read_only)?;
        if opts.verify_vectors {
            verify_rows(&vpath, dims, n, CRC_CHUNK, &crcs)?;
        }
        let inner = Engine::restore(
            &manifest,
            &sections,
            VectorStore::Mapped(vectors),
            &gpath,
            Some(&gfile),
        )?;
        drop(sections);
        // SAFETY: before the replay, nothing has stored to the mapping yet
        // (and nothing ever does: the first growth copies the links out).
        unsafe { gfile.release_pages() }?;

        let wpath = d.wal();
        let wbytes = read_file(&wpath)?;
        let scan = wal::scan(&wbytes, &wpath)?;
        scan.header.expect_shape(dims, metric, &wpath)?;
        let gen = gheader.generation;
        let stale = scan.header.generation.checked_add(1) == Some(gen);
        if scan.header.generation != gen && !stale {
            return Err(corrupt(
                &wpath,
                40,
                format!(
                    "log generation {} does not follow the checkpoint's {gen}",
                    scan.header.generation
                ),
            ));
        }
        let mut replayed = 0;
        if !stale {
            for &(offset, payload) in &scan.records {
                let op = wal::decode(payload, dims, &wpath, offset)?;
                replay(&inner, op).map_err(|e| {
                    corrupt(&wpath, offset, format!("record cannot be replayed: {e}"))
                })?;
                replayed += 1;
            }
        }
        let wal = if opts.read_only {
            None
        } else if stale {
            let mut h = FileHeader::new(FileKind::Wal, dims, metric);
            h.generation = gen;
            Some(WalWriter::create(&wpath, &h, opts.durability)?)
        } else {
            Some(WalWriter::open_append(
                &wpath,
                scan.valid_len,
                opts.durability,
            )?)
        };
        let report = RecoveryReport {
            generation: gen,
            checkpoint_nodes: n,
            replayed,
            torn_tail: if stale { None } else { scan.torn_tail },
            stale_log_discarded: stale && !scan.records.is_empty(),
            open_time: t0.elapsed(),
        };
        drop(wbytes);
        Ok(DiskHnswIndex {
            dir: d,
            inner,
            linking: RwLock::new(()),
            writer: Mutex::new(Writer {
                wal,
                generation: gen,
                ops_since_checkpoint: replayed as u64,
                crcs,
                crc_bytes,
                last_checkpoint_error: None,
            }),
            opts,
            report,
            closed: false,
            _lock: lock,
        })
    }

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
        match &self.inner {
            Engine::Pq(i) => Some(i),
            Engine::Hnsw(_) => None,
        }
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

    /// Marks `id` deleted, durably.
    pub fn remove(&self, id: u64) -> Result<()> {
        self.write(|inner| {
            if !inner.graph().contains(id) {
                return Err(Error::UnknownId(id));
            }
            Ok((LogOp::Remove { id }, 0))
        })
    }

    /// Replaces (or adds) the vector of `id`, durably.
    pub fn update(&self, id: u64, vector: &[f32]) -> Result<()> {
        validate::vector(vector, self.inner.index().dims(), 0)?;
        self.write(|inner| {
            inner.check_write_rows(1)?;
            Ok((LogOp::Update { id, vector }, 1))
        })
    }

    /// Writes everything buffered in the log and syncs it to stable storage.
    pub fn sync(&self) -> Result<()> {
        match self.writer.lock().wal.as_mut() {
            Some(w) => w.sync(),
            None => Ok(()),
        }
    }

    /// Writes the current state to disk and empties the log.
    pub fn checkpoint(&self) -> Result<CheckpointStats> {
        if self.opts.read_only {
            return Err(Error::ReadOnly);
        }
        let mut w = self.writer.lock();
        self.checkpoint_locked(&mut w)
    }

    /// Checkpoints (if so configured), trims the vector file and releases
    /// the directory. Dropping does the same but cannot report errors.
    pub fn close(mut self) -> Result<()> {
        self.closed = true;
        self.shutdown()
    }

    /// Bytes of each file in the directory.
    pub fn disk_usage(&self) -> DiskUsage {
        let (vector_file, vector_allocated) = file_sizes(&self.dir.vectors());
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

    /// Logs and applies one write. `check` runs under the writer lock and
    /// returns the op to log and how many vector rows it adds.
    fn write<'a>(&self, check: impl FnOnce(&Engine) -> Result<(LogOp<'a>, usize)>) -> Result<()> {
        if self.opts.read_only {
            return Err(Error::ReadOnly);
        }
        // Under the writer lock: check, log, store (log order = node order).
        let (nodes, linking) = {
            let mut w = self.writer.lock();
            let (op, rows) = check(&self.inner)?;
            if rows > 0 {
                self.inner
                    .graph()
                    .with_vectors_mut(|v| v.try_reserve(rows))?;
            }
            let wal = w.wal.as_mut().ok_or(Error::ReadOnly)?;
            wal.append(&op)?;
            // Validated above, so storing should not fail; if it does, the
            // record is taken back so the log never holds a refused write.
            let nodes = match self.inner.store(&op) {
                Ok(nodes) => nodes,
                Err(e) => {
                    wal.undo_last()?;
                    return Err(e);
                }
            };
            w.ops_since_checkpoint += 1;
            (nodes, self.linking.read())
        };
        // Outside it: linking, while the next write is checked and logged
        // (its store then waits for this link). A checkpoint waits for every
        // link in flight (the `linking` lock).
        self.inner.link(&nodes);
        drop(linking);
        let mut w = self.writer.lock();
        if self.checkpoint_due(&w) {
            // The write is already in the log: a failed checkpoint does not
            // fail it, it is kept for `checkpoint_error`.
            if let Err(e) = self.checkpoint_locked(&mut w) {
                w.last_checkpoint_error = Some(e.to_string());
            }
        }
        Ok(())
    }

    fn checkpoint_due(&self, w: &Writer) -> bool {
        self.opts
            .checkpoint_every
            .is_some_and(|n| w.ops_since_checkpoint >= n.max(1))
            || (self.opts.checkpoint_log_bytes > 0
                && w.wal
                    .as_ref()
                    .is_some_and(|l| l.bytes() >= self.opts.checkpoint_log_bytes))
    }

    /// Why the last automatic checkpoint failed, if it did.
    pub fn checkpoint_error(&self) -> Option<String> {
        self.writer.lock().last_checkpoint_error.clone()
    }

    fn checkpoint_locked(&self, w: &mut Writer) -> Result<CheckpointStats> {
        let t0 = Instant::now();
        // No half-linked node goes into a snapshot.
        let _quiet = self.linking.write();
        if let Some(wal) = w.wal.as_mut() {
            wal.sync()?;
        }
        let nodes = self.inner.graph().node_count();
        self.inner
            .graph()
            .with_vectors_mut(|v| match v.mapped_mut() {
                Some(m) => {
                    m.write_header(m.len());
                    m.sync()
                }
                None => Ok(()),
            })?;
        let gen = w.generation + 1;
        let graph_bytes = self.write_graph(w, gen)?;
        let mut h = FileHeader::new(
            FileKind::Wal,
            self.inner.index().dims(),
            self.inner.index().metric(),
        );
        h.generation = gen;
        w.wal = Some(WalWriter::create(
            &self.dir.wal(),
            &h,
            self.opts.durability,
        )?);
        w.generation = gen;
        w.ops_since_checkpoint = 0;
        w.last_checkpoint_error = None;
        Ok(CheckpointStats {
            nodes,
            graph_bytes,
            duration: t0.elapsed(),
        })
    }

    /// Writes graph file generation `gen` (temporary file, sync, rename).
    fn write_graph(&self, w: &mut Writer, gen: u64) -> Result<u64> {
        let path = self.dir.graph();
        let tmp = tmp_path(&path);
        let io = |e| Error::io(&tmp, e);
        self.update_crcs(w);
        let file = File::create(&tmp).map_err(io)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let nodes = self.inner.graph().node_count();
        let mut h = FileHeader::new(
            FileKind::Graph,
            self.inner.index().dims(),
            self.inner.index().metric(),
        );
        h.count = nodes as u64;
        h.capacity = nodes as u64;
        h.generation = gen;
        out.write_all(&h.encode()).map_err(io)?;
        let mut sw = SectionWriter::new(out);
        let written = self.inner.write_sections(&mut sw).map_err(io)?;
        debug_assert_eq!(written, nodes);
        let mut payload = Vec::with_capacity(12 + 4 * w.crcs.len());
        payload.extend_from_slice(&(CRC_CHUNK as u32).to_le_bytes());
        payload.extend_from_slice(&(w.crc_bytes as u64).to_le_bytes());
        for c in &w.crcs {
            payload.extend_from_slice(&c.to_le_bytes());
        }
        sw.section(SEC_VECTOR_CRCS, FLAG_REQUIRED, &payload)
            .map_err(io)?;
        let mut out = sw.finish().map_err(io)?;
        let len = out.stream_position().map_err(io)?;
        let file = out
            .into_inner()
            .map_err(|e| Error::io(&tmp, e.into_error()))?;
        file.sync_all().map_err(io)?;
        drop(file);
        commit_tmp(&path)?;
        sync_dir(&self.dir.root)?;
        Ok(len)
    }

    /// Brings the row checksums up to date: rows are append-only, so only
    /// chunks from the last partial one on are computed again.
    fn update_crcs(&self, w: &mut Writer) {
        self.inner.graph().with_vectors(|v| {
            let bytes = v.mapped().map_or(&[][..], |m| m.row_bytes());
            let first = w.crc_bytes / CRC_CHUNK;
            w.crcs.truncate(first);
            for chunk in bytes[first * CRC_CHUNK..].chunks(CRC_CHUNK) {
                w.crcs.push(crc32c::crc32c(chunk));
            }
            w.crc_bytes = bytes.len();
        });
    }
}

/// Reads the vector checksum section: (checksums, bytes covered).
fn parse_crcs(
    sections: &[super::format::Section<'_>],
    n: usize,
    dims: usize,
    file: &Path,
) -> Result<(Vec<u32>, usize)> {
    let s = sections
        .iter()
        .find(|s| s.kind == SEC_VECTOR_CRCS)
        .ok_or_else(|| corrupt(file, HEADER_LEN as u64, "no vector checksum section"))?;
    let b = s.payload;
    if b.len() < 12 || (b.len() - 12) % 4 != 0 {
        return Err(corrupt(file, s.offset, "malformed vector checksum section"));
    }
    let (chunk, covered) = (u32_at(b, 0) as usize, u64_at(b, 4));
    let want = n as u128 * dims as u128 * 4;
    if chunk != CRC_CHUNK || covered as u128 != want {
        return Err(corrupt(
            file,
            s.offset,
            format!("vector checksums cover {covered} bytes in {chunk}-byte chunks; {n} rows need {want}"),
        ));
    }
    let crcs: Vec<u32> = b[12..].chunks_exact(4).map(|c| u32_at(c, 0)).collect();
    if crcs.len() != (covered as usize).div_ceil(CRC_CHUNK) {
        return Err(corrupt(
            file,
            s.offset,
            "vector checksum count does not match the rows",
        ));
    }
    Ok((crcs, covered as usize))
}

/// Applies a logged op to the engine (the same calls a live write makes).
fn apply(inner: &Engine, op: &LogOp<'_>) -> Result<()> {
    let nodes = inner.store(op)?;
    inner.link(&nodes);
    Ok(())
}

/// Applies a record read back from the log.
fn replay(inner: &Engine, op: LoggedOp) -> Result<()> {
    let rows = match &op {
        LoggedOp::Add(..) | LoggedOp::Update(..) => 1,
        LoggedOp::Batch(ids, _) => ids.len(),
        LoggedOp::Remove(_) => 0,
    };
    inner.graph().with_vectors_mut(|v| v.try_reserve(rows))?;
    match &op {
        LoggedOp::Add(id, v) => {
            validate::vector(v, inner.index().dims(), 0)?;
            apply(inner, &LogOp::Add { id: *id, vector: v })
        }
        LoggedOp::Batch(ids, v) => apply(inner, &LogOp::Batch { ids, vectors: v }),
        LoggedOp::Remove(id) => apply(inner, &LogOp::Remove { id: *id }),
        LoggedOp::Update(id, v) => apply(inner, &LogOp::Update { id: *id, vector: v }),
    }
}

impl Drop for DiskHnswIndex {
    fn drop(&mut self) {
        if !self.closed {
            let _ = self.shutdown();
        }
    }
}

impl Index for DiskHnswIndex {
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
        validate::vector(vector, self.inner.index().dims(), 0)?;
        self.write(|inner| {
            if inner.graph().contains(id) {
                return Err(Error::DuplicateId(id));
            }
            inner.check_write_rows(1)?;
            Ok((LogOp::Add { id, vector }, 1))
        })
    }

    fn add_batch(&self, ids: &[u64], vectors: &[f32]) -> Result<()> {
        let d = self.inner.index().dims();
        validate::batch(ids, vectors, d)?;
        if let Some(&id) = ids.iter().find(|&&id| self.inner.graph().contains(id)) {
            return Err(Error::DuplicateId(id));
        }
        // One log record per slice of at most MAX_RECORD_BYTES.
        let rows = (MAX_RECORD_BYTES / (8 + 4 * d)).max(1);
        for (ids, vectors) in ids.chunks(rows).zip(vectors.chunks(rows * d)) {
            self.write(|inner| {
                if let Some(&id) = ids.iter().find(|&&id| inner.graph().contains(id)) {
                    return Err(Error::DuplicateId(id));
                }
                inner.check_write_rows(ids.len())?;
                Ok((LogOp::Batch { ids, vectors }, ids.len()))
            })?;
        }
        Ok(())
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
