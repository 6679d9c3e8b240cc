//! TEXMEX vector files (SIFT1M, GIST1M, BIGANN): `.fvecs` (f32), `.ivecs`
//! (i32) and `.bvecs` (u8). Each row is a little-endian `i32` dimension
//! followed by that many components.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};

/// Component type of a TEXMEX file, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VecsKind {
    /// `.fvecs`: f32 components.
    F32,
    /// `.ivecs`: i32 components (ground-truth ids).
    I32,
    /// `.bvecs`: u8 components.
    U8,
}

impl VecsKind {
    /// The kind for a path's extension (`fvecs`, `ivecs`, `bvecs`).
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()? {
            "fvecs" => Some(VecsKind::F32),
            "ivecs" => Some(VecsKind::I32),
            "bvecs" => Some(VecsKind::U8),
            _ => None,
        }
    }

    fn width(self) -> usize {
        match self {
            VecsKind::U8 => 1,
            _ => 4,
        }
    }
}

/// Rows read from a TEXMEX file: `rows × dims`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Vecs<T> {
    /// Components per row.
    pub dims: usize,
    /// All rows, row-major.
    pub data: Vec<T>,
}

impl<T> Vecs<T> {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.data.len().checked_div(self.dims).unwrap_or(0)
    }
}

/// Reads the raw rows of a TEXMEX file (at most `limit` rows), checking every
/// row's dimension prefix; components are returned as their raw 1- or 4-byte
/// little-endian bytes.
fn read_raw(path: &Path, kind: VecsKind, limit: Option<usize>) -> Result<(usize, Vec<u8>)> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut r = BufReader::with_capacity(1 << 20, file);
    let w = kind.width();
    let mut dims = 0usize;
    let mut out = Vec::new();
    let mut offset = 0u64;
    let mut row = 0usize;
    while limit.is_none_or(|l| row < l) {
        let mut head = [0u8; 4];
        match read_full(&mut r, &mut head)? {
            0 => break,
            4 => {}
            got => bail!(
                "{}: truncated at byte offset {offset} (row {row}): {got} of the 4 bytes of the dimension prefix",
                path.display()
            ),
        }
        let d = i32::from_le_bytes(head);
        if d <= 0 {
            bail!(
                "{}: row {row} at byte offset {offset} has dimension {d}; expected a positive dimension",
                path.display()
            );
        }
        let d = d as usize;
        if row == 0 {
            dims = d;
            let row_bytes = 4 + d as u64 * w as u64;
            let rows = len / row_bytes;
            let rows = limit.map_or(rows, |l| rows.min(l as u64));
            out.reserve((rows as usize).saturating_mul(d * w));
        } else if d != dims {
            bail!(
                "{}: row {row} at byte offset {offset} has dimension {d} but row 0 has {dims}",
                path.display()
            );
        }
        let start = out.len();
        out.resize(start + d * w, 0);
        let got = read_full(&mut r, &mut out[start..])?;
        if got != d * w {
            bail!(
                "{}: truncated at byte offset {} (row {row}): expected {} bytes of vector data, found {got}",
                path.display(),
                offset + 4,
                d * w
            );
        }
        offset += 4 + (d * w) as u64;
        row += 1;
    }
    if row == 0 {
        bail!("{}: no vectors (empty file)", path.display());
    }
    Ok((dims, out))
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(got)
}

/// Reads an `.fvecs` or `.bvecs` file (chosen by extension) as f32 rows, at
/// most `limit` of them.
pub fn read_vectors(path: &Path, limit: Option<usize>) -> Result<Vecs<f32>> {
    let kind = VecsKind::from_path(path);
    match kind {
        Some(VecsKind::F32) => read_fvecs(path, limit),
        Some(VecsKind::U8) => {
            let (dims, raw) = read_raw(path, VecsKind::U8, limit)?;
            Ok(Vecs {
                dims,
                data: raw.into_iter().map(f32::from).collect(),
            })
        }
        _ => bail!(
            "{}: expected a .fvecs or .bvecs file of vectors",
            path.display()
        ),
    }
}

/// Reads an `.fvecs` file, at most `limit` rows.
pub fn read_fvecs(path: &Path, limit: Option<usize>) -> Result<Vecs<f32>> {
    let (dims, raw) = read_raw(path, VecsKind::F32, limit)?;
    let data = raw
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok(Vecs { dims, data })
}

/// Reads an `.ivecs` file, at most `limit` rows.
pub fn read_ivecs(path: &Path, limit: Option<usize>) -> Result<Vecs<i32>> {
    let (dims, raw) = read_raw(path, VecsKind::I32, limit)?;
    let data = raw
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok(Vecs { dims, data })
}

/// Reads a `.bvecs` file, at most `limit` rows.
pub fn read_bvecs(path: &Path, limit: Option<usize>) -> Result<Vecs<u8>> {
    let (dims, data) = read_raw(path, VecsKind::U8, limit)?;
    Ok(Vecs { dims, data })
}

fn write_rows<T: Copy>(
    path: &Path,
    dims: usize,
    data: &[T],
    bytes: impl Fn(T, &mut Vec<u8>),
) -> Result<()> {
    if dims == 0 || !data.len().is_multiple_of(dims) || dims > i32::MAX as usize {
        bail!(
            "{}: {} components are not whole rows of {dims}",
            path.display(),
            data.len()
        );
    }
    let f = File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
    let mut w = BufWriter::new(f);
    let mut buf = Vec::new();
    for row in data.chunks_exact(dims) {
        buf.clear();
        buf.extend_from_slice(&(dims as i32).to_le_bytes());
        row.iter().for_each(|&x| bytes(x, &mut buf));
        w.write_all(&buf)
            .with_context(|| format!("{}: writing", path.display()))?;
    }
    w.flush()
        .with_context(|| format!("{}: writing", path.display()))
}

/// Writes f32 rows as `.fvecs`.
pub fn write_fvecs(path: &Path, dims: usize, data: &[f32]) -> Result<()> {
    write_rows(path, dims, data, |x, b| {
        b.extend_from_slice(&x.to_le_bytes())
    })
}

/// Writes i32 rows as `.ivecs`.
pub fn write_ivecs(path: &Path, dims: usize, data: &[i32]) -> Result<()> {
    write_rows(path, dims, data, |x, b| {
        b.extend_from_slice(&x.to_le_bytes())
    })
}

/// Writes u8 rows as `.bvecs`.
pub fn write_bvecs(path: &Path, dims: usize, data: &[u8]) -> Result<()> {
    write_rows(path, dims, data, |x, b| b.push(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bvecs_and_ivecs_round_trip_and_limit() {
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path().join("x.bvecs");
        let bytes: Vec<u8> = (0..30).collect();
        write_bvecs(&b, 3, &bytes).unwrap();
        assert_eq!(read_bvecs(&b, None).unwrap().data, bytes);
        let v = read_vectors(&b, Some(2)).unwrap();
        assert_eq!((v.dims, v.rows()), (3, 2));
        assert_eq!(v.data, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        let i = dir.path().join("x.ivecs");
        write_ivecs(&i, 2, &[1, -2, 3, 4]).unwrap();
        assert_eq!(read_ivecs(&i, None).unwrap().data, vec![1, -2, 3, 4]);
    }
}
