//! Persistent storage: an index in a directory, its vectors memory-mapped,
//! its graph checkpointed, its writes logged ahead.
//!
//! | file | role |
//! |---|---|
//! | `format.rs` | the shared file header (magic, version, dims, metric, counts, crc32c) and checksummed, tagged sections |
//! | `mmap_vectors.rs` | vector rows in a memory-mapped file that grows in large steps |
//! | `wal.rs` | the write-ahead log: records, replay, [`Durability`] |
//! | `lock.rs` | the advisory directory lock |
//! | `mapped_graph.rs` | a checkpointed graph file mapped copy-on-write, its link sections used in place |
//! | `manifest.rs` | dims, metric, build parameters, and the quantizer's for a PQ-navigated index |
//! | `engine.rs` | the in-memory engine a directory holds: plain HNSW or PQ-navigated HNSW |
//! | `directory.rs` | the directory's file names; replace-by-rename |
//! | `disk_hnsw.rs` | [`DiskHnswIndex`]: create, open and recover, write, checkpoint, close |
//!
//! The graph code in [`crate::hnsw`] runs unchanged over RAM or mapped
//! vectors: its vector store is an enum of the two (`hnsw/vectors.rs`), and
//! `hnsw/persist.rs` writes and restores the graph's sections
//! (`hnsw_pq/persist.rs` adds the codebooks and codes).
//!
//! The only `unsafe` in the crate's storage lives in `mmap_vectors.rs`
//! (mapping, and viewing mapped bytes as `f32`), `mapped_graph.rs` (mapping,
//! viewing link sections as atomics, releasing pages; its two `unsafe fn`s
//! are called from `disk_hnsw.rs`'s open) and `lock.rs` (`flock`).

pub mod directory;
pub mod disk_hnsw;
mod engine;
pub mod format;
pub mod lock;
pub mod manifest;
pub(crate) mod mapped_graph;
pub mod mmap_vectors;
pub mod wal;

pub use disk_hnsw::{CheckpointStats, DiskHnswIndex, DiskUsage, OpenOptions, RecoveryReport};
pub use wal::{Durability, TornTail};
