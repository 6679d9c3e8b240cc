//! **Not part of the API.** Internals that the corruption and format tests
//! (`index/tests/`) need to forge and parse files byte by byte. Hidden from
//! the docs; anything here may change without notice.

pub use crate::engine::WriteOp;
pub use crate::storage::manifest::Manifest;
pub use crate::store::format::{read_sections, FileHeader, FileKind, Section};

/// The write-ahead log's record codec.
pub mod wal {
    pub use crate::storage::wal::{decode, encode, scan, LogScan, LoggedOp};
}

use std::path::Path;

use crate::error::Result;
use crate::hnsw::{HnswIndex, HnswParams};
use crate::hnsw_pq::{HnswPqIndex, HnswPqParams};
use crate::hnsw_sq8::{HnswSq8Index, HnswSq8Params};
use crate::metric::Metric;
use crate::store::mmap_vectors::MmapVectors;
use crate::store::VectorStore;

/// An in-memory HNSW whose vectors live in a new memory-mapped file at
/// `path` (no log, no checkpoints): the mapped vector store on its own.
pub fn hnsw_on_mapped_vectors(
    path: &Path,
    dims: usize,
    metric: Metric,
    params: HnswParams,
) -> Result<HnswIndex> {
    let vectors = VectorStore::Mapped(MmapVectors::create(path, dims, metric)?);
    HnswIndex::with_vector_store(dims, metric, params, vectors)
}

/// [`hnsw_on_mapped_vectors`] for the PQ-navigated index.
pub fn hnsw_pq_on_mapped_vectors(
    path: &Path,
    dims: usize,
    metric: Metric,
    params: HnswPqParams,
) -> Result<HnswPqIndex> {
    let vectors = VectorStore::Mapped(MmapVectors::create(path, dims, metric)?);
    HnswPqIndex::with_vector_store(dims, metric, params, vectors)
}

/// [`hnsw_on_mapped_vectors`] for the SQ8-navigated index.
pub fn hnsw_sq8_on_mapped_vectors(
    path: &Path,
    dims: usize,
    metric: Metric,
    params: HnswSq8Params,
) -> Result<HnswSq8Index> {
    let vectors = VectorStore::Mapped(MmapVectors::create(path, dims, metric)?);
    HnswSq8Index::with_vector_store(dims, metric, params, vectors)
}
