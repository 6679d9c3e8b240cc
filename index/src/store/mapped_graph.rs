//! [`MappedGraphFile`]: a checkpointed graph file mapped privately
//! (copy-on-write), so an opened index navigates its layer-0 and upper-layer
//! link sections in place instead of copying them into RAM.
//!
//! The mapping is private: link rewrites by later inserts land in this
//! process's own pages and never reach the file (checkpoints write a new
//! file and rename it over this one; the mapping keeps the old inode alive).
//! Structural growth copies a mapped run into RAM first (see
//! `hnsw::words::Words`).

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU32;
use std::sync::Arc;

#[cfg(unix)]
use memmap2::UncheckedAdvice;
use memmap2::{MmapMut, MmapOptions};

use super::io as store_io;
use crate::error::{Error, Result};

/// A graph file mapped copy-on-write, handing out its link sections as
/// atomics. Its bytes are read once (checksums, parsing) before any run of
/// words is handed out; after that the file is only accessed through the
/// atomics.
pub struct MappedGraphFile {
    path: PathBuf,
    /// Keeps the mapping alive; accessed through `base`.
    map: MmapMut,
    base: *mut u8,
    len: usize,
}

// SAFETY: the mapping is owned by this value and lives as long as it; the
// byte view is only read (during open) and the word views are atomics, so
// sharing across threads is as safe as sharing a `Vec<AtomicU32>`.
unsafe impl Send for MappedGraphFile {}
// SAFETY: see `Send`.
unsafe impl Sync for MappedGraphFile {}

/// A run of link words inside a [`MappedGraphFile`], bounds-checked once
/// when it was made: reading it is a slice, with no check per access.
pub(crate) struct MappedWords {
    /// Keeps the mapping (and so `ptr`) alive.
    file: Arc<MappedGraphFile>,
    ptr: *const AtomicU32,
    count: usize,
}

// SAFETY: the words are atomics inside a mapping `file` keeps alive; sharing
// them across threads is as safe as sharing `&[AtomicU32]`.
unsafe impl Send for MappedWords {}
// SAFETY: see `Send`.
unsafe impl Sync for MappedWords {}

impl MappedWords {
    /// The words.
    #[inline(always)]
    pub(crate) fn as_slice(&self) -> &[AtomicU32] {
        if self.count == 0 {
            return &[];
        }
        // SAFETY: `MappedGraphFile::run` checked that `count` words at `ptr`
        // lie inside the mapping, aligned; `self.file` keeps it mapped for
        // as long as `self` (and so the returned borrow) lives.
        unsafe { std::slice::from_raw_parts(self.ptr, self.count) }
    }

    /// Words in the run.
    pub(crate) fn len(&self) -> usize {
        self.count
    }
}

impl std::fmt::Debug for MappedWords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedWords")
            .field("file", &self.file.path)
            .field("count", &self.count)
            .finish()
    }
}

impl std::fmt::Debug for MappedGraphFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedGraphFile")
            .field("path", &self.path)
            .field("len", &self.len)
            .finish()
    }
}

impl MappedGraphFile {
    /// Maps `path` privately.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let io = |e| Error::io(path, e);
        let file = store_io::open(path, OpenOptions::new().read(true)).map_err(io)?;
        // SAFETY: a private (copy-on-write) map: this process's writes never
        // reach the file, and the directory lock keeps other writers of this
        // index out; checkpoints replace the file by rename, leaving this
        // mapping's inode intact.
        let mut map = unsafe { MmapOptions::new().map_copy(&file) }.map_err(io)?;
        let (base, len) = (map.as_mut_ptr(), map.len());
        Ok(MappedGraphFile {
            path: path.to_path_buf(),
            map,
            base,
            len,
        })
    }

    /// The file's bytes, for checksums and parsing.
    ///
    /// # Safety
    /// No word of this file may be stored to (through [`words`](Self::words))
    /// while the returned slice is alive.
    pub(crate) unsafe fn bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `base..base + len` is the live mapping; the caller
        // guarantees nothing writes it while this view is borrowed.
        unsafe { std::slice::from_raw_parts(self.base, self.len) }
    }

    /// A run of `count` words at byte `offset`, checked once here and then
    /// read without checks ([`MappedWords::as_slice`]). `None` when the run
    /// is misaligned or outside the file.
    pub(crate) fn run(self: &Arc<Self>, offset: usize, count: usize) -> Option<MappedWords> {
        let ptr = self.words(offset, count)?.as_ptr();
        Some(MappedWords {
            file: Arc::clone(self),
            ptr,
            count,
        })
    }

    /// `count` little-endian u32 words starting at byte `offset`, as
    /// atomics. `None` when the run is misaligned or outside the file.
    #[inline(always)]
    pub(crate) fn words(&self, offset: usize, count: usize) -> Option<&[AtomicU32]> {
        let end = count.checked_mul(4).and_then(|b| b.checked_add(offset))?;
        if !offset.is_multiple_of(4) || end > self.len || !cfg!(target_endian = "little") {
            return None;
        }
        if count == 0 {
            return Some(&[]);
        }
        // SAFETY: the run lies inside the live, writable (private) mapping,
        // is 4-byte aligned (the map is page aligned and `offset` is a
        // multiple of 4), and `AtomicU32` has the layout of `u32`; the file
        // stores little-endian words and this is a little-endian target.
        Some(unsafe {
            std::slice::from_raw_parts(self.base.add(offset).cast::<AtomicU32>(), count)
        })
    }

    /// Drops this process's copies of the pages read so far (the open's
    /// checksum pass touches every page, which would otherwise stay in the
    /// process's RSS); searches fault back in only the pages they visit.
    ///
    /// # Safety
    /// No word of this file may have been stored to yet: a private
    /// mapping's written pages would be discarded too, silently reverting
    /// the stores.
    pub(crate) unsafe fn release_pages(&self) -> Result<()> {
        #[cfg(unix)]
        {
            // SAFETY: `MADV_DONTNEED` on a private file mapping makes later
            // reads see the file's contents again; the caller guarantees no
            // word was written yet, so nothing is lost or changed.
            unsafe { self.map.unchecked_advise(UncheckedAdvice::DontNeed) }
                .map_err(|e| Error::io(&self.path, e))
        }
        #[cfg(not(unix))]
        {
            let _ = &self.map;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn words_are_read_in_place_and_writes_stay_private() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g");
        let bytes: Vec<u8> = (0u32..64).flat_map(|w| w.to_le_bytes()).collect();
        std::fs::write(&p, &bytes).unwrap();
        let m = MappedGraphFile::open(&p).unwrap();
        // SAFETY: nothing is stored to the words while this view lives.
        assert_eq!(unsafe { m.bytes() }, &bytes[..]);
        let w = m.words(8, 4).unwrap();
        assert_eq!(w[0].load(Ordering::Relaxed), 2);
        w[1].store(99, Ordering::Relaxed);
        assert_eq!(m.words(12, 1).unwrap()[0].load(Ordering::Relaxed), 99);
        assert!(m.words(2, 1).is_none(), "misaligned");
        assert!(m.words(252, 2).is_none(), "past the end");
        assert!(m.words(usize::MAX - 3, 2).is_none(), "overflow");
        assert_eq!(std::fs::read(&p).unwrap(), bytes, "the file is untouched");
    }
}
