//! `wal.log.synced`: how far the log is known to be on stable storage, so
//! that an open can tell a tail cut short by a crash (a record that was
//! never acknowledged as synced: dropped, fine) from synced records that are
//! missing or damaged (acknowledged writes gone: reported, or refused by a
//! strict open).
//!
//! ```text
//! 0   8  generation of the log (u64)
//! 8   8  bytes of the log synced (u64)
//! 16  4  crc32c of bytes 0..16
//! 20  4  zero
//! ```
//!
//! Rewritten in place after every sync of the log (no sync of its own: it
//! lags behind the log, never ahead of it, so it can only under-report).
//! A missing or damaged mark says nothing, and the open checks nothing.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::store::io;

const LEN: usize = 24;

/// The mark file of the log at `wal`.
pub(crate) fn mark_path(wal: &Path) -> PathBuf {
    let mut s = wal.as_os_str().to_owned();
    s.push(".synced");
    PathBuf::from(s)
}

/// A log's sync mark, open for rewriting.
#[derive(Debug)]
pub(crate) struct SyncMark {
    file: File,
    generation: u64,
}

impl SyncMark {
    /// Opens (or creates) the mark of the log at `wal`, of `generation`,
    /// and records `synced` bytes.
    pub(crate) fn open(wal: &Path, generation: u64, synced: u64) -> Result<Self> {
        let path = mark_path(wal);
        let file = io::open(
            &path,
            OpenOptions::new().write(true).create(true).truncate(false),
        )
        .map_err(|e| Error::io(&path, e))?;
        let mut mark = SyncMark { file, generation };
        mark.record(synced);
        Ok(mark)
    }

    /// Records that the log's first `synced` bytes are on stable storage.
    /// Best effort: a mark that cannot be written only weakens the check.
    pub(crate) fn record(&mut self, synced: u64) {
        let mut b = [0u8; LEN];
        b[..8].copy_from_slice(&self.generation.to_le_bytes());
        b[8..16].copy_from_slice(&synced.to_le_bytes());
        let crc = crc32c::crc32c(&b[..16]);
        b[16..20].copy_from_slice(&crc.to_le_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            let _ = self.file.write_all_at(&b, 0);
        }
        #[cfg(not(unix))]
        {
            use std::io::{Seek, SeekFrom, Write};
            let _ = self
                .file
                .seek(SeekFrom::Start(0))
                .and_then(|_| self.file.write_all(&b));
        }
    }

    /// The (generation, synced bytes) recorded for the log at `wal`, or
    /// `None` when there is no readable mark.
    pub(crate) fn read(wal: &Path) -> Option<(u64, u64)> {
        let b = std::fs::read(mark_path(wal)).ok()?;
        if b.len() != LEN {
            return None;
        }
        let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]));
        let crc = u32::from_le_bytes(b[16..20].try_into().unwrap_or([0; 4]));
        (crc == crc32c::crc32c(&b[..16])).then(|| (word(0), word(8)))
    }
}
