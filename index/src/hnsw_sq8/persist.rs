//! Snapshot and restore hooks for the storage layer (`crate::storage`): the
//! graph's sections (see `crate::hnsw::persist`) plus the quantizer's two.
//!
//! | section | payload |
//! |---|---|
//! | [`SEC_SQ8_QUANTIZER`] | the quantizer's bytes (`crate::sq8`), with their own checksum; absent until trained |
//! | [`SEC_SQ8_CODES`] | `dims` bytes per node, node by node |

use std::io::{Seek, Write};
use std::path::Path;
use std::sync::Arc;

use super::{HnswSq8Index, HnswSq8Params};
use crate::distance::int::IntKernels;
use crate::error::{Error, Result};
use crate::hnsw::HnswIndex;
use crate::metric::Metric;
use crate::sq8::Sq8Quantizer;
use crate::store::format::{corrupt, Section, SectionWriter, FLAG_REQUIRED};
use crate::store::mapped_graph::MappedGraphFile;
use crate::store::sections::{SQ8_CODES as SEC_SQ8_CODES, SQ8_QUANTIZER as SEC_SQ8_QUANTIZER};
use crate::store::VectorStore;

impl HnswSq8Index {
    /// An empty index whose full vectors live in `vectors` (which must be
    /// empty), e.g. a memory-mapped file, so RAM holds only graph and codes.
    pub(crate) fn with_vector_store(
        dims: usize,
        metric: Metric,
        params: HnswSq8Params,
        vectors: VectorStore,
    ) -> Result<Self> {
        let mut index = HnswSq8Index::new(dims, metric, params)?;
        index.graph = HnswIndex::with_vector_store(dims, metric, params.hnsw, vectors)?;
        index.graph.set_code_bytes(dims);
        Ok(index)
    }

    /// Writes the graph's sections, then the quantizer and the codes;
    /// returns the node count written. The caller keeps writers out.
    pub(crate) fn write_sections<W: Write + Seek>(
        &self,
        w: &mut SectionWriter<W>,
    ) -> std::io::Result<usize> {
        // Lock order, as everywhere in this index: quantizer, graph.
        let sq = self.sq.read();
        let n = self.graph.write_graph_sections(w)?;
        if let Some(sq) = sq.as_ref() {
            w.section(SEC_SQ8_QUANTIZER, FLAG_REQUIRED, &sq.to_bytes())?;
        }
        let d = sq.as_ref().map_or(0, Sq8Quantizer::dims);
        // Codes of the first `n` nodes only (the caller keeps writers out,
        // so there are no others), under the graph's read lock.
        self.graph.with_codes(n, |codes| {
            w.section(SEC_SQ8_CODES, FLAG_REQUIRED, &codes[..n * d])
        })?;
        Ok(n)
    }

    /// Rebuilds an index from checksummed sections and a vector store
    /// holding exactly the graph's rows; anything inconsistent is
    /// [`Corrupt`](Error::Corrupt) in `file`.
    pub(crate) fn from_sections(
        dims: usize,
        metric: Metric,
        params: HnswSq8Params,
        sections: &[Section<'_>],
        vectors: VectorStore,
        file: &Path,
        mapped: Option<&Arc<MappedGraphFile>>,
    ) -> Result<Self> {
        params.sq8.validate(dims)?;
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
        let sq = match find(SEC_SQ8_QUANTIZER) {
            None => None,
            Some(s) => {
                let sq = Sq8Quantizer::from_bytes_in(s.payload, file).map_err(|e| match e {
                    Error::Corrupt { reason, .. } => {
                        corrupt(file, s.offset, format!("SQ8 quantizer section: {reason}"))
                    }
                    other => other,
                })?;
                if sq.dims() != dims || sq.metric() != metric {
                    return Err(corrupt(
                        file,
                        s.offset,
                        format!(
                            "SQ8 quantizer for {} dims, {:?}; the index has {dims} dims, {metric:?}",
                            sq.dims(),
                            sq.metric()
                        ),
                    ));
                }
                Some(sq)
            }
        };
        let codes = find(SEC_SQ8_CODES).ok_or_else(|| corrupt(file, 64, "no SQ8 codes section"))?;
        if sq.is_none() && n > 0 {
            return Err(corrupt(
                file,
                codes.offset,
                format!("{n} nodes but no SQ8 quantizer"),
            ));
        }
        let want = if sq.is_some() { n * dims } else { 0 };
        if codes.payload.len() != want {
            return Err(corrupt(
                file,
                codes.offset,
                format!(
                    "SQ8 codes section holds {} bytes; {n} nodes need {want}",
                    codes.payload.len()
                ),
            ));
        }
        graph.restore_codes(dims, codes.payload.to_vec());
        Ok(HnswSq8Index {
            graph,
            sq8_params: params.sq8,
            kernels: IntKernels::detect(),
            sq: parking_lot::RwLock::new(sq),
        })
    }
}
