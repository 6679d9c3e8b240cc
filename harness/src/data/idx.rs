//! IDX image files (MNIST, Fashion-MNIST), gzip-compressed: a big-endian
//! header (magic 2051, count, rows, cols as u32) then `count × rows × cols`
//! unsigned bytes.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use flate2::read::GzDecoder;

/// Magic number of an IDX file of unsigned-byte 3-D data (images).
pub const IMAGES_MAGIC: u32 = 2051;

/// Images read from an IDX file, flattened to f32 pixel values (0–255).
#[derive(Debug, Clone, PartialEq)]
pub struct Images {
    /// `rows × cols`: the vector dimension.
    pub dims: usize,
    /// `count × dims` pixels, row-major.
    pub data: Vec<f32>,
}

/// Reads a gzip-compressed (or, if not gzip, raw) IDX image file.
pub fn read_images(path: &Path) -> Result<Images> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut raw = BufReader::new(file);
    let mut magic = [0u8; 2];
    raw.read_exact(&mut magic)
        .with_context(|| format!("{}: too short to be an IDX file", path.display()))?;
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut r: Box<dyn Read> = if magic == [0x1f, 0x8b] {
        Box::new(GzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    parse_images(&mut r).with_context(|| path.display().to_string())
}

/// Parses an uncompressed IDX image stream.
pub fn parse_images(r: &mut impl Read) -> Result<Images> {
    let mut head = [0u8; 16];
    r.read_exact(&mut head)
        .context("truncated IDX header (fewer than 16 bytes)")?;
    let word = |i: usize| u32::from_be_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let (magic, count, rows, cols) = (word(0), word(4), word(8), word(12));
    ensure!(
        magic == IMAGES_MAGIC,
        "IDX magic number is {magic}; expected {IMAGES_MAGIC} (unsigned-byte images)"
    );
    let dims = rows as usize * cols as usize;
    ensure!(dims > 0, "IDX images are {rows}×{cols}: empty");
    let total = count as usize * dims;
    let mut bytes = Vec::with_capacity(total);
    let got = r
        .take(total as u64)
        .read_to_end(&mut bytes)
        .context("reading IDX pixels")?;
    if got != total {
        bail!(
            "truncated IDX data at byte offset {}: header promises {count} images of {rows}×{cols} ({total} bytes) but only {got} follow (image {})",
            16 + got,
            got / dims
        );
    }
    Ok(Images {
        dims,
        data: bytes.into_iter().map(f32::from).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn idx(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        for w in [IMAGES_MAGIC, count, rows, cols] {
            v.extend_from_slice(&w.to_be_bytes());
        }
        v.extend_from_slice(pixels);
        v
    }

    #[test]
    fn reads_gzip_idx_and_reports_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("images-idx3-ubyte.gz");
        let pixels: Vec<u8> = (0..12).map(|i| i * 20).collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&idx(3, 2, 2, &pixels)).unwrap();
        std::fs::write(&p, gz.finish().unwrap()).unwrap();
        let img = read_images(&p).unwrap();
        assert_eq!(img.dims, 4);
        assert_eq!(img.data[11], 220.0);

        let short = idx(4, 2, 2, &pixels);
        let err = parse_images(&mut &short[..]).unwrap_err().to_string();
        assert!(
            err.contains("truncated") && err.contains("image 3"),
            "{err}"
        );
        let bad = {
            let mut b = idx(1, 1, 1, &[0]);
            b[3] = 1;
            b
        };
        let err = parse_images(&mut &bad[..]).unwrap_err().to_string();
        assert!(err.contains("magic"), "{err}");
    }
}
