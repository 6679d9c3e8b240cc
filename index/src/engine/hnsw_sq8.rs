//! [`HnswSq8Index`] as a directory's engine — graph and SQ8 codes in RAM,
//! full vectors in the mapped file for re-ranking — and its manifest
//! section ([`MANIFEST_SQ8`], 16 bytes; a build without this kind refuses
//! such a directory as `Incompatible` rather than opening half of it):
//!
//! ```text
//! 0   8  training sample (u64)
//! 8   4  trim (f32)
//! 12  4  reserved, zero
//! ```

use std::io::Cursor;
use std::path::Path;

use super::{DurableEngine, GraphWriter, WriteOp};
use crate::error::Result;
use crate::hnsw::HnswIndex;
use crate::hnsw_sq8::HnswSq8Index;
use crate::index::Index;
use crate::sq8::Sq8Params;
use crate::store::format::{corrupt, u32_at, u64_at, Section, SectionWriter, FLAG_REQUIRED};
use crate::store::sections::MANIFEST_SQ8;

impl DurableEngine for HnswSq8Index {
    fn index(&self) -> &dyn Index {
        self
    }

    fn graph(&self) -> &HnswIndex {
        HnswSq8Index::hnsw_index(self)
    }

    fn check_write_rows(&self, rows: usize) -> Result<()> {
        HnswSq8Index::check_write_rows(self, rows)
    }

    fn store(&self, op: &WriteOp<'_>) -> Result<Vec<u32>> {
        match *op {
            WriteOp::Add { id, vector } => self.store_rows(&[id], vector),
            WriteOp::Batch { ids, vectors } => self.store_rows(ids, vectors),
            WriteOp::Update { id, vector } => Ok(vec![self.store_update(id, vector)?]),
            WriteOp::Remove { id } => self.remove(id).map(|()| Vec::new()),
        }
    }

    fn link(&self, nodes: &[u32]) {
        if !nodes.is_empty() {
            HnswSq8Index::link(self, nodes);
        }
    }

    fn write_sections(&self, w: &mut GraphWriter) -> std::io::Result<usize> {
        HnswSq8Index::write_sections(self, w)
    }
}

/// Writes the SQ8 parameters' manifest section.
pub(super) fn encode_params(p: &Sq8Params, w: &mut SectionWriter<Cursor<Vec<u8>>>) {
    let mut b = Vec::with_capacity(16);
    b.extend_from_slice(&(p.train_sample as u64).to_le_bytes());
    b.extend_from_slice(&p.trim.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    // Writing to a Vec cannot fail.
    let _ = w.section(MANIFEST_SQ8, FLAG_REQUIRED, &b);
}

/// Reads the SQ8 parameters' manifest section, when there is one.
pub(super) fn decode_params(
    dims: usize,
    sections: &[Section<'_>],
    file: &Path,
) -> Result<Option<Sq8Params>> {
    let Some(s) = sections.iter().find(|s| s.kind == MANIFEST_SQ8) else {
        return Ok(None);
    };
    let b = s.payload;
    if b.len() != 16 {
        return Err(corrupt(
            file,
            s.offset,
            format!("SQ8 section of {} bytes, expected 16", b.len()),
        ));
    }
    let p = Sq8Params {
        train_sample: usize::try_from(u64_at(b, 0)).unwrap_or(usize::MAX),
        trim: f32::from_bits(u32_at(b, 8)),
    };
    p.validate(dims)
        .map_err(|e| corrupt(file, s.offset, format!("invalid SQ8 parameters: {e}")))?;
    Ok(Some(p))
}
