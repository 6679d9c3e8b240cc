//! The manifest: what an index directory holds, written once at create.
//!
//! A file header (kind Manifest, with dims and metric), then the sections
//! of the directory's [`DiskKind`] (`engine/`: the HNSW parameters, and the
//! quantizer's for a PQ-navigated index). A required section this build
//! does not know makes the directory `Incompatible`.

use std::io::Cursor;
use std::path::Path;

use crate::engine::DiskKind;
use crate::error::{Error, Result};
use crate::metric::Metric;
use crate::store::format::{
    corrupt, read_sections, FileHeader, FileKind, SectionWriter, FLAG_REQUIRED,
};
use crate::store::sections::MANIFEST_SECTIONS;

/// What the manifest records.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Manifest {
    /// Vector dimension.
    pub dims: usize,
    /// Distance metric.
    pub metric: Metric,
    /// The index kind and its build parameters.
    pub kind: DiskKind,
}

impl Manifest {
    /// The manifest file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut cur = Cursor::new(
            FileHeader::new(FileKind::Manifest, self.dims, self.metric)
                .encode()
                .to_vec(),
        );
        cur.set_position(cur.get_ref().len() as u64);
        let mut w = SectionWriter::new(cur);
        self.kind.encode_manifest(&mut w);
        w.finish().map(Cursor::into_inner).unwrap_or_default()
    }

    /// Parses manifest bytes; `file` names the source in errors.
    pub fn decode(bytes: &[u8], file: &Path) -> Result<Self> {
        let header = FileHeader::decode(bytes, FileKind::Manifest, file)?;
        let sections = read_sections(bytes, file)?;
        if let Some(s) = sections
            .iter()
            .find(|s| s.flags & FLAG_REQUIRED != 0 && !MANIFEST_SECTIONS.contains(&s.kind))
        {
            return Err(Error::Incompatible {
                file: file.to_path_buf(),
                reason: format!("required section kind {:#x} unknown to this build", s.kind),
            });
        }
        if header.dims == 0 {
            return Err(corrupt(file, 16, "zero dimensions"));
        }
        let dims = header.dims as usize;
        Ok(Manifest {
            dims,
            metric: header.metric,
            kind: DiskKind::decode_manifest(dims, &sections, file)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hnsw::HnswParams;
    use crate::hnsw_pq::HnswPqParams;
    use crate::pq::PqParams;

    #[test]
    fn round_trips() {
        let params = HnswParams {
            ml: Some(0.5),
            keep_pruned: false,
            ..HnswParams::new(8, 40)
        };
        let m = Manifest {
            dims: 12,
            metric: Metric::InnerProduct,
            kind: DiskKind::Hnsw(params),
        };
        let p = Path::new("MANIFEST");
        assert_eq!(Manifest::decode(&m.encode(), p).unwrap(), m);
        let m2 = Manifest {
            kind: DiskKind::Hnsw(HnswParams::default()),
            ..m
        };
        assert_eq!(Manifest::decode(&m2.encode(), p).unwrap(), m2);
        let m3 = Manifest {
            kind: DiskKind::HnswPq(HnswPqParams {
                hnsw: params,
                pq: PqParams {
                    train_sample: 5_000,
                    ..PqParams::with_m(6)
                },
            }),
            ..m
        };
        assert_eq!(Manifest::decode(&m3.encode(), p).unwrap(), m3);
    }
}
