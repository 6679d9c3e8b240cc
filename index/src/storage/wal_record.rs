//! The log's records: how a write is framed, checked and read back.
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
//! zeros     (optional) room written ahead of the records (`EveryOp`)
//! ```
//!
//! Replay reads records in order. A bad record (framing or checksum) is a
//! *torn tail* — a write cut short by a crash — only when no valid record
//! follows it anywhere in the file; then it and everything after it is
//! dropped and reported. A bad record followed by a valid one is
//! [`Error::Corrupt`](crate::error::Error::Corrupt): acknowledged writes
//! after it would otherwise vanish. Zeros to the end of the file, where a
//! record would start, are the clean end of the log.

use std::path::Path;

use crate::engine::WriteOp;
use crate::error::Result;
use crate::store::format::{corrupt, u32_at, u64_at, FileHeader, FileKind, HEADER_LEN};

/// Bytes of a record's framing.
pub const RECORD_HEADER_LEN: usize = 12;

const OP_ADD: u8 = 1;
const OP_REMOVE: u8 = 2;
const OP_BATCH: u8 = 3;
const OP_UPDATE: u8 = 4;

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
            // Zeros written ahead of the records: the clean end.
            Err(_) if bytes[at..].iter().all(|&b| b == 0) => break,
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
