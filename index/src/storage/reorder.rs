//! Renumbering the nodes of a [`DiskIndex`] for locality, durably.
//!
//! An in-RAM index renumbers its nodes breadth-first after a bulk build and
//! moves every column in place (`hnsw/reorder.rs`). Here the vector rows
//! live in a mapped file that must keep matching the last checkpoint until
//! the next one replaces it, so they cannot move in place. A renumbering
//! is a checkpoint that first writes the rows in the new order to a new
//! vector file:
//!
//! ```text
//! wait for links ─► sync the log ─► order (BFS over layer 0)
//!   ─► vectors.<g>.omv: rows in the new order, synced     (g = the checkpoint's generation)
//!   ─► renumber in RAM, map the new file
//!   ─► graph.omg.tmp naming vectors.<g>.omv (VECTOR_FILE section) ─► sync, rename, sync dir
//!   ─► new wal.log ─► remove the old vector file
//! ```
//!
//! The graph file's rename is the one commit point: before it, the old
//! graph file names the old vector file, which nothing has written to;
//! after it, the new graph file names the new one. Log records carry ids,
//! not node numbers, so either log replays onto either numbering. A vector
//! file no graph file names (a renumbering that died before its rename, or
//! after it but before removing the old file) is removed at the next
//! writable open. If the checkpoint fails after the renumbering, the index
//! stays renumbered in RAM over the new file, writes are refused, and the
//! next checkpoint that succeeds names the new file and removes the old one
//! (a checkpoint whose generation is its vector file's removes every other
//! vector file, as a writable open does).

use std::path::{Path, PathBuf};

use super::disk_index::Writer;
use super::DiskIndex;
use crate::error::{Error, Result};
use crate::store::directory::{sync_dir, IndexDir};
use crate::store::format::{corrupt, u64_at, Section};
use crate::store::io as store_io;
use crate::store::mmap_vectors::MmapVectors;
use crate::store::sections::VECTOR_FILE;
use crate::store::VectorStore;

impl DiskIndex {
    /// Renumbers the nodes breadth-first over the graph's bottom layer, so
    /// that a node's neighbours sit near it in the vector file and in RAM,
    /// and checkpoints: the rows are written in the new order to a new
    /// vector file, which the new graph file names, and the old vector file
    /// is removed (see the module doc). Ids are carried along: searches
    /// return the same ids before and after. Done automatically after a
    /// batch that builds most of the index (as the in-RAM kinds do).
    ///
    /// Returns whether the nodes were renumbered (not for an empty index,
    /// nor when a renumbering is still waiting for its checkpoint to
    /// succeed; the checkpoint runs either way). It fails, and refuses
    /// writes until a checkpoint succeeds, as [`checkpoint`](Self::checkpoint)
    /// does.
    pub fn reorder(&self) -> Result<bool> {
        if self.opts.read_only {
            return Err(Error::ReadOnly);
        }
        let mut w = self.writer.lock();
        let before = w.vectors_generation;
        self.checkpoint_as(&mut w, true)?;
        Ok(w.vectors_generation != before)
    }

    /// The renumbering step of a checkpoint (links idle, writer mutex
    /// held): the rows go to vector file generation `w.generation + 1`,
    /// the graph switches to it, and the old file is retired. Skipped while
    /// an earlier renumbering waits for its checkpoint (its file already
    /// bears this generation).
    pub(super) fn renumber(&self, w: &mut Writer) -> Result<()> {
        let generation = w.generation + 1;
        if w.vectors_generation == generation {
            return Ok(());
        }
        let path = self.dir.vectors_at(generation);
        let (dims, metric) = (self.inner.index().dims(), self.inner.index().metric());
        let renumbered = self.inner.graph().reorder_mapped(|old, order| {
            let capacity = old.mapped().map_or(order.len(), MmapVectors::capacity);
            let row = |i: usize| old.get(order[i] as usize);
            match MmapVectors::create_from(&path, dims, metric, order.len(), capacity, row) {
                Ok(v) => Ok(VectorStore::Mapped(v)),
                Err(e) => {
                    // Half written: no graph file names it.
                    let _ = store_io::remove_file(&path);
                    Err(e)
                }
            }
        })?;
        if renumbered {
            w.vectors_generation = generation;
            w.crcs.clear();
            w.crc_bytes = 0;
        }
        Ok(())
    }

    /// The vector file the rows are in now.
    pub(super) fn vector_path(&self) -> PathBuf {
        self.inner
            .graph()
            .with_vectors(|v| v.mapped().map(|m| m.path().to_path_buf()))
            .unwrap_or_else(|| self.dir.vectors())
    }
}

