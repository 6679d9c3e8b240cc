//! Persistent storage: any index kind ([`DiskKind`](crate::DiskKind)) in a
//! directory, its vectors memory-mapped, its graph checkpointed, its writes
//! logged ahead.
//!
//! ```text
//! add / add_batch / remove / update
//!   └─► validate ─► queue ─► a leader takes the queue: [writer mutex: check each, reserve rows
//!                ─► append all to wal.log (one sync; under EveryOp none yet) ─► store each (engine)]
//!                ─► each writer links its own (engine, outside the mutex)
//!                ─► EveryOp: wait until a sync covers its group (one writer runs it) ─► maybe checkpoint
//! checkpoint (on demand, every N ops, when the log is large, on close)
//!   └─► wait for links ─► [reorder: rows in BFS order to vectors.<g>.omv, synced, mapped]
//!       ─► sync vectors ─► write graph.omg.tmp, sync, rename, sync dir
//!       ─► fresh wal.log (generation + 1) ─► [reorder: remove the old vector file]
//! open
//!   └─► lock ─► MANIFEST (kind) ─► map graph.omg (checksums, structure; links used in place)
//!       ─► map the vector file it names (row checksums) ─► replay wal.log if its generation is the
//!          graph's (a log one generation older was already checkpointed and is discarded)
//! ```
//!
//! Writes are stored in log order under one mutex, then linked outside it,
//! so the next write's logging overlaps the link; searches run alongside.
//! Writers that arrive while a write is logged are logged together by the
//! next leader (group commit, `commit.rs`). Under `EveryOp` the sync runs
//! outside the mutex too, while the group links, and one sync covers every
//! group appended before it began (`durable.rs`); a write returns only once
//! it is synced. Storing appends to the graph beside searches and links
//! (`hnsw/graph.rs`), so one-at-a-time writers on many threads link side by
//! side. A checkpoint waits for the links in flight, so it never snapshots
//! a half-linked node.
//!
//! | file | role |
//! |---|---|
//! | `options.rs` | [`OpenOptions`], and the reports: [`RecoveryReport`], [`CheckpointStats`], [`DiskUsage`], [`PageCache`] |
//! | `disk_index.rs` | [`DiskIndex`]: the struct, inspection, close, the `Index` impl |
//! | `recovery.rs` | create; open: manifest, mapped graph, mapped vectors, log replay |
//! | `write.rs` | the write path: check, log, store, link; all-or-nothing batches |
//! | `commit.rs` | group commit: the queue of writes a leader logs and stores at once; links in flight |
//! | `durable.rs` | `EveryOp`: waiting until a sync, run by one waiter outside the mutex, covers a write |
//! | `checkpoint.rs` | checkpoints: the graph file and its vector-checksum section |
//! | `reorder.rs` | renumbering the nodes for locality: a checkpoint that first writes the vector rows, in the new order, to a new vector file its graph file names |
//! | `wal.rs` | the write-ahead log's writer, [`Durability`] |
//! | `wal_record.rs` | the log's records: framing, checks, replay's scan |
//! | `sync_mark.rs` | `wal.log.synced`: how far the log is known synced, to tell a torn tail from lost synced records |
//! | `manifest.rs` | dims, metric and the index kind with its parameters |
//!
//! Files and bytes (format, mapped files, directory, lock) are the store
//! layer's (`crate::store`); the kinds, behind one trait, are `crate::engine`'s.

mod checkpoint;
mod commit;
mod disk_index;
mod durable;
#[cfg(test)]
mod fault_sweep;
pub(crate) mod manifest;
mod options;
mod recovery;
mod reorder;
mod sync_mark;
pub(crate) mod wal;
mod wal_record;
mod write;

pub use disk_index::DiskIndex;
pub use options::{
    CheckpointStats, DiskUsage, LostSyncedTail, OpenOptions, PageCache, RecoveryReport,
};
pub use wal::{Durability, TornTail};
