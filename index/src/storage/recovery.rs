//! Creating an index directory and opening one: lock, manifest, the mapped
//! graph checkpoint (checksums, structure), the mapped vector file (row
//! checksums), then the log replayed on top. See [`RecoveryReport`].

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::checkpoint::{parse_crcs, CRC_CHUNK};
use super::disk_index::Writer;
use super::manifest::Manifest;
use super::options::{LostSyncedTail, OpenOptions, RecoveryReport};
use super::reorder::{parse_vector_file, remove_other_vector_files};
use super::sync_mark::SyncMark;
use super::wal::{self, LoggedOp, WalWriter, MAX_RECORD_BYTES};
use super::DiskIndex;
use crate::engine::{DiskKind, DurableEngine, WriteOp};
use crate::error::{Error, Result};
use crate::metric::Metric;
use crate::store::directory::{atomic_write, tmp_path, IndexDir};
use crate::store::format::{corrupt, read_sections, FileHeader, FileKind, FLAG_REQUIRED};
use crate::store::io as store_io;
use crate::store::lock::DirLock;
use crate::store::mapped_graph::MappedGraphFile;
use crate::store::mmap_vectors::{verify_rows, MmapVectors};
use crate::store::sections::GRAPH_FILE_SECTIONS;
use crate::store::VectorStore;
use crate::validate;

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