/// Removes every vector file in `dir` but generation `keep`'s (the one the
/// graph file names): at a writable open, and after the checkpoint that
/// first names the file a renumbering wrote. A file that cannot be removed
/// now is tried again at the next open.
pub(super) fn remove_other_vector_files(dir: &IndexDir, keep: u64) {
    let mut removed = false;
    for stale in dir.other_vector_files(keep).unwrap_or_default() {
        removed |= store_io::remove_file(&stale).is_ok();
    }
    if removed {
        let _ = sync_dir(&dir.root);
    }
}

/// The generation of the vector file a graph file of generation
/// `generation` names (0, `vectors.omv`, when it names none).
pub(super) fn parse_vector_file(
    sections: &[Section<'_>],
    generation: u64,
    file: &Path,
) -> Result<u64> {
    let Some(s) = sections.iter().find(|s| s.kind == VECTOR_FILE) else {
        return Ok(0);
    };
    if s.payload.len() != 8 {
        return Err(corrupt(file, s.offset, "malformed vector file section"));
    }
    let g = u64_at(s.payload, 0);
    if g == 0 || g > generation {
        return Err(corrupt(
            file,
            s.offset,
            format!("graph generation {generation} names vector file generation {g}"),
        ));
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use crate::{DiskIndex, Error, HnswParams, Index, Metric, OpenOptions};

    const D: usize = 4;

    fn row(i: u64) -> [f32; D] {
        [i as f32, (i % 7) as f32, (i % 3) as f32, 1.0]
    }

    fn vector_files(dir: &std::path::Path) -> Vec<String> {
        let d = crate::store::directory::IndexDir::new(dir);
        let mut all = d.other_vector_files(u64::MAX).unwrap();
        all.sort();
        all.iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    fn opts() -> OpenOptions {
        OpenOptions {
            checkpoint_on_close: false,
            ..OpenOptions::default()
        }
    }

    fn holds(dir: &std::path::Path, n: u64) -> DiskIndex {
        let index = DiskIndex::open(dir, opts()).unwrap();
        assert_eq!(index.len(), n as usize);
        for i in 0..n {
            assert_eq!(index.hnsw().vector_of(i).as_deref(), Some(&row(i)[..]));
        }
        index
    }

    #[test]
    fn the_vector_file_section_is_checked() {
        use crate::store::format::{Section, FLAG_REQUIRED};
        use crate::store::sections::VECTOR_FILE;
        let file = std::path::Path::new("graph.omg");
        let parse = |payload: &[u8], generation| {
            let s = Section {
                kind: VECTOR_FILE,
                flags: FLAG_REQUIRED,
                offset: 100,
                payload,
            };
            super::parse_vector_file(&[s], generation, file)
        };
        assert_eq!(super::parse_vector_file(&[], 5, file).unwrap(), 0);
        assert_eq!(parse(&3u64.to_le_bytes(), 5).unwrap(), 3);
        assert_eq!(parse(&5u64.to_le_bytes(), 5).unwrap(), 5);
        for (payload, why) in [
            (&0u64.to_le_bytes()[..], "names vector file generation 0"),
            (&6u64.to_le_bytes()[..], "names vector file generation 6"),
            (&[1, 0, 0, 0][..], "malformed vector file section"),
        ] {
            let err = parse(payload, 5).unwrap_err();
            assert!(
                matches!(err, Error::Corrupt { .. }) && err.to_string().contains(why),
                "{err}"
            );
        }
    }

    #[test]
    fn a_renumbering_whose_checkpoint_fails_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let params = HnswParams::new(8, 32);
        let index = DiskIndex::create(dir.path(), D, Metric::L2, params, opts()).unwrap();
        for i in 0..300 {
            index.add(i, &row(i)).unwrap();
        }
        // The new graph file names the new vector file, but the checkpoint
        // fails after its rename: writes are refused, nothing is lost.
        index.fail_after_rename.store(true, Ordering::Relaxed);
        assert!(index.reorder().is_err());
        assert!(matches!(
            index.add(300, &row(300)),
            Err(Error::WritesRefused(_))
        ));
        assert_eq!(vector_files(dir.path()), ["vectors.1.omv", "vectors.omv"]);
        drop(index);
        // The open maps the file the graph names and removes the other.
        let index = holds(dir.path(), 300);
        assert_eq!(vector_files(dir.path()), ["vectors.1.omv"]);

        // Failing again, then retried by a plain checkpoint: the retry
        // names the file the renumbering wrote and removes the old one.
        index.fail_after_rename.store(true, Ordering::Relaxed);
        assert!(index.reorder().is_err());
        assert_eq!(vector_files(dir.path()), ["vectors.1.omv", "vectors.2.omv"]);
        index.checkpoint().unwrap();
        assert_eq!(vector_files(dir.path()), ["vectors.2.omv"]);
        for i in 300..320 {
            index.add(i, &row(i)).unwrap();
        }
        drop(index);
        drop(holds(dir.path(), 320));
        assert_eq!(vector_files(dir.path()), ["vectors.2.omv"]);
    }
}
