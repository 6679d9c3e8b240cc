//! The write-ahead log: every acknowledged write, appended before it is
//! applied, so a crash loses nothing the caller was told had succeeded.
//! The records' format and how replay reads them: `wal_record.rs`.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::sync_mark::SyncMark;
pub use super::wal_record::{decode, encode, scan, LogScan, LoggedOp, TornTail};
use crate::engine::WriteOp;
use crate::error::{Error, Result};
use crate::store::format::{FileHeader, HEADER_LEN};
use crate::store::io as store_io;

/// Largest payload one record may carry; bigger batches are split.
pub const MAX_RECORD_BYTES: usize = 64 << 20;
/// Zeros written ahead of the records under `EveryOp`, a chunk at a time.
const ROOM_CHUNK: u64 = 1 << 20;
/// Bytes [`Durability::Never`] buffers before writing them out.
const NEVER_BUFFER: usize = 1 << 20;

/// When the log is forced to stable storage.
///
/// | setting | each write, before it returns | survives a process crash (kill -9) | survives power loss or an OS crash |
/// |---|---|---|---|
/// | `EveryOp` | written and `fdatasync`ed | yes | yes |
/// | `Group(n)` | written to the OS (page cache); `fdatasync` every `n` writes | yes | all but the writes since the last sync (< n) |
/// | `Never` | buffered in this process (≤ 1 MiB), written when the buffer fills, on `sync` or checkpoint | all but the buffered writes | only what a checkpoint made durable |
///
/// `Never` is for bulk loads that end with [`checkpoint`](crate::storage::DiskIndex::checkpoint).
///
/// Under `EveryOp` a write is applied (stored and linked) while its sync
/// runs, and returns once the sync covers it; one sync covers every writer
/// waiting. If that sync fails, the writes it covered fail, later writes
/// and checkpoints are refused until the index is reopened (the log, cut
/// back to what was synced, then holds exactly the acknowledged writes),
/// and until then searches may still see the failed writes.
/// The default, `Group(64)`, never loses an acknowledged write to a
/// process crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Sync the log on every write.
    EveryOp,
    /// Write every record at once; sync the log every `n` writes.
    Group(u32),
    /// Buffer records in the process; sync only at checkpoints.
    Never,
}

impl Default for Durability {
    fn default() -> Self {
        Durability::Group(64)
    }
}

/// Appends records to the log according to a [`Durability`].
#[derive(Debug)]
pub struct WalWriter {
    path: PathBuf,
    file: File,
    /// The same file, for syncs run without the writer (`sync_handle`).
    sync_file: std::sync::Arc<File>,
    durability: Durability,
    /// Bytes of header and records in the file (written by this process,
    /// synced or not).
    len: u64,
    /// Bytes the file spans: `len`, then zeros written ahead of it
    /// (`EveryOp`), so that an append overwrites blocks already allocated
    /// and its sync has no change of size or extents to commit.
    room: u64,
    unsynced: u32,
    /// Encoded records not yet handed to the OS (`Never` only).
    pending: Vec<u8>,
    scratch: Vec<u8>,
    /// Bytes of the last write appended (one or more records), until it
    /// is undone.
    last_record: Option<usize>,
    /// Set when a sync failed: nothing more may be appended.
    failure: Option<String>,
    /// Bytes known synced.
    synced_len: u64,
    /// Whether records were appended without their sync
    /// ([`append_unsynced`](Self::append_unsynced)) since the last sync.
    deferred: bool,
    /// Set when a sync failed with deferred records in the log: the caller
    /// applied writes that will now fail (see `storage/durable.rs`).
    diverged: bool,
    /// How far the log is known synced (`wal.log.synced`).
    mark: SyncMark,
    /// Tests: appends that would grow the log past this many bytes fail
    /// with ENOSPC, as on a full disk.
    #[cfg(test)]
    pub(crate) fail_beyond: Option<u64>,
    /// Tests: every sync fails with EIO.
    #[cfg(test)]
    pub(crate) fail_sync: bool,
}

