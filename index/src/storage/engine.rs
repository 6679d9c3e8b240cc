//! [`Engine`]: the in-memory index a [`DiskHnswIndex`](super::DiskHnswIndex)
//! wraps — a plain HNSW, or an HNSW navigated by PQ codes — behind the few
//! calls the storage layer makes (apply a logged write, snapshot, restore).
//! Both run on the same memory-mapped vector store; the PQ kind keeps only
//! graph and codes in RAM and reads full vectors from the map to re-rank.

use std::io::{Seek, Write};
use std::path::Path;
use std::sync::Arc;

use super::format::{Section, SectionWriter};
use super::manifest::Manifest;
use super::mapped_graph::MappedGraphFile;
use super::wal::LogOp;
use crate::error::Result;
use crate::hnsw::persist::GRAPH_SECTIONS;
use crate::hnsw::vectors::VectorStore;
use crate::hnsw::HnswIndex;
use crate::hnsw_pq::persist::PQ_SECTIONS;
use crate::hnsw_pq::HnswPqIndex;
use crate::index::Index;

/// The index kinds a directory can hold.
pub(crate) enum Engine {
    /// Exact distances throughout.
    Hnsw(HnswIndex),
    /// PQ codes to navigate, exact re-ranking.
    Pq(HnswPqIndex),
}

impl Engine {
    /// An empty engine of the kind `manifest` describes, over `vectors`.
    pub fn create(manifest: &Manifest, vectors: VectorStore) -> Result<Self> {
        let (d, metric) = (manifest.dims, manifest.metric);
        Ok(match manifest.pq_params() {
            None => Engine::Hnsw(HnswIndex::with_vector_store(
                d,
                metric,
                manifest.params,
                vectors,
            )?),
            Some(p) => Engine::Pq(HnswPqIndex::with_vector_store(d, metric, p, vectors)?),
        })
    }

    /// The engine of the kind `manifest` describes, from a graph file's
    /// checksummed sections.
    pub fn restore(
        manifest: &Manifest,
        sections: &[Section<'_>],
        vectors: VectorStore,
        file: &Path,
        mapped: Option<&Arc<MappedGraphFile>>,
    ) -> Result<Self> {
        let (d, metric) = (manifest.dims, manifest.metric);
        Ok(match manifest.pq_params() {
            None => Engine::Hnsw(HnswIndex::from_graph_sections(
                d,
                metric,
                manifest.params,
                sections,
                vectors,
                file,
                mapped,
            )?),
            Some(p) => Engine::Pq(HnswPqIndex::from_sections(
                d, metric, p, sections, vectors, file, mapped,
            )?),
        })
    }

    /// Whether this build reads graph-file sections of `kind`.
    pub fn knows_section(kind: u32) -> bool {
        GRAPH_SECTIONS.contains(&kind) || PQ_SECTIONS.contains(&kind)
    }

    /// The engine as the common trait.
    pub fn index(&self) -> &dyn Index {
        match self {
            Engine::Hnsw(i) => i,
            Engine::Pq(i) => i,
        }
    }

    /// The graph (and, through it, the vector store).
    pub fn graph(&self) -> &HnswIndex {
        match self {
            Engine::Hnsw(i) => i,
            Engine::Pq(i) => i.graph(),
        }
    }

    /// Refuses, before it is logged, a write of `rows` vectors the engine
    /// could not apply (a PQ index's first write must train its quantizer).
    pub fn check_write_rows(&self, rows: usize) -> Result<()> {
        match self {
            Engine::Hnsw(_) => Ok(()),
            Engine::Pq(i) => i.check_write_rows(rows),
        }
    }

    /// Phase one of a logged write: everything but the linking (vectors,
    /// codes, nodes, deletion marks), in log order. Returns the stored
    /// nodes, for [`link`](Self::link); the graph's two-phase insert lets
    /// many writers link at once while stores stay in log order.
    pub fn store(&self, op: &LogOp<'_>) -> Result<Vec<u32>> {
        match (self, *op) {
            (Engine::Hnsw(i), LogOp::Add { id, vector }) => i.store_batch(&[id], vector),
            (Engine::Hnsw(i), LogOp::Batch { ids, vectors }) => i.store_batch(ids, vectors),
            (Engine::Hnsw(i), LogOp::Update { id, vector }) => {
                Ok(vec![i.store_update(id, vector)?])
            }
            (Engine::Pq(i), LogOp::Add { id, vector }) => i.store_batch(&[id], vector),
            (Engine::Pq(i), LogOp::Batch { ids, vectors }) => i.store_batch(ids, vectors),
            (Engine::Pq(i), LogOp::Update { id, vector }) => Ok(vec![i.store_update(id, vector)?]),
            (_, LogOp::Remove { id }) => self.graph().remove(id).map(|()| Vec::new()),
        }
    }

    /// Phase two: links nodes [`store`](Self::store) returned.
    pub fn link(&self, nodes: &[u32]) {
        if !nodes.is_empty() {
            self.graph().link_all(nodes);
        }
    }

    /// Writes the engine's sections of a graph file; returns the nodes written.
    pub fn write_sections<W: Write + Seek>(
        &self,
        w: &mut SectionWriter<W>,
    ) -> std::io::Result<usize> {
        match self {
            Engine::Hnsw(i) => i.write_graph_sections(w),
            Engine::Pq(i) => i.write_sections(w),
        }
    }
}
