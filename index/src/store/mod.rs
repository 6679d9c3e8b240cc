//! The store layer: files and bytes, under every index kind. Nothing here
//! knows a graph or a quantizer; `hnsw/`, `hnsw_pq/` and `storage/` build on it.
//!
//! | file | role |
//! |---|---|
//! | `append.rs` | [`AppendVec`]: a column written at its end while readers read it, lock-free |
//! | `huge.rs` | asks for transparent huge pages under the large columns searches walk at random |
//! | `format.rs` | the shared file header (magic, version, dims, metric, counts, crc32c) and checksummed, tagged sections |
//! | `sections.rs` | the registry of every section kind of every file |
//! | `vectors.rs` | [`VectorStore`]: rows in RAM or in a memory-mapped file |
//! | `mmap_vectors.rs` | vector rows in a memory-mapped file that grows in large steps |
//! | `mapped_graph.rs` | a checkpointed graph file mapped copy-on-write, its link sections used in place |
//! | `directory.rs` | an index directory's file names; replace-by-rename, directory sync |
//! | `lock.rs` | the advisory directory lock |
//! | `sector_file.rs` | a file of 4 KiB-sector blocks of node records, read a few blocks at once (page cache or `O_DIRECT`) |
//! | `aio.rs` | several reads of an `O_DIRECT` file in flight at once (Linux kernel AIO) |
//! | `resident.rs` | how much of a file the page cache holds (`mincore`) |
//! | `io.rs` | the gate every file operation passes: the real file system, or a failing one in tests |
//!
//! The only `unsafe` of the store lives in `append.rs` (writing past the
//! published length), `huge.rs` (`madvise`), `mmap_vectors.rs` (mapping, viewing mapped bytes as
//! `f32`, appending rows beside readers), `mapped_graph.rs` (mapping, viewing link
//! sections as atomics, releasing pages), `lock.rs` (`flock`), `sector_file.rs` (`posix_fadvise`), `aio.rs` (the AIO system calls, their buffers kept borrowed until reaped) and `resident.rs`
//! (mapping a file to ask `mincore` which of its pages are resident).

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
pub(crate) mod aio;
pub(crate) mod append;
pub(crate) mod directory;
pub(crate) mod format;
pub(crate) mod huge;
pub(crate) mod io;
pub(crate) mod lock;
pub(crate) mod mapped_graph;
pub(crate) mod mmap_vectors;
pub(crate) mod resident;
pub(crate) mod sections;
pub(crate) mod sector_file;
pub(crate) mod vectors;

pub(crate) use append::AppendVec;
pub(crate) use vectors::VectorStore;