impl WalWriter {
    /// Writes a fresh, empty log for `header` at `path` (through a
    /// temporary file renamed into place) and opens it for appending.
    pub fn create(path: &Path, header: &FileHeader, durability: Durability) -> Result<Self> {
        crate::store::directory::atomic_write(path, &header.encode())?;
        Self::open_append(path, HEADER_LEN as u64, durability, header.generation)
    }

    /// Opens an existing log of `generation` for appending after its first
    /// `valid_len` bytes, cutting off anything past them (a torn tail), all
    /// of them synced.
    pub fn open_append(
        path: &Path,
        valid_len: u64,
        durability: Durability,
        generation: u64,
    ) -> Result<Self> {
        let io = |e| Error::io(path, e);
        let mut file = store_io::open(path, OpenOptions::new().write(true)).map_err(io)?;
        if file.metadata().map_err(io)?.len() != valid_len {
            store_io::set_len(&file, path, valid_len).map_err(io)?;
            store_io::sync_all(&file, path).map_err(io)?;
        }
        file.seek(SeekFrom::Start(valid_len)).map_err(io)?;
        let sync_file = std::sync::Arc::new(file.try_clone().map_err(io)?);
        Ok(WalWriter {
            path: path.to_path_buf(),
            file,
            sync_file,
            durability,
            len: valid_len,
            room: valid_len,
            unsynced: 0,
            last_record: None,
            failure: None,
            synced_len: valid_len,
            deferred: false,
            diverged: false,
            mark: SyncMark::open(path, generation, valid_len)?,
            #[cfg(test)]
            fail_beyond: None,
            #[cfg(test)]
            fail_sync: false,
            pending: Vec::new(),
            scratch: Vec::new(),
        })
    }

    /// Logs `op`; on return it is as durable as the [`Durability`] promises.
    #[cfg(test)]
    pub fn append(&mut self, op: &WriteOp<'_>) -> Result<()> {
        self.append_all(std::slice::from_ref(op))
    }

