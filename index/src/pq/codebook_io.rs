//! The codebook file format: save and load a [`ProductQuantizer`].
//!
//! ```text
//! offset  size            field
//! 0       8               magic  b"OMENDBPQ"
//! 8       4               format version (u32, currently 1)
//! 12      4               dims            (u32)
//! 16      4               m               (u32)
//! 20      4               sub_dims        (u32, = ⌈dims / m⌉)
//! 24      4               ks              (u32, = 256)
//! 28      4               metric          (u32: 0 L2, 1 cosine, 2 inner product)
//! 32      m·ks·sub_dims·4 centroids       (f32, sub-space-major)
//! end-4   4               crc32c of every byte before it (u32)
//! ```
//!
//! All integers and floats are little-endian. A reader meets bad bytes with
//! a typed error, never a panic: another magic or version is
//! [`Error::Incompatible`]; a truncated file, a checksum mismatch or
//! inconsistent fields are [`Error::Corrupt`].

use std::path::Path;

use super::quantizer::{sub_dims_for, ProductQuantizer, KS};
use crate::error::{Error, Result};
use crate::store::format::{metric_code, metric_from_code, u32_at};

/// First bytes of every codebook file.
pub const MAGIC: [u8; 8] = *b"OMENDBPQ";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
/// Bytes before the centroids.
const HEADER_LEN: usize = 32;
/// Bytes after the centroids (the checksum).
const FOOTER_LEN: usize = 4;

/// Where bytes parsed by [`ProductQuantizer::from_bytes`] are said to come
/// from in errors.
const IN_MEMORY: &str = "<in-memory codebook>";

impl ProductQuantizer {
    /// The codebook file's bytes (see the module docs for the layout).
    pub fn to_bytes(&self) -> Vec<u8> {
        let centroids = self.centroids();
        let mut out = Vec::with_capacity(HEADER_LEN + centroids.len() * 4 + FOOTER_LEN);
        out.extend_from_slice(&MAGIC);
        for field in [
            VERSION,
            self.dims() as u32,
            self.m() as u32,
            self.sub_dims() as u32,
            KS as u32,
            metric_code(self.metric()),
        ] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        for &x in centroids {
            out.extend_from_slice(&x.to_le_bytes());
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses bytes written by [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        parse(bytes, Path::new(IN_MEMORY))
    }

    /// [`from_bytes`](Self::from_bytes) for bytes embedded in `file` (an
    /// index's graph file): errors name that file.
    pub(crate) fn from_bytes_in(bytes: &[u8], file: &Path) -> Result<Self> {
        parse(bytes, file)
    }

    /// Writes the codebook to `path`, through a temporary file renamed into
    /// place so a crash never leaves a half-written codebook under `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::store::directory::atomic_write(path.as_ref(), &self.to_bytes())
    }

    /// Reads a codebook written by [`save`](Self::save). Check it against
    /// the index it belongs to with
    /// [`ensure_compatible`](Self::ensure_compatible).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        parse(&bytes, path)
    }
}

/// Checks and parses a codebook; `file` names the source in errors.
fn parse(bytes: &[u8], file: &Path) -> Result<ProductQuantizer> {
    let corrupt = |offset: usize, reason: String| Error::Corrupt {
        file: file.to_path_buf(),
        offset: offset as u64,
        reason,
    };
    if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
        return Err(Error::Incompatible {
            file: file.to_path_buf(),
            reason: "not an OmenDB PQ codebook (magic bytes differ)".into(),
        });
    }
    if bytes.len() < HEADER_LEN + FOOTER_LEN {
        return Err(corrupt(
            bytes.len(),
            format!(
                "truncated: {} bytes, shorter than the {}-byte header and checksum",
                bytes.len(),
                HEADER_LEN + FOOTER_LEN
            ),
        ));
    }
    let version = u32_at(bytes, 8);
    if version != VERSION {
        return Err(Error::Incompatible {
            file: file.to_path_buf(),
            reason: format!("codebook format version {version}; this build reads {VERSION}"),
        });
    }
    let body = bytes.len() - FOOTER_LEN;
    let (stored, actual) = (u32_at(bytes, body), crc32c::crc32c(&bytes[..body]));
    if stored != actual {
        return Err(corrupt(
            body,
            format!("checksum mismatch (stored {stored:#010x}, computed {actual:#010x}): the file is truncated or damaged"),
        ));
    }
    let [dims, m, sub_dims, ks, metric] =
        [12, 16, 20, 24, 28].map(|offset| u32_at(bytes, offset) as usize);
    let metric = metric_from_code(metric as u32)
        .ok_or_else(|| corrupt(28, format!("unknown metric code {metric}")))?;
    if ks != KS {
        return Err(corrupt(
            24,
            format!("{ks} centroids per sub-space; expected {KS}"),
        ));
    }
    match sub_dims_for(dims, m) {
        Ok(s) if s == sub_dims => {}
        _ => {
            return Err(corrupt(
                12,
                format!("dims {dims}, m {m} and sub_dims {sub_dims} do not fit together"),
            ))
        }
    }
    let floats = m * KS * sub_dims;
    if body - HEADER_LEN != floats * 4 {
        return Err(corrupt(
            HEADER_LEN,
            format!(
                "{} centroid bytes; dims {dims} and m {m} need {}",
                body - HEADER_LEN,
                floats * 4
            ),
        ));
    }
    let mut centroids = Vec::with_capacity(floats);
    for (i, b) in bytes[HEADER_LEN..body].chunks_exact(4).enumerate() {
        let x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        if !x.is_finite() {
            return Err(corrupt(
                HEADER_LEN + 4 * i,
                format!("non-finite centroid value {x}"),
            ));
        }
        centroids.push(x);
    }
    ProductQuantizer::from_parts(dims, metric, m, centroids)
}
