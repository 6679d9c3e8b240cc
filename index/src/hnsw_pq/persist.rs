//! Snapshot and restore hooks for the storage layer (`crate::storage`): the
//! graph's sections (see `crate::hnsw::persist`) plus the quantizer's two.
//!
//! | section | payload |
//! |---|---|
//! | [`SEC_PQ_CODEBOOK`] | the codebooks, in the codebook file format (`crate::pq`), with their own checksum; absent until trained |
//! | [`SEC_PQ_CODES`] | `m` bytes per node, node by node |

use std::io::{Seek, Write};
use std::path::Path;
use std::sync::Arc;

use super::{HnswPqIndex, HnswPqParams};
use crate::error::{Error, Result};
use crate::hnsw::HnswIndex;
use crate::metric::Metric;
use crate::pq::ProductQuantizer;
use crate::store::format::{corrupt, Section, SectionWriter, FLAG_REQUIRED};
use crate::store::mapped_graph::MappedGraphFile;
use crate::store::sections::{PQ_CODEBOOK as SEC_PQ_CODEBOOK, PQ_CODES as SEC_PQ_CODES};
use crate::store::VectorStore;

impl HnswPqIndex {
    /// An empty index whose full vectors live in `vectors` (which must be
    /// empty), e.g. a memory-mapped file, so RAM holds only graph and codes.
    pub(crate) fn with_vector_store(
        dims: usize,
        metric: Metric,
        params: HnswPqParams,
        vectors: VectorStore,
    ) -> Result<Self> {
        let mut index = HnswPqIndex::new(dims, metric, params)?;
        index.graph = HnswIndex::with_vector_store(dims, metric, params.hnsw, vectors)?;
        index.graph.set_code_bytes(params.pq.m);
        Ok(index)
    }

    /// Writes the graph's sections, then the codebooks and codes; returns
    /// the node count written. The caller keeps writers out.
    pub(crate) fn write_sections<W: Write + Seek>(
        &self,
        w: &mut SectionWriter<W>,
    ) -> std::io::Result<usize> {
        // Lock order, as everywhere in this index: quantizer, graph.
        let pq = self.pq.read();
        let n = self.graph.write_graph_sections(w)?;
        if let Some(pq) = pq.as_ref() {
            w.section(SEC_PQ_CODEBOOK, FLAG_REQUIRED, &pq.to_bytes())?;
        }
        let m = pq.as_ref().map_or(0, ProductQuantizer::m);
        // Codes of the first `n` nodes only (the caller keeps writers out,
        // so there are no others), under the graph's read lock.
        self.graph.with_codes(n, |codes| {
            w.section(SEC_PQ_CODES, FLAG_REQUIRED, &codes[..n * m])
        })?;
        Ok(n)
    }

    /// Rebuilds an index from checksummed sections and a vector store
    /// holding exactly the graph's rows; anything inconsistent is
    /// [`Corrupt`](Error::Corrupt) in `file`.
    pub(crate) fn from_sections(
        dims: usize,
        metric: Metric,
        params: HnswPqParams,
        sections: &[Section<'_>],
        vectors: VectorStore,
        file: &Path,
        mapped: Option<&Arc<MappedGraphFile>>,
    ) -> Result<Self> {
        let mut graph = HnswIndex::from_graph_sections(
            dims,
            metric,
            params.hnsw,
            sections,
            vectors,
            file,
            mapped,
        )?;
        let n = graph.node_count();
        let find = |kind: u32| sections.iter().find(|s| s.kind == kind);
        let pq = match find(SEC_PQ_CODEBOOK) {
            None => None,
            Some(s) => {
                let pq = ProductQuantizer::from_bytes_in(s.payload, file).map_err(|e| match e {
                    Error::Corrupt { reason, .. } => {
                        corrupt(file, s.offset, format!("codebook section: {reason}"))
                    }
                    other => other,
                })?;
                if pq.dims() != dims || pq.metric() != metric || pq.m() != params.pq.m {
                    return Err(corrupt(
                        file,
                        s.offset,
                        format!(
                            "codebooks for {} dims, {:?}, m = {}; the index has {dims} dims, {metric:?}, m = {}",
                            pq.dims(),
                            pq.metric(),
                            pq.m(),
                            params.pq.m
                        ),
                    ));
                }
                Some(pq)
            }
        };
        let codes = find(SEC_PQ_CODES).ok_or_else(|| corrupt(file, 64, "no PQ codes section"))?;
        let want = n * pq.as_ref().map_or(0, ProductQuantizer::m);
        if pq.is_none() && n > 0 {
            return Err(corrupt(
                file,
                codes.offset,
                format!("{n} nodes but no codebooks"),
            ));
        }
        if codes.payload.len() != want {
            return Err(corrupt(
                file,
                codes.offset,
                format!(
                    "PQ codes section holds {} bytes; {n} nodes need {want}",
                    codes.payload.len()
                ),
            ));
        }
        graph.restore_codes(
            pq.as_ref().map_or(params.pq.m, ProductQuantizer::m),
            codes.payload.to_vec(),
        );
        // An index opened is at rest until its first write: its links are
        // read packed.
        graph.pack_links_at_open();
        Ok(HnswPqIndex {
            graph,
            pq_params: params.pq,
            pq: parking_lot::RwLock::new(pq),
        })
    }
}
