//! Checkpoints of a [`DiskIndex`]: wait for links in flight, sync the
//! vector file, write the graph file (the engine's sections, then the
//! vector-row checksums) by temporary file and rename, start a new log
//! generation. The checksum section is written and parsed here, side by
//! side ([`VECTOR_CRCS`]):
//!
//! ```text
//! 0   4   chunk size in bytes (u32, `CRC_CHUNK`)
//! 4   8   bytes of vector rows covered (u64)
//! 12  4·n crc32c of each chunk, the last one partial
//! ```

use std::io::{BufWriter, Seek, Write};
use std::path::Path;
use std::time::Instant;

use super::disk_index::Writer;
use super::durable::LogPoint;
use super::options::CheckpointStats;
use super::reorder::remove_other_vector_files;
use super::wal::WalWriter;
use super::DiskIndex;
use crate::error::{Error, Result};
use crate::store::directory::{commit_tmp, sync_dir, tmp_path};
use crate::store::format::{
    corrupt, u32_at, u64_at, FileHeader, FileKind, Section, SectionWriter, FLAG_REQUIRED,
    HEADER_LEN,
};
use crate::store::io::{self as store_io, GatedFile};
use crate::store::sections::{VECTOR_CRCS, VECTOR_FILE};

/// Bytes of vector rows per checksum.
pub(super) const CRC_CHUNK: usize = 1 << 20;

impl DiskIndex {
    /// Writes the current state to disk and empties the log. A failure
    /// refuses further writes until a checkpoint succeeds (see
    /// [`Error::WritesRefused`]): once the new graph file may have replaced
    /// the old, the old log no longer belongs to it, and a write appended
    /// there would be discarded by the next open.
    pub fn checkpoint(&self) -> Result<CheckpointStats> {
        if self.opts.read_only {
            return Err(Error::ReadOnly);
        }
        let mut w = self.writer.lock();
        self.checkpoint_locked(&mut w)
    }

    /// Whether the options ask for a checkpoint now.
    pub(super) fn checkpoint_due(&self, w: &Writer) -> bool {
        self.opts
            .checkpoint_every
            .is_some_and(|n| w.ops_since_checkpoint >= n.max(1))
            || (self.opts.checkpoint_log_bytes > 0
                && w.wal
                    .as_ref()
                    .is_some_and(|l| l.bytes() >= self.opts.checkpoint_log_bytes))
    }

    /// [`checkpoint`](Self::checkpoint) under the writer lock: on failure,
    /// writes are refused until a later checkpoint succeeds.
    pub(super) fn checkpoint_locked(&self, w: &mut Writer) -> Result<CheckpointStats> {
        self.checkpoint_as(w, false)
    }

    /// A checkpoint under the writer lock that first renumbers the nodes
    /// when `renumber` (`reorder.rs`); on failure, writes are refused until
    /// a later checkpoint succeeds.
    pub(super) fn checkpoint_as(&self, w: &mut Writer, renumber: bool) -> Result<CheckpointStats> {
        let result = self.try_checkpoint(w, renumber);
        match &result {
            Ok(_) => {
                w.refusal = None;
                if w.vectors_generation == w.generation {
                    // This checkpoint is the first to name the vector file
                    // a renumbering wrote: the others are named by none.
                    remove_other_vector_files(&self.dir, w.vectors_generation);
                }
            }
            Err(e) => {
                w.refusal
                    .get_or_insert_with(|| format!("checkpoint failed: {e}"));
            }
        }
        result
    }

    fn try_checkpoint(&self, w: &mut Writer, renumber: bool) -> Result<CheckpointStats> {
        let t0 = Instant::now();
        if w.wal.as_ref().is_some_and(WalWriter::diverged) {
            // Writes applied in memory failed their sync: the log (cut back
            // to what was synced) is the truth, not this index.
            return Err(Error::WritesRefused(
                "a log sync failed after its writes were applied; reopen the index".into(),
            ));
        }
        // No half-linked node goes into a snapshot.
        self.links.wait_idle();
        if let Some(wal) = w.wal.as_mut() {
            wal.sync()?;
        }
        if renumber {
            self.renumber(w)?;
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
        #[cfg(test)]
        if self
            .fail_after_rename
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            return Err(Error::io(
                self.dir.wal(),
                std::io::Error::from_raw_os_error(28), // ENOSPC
            ));
        }
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
        // Everything before the new log is durable (graph file synced).
        self.syncs.covered(LogPoint {
            generation: gen,
            bytes: 0,
        });
        Ok(CheckpointStats {
            nodes,
            graph_bytes,
            duration: t0.elapsed(),
        })
    }

