//! [`HnswIndex`] as a directory's engine, and its manifest section
//! ([`MANIFEST_HNSW`], 32 bytes):
//!
//! ```text
//! 0   4  m (u32)
//! 4   4  ef_construction (u32)
//! 8   8  seed (u64)
//! 16  8  ml (f64 bits; meaningful when flag bit 0 is set)
//! 24  4  flags (bit 0: ml set, bit 1: keep_pruned)
//! 28  4  reserved, zero
//! ```

use std::io::Cursor;
use std::path::Path;

use super::{DurableEngine, GraphWriter, WriteOp};
use crate::error::Result;
use crate::hnsw::{HnswIndex, HnswParams};
use crate::index::Index;
use crate::store::format::{corrupt, u32_at, u64_at, Section, SectionWriter, FLAG_REQUIRED};
use crate::store::sections::MANIFEST_HNSW;

impl DurableEngine for HnswIndex {
    fn index(&self) -> &dyn Index {
        self
    }

    fn graph(&self) -> &HnswIndex {
        self
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
        self.write_graph_sections(w)
    }
}

/// Writes the graph parameters' manifest section.
pub(super) fn encode_params(p: &HnswParams, w: &mut SectionWriter<Cursor<Vec<u8>>>) {
    let mut payload = Vec::with_capacity(32);
    payload.extend_from_slice(&(p.m as u32).to_le_bytes());
    payload.extend_from_slice(&(p.ef_construction as u32).to_le_bytes());
    payload.extend_from_slice(&p.seed.to_le_bytes());
    payload.extend_from_slice(&p.ml.unwrap_or(0.0).to_bits().to_le_bytes());
    let flags = u32::from(p.ml.is_some()) | (u32::from(p.keep_pruned) << 1);
    payload.extend_from_slice(&flags.to_le_bytes());
    payload.extend_from_slice(&0u32.to_le_bytes());
    // Writing to a Vec cannot fail.
    let _ = w.section(MANIFEST_HNSW, FLAG_REQUIRED, &payload);
}

/// Reads the graph parameters' manifest section (required).
pub(super) fn decode_params(sections: &[Section<'_>], file: &Path) -> Result<HnswParams> {
    let s = sections
        .iter()
        .find(|s| s.kind == MANIFEST_HNSW)
        .ok_or_else(|| corrupt(file, 64, "no parameters section"))?;
    let b = s.payload;
    if b.len() != 32 {
        return Err(corrupt(
            file,
            s.offset,
            format!("parameters section of {} bytes, expected 32", b.len()),
        ));
    }
    let flags = u32_at(b, 24);
    let p = HnswParams {
        m: u32_at(b, 0) as usize,
        ef_construction: u32_at(b, 4) as usize,
        seed: u64_at(b, 8),
        ml: (flags & 1 != 0).then(|| f64::from_bits(u64_at(b, 16))),
        keep_pruned: flags & 2 != 0,
    };
    p.validate()
        .map_err(|e| corrupt(file, s.offset, format!("invalid parameters: {e}")))?;
    Ok(p)
}
