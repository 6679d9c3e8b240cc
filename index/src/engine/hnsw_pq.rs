//! [`HnswPqIndex`] as a directory's engine — graph and codes in RAM, full
//! vectors in the mapped file for re-ranking — and its manifest section
//! ([`MANIFEST_PQ`], 32 bytes; a build without this kind refuses such a
//! directory as `Incompatible` rather than opening half of it):
//!
//! ```text
//! 0   4  m, sub-spaces (u32)
//! 4   4  Lloyd iterations (u32)
//! 8   8  training sample (u64)
//! 16  8  seed (u64)
//! 24  8  reserved, zero
//! ```

use std::io::Cursor;
use std::path::Path;

use super::{DurableEngine, GraphWriter, WriteOp};
use crate::error::Result;
use crate::hnsw::HnswIndex;
use crate::hnsw_pq::HnswPqIndex;
use crate::index::Index;
use crate::pq::PqParams;
use crate::store::format::{corrupt, u32_at, u64_at, Section, SectionWriter, FLAG_REQUIRED};
use crate::store::sections::MANIFEST_PQ;

impl DurableEngine for HnswPqIndex {
    fn index(&self) -> &dyn Index {
        self
    }

    fn graph(&self) -> &HnswIndex {
        HnswPqIndex::hnsw_index(self)
    }

    fn pq(&self) -> Option<&HnswPqIndex> {
        Some(self)
    }

    fn check_write_rows(&self, rows: usize) -> Result<()> {
        HnswPqIndex::check_write_rows(self, rows)
    }

    fn store(&self, op: &WriteOp<'_>) -> Result<Vec<u32>> {
        match *op {
            WriteOp::Add { id, vector } => self.store_rows(&[id], vector),
            WriteOp::Batch { ids, vectors } => self.store_rows(ids, vectors),
            WriteOp::Update { id, vector } => Ok(vec![self.store_update(id, vector)?]),
            WriteOp::Remove { id } => self.remove(id).map(|()| Vec::new()),
        }
    }

    fn write_sections(&self, w: &mut GraphWriter) -> std::io::Result<usize> {
        HnswPqIndex::write_sections(self, w)
    }
}

/// Writes the quantizer parameters' manifest section.
pub(super) fn encode_params(pq: &PqParams, w: &mut SectionWriter<Cursor<Vec<u8>>>) {
    let mut b = Vec::with_capacity(32);
    b.extend_from_slice(&(pq.m as u32).to_le_bytes());
    b.extend_from_slice(&(pq.iterations as u32).to_le_bytes());
    b.extend_from_slice(&(pq.train_sample as u64).to_le_bytes());
    b.extend_from_slice(&pq.seed.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes());
    // Writing to a Vec cannot fail.
    let _ = w.section(MANIFEST_PQ, FLAG_REQUIRED, &b);
}

/// Reads the quantizer parameters' manifest section, when there is one.
pub(super) fn decode_params(
    dims: usize,
    sections: &[Section<'_>],
    file: &Path,
) -> Result<Option<PqParams>> {
    let Some(s) = sections.iter().find(|s| s.kind == MANIFEST_PQ) else {
        return Ok(None);
    };
    let b = s.payload;
    if b.len() != 32 {
        return Err(corrupt(
            file,
            s.offset,
            format!("PQ section of {} bytes, expected 32", b.len()),
        ));
    }
    let p = PqParams {
        m: u32_at(b, 0) as usize,
        iterations: u32_at(b, 4) as usize,
        train_sample: usize::try_from(u64_at(b, 8)).unwrap_or(usize::MAX),
        seed: u64_at(b, 16),
    };
    p.validate(dims)
        .map_err(|e| corrupt(file, s.offset, format!("invalid PQ parameters: {e}")))?;
    Ok(Some(p))
}
