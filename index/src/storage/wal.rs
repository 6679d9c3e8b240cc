//! The write-ahead log: every acknowledged write, appended before it is
//! applied, so a crash loses nothing the caller was told had succeeded.
//!
//! ```text
//! header (64 bytes, kind Wal; generation = the checkpoint the log follows)
//! record (repeated)
//! 0   4     payload length (u32, ≥ 1)
//! 4   4     crc32c of the payload
//! 8   4     crc32c of bytes 0..8 (finds the record's framing itself damaged)
//! 12  len   payload: op (u8) then
//!             1 add      id u64, dims × f32
//!             2 remove   id u64
//!             3 batch    count u32, count × id u64, count·dims × f32
//!             4 update   id u64, dims × f32
//! ```
//!
//! Replay reads records in order. A bad record (framing or checksum) is a
//! *torn tail* — a write cut short by a crash — only when no valid record
//! follows it anywhere in the file; then it and everything after it is
//! dropped and reported. A bad record followed by a valid one is
//! [`Error::Corrupt`]: acknowledged writes after it would otherwise vanish.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::sync_mark::SyncMark;
use crate::engine::WriteOp;
use crate::error::{Error, Result};
use crate::store::format::{corrupt, u32_at, u64_at, FileHeader, FileKind, HEADER_LEN};
use crate::store::io as store_io;

/// Bytes of a record's framing.
pub const RECORD_HEADER_LEN: usize = 12;
/// Largest payload one record may carry; bigger batches are split.
pub const MAX_RECORD_BYTES: usize = 64 << 20;
/// Bytes [`Durability::Never`] buffers before writing them out.
const NEVER_BUFFER: usize = 1 << 20;

const OP_ADD: u8 = 1;
const OP_REMOVE: u8 = 2;
const OP_BATCH: u8 = 3;
const OP_UPDATE: u8 = 4;

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

/// One write, as read back from the log.
#[derive(Debug, Clone, PartialEq)]
pub enum LoggedOp {
    /// `add(id, vector)`.
    Add(u64, Vec<f32>),
    /// `add_batch(ids, vectors)`.
    Batch(Vec<u64>, Vec<f32>),
    /// `remove(id)`.
    Remove(u64),
    /// `update(id, vector)`.
    Update(u64, Vec<f32>),
}

/// Appends `op`'s framed record to `out`.
pub fn encode(op: &WriteOp<'_>, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0u8; RECORD_HEADER_LEN]);
    let floats = |out: &mut Vec<u8>, v: &[f32]| {
        for x in v {
            out.extend_from_slice(&x.to_le_bytes());
        }
    };
    match *op {
        WriteOp::Add { id, vector } | WriteOp::Update { id, vector } => {
            out.push(if matches!(op, WriteOp::Add { .. }) {
                OP_ADD
            } else {
                OP_UPDATE
            });
            out.extend_from_slice(&id.to_le_bytes());
            floats(out, vector);
        }
        WriteOp::Remove { id } => {
            out.push(OP_REMOVE);
            out.extend_from_slice(&id.to_le_bytes());
        }
        WriteOp::Batch { ids, vectors } => {
            out.push(OP_BATCH);
            out.extend_from_slice(&(ids.len() as u32).to_le_bytes());
            for id in ids {
                out.extend_from_slice(&id.to_le_bytes());
            }
            floats(out, vectors);
        }
    }
    let body = start + RECORD_HEADER_LEN;
    let len = (out.len() - body) as u32;
    let crc = crc32c::crc32c(&out[body..]);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    let hcrc = crc32c::crc32c(&out[start..start + 8]);
    out[start + 8..body].copy_from_slice(&hcrc.to_le_bytes());
}

/// A final record cut short, dropped on replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// Where the bad record starts.
    pub offset: u64,
    /// Bytes dropped (to the end of the file).
    pub bytes: u64,
    /// What was wrong with it.
    pub reason: String,
}

/// What a log holds: its header, its valid records, and a torn tail if any.
#[derive(Debug)]
pub struct LogScan<'a> {
    /// The log's header.
    pub header: FileHeader,
    /// Each valid record's file offset and payload, in order.
    pub records: Vec<(u64, &'a [u8])>,
    /// Bytes of header and valid records; appends continue here.
    pub valid_len: u64,
    /// The dropped final record, if the log ended in one.
    pub torn_tail: Option<TornTail>,
}