    /// Writes graph file generation `gen` (temporary file, sync, rename).
    pub(super) fn write_graph(&self, w: &mut Writer, gen: u64) -> Result<u64> {
        let path = self.dir.graph();
        let tmp = tmp_path(&path);
        let io = |e| Error::io(&tmp, e);
        self.update_crcs(w);
        let file = store_io::create(&tmp).map_err(io)?;
        let mut out = BufWriter::with_capacity(1 << 20, GatedFile::new(file, &tmp));
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
        write_crcs(&mut sw, &w.crcs, w.crc_bytes).map_err(io)?;
        if w.vectors_generation != 0 {
            let g = w.vectors_generation.to_le_bytes();
            sw.section(VECTOR_FILE, FLAG_REQUIRED, &g).map_err(io)?;
        }
        let mut out = sw.finish().map_err(io)?;
        let len = out.stream_position().map_err(io)?;
        let file = out
            .into_inner()
            .map_err(|e| Error::io(&tmp, e.into_error()))?
            .into_file();
        store_io::sync_all(&file, &tmp).map_err(io)?;
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

/// Writes the vector checksum section.
fn write_crcs<W: Write + Seek>(
    sw: &mut SectionWriter<W>,
    crcs: &[u32],
    covered: usize,
) -> std::io::Result<()> {
    let mut payload = Vec::with_capacity(12 + 4 * crcs.len());
    payload.extend_from_slice(&(CRC_CHUNK as u32).to_le_bytes());
    payload.extend_from_slice(&(covered as u64).to_le_bytes());
    for c in crcs {
        payload.extend_from_slice(&c.to_le_bytes());
    }
    sw.section(VECTOR_CRCS, FLAG_REQUIRED, &payload)
}

/// Reads the vector checksum section: (checksums, bytes covered).
pub(super) fn parse_crcs(
    sections: &[Section<'_>],
    n: usize,
    dims: usize,
    file: &Path,
) -> Result<(Vec<u32>, usize)> {
    let s = sections
        .iter()
        .find(|s| s.kind == VECTOR_CRCS)
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use crate::{DiskIndex, Durability, Error, HnswParams, Index, Metric, OpenOptions};

    const D: usize = 4;

    fn row(i: u64) -> [f32; D] {
        [i as f32, (i % 7) as f32, (i % 3) as f32, 1.0]
    }

    fn create(dir: &std::path::Path, opts: OpenOptions) -> DiskIndex {
        let params = HnswParams::new(8, 32);
        DiskIndex::create(dir, D, Metric::L2, params, opts).unwrap()
    }

    /// Drops the index the way a `kill -9` would: no checkpoint, no sync.
    fn kill(mut index: DiskIndex) {
        index.closed = true;
    }

    fn assert_holds(dir: &std::path::Path, ids: impl Iterator<Item = u64>, absent: &[u64]) {
        let index = DiskIndex::open(dir, OpenOptions::default()).unwrap();
        for id in ids {
            assert!(index.contains(id), "acknowledged id {id} lost");
        }
        for &id in absent {
            assert!(!index.contains(id), "refused id {id} present");
        }
    }

    #[test]
    fn a_checkpoint_failing_after_its_rename_refuses_writes_and_loses_none() {
        let dir = tempfile::tempdir().unwrap();
        let index = create(dir.path(), OpenOptions::default());
        for i in 0..100 {
            index.add(i, &row(i)).unwrap();
        }
        index.fail_after_rename.store(true, Ordering::Relaxed);
        assert!(index.checkpoint().is_err());
        assert!(index.checkpoint_error().is_some());
        let refused = index.add(100, &row(100)).unwrap_err();
        assert!(matches!(refused, Error::WritesRefused(_)), "{refused}");
        assert!(matches!(index.remove(3), Err(Error::WritesRefused(_))));
        assert_eq!(
            index.search(&row(5), 1, &Default::default()).unwrap()[0].id,
            5
        );
        kill(index);
        assert_holds(dir.path(), 0..100, &[100]);

        // A checkpoint that succeeds lifts the refusal.
        let index = DiskIndex::open(dir.path(), OpenOptions::default()).unwrap();
        index.fail_after_rename.store(true, Ordering::Relaxed);
        assert!(index.checkpoint().is_err());
        index.checkpoint().unwrap();
        assert!(index.checkpoint_error().is_none());
        for i in 100..150 {
            index.add(i, &row(i)).unwrap();
        }
        index.remove(7).unwrap();
        kill(index);
        assert_holds(dir.path(), (0..150).filter(|&i| i != 7), &[7]);
    }

    #[test]
    fn a_failed_automatic_checkpoint_refuses_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let opts = OpenOptions {
            checkpoint_every: Some(50),
            ..OpenOptions::default()
        };
        let index = create(dir.path(), opts);
        for i in 0..49 {
            index.add(i, &row(i)).unwrap();
        }
        index.fail_after_rename.store(true, Ordering::Relaxed);
        // The 50th write triggers the checkpoint; it is durable either way.
        index.add(49, &row(49)).unwrap();
        assert!(index.checkpoint_error().is_some());
        assert!(matches!(
            index.add(50, &row(50)),
            Err(Error::WritesRefused(_))
        ));
        kill(index);
        assert_holds(dir.path(), 0..50, &[50]);
    }

    #[test]
    fn a_failed_log_sync_fails_the_write_and_refuses_later_ones() {
        let dir = tempfile::tempdir().unwrap();
        let index = create(
            dir.path(),
            OpenOptions::with_durability(Durability::EveryOp),
        );
        for i in 0..20 {
            index.add(i, &row(i)).unwrap();
        }
        index.writer.lock().wal.as_mut().unwrap().fail_sync = true;
        assert!(matches!(index.add(20, &row(20)), Err(Error::Io { .. })));
        assert!(matches!(
            index.add(21, &row(21)),
            Err(Error::WritesRefused(_))
        ));
        assert!(index.checkpoint_error().is_some());
        // The failed write was applied before its sync (which ran beside
        // its link): no checkpoint may make it durable now.
        index.writer.lock().wal.as_mut().unwrap().fail_sync = false;
        let refused = index.checkpoint();
        assert!(
            matches!(&refused, Err(Error::WritesRefused(why)) if why.contains("reopen")),
            "{refused:?}"
        );
        assert!(matches!(index.close(), Err(Error::WritesRefused(_))));
        assert_holds(dir.path(), 0..20, &[20, 21]);
    }
}
