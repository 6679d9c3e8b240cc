//! The manifest: what an index directory holds, written once at create.
//!
//! A file header (kind Manifest, with dims and metric) and one required
//! section, [`SECTION_PARAMS`]:
//!
//! ```text
//! 0   4  m (u32)
//! 4   4  ef_construction (u32)
//! 8   8  seed (u64)
//! 16  8  ml (f64 bits; meaningful when flag bit 0 is set)
//! 24  4  flags (bit 0: ml set, bit 1: keep_pruned)
//! 28  4  reserved, zero
//! ```
//!
//! An index navigated by PQ codes adds a second required section,
//! [`SECTION_PQ`] (a build without PQ refuses such a directory as
//! `Incompatible` rather than opening half of it):
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

use super::format::{
    corrupt, read_sections, u32_at, u64_at, FileHeader, FileKind, SectionWriter, FLAG_REQUIRED,
};
use crate::error::{Error, Result};
use crate::hnsw::HnswParams;
use crate::hnsw_pq::HnswPqParams;
use crate::metric::Metric;
use crate::pq::PqParams;

/// Section kind of the HNSW build parameters.
pub const SECTION_PARAMS: u32 = 1;
/// Section kind of the quantizer's parameters (PQ-navigated indexes only).
pub const SECTION_PQ: u32 = 2;

/// What the manifest records.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Manifest {
    /// Vector dimension.
    pub dims: usize,
    /// Distance metric.
    pub metric: Metric,
    /// HNSW build parameters.
    pub params: HnswParams,
    /// The quantizer's parameters, for an index navigated by PQ codes.
    pub pq: Option<PqParams>,
}

impl Manifest {
    /// The PQ-navigated engine's parameters, for a directory of that kind.
    pub fn pq_params(&self) -> Option<HnswPqParams> {
        self.pq.map(|pq| HnswPqParams {
            hnsw: self.params,
            pq,
        })
    }

    /// The manifest file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let p = &self.params;
        let mut payload = Vec::with_capacity(32);
        payload.extend_from_slice(&(p.m as u32).to_le_bytes());
        payload.extend_from_slice(&(p.ef_construction as u32).to_le_bytes());
        payload.extend_from_slice(&p.seed.to_le_bytes());
        payload.extend_from_slice(&p.ml.unwrap_or(0.0).to_bits().to_le_bytes());
        let flags = u32::from(p.ml.is_some()) | (u32::from(p.keep_pruned) << 1);
        payload.extend_from_slice(&flags.to_le_bytes());
        payload.extend_from_slice(&0u32.to_le_bytes());
        let mut cur = Cursor::new(
            FileHeader::new(FileKind::Manifest, self.dims, self.metric)
                .encode()
                .to_vec(),
        );
        cur.set_position(cur.get_ref().len() as u64);
        let mut w = SectionWriter::new(cur);
        // Writing to a Vec cannot fail.
        let _ = w.section(SECTION_PARAMS, FLAG_REQUIRED, &payload);
        if let Some(pq) = &self.pq {
            let mut b = Vec::with_capacity(32);
            b.extend_from_slice(&(pq.m as u32).to_le_bytes());
            b.extend_from_slice(&(pq.iterations as u32).to_le_bytes());
            b.extend_from_slice(&(pq.train_sample as u64).to_le_bytes());
            b.extend_from_slice(&pq.seed.to_le_bytes());
            b.extend_from_slice(&0u64.to_le_bytes());
            let _ = w.section(SECTION_PQ, FLAG_REQUIRED, &b);
        }
        w.finish().map(Cursor::into_inner).unwrap_or_default()
    }

    /// Parses manifest bytes; `file` names the source in errors.
    pub fn decode(bytes: &[u8], file: &Path) -> Result<Self> {
        let header = FileHeader::decode(bytes, FileKind::Manifest, file)?;
        let mut params = None;
        let mut pq = None;
        for s in read_sections(bytes, file)? {
            match s.kind {
                SECTION_PARAMS => {
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
                    params = Some(p);
                }
                SECTION_PQ => {
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
                    if let Err(e) = p.validate(header.dims as usize) {
                        return Err(corrupt(
                            file,
                            s.offset,
                            format!("invalid PQ parameters: {e}"),
                        ));
                    }
                    pq = Some(p);
                }
                k if s.flags & FLAG_REQUIRED != 0 => {
                    return Err(Error::Incompatible {
                        file: file.to_path_buf(),
                        reason: format!("required section kind {k:#x} unknown to this build"),
                    })
                }
                _ => {}
            }
        }
        let params = params.ok_or_else(|| corrupt(file, 64, "no parameters section"))?;
        if header.dims == 0 {
            return Err(corrupt(file, 16, "zero dimensions"));
        }
        Ok(Manifest {
            dims: header.dims as usize,
            metric: header.metric,
            params,
            pq,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let m = Manifest {
            dims: 12,
            metric: Metric::InnerProduct,
            params: HnswParams {
                ml: Some(0.5),
                keep_pruned: false,
                ..HnswParams::new(8, 40)
            },
            pq: None,
        };
        let p = Path::new("MANIFEST");
        assert_eq!(Manifest::decode(&m.encode(), p).unwrap(), m);
        let d = HnswParams::default();
        let m2 = Manifest { params: d, ..m };
        assert_eq!(Manifest::decode(&m2.encode(), p).unwrap(), m2);
        let m3 = Manifest {
            pq: Some(PqParams {
                train_sample: 5_000,
                ..PqParams::with_m(6)
            }),
            ..m
        };
        assert_eq!(Manifest::decode(&m3.encode(), p).unwrap(), m3);
    }
}