impl DiskIndex {
    /// Creates a new index of `kind` in `dir` (created if missing; it must
    /// not hold an index already): an HNSW (`HnswParams`) or a PQ-navigated
    /// HNSW (`HnswPqParams`: graph and codes in RAM, full vectors in the
    /// mapped file for exact re-ranking, codebooks and codes saved with
    /// every checkpoint; its first write trains the quantizer and must hold
    /// at least 256 vectors).
    pub fn create(
        dir: impl AsRef<Path>,
        dims: usize,
        metric: Metric,
        kind: impl Into<DiskKind>,
        opts: OpenOptions,
    ) -> Result<Self> {
        let manifest = Manifest {
            dims,
            metric,
            kind: kind.into(),
        };
        let t0 = Instant::now();
        if opts.read_only {
            return Err(Error::ReadOnly);
        }
        manifest.kind.validate(dims)?;
        let d = IndexDir::new(dir.as_ref());
        store_io::create_dir_all(&d.root).map_err(|e| Error::io(&d.root, e))?;
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
        let numbered = d.other_vector_files(0).map_err(|e| Error::io(&d.root, e))?;
        for p in [
            d.vectors(),
            d.graph(),
            d.wal(),
            tmp_path(&d.graph()),
            tmp_path(&d.wal()),
        ]
        .into_iter()
        .chain(numbered)
        {
            match store_io::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io(&p, e)),
                _ => {}
            }
        }
        let vectors = MmapVectors::create(&d.vectors(), dims, metric)?;
        let inner = manifest
            .kind
            .create(dims, metric, VectorStore::Mapped(vectors))?;
        let mut index = DiskIndex {
            commits: Default::default(),
            links: Default::default(),
            syncs: Default::default(),
            syncer: None,
            checkpoint_wanted: Default::default(),
            writer: Arc::new(Mutex::new(Writer::new(None, 0))),
            dir: d.clone(),
            inner,
            opts,
            report: RecoveryReport {
                generation: 0,
                checkpoint_nodes: 0,
                replayed: 0,
                torn_tail: None,
                lost_synced_tail: None,
                stale_log_discarded: false,
                open_time: Duration::ZERO,
            },
            record_bytes: MAX_RECORD_BYTES,
            closed: false,
            _lock: lock,
            #[cfg(test)]
            fail_after_rename: Default::default(),
        };
        {
            let mut w = index.writer.lock();
            index.write_graph(&mut w, 0)?;
            let header = FileHeader::new(FileKind::Wal, dims, metric);
            w.wal = Some(WalWriter::create(&d.wal(), &header, opts.durability)?);
        }
        // The manifest goes last: its presence means the index is complete.
        atomic_write(&d.manifest(), &manifest.encode())?;
        index.start_syncer()?;
        index.report.open_time = t0.elapsed();
        Ok(index)
    }

    /// Opens the index in `dir`: checks every header and checksum, maps the
    /// vectors, loads the graph and replays the log. The kind comes from
    /// the manifest. See [`RecoveryReport`].
    pub fn open(dir: impl AsRef<Path>, opts: OpenOptions) -> Result<Self> {
        let t0 = Instant::now();
        let d = IndexDir::new(dir.as_ref());
        // No index here: say so (with the OS's own error, e.g. ENOENT)
        // before a lock file is left behind.
        if let Err(e) = std::fs::metadata(d.manifest()) {
            return Err(Error::io(d.manifest(), e));
        }
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
        if let Some(s) = sections
            .iter()
            .find(|s| s.flags & FLAG_REQUIRED != 0 && !GRAPH_FILE_SECTIONS.contains(&s.kind))
        {
            return Err(Error::Incompatible {
                file: gpath.clone(),
                reason: format!("required section kind {:#x} unknown to this build", s.kind),
            });
        }
        let n = usize::try_from(gheader.count)
            .map_err(|_| corrupt(&gpath, 24, "node count too large"))?;
        let (crcs, crc_bytes) = parse_crcs(&sections, n, dims, &gpath)?;
        let vgen = parse_vector_file(&sections, gheader.generation, &gpath)?;
        let vpath = d.vectors_at(vgen);
        let vectors = MmapVectors::open(&vpath, dims, metric, n, !opts.read_only)?;
        if opts.verify_vectors {
            verify_rows(&vpath, dims, n, CRC_CHUNK, &crcs)?;
        }
        let inner = manifest.kind.restore(
            dims,
            metric,
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
        let lost_synced_tail = match SyncMark::read(&wpath) {
            Some((g, synced)) if !stale && g == gen && scan.valid_len < synced => {
                Some(LostSyncedTail {
                    synced_bytes: synced,
                    valid_bytes: scan.valid_len,
                })
            }
            _ => None,
        };
        if let (Some(lost), true) = (lost_synced_tail, opts.strict) {
            return Err(corrupt(
                &wpath,
                lost.valid_bytes,
                format!(
                    "the log holds valid records up to byte {} but was synced up to byte {}: acknowledged writes are missing",
                    lost.valid_bytes, lost.synced_bytes
                ),
            ));
        }
        let mut replayed = 0;
        if !stale {
            for &(offset, payload) in &scan.records {
                let op = wal::decode(payload, dims, &wpath, offset)?;
                replay(inner.as_ref(), op).map_err(|e| {
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
                gen,
            )?)
        };
        let report = RecoveryReport {
            generation: gen,
            checkpoint_nodes: n,
            replayed,
            torn_tail: if stale { None } else { scan.torn_tail },
            lost_synced_tail,
            stale_log_discarded: stale && !scan.records.is_empty(),
            open_time: t0.elapsed(),
        };
        drop(wbytes);
        let mut writer = Writer::new(wal, gen);
        writer.ops_since_checkpoint = replayed as u64;
        writer.crcs = crcs;
        writer.crc_bytes = crc_bytes;
        writer.vectors_generation = vgen;
        if !opts.read_only {
            remove_other_vector_files(&d, vgen);
        }
        let mut index = DiskIndex {
            dir: d,
            inner,
            commits: Default::default(),
            links: Default::default(),
            syncs: Default::default(),
            syncer: None,
            checkpoint_wanted: Default::default(),
            writer: Arc::new(Mutex::new(writer)),
            opts,
            report,
            record_bytes: MAX_RECORD_BYTES,
            closed: false,
            _lock: lock,
            #[cfg(test)]
            fail_after_rename: Default::default(),
        };
        index.start_syncer()?;
        Ok(index)
    }
}

/// Applies a record read back from the log (the same calls a live write
/// makes: store, then link).
fn replay(inner: &dyn DurableEngine, op: LoggedOp) -> Result<()> {
    let op = match &op {
        LoggedOp::Add(id, v) => {
            validate::vector(v, inner.index().dims(), 0)?;
            WriteOp::Add { id: *id, vector: v }
        }
        LoggedOp::Batch(ids, v) => {
            validate::batch(ids, v, inner.index().dims())?;
            WriteOp::Batch { ids, vectors: v }
        }
        LoggedOp::Remove(id) => WriteOp::Remove { id: *id },
        LoggedOp::Update(id, v) => WriteOp::Update { id: *id, vector: v },
    };
    inner
        .graph()
        .with_vectors_mut(|v| v.try_reserve(op.rows()))?;
    let nodes = inner.store(&op)?;
    inner.link(&nodes);
    Ok(())
}
