//! The options an index directory is opened with, and the reports its open,
//! checkpoints and disk usage give back.

use std::time::Duration;

use super::wal::{Durability, TornTail};

/// How [`DiskIndex::open`] and [`DiskIndex::create`] behave.
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
    /// Refuse to open (as [`Error::Corrupt`](crate::Error::Corrupt)) a log
    /// that ends before the point it was known synced, instead of opening
    /// without the missing records and saying so in
    /// [`RecoveryReport::lost_synced_tail`].
    pub strict: bool,
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
            strict: false,
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

/// What [`DiskIndex::open`] found and did.
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
    /// The log ended (or turned unreadable) before the point it was last
    /// known synced: acknowledged writes are missing. `None` when the log
    /// is whole up to its sync mark, or has no mark (written before marks).
    pub lost_synced_tail: Option<LostSyncedTail>,
    /// The log belonged to the previous checkpoint (a crash between writing
    /// the graph and resetting the log) and was discarded: its writes are
    /// all in the checkpoint.
    pub stale_log_discarded: bool,
    /// Wall time of the open.
    pub open_time: Duration,
}

/// Synced log records missing on open (see [`RecoveryReport`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LostSyncedTail {
    /// Bytes of the log known synced before the open.
    pub synced_bytes: u64,
    /// Bytes of it that held valid records.
    pub valid_bytes: u64,
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

/// Bytes of an index's files the page cache holds now: RAM the index uses
/// that its own accounting ([`MemoryUsage`](crate::MemoryUsage)) leaves
/// out, since the kernel decides what stays. A search that re-ranks from
/// the mapped vectors or walks a mapped graph pages in what it touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageCache {
    /// Resident bytes of the vector file.
    pub vector_file: u64,
    /// Resident bytes of the graph file (links used in place, mapped).
    pub graph_file: u64,
}

impl PageCache {
    /// Both files' resident bytes.
    pub fn total(&self) -> u64 {
        self.vector_file + self.graph_file
    }
}

/// Bytes an index directory takes on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DiskUsage {
    /// Size of the vector file (growth room included).
    pub vector_file: u64,
    /// Bytes the file system allocated for it (growth room included: it is
    /// allocated ahead, except where the file system cannot).
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