/// The payload of a well-framed record starting at `at`, or why not.
fn record_at(bytes: &[u8], at: usize) -> std::result::Result<&[u8], String> {
    if bytes.len() - at < RECORD_HEADER_LEN {
        return Err(format!(
            "{} bytes left, a record header needs {RECORD_HEADER_LEN}",
            bytes.len() - at
        ));
    }
    let h = &bytes[at..at + RECORD_HEADER_LEN];
    if u32_at(h, 8) != crc32c::crc32c(&h[..8]) {
        return Err("record header checksum mismatch".into());
    }
    let len = u32_at(h, 0) as usize;
    if len == 0 {
        return Err("empty record".into());
    }
    let body = at + RECORD_HEADER_LEN;
    if bytes.len() - body < len {
        return Err(format!(
            "record of {len} bytes runs past the end of the file ({} left)",
            bytes.len() - body
        ));
    }
    let payload = &bytes[body..body + len];
    if u32_at(h, 4) != crc32c::crc32c(payload) {
        return Err("record checksum mismatch".into());
    }
    Ok(payload)
}

/// Checks a log's header and framing. `file` names it in errors.
pub fn scan<'a>(bytes: &'a [u8], file: &Path) -> Result<LogScan<'a>> {
    let header = FileHeader::decode(bytes, FileKind::Wal, file)?;
    let mut records = Vec::new();
    let mut at = HEADER_LEN;
    let mut torn_tail = None;
    while at < bytes.len() {
        match record_at(bytes, at) {
            Ok(payload) => {
                records.push((at as u64, payload));
                at += RECORD_HEADER_LEN + payload.len();
            }
            Err(reason) => {
                if let Some(next) = (at + 1..bytes.len()).find(|&o| record_at(bytes, o).is_ok()) {
                    return Err(corrupt(
                        file,
                        at as u64,
                        format!("{reason}, yet a valid record follows at offset {next}: acknowledged writes would be lost"),
                    ));
                }
                torn_tail = Some(TornTail {
                    offset: at as u64,
                    bytes: (bytes.len() - at) as u64,
                    reason,
                });
                break;
            }
        }
    }
    Ok(LogScan {
        header,
        records,
        valid_len: at as u64,
        torn_tail,
    })
}

/// Decodes one record's payload for a `dims`-dimensional index.
pub fn decode(payload: &[u8], dims: usize, file: &Path, offset: u64) -> Result<LoggedOp> {
    let bad = |reason: String| corrupt(file, offset, reason);
    let floats = |b: &[u8]| -> Vec<f32> {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    let op = payload[0];
    let rest = &payload[1..];
    match op {
        OP_ADD | OP_UPDATE => {
            if rest.len() != 8 + dims * 4 {
                return Err(bad(format!(
                    "{} record of {} bytes; dims {dims} needs {}",
                    if op == OP_ADD { "add" } else { "update" },
                    rest.len(),
                    8 + dims * 4
                )));
            }
            let (id, v) = (u64_at(rest, 0), floats(&rest[8..]));
            Ok(if op == OP_ADD {
                LoggedOp::Add(id, v)
            } else {
                LoggedOp::Update(id, v)
            })
        }
        OP_REMOVE => {
            if rest.len() != 8 {
                return Err(bad(format!("remove record of {} bytes", rest.len())));
            }
            Ok(LoggedOp::Remove(u64_at(rest, 0)))
        }
        OP_BATCH => {
            if rest.len() < 4 {
                return Err(bad("batch record without a count".into()));
            }
            let n = u32_at(rest, 0) as usize;
            let need = (n as u128) * (8 + dims as u128 * 4) + 4;
            if n == 0 || rest.len() as u128 != need {
                return Err(bad(format!(
                    "batch of {n} rows in {} bytes; dims {dims} needs {need}",
                    rest.len()
                )));
            }
            let ids = rest[4..4 + 8 * n]
                .chunks_exact(8)
                .map(|c| u64_at(c, 0))
                .collect();
            Ok(LoggedOp::Batch(ids, floats(&rest[4 + 8 * n..])))
        }
        other => Err(bad(format!("unknown log op {other}"))),
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
    /// Bytes in the file (written by this process, synced or not).
    len: u64,
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

    /// Writes `scratch[..n]` to the file (through the test-only byte budget).
    fn write_file(&mut self, n: usize) -> std::io::Result<()> {
        #[cfg(test)]
        if self
            .fail_beyond
            .is_some_and(|budget| self.len + n as u64 > budget)
        {
            return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
        }
        store_io::write_all(&mut self.file, &self.path, &self.scratch[..n])
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

    /// Cuts off a partly written record so later appends stay readable.
    fn rollback(&mut self) {
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