    /// [`append_writes`](Self::append_writes) of one caller's write.
    #[cfg(test)]
    pub fn append_all(&mut self, ops: &[WriteOp<'_>]) -> Result<()> {
        self.append_writes(ops, 1)
    }

    /// Logs every op of `ops`, the records of `writes` callers' writes (a
    /// group commit), as one write: all records are handed to the OS
    /// together (and synced once, as the [`Durability`] asks), or none is —
    /// a failure cuts off whatever part reached the file. `Group(n)` counts
    /// each caller's write towards its `n`. [`undo_last`](Self::undo_last)
    /// takes them all back.
    pub fn append_writes(&mut self, ops: &[WriteOp<'_>], writes: u32) -> Result<()> {
        self.append_records(ops, writes, true)
    }

    /// [`append_writes`](Self::append_writes) without the sync `EveryOp`
    /// asks for: the caller syncs later through a [`LogSync`] (outside its
    /// lock, while it applies the writes), and acknowledges them only then.
    pub fn append_unsynced(&mut self, ops: &[WriteOp<'_>], writes: u32) -> Result<()> {
        self.append_records(ops, writes, false)
    }

    fn append_records(&mut self, ops: &[WriteOp<'_>], writes: u32, sync: bool) -> Result<()> {
        if let Some(why) = &self.failure {
            return Err(Error::WritesRefused(why.clone()));
        }
        self.scratch.clear();
        for op in ops {
            encode(op, &mut self.scratch);
        }
        self.last_record = Some(self.scratch.len());
        if self.durability == Durability::Never {
            self.pending.extend_from_slice(&self.scratch);
            if self.pending.len() >= NEVER_BUFFER {
                self.write_pending()?;
            }
            return Ok(());
        }
        if let Err(e) = self.write_file(self.scratch.len()) {
            self.last_record = None;
            self.rollback();
            return Err(Error::io(&self.path, e));
        }
        self.len += self.scratch.len() as u64;
        self.unsynced += writes.max(1);
        if !sync {
            self.deferred = true;
            return Ok(());
        }
        let due = match self.durability {
            Durability::EveryOp => true,
            Durability::Group(n) => self.unsynced >= n.max(1),
            Durability::Never => false,
        };
        if due {
            if let Err(e) = self.sync() {
                // This write fails, so its records must not replay: cut them
                // off (best effort: the log accepts nothing more anyway).
                self.len -= self.scratch.len() as u64;
                self.last_record = None;
                self.rollback();
                return Err(e);
            }
        }
        Ok(())
    }

    /// Writes `scratch[..n]` to the file (through the test-only byte budget),
    /// into zeros written ahead where there is room.
    fn write_file(&mut self, n: usize) -> std::io::Result<()> {
        #[cfg(test)]
        if self
            .fail_beyond
            .is_some_and(|budget| self.len + n as u64 > budget)
        {
            return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
        }
        self.make_room(n as u64);
        store_io::write_all(&mut self.file, &self.path, &self.scratch[..n])?;
        self.room = self.room.max(self.len + n as u64);
        Ok(())
    }

    /// Under `EveryOp`, writes zeros ahead of the records, [`ROOM_CHUNK`]
    /// bytes at a time, when the next `n` bytes do not fit: a sync then
    /// flushes data only (measured here: an `fdatasync` after a 600-byte
    /// append takes ~200 µs, after the same write into zeros ~140 µs).
    /// Replay reads an all-zero tail as the clean end of the log. Best
    /// effort: zeros that cannot be written (a full disk) are cut off
    /// again, and the record is appended as before, failing on its own if
    /// it must.
    fn make_room(&mut self, n: u64) {
        if self.durability != Durability::EveryOp || self.len + n <= self.room {
            return;
        }
        let end = (self.len + n).div_ceil(ROOM_CHUNK) * ROOM_CHUNK;
        #[cfg(test)]
        if self.fail_beyond.is_some_and(|budget| end > budget) {
            return;
        }
        match store_io::write_zeros_at(&self.file, &self.path, self.room, end - self.room) {
            Ok(()) => self.room = end,
            Err(_) => {
                let _ = store_io::set_len(&self.file, &self.path, self.room);
            }
        }
    }

    /// Takes back the record just appended, for a write the index refused
    /// after it was logged: the log must never hold a write that was not
    /// applied (replaying it would fail). A record already handed to the OS
    /// is cut off the file, and the cut is synced so a crash cannot bring
    /// it back.
    pub fn undo_last(&mut self) -> Result<()> {
        let Some(n) = self.last_record.take() else {
            return Ok(());
        };
        if self.pending.len() >= n {
            self.pending.truncate(self.pending.len() - n);
            return Ok(());
        }
        self.len -= n as u64;
        self.room = self.len;
        let cut = store_io::set_len(&self.file, &self.path, self.len)
            .and_then(|()| self.file.seek(SeekFrom::Start(self.len)).map(drop));
        if let Err(e) = cut {
            return Err(Error::io(&self.path, e));
        }
        // This sync also covers any records appended without theirs: a
        // failure is fatal, as for any sync.
        if let Err(e) = store_io::sync_data(&self.file, &self.path) {
            let e = Error::io(&self.path, e);
            self.sync_failed(&e);
            return Err(e);
        }
        self.unsynced = self.unsynced.saturating_sub(1);
        self.synced_to(self.len);
        Ok(())
    }

    fn write_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if let Err(e) = store_io::write_all(&mut self.file, &self.path, &self.pending) {
            self.rollback();
            return Err(Error::io(&self.path, e));
        }
        self.len += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Cuts off a partly written record (and any zeros ahead) so later
    /// appends stay readable.
    fn rollback(&mut self) {
        self.room = self.len;
        let _ = store_io::set_len(&self.file, &self.path, self.len);
        let _ = self.file.seek(SeekFrom::Start(self.len));
    }

    /// Why the log accepts no more records (a sync failed), if so.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Writes out anything buffered and syncs the log to stable storage.
    /// A failed sync is fatal for this log: later appends are refused.
    pub fn sync(&mut self) -> Result<()> {
        self.write_pending()?;
        if let Err(e) = self.log_sync().run() {
            if self.deferred {
                // Records appended without their sync are lost with it.
                self.sync_failed(&e);
            } else {
                self.failure = Some(format!("log sync failed on {}: {e}", self.path.display()));
            }
            return Err(e);
        }
        self.synced_to(self.len);
        Ok(())
    }

    /// A sync of the log as it stands now, to run without holding the
    /// writer (other writes may be appended meanwhile; they are not
    /// covered). Refused once a sync has failed.
    pub fn sync_handle(&self) -> Result<LogSync> {
        if let Some(why) = &self.failure {
            return Err(Error::WritesRefused(why.clone()));
        }
        Ok(self.log_sync())
    }

    /// A sync of the log as it stands now (the one path every sync of the
    /// log takes, failing in tests when `fail_sync` is set).
    fn log_sync(&self) -> LogSync {
        LogSync {
            file: self.sync_file.clone(),
            path: self.path.clone(),
            upto: self.len,
            #[cfg(test)]
            fail: self.fail_sync,
        }
    }

    /// Records that the first `upto` bytes are on stable storage (nothing,
    /// once a sync failed: what it reported is not to be trusted).
    pub fn synced_to(&mut self, upto: u64) {
        if self.failure.is_some() {
            return;
        }
        if upto > self.synced_len || upto == self.len {
            self.synced_len = upto;
            self.mark.record(upto);
        }
        if upto == self.len {
            self.deferred = false;
            self.unsynced = 0;
        }
    }

    /// Records a [`LogSync`] that failed (`why`): fatal for this log, as
    /// any failed sync is. What was not known synced is cut off (best
    /// effort), and with it every deferred record: their writes fail, and
    /// if they were applied already the log has [`diverged`](Self::diverged).
    pub fn sync_failed(&mut self, why: &Error) {
        self.failure
            .get_or_insert_with(|| format!("log sync failed on {}: {why}", self.path.display()));
        self.diverged |= self.deferred;
        self.len = self.synced_len;
        self.last_record = None;
        self.rollback();
    }

    /// Whether a sync failed while records appended without it were in the
    /// log: writes the caller applied are then not in the log, and nothing
    /// of the in-memory state may be checkpointed.
    pub fn diverged(&self) -> bool {
        self.diverged
    }

    /// Bytes in the log, buffered records included.
    pub fn bytes(&self) -> u64 {
        self.len + self.pending.len() as u64
    }
}

impl Drop for WalWriter {
    /// Cuts off the zeros written ahead, so a closed log ends at its last
    /// record (best effort: zeros left behind read as the clean end).
    fn drop(&mut self) {
        if self.room > self.len {
            let _ = store_io::set_len(&self.file, &self.path, self.len);
        }
    }
}

/// A sync of the log's first `upto` bytes, run without the writer's lock
/// ([`WalWriter::sync_handle`]).
#[derive(Debug)]
pub struct LogSync {
    file: std::sync::Arc<File>,
    path: PathBuf,
    /// Bytes the sync covers.
    pub upto: u64,
    #[cfg(test)]
    fail: bool,
}

impl LogSync {
    /// Forces the log to stable storage.
    pub fn run(&self) -> Result<()> {
        #[cfg(test)]
        if self.fail {
            return Err(Error::io(&self.path, std::io::Error::from_raw_os_error(5)));
        }
        store_io::sync_data(&self.file, &self.path).map_err(|e| Error::io(&self.path, e))
    }
}

#[cfg(test)]
#[path = "wal_tests.rs"]
mod tests;
