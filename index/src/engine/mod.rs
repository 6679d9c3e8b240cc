//! The index kinds a directory can hold, behind one trait erased once.
//!
//! `storage/` drives a [`DurableEngine`] and never names a kind: it logs a
//! [`WriteOp`], asks the engine to store it (phase one, in log order) and
//! to link what was stored (phase two, concurrently), and asks it to write
//! its sections into a checkpoint or restore itself from one. [`DiskKind`]
//! says which kind a directory holds and carries its parameters into the
//! manifest and back. A new kind is one file here (its `DurableEngine`
//! impl and its manifest sections) and a variant of [`DiskKind`].
//!
//! | file | kind |
//! |---|---|
//! | `hnsw.rs` | [`HnswIndex`]: exact distances throughout |
//! | `hnsw_pq.rs` | [`HnswPqIndex`]: PQ codes to navigate, exact re-ranking |
//! | `hnsw_sq8.rs` | [`HnswSq8Index`]: SQ8 codes to navigate, exact re-ranking |

mod hnsw;
mod hnsw_pq;
mod hnsw_sq8;

use std::io::{BufWriter, Cursor};
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::hnsw::{HnswIndex, HnswParams};
use crate::hnsw_pq::{HnswPqIndex, HnswPqParams};
use crate::hnsw_sq8::{HnswSq8Index, HnswSq8Params};
use crate::index::Index;
use crate::metric::Metric;
use crate::store::format::{Section, SectionWriter};
use crate::store::io::GatedFile;
use crate::store::mapped_graph::MappedGraphFile;
use crate::store::VectorStore;

/// A graph file being written.
pub(crate) type GraphWriter = SectionWriter<BufWriter<GatedFile>>;

/// One write, as it is logged and then applied (borrowed from the
/// caller's arguments).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WriteOp<'a> {
    /// Add one vector.
    Add {
        /// The caller's id.
        id: u64,
        /// The vector.
        vector: &'a [f32],
    },
    /// Mark an id deleted.
    Remove {
        /// The id.
        id: u64,
    },
    /// Add a batch (row-major vectors).
    Batch {
        /// The ids, one per row.
        ids: &'a [u64],
        /// The rows.
        vectors: &'a [f32],
    },
    /// Replace (or add) the vector of an id.
    Update {
        /// The id.
        id: u64,
        /// The new vector.
        vector: &'a [f32],
    },
}

impl WriteOp<'_> {
    /// Vector rows the op appends.
    pub fn rows(&self) -> usize {
        match self {
            WriteOp::Add { .. } | WriteOp::Update { .. } => 1,
            WriteOp::Batch { ids, .. } => ids.len(),
            WriteOp::Remove { .. } => 0,
        }
    }
}

/// What the storage layer asks of the index a directory holds.
pub(crate) trait DurableEngine: Send + Sync {
    /// The engine as the common trait (searches, sizes).
    fn index(&self) -> &dyn Index;

    /// The graph (and, through it, the vector store).
    fn graph(&self) -> &HnswIndex;

    /// The PQ-navigated engine, when this is one.
    fn pq(&self) -> Option<&HnswPqIndex> {
        None
    }

    /// Refuses, before it is logged, a write of `rows` vectors the engine
    /// could not apply.
    fn check_write_rows(&self, _rows: usize) -> Result<()> {
        Ok(())
    }

    /// Phase one of a logged write: everything but the linking (vectors,
    /// codes, nodes, deletion marks), in log order. Returns the stored
    /// nodes, for [`link`](Self::link). Vectors and batches were validated
    /// before they were logged (or, on replay, before they are applied):
    /// they are not checked again.
    fn store(&self, op: &WriteOp<'_>) -> Result<Vec<u32>>;

    /// Phase two: links nodes [`store`](Self::store) returned.
    fn link(&self, nodes: &[u32]) {
        if !nodes.is_empty() {
            self.graph().link_all(nodes);
        }
    }

    /// Writes the engine's sections of a graph file; returns the nodes
    /// written. The caller keeps writers out.
    fn write_sections(&self, w: &mut GraphWriter) -> std::io::Result<usize>;
}

/// Which index a directory holds, with its build parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DiskKind {
    /// HNSW with exact distances ([`HnswIndex`]).
    Hnsw(HnswParams),
    /// HNSW navigated by PQ codes held in RAM, full vectors mapped for
    /// exact re-ranking ([`HnswPqIndex`]). The first write trains the
    /// quantizer and must hold at least 256 vectors.
    HnswPq(HnswPqParams),
    /// HNSW navigated by SQ8 codes held in RAM, full vectors mapped for
    /// exact re-ranking ([`HnswSq8Index`]). The first write trains the
    /// quantizer's ranges and must hold at least 256 vectors.
    HnswSq8(HnswSq8Params),
}

