//! The quantizer as bytes, for a checkpoint section: every field checked on
//! the way back, bad bytes a typed error.
//!
//! ```text
//! 0       8   magic "OMENSQ8\0"
//! 8       4   version (u32)
//! 12      4   dims (u32), 1..=8192
//! 16      4   metric (u32): 0 L2, 1 cosine, 2 inner product
//! 20      4   step (f32), finite and > 0
//! 24      4d  offsets (f32 each), finite
//! 24+4d   4   crc32c of every byte before it
//! ```

use std::path::{Path, PathBuf};

use super::Sq8Quantizer;
use crate::distance::int::MAX_DIMS;
use crate::error::{Error, Result};
use crate::metric::Metric;

/// The first bytes of a serialised SQ8 quantizer.
pub const MAGIC: [u8; 8] = *b"OMENSQ8\0";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
const HEADER: usize = 24;

/// Names bytes that came from no file in errors.
const IN_MEMORY: &str = "<in-memory SQ8 quantizer>";

fn metric_code(m: Metric) -> u32 {
    match m {
        Metric::L2 => 0,
        Metric::Cosine => 1,
        Metric::InnerProduct => 2,
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

impl Sq8Quantizer {
    /// The quantizer's bytes (see the module doc for the layout).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + 4 * self.dims() + 4);
        out.extend_from_slice(&MAGIC);
        for field in [VERSION, self.dims() as u32, metric_code(self.metric())] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        out.extend_from_slice(&self.step().to_le_bytes());
        for x in self.offsets() {
            out.extend_from_slice(&x.to_le_bytes());
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses bytes written by [`to_bytes`](Self::to_bytes): other magic
    /// bytes or version are [`Error::Incompatible`], anything else wrong
    /// [`Error::Corrupt`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        parse(bytes, Path::new(IN_MEMORY))
    }

    /// [`from_bytes`](Self::from_bytes) for bytes inside `file`, named in
    /// errors.
    pub(crate) fn from_bytes_in(bytes: &[u8], file: &Path) -> Result<Self> {
        parse(bytes, file)
    }
}

fn parse(b: &[u8], file: &Path) -> Result<Sq8Quantizer> {
    let file: PathBuf = file.to_path_buf();
    let corrupt = |offset: usize, reason: String| Error::Corrupt {
        file: file.clone(),
        offset: offset as u64,
        reason,
    };
    if b.len() < MAGIC.len() || b[..MAGIC.len()] != MAGIC {
        return Err(Error::Incompatible {
            file: file.clone(),
            reason: "not an OmenDB SQ8 quantizer (magic bytes differ)".into(),
        });
    }
    if b.len() < HEADER + 4 {
        return Err(corrupt(
            b.len(),
            format!("{} bytes, shorter than the header", b.len()),
        ));
    }
    let version = u32_at(b, 8);
    if version != VERSION {
        return Err(Error::Incompatible {
            file: file.clone(),
            reason: format!("SQ8 quantizer version {version}; this build reads {VERSION}"),
        });
    }
    let dims = u32_at(b, 12) as usize;
    if dims == 0 || dims > MAX_DIMS {
        return Err(corrupt(
            12,
            format!("{dims} dimensions, outside 1..={MAX_DIMS}"),
        ));
    }
    let want = HEADER + 4 * dims + 4;
    if b.len() != want {
        return Err(corrupt(
            b.len().min(want),
            format!("{} bytes; {dims} dimensions need {want}", b.len()),
        ));
    }
    let stored = u32_at(b, want - 4);
    if crc32c::crc32c(&b[..want - 4]) != stored {
        return Err(corrupt(want - 4, "checksum mismatch".into()));
    }
    let metric = match u32_at(b, 16) {
        0 => Metric::L2,
        1 => Metric::Cosine,
        2 => Metric::InnerProduct,
        other => return Err(corrupt(16, format!("unknown metric code {other}"))),
    };
    let step = f32::from_le_bytes(b[20..24].try_into().expect("4 bytes"));
    if !(step.is_finite() && step > 0.0) {
        return Err(corrupt(
            20,
            format!("step {step} is not finite and positive"),
        ));
    }
    let lo: Vec<f32> = b[HEADER..want - 4]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect();
    if let Some(j) = lo.iter().position(|x| !x.is_finite()) {
        return Err(corrupt(HEADER + 4 * j, format!("offset {j} is not finite")));
    }
    Sq8Quantizer::from_parts(metric, lo, step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sq8::Sq8Params;

    fn quantizer() -> Sq8Quantizer {
        let v: Vec<f32> = (0..300 * 5).map(|i| (i % 17) as f32 * 0.3).collect();
        Sq8Quantizer::train(5, Metric::Cosine, &v, &Sq8Params::default()).unwrap()
    }

    #[test]
    fn round_trips() {
        let q = quantizer();
        assert_eq!(Sq8Quantizer::from_bytes(&q.to_bytes()).unwrap(), q);
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_is_an_error() {
        let good = quantizer().to_bytes();
        for len in 0..good.len() {
            assert!(
                Sq8Quantizer::from_bytes(&good[..len]).is_err(),
                "cut at {len}"
            );
        }
        let mut long = good.clone();
        long.push(0);
        assert!(matches!(
            Sq8Quantizer::from_bytes(&long),
            Err(Error::Corrupt { .. })
        ));
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x40;
            assert!(
                matches!(
                    Sq8Quantizer::from_bytes(&bad),
                    Err(Error::Corrupt { .. } | Error::Incompatible { .. })
                ),
                "flip at {i}"
            );
        }
    }

    #[test]
    fn checksummed_nonsense_is_still_refused() {
        let mut b = quantizer().to_bytes();
        let n = b.len();
        for (at, value) in [
            (16, 7u32),
            (20, f32::NAN.to_bits()),
            (20, 0),
            (24, f32::INFINITY.to_bits()),
        ] {
            let mut bad = b.clone();
            bad[at..at + 4].copy_from_slice(&value.to_le_bytes());
            let crc = crc32c::crc32c(&bad[..n - 4]);
            bad[n - 4..].copy_from_slice(&crc.to_le_bytes());
            assert!(
                matches!(Sq8Quantizer::from_bytes(&bad), Err(Error::Corrupt { offset, .. }) if offset == at as u64),
                "field at {at}"
            );
        }
        b[8] = 9;
        assert!(matches!(
            Sq8Quantizer::from_bytes(&b),
            Err(Error::Incompatible { .. })
        ));
    }
}