impl From<HnswParams> for DiskKind {
    fn from(p: HnswParams) -> Self {
        DiskKind::Hnsw(p)
    }
}

impl From<HnswPqParams> for DiskKind {
    fn from(p: HnswPqParams) -> Self {
        DiskKind::HnswPq(p)
    }
}

impl From<HnswSq8Params> for DiskKind {
    fn from(p: HnswSq8Params) -> Self {
        DiskKind::HnswSq8(p)
    }
}

impl DiskKind {
    /// The graph's parameters.
    pub fn hnsw_params(&self) -> HnswParams {
        match self {
            DiskKind::Hnsw(p) => *p,
            DiskKind::HnswPq(p) => p.hnsw,
            DiskKind::HnswSq8(p) => p.hnsw,
        }
    }

    /// Checks the parameters against the dimension (`dims = 0` refused).
    pub(crate) fn validate(&self, dims: usize) -> Result<()> {
        if dims == 0 {
            return Err(Error::invalid("dims", "must be at least 1"));
        }
        self.hnsw_params().validate()?;
        match self {
            DiskKind::Hnsw(_) => Ok(()),
            DiskKind::HnswPq(p) => p.pq.validate(dims),
            DiskKind::HnswSq8(p) => p.sq8.validate(dims),
        }
    }

    /// Writes the kind's manifest sections.
    pub(crate) fn encode_manifest(&self, w: &mut SectionWriter<Cursor<Vec<u8>>>) {
        hnsw::encode_params(&self.hnsw_params(), w);
        match self {
            DiskKind::Hnsw(_) => {}
            DiskKind::HnswPq(p) => hnsw_pq::encode_params(&p.pq, w),
            DiskKind::HnswSq8(p) => hnsw_sq8::encode_params(&p.sq8, w),
        }
    }

    /// The kind a manifest's sections describe; `file` names it in errors.
    pub(crate) fn decode_manifest(
        dims: usize,
        sections: &[Section<'_>],
        file: &Path,
    ) -> Result<Self> {
        let params = hnsw::decode_params(sections, file)?;
        let pq = hnsw_pq::decode_params(dims, sections, file)?;
        let sq8 = hnsw_sq8::decode_params(dims, sections, file)?;
        Ok(match (pq, sq8) {
            (None, None) => DiskKind::Hnsw(params),
            (Some(pq), None) => DiskKind::HnswPq(HnswPqParams { hnsw: params, pq }),
            (None, Some(sq8)) => DiskKind::HnswSq8(HnswSq8Params { hnsw: params, sq8 }),
            (Some(_), Some(_)) => {
                return Err(crate::store::format::corrupt(
                    file,
                    0,
                    "manifest names two quantizers (PQ and SQ8)",
                ))
            }
        })
    }

    /// An empty engine of this kind over `vectors`.
    pub(crate) fn create(
        &self,
        dims: usize,
        metric: Metric,
        vectors: VectorStore,
    ) -> Result<Box<dyn DurableEngine>> {
        Ok(match self {
            DiskKind::Hnsw(p) => Box::new(HnswIndex::with_vector_store(dims, metric, *p, vectors)?),
            DiskKind::HnswPq(p) => {
                Box::new(HnswPqIndex::with_vector_store(dims, metric, *p, vectors)?)
            }
            DiskKind::HnswSq8(p) => {
                Box::new(HnswSq8Index::with_vector_store(dims, metric, *p, vectors)?)
            }
        })
    }

    /// The engine of this kind, from a graph file's checksummed sections.
    pub(crate) fn restore(
        &self,
        dims: usize,
        metric: Metric,
        sections: &[Section<'_>],
        vectors: VectorStore,
        file: &Path,
        mapped: Option<&Arc<MappedGraphFile>>,
    ) -> Result<Box<dyn DurableEngine>> {
        Ok(match self {
            DiskKind::Hnsw(p) => Box::new(HnswIndex::from_graph_sections(
                dims, metric, *p, sections, vectors, file, mapped,
            )?),
            DiskKind::HnswPq(p) => Box::new(HnswPqIndex::from_sections(
                dims, metric, *p, sections, vectors, file, mapped,
            )?),
            DiskKind::HnswSq8(p) => Box::new(HnswSq8Index::from_sections(
                dims, metric, *p, sections, vectors, file, mapped,
            )?),
        })
    }
}
