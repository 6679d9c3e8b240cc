//! The on-disk framing every index file shares: a fixed header and, for
//! files with structured contents, a run of tagged, checksummed sections.
//!
//! ```text
//! header (64 bytes, every file kind)
//! offset  size  field
//! 0       8     magic, one per file kind (see FileKind)
//! 8       4     format version (u32, currently 1)
//! 12      4     header length (u32, = 64)
//! 16      4     dims (u32)
//! 20      4     metric (u32: 0 L2, 1 cosine, 2 inner product)
//! 24      8     count (u64: rows, nodes; kind-specific)
//! 32      8     capacity (u64: rows the file has room for; kind-specific)
//! 40      8     generation (u64: the checkpoint this file belongs to)
//! 48      12    reserved, zero
//! 60      4     crc32c of bytes 0..60
//!
//! section (repeated after the header, in files that have sections)
//! 0       4     kind (u32)
//! 4       4     flags (u32; bit 0 = required: a reader that does not know
//!               the kind must refuse the file rather than skip it)
//! 8       8     payload length (u64)
//! 16      4     crc32c of the payload
//! 20      4     crc32c of bytes 0..20 of this section header
//! 24      len   payload, then zero padding to a multiple of 8
//! ```
//!
//! A file with sections ends with a section of kind [`SECTION_END`] and an
//! empty payload; nothing may follow it. New kinds of data (PQ codes, say)
//! are new section kinds: older readers skip them when they are optional.
//!
//! All integers are little-endian. Parsers never panic on bad bytes: a
//! different magic or a newer version is [`Error::Incompatible`], anything
//! else wrong is [`Error::Corrupt`] naming the file and the byte offset.

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::metric::Metric;

/// The format version this build writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes in every file header.
pub const HEADER_LEN: usize = 64;
/// Bytes in a section header.
pub const SECTION_HEADER_LEN: usize = 24;
/// The section kind that closes a file.
pub const SECTION_END: u32 = 0xFFFF_FFFF;
/// Section flag: a reader that does not know this kind must refuse the file.
pub const FLAG_REQUIRED: u32 = 1;

/// Which file of an index directory a header belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The manifest: dimension, metric and build parameters.
    Manifest,
    /// The memory-mapped vector rows.
    Vectors,
    /// The checkpointed graph: links, levels, ids, deletion marks.
    Graph,
    /// The write-ahead log.
    Wal,
    /// A sector index's blocks: full vectors and neighbour lists
    /// (`sector_file.rs`).
    Sectors,
    /// A sector index's in-RAM part: codes, ids, upper layers, block
    /// checksums (`sector/persist.rs`).
    SectorMeta,
}

impl FileKind {
    const ALL: [FileKind; 6] = [
        FileKind::Manifest,
        FileKind::Vectors,
        FileKind::Graph,
        FileKind::Wal,
        FileKind::Sectors,
        FileKind::SectorMeta,
    ];

    /// The magic bytes that open a file of this kind.
    pub fn magic(self) -> [u8; 8] {
        match self {
            FileKind::Manifest => *b"OMDBMANI",
            FileKind::Vectors => *b"OMDBVECS",
            FileKind::Graph => *b"OMDBGRPH",
            FileKind::Wal => *b"OMDBWLOG",
            FileKind::Sectors => *b"OMDBSECT",
            FileKind::SectorMeta => *b"OMDBSMET",
        }
    }

    /// A human name for errors.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Manifest => "manifest",
            FileKind::Vectors => "vector file",
            FileKind::Graph => "graph file",
            FileKind::Wal => "write-ahead log",
            FileKind::Sectors => "sector file",
            FileKind::SectorMeta => "sector index file",
        }
    }
}

/// The stable code of a metric in file headers.
pub fn metric_code(m: Metric) -> u32 {
    match m {
        Metric::L2 => 0,
        Metric::Cosine => 1,
        Metric::InnerProduct => 2,
    }
}

/// The metric of a stable code, `None` for a code this build does not know.
pub fn metric_from_code(c: u32) -> Option<Metric> {
    match c {
        0 => Some(Metric::L2),
        1 => Some(Metric::Cosine),
        2 => Some(Metric::InnerProduct),
        _ => None,
    }
}

/// A [`Error::Corrupt`] for `file` at `offset`.
pub fn corrupt(file: &Path, offset: u64, reason: impl Into<String>) -> Error {
    Error::Corrupt {
        file: file.to_path_buf(),
        offset,
        reason: reason.into(),
    }
}

/// Reads a little-endian `u32` at `at`; the caller has checked the bounds.
#[inline]
pub fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads a little-endian `u64` at `at`; the caller has checked the bounds.
#[inline]
pub fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

/// The decoded 64-byte header of an index file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHeader {
    /// Which file this is.
    pub kind: FileKind,
    /// Vector dimension.
    pub dims: u32,
    /// Distance metric.
    pub metric: Metric,
    /// Rows or nodes held (meaning depends on the kind).
    pub count: u64,
    /// Rows the file has room for (vector files), else equal to `count`.
    pub capacity: u64,
    /// The checkpoint generation the file belongs to.
    pub generation: u64,
}

impl FileHeader {
    /// A header of `kind` with zero counts and generation.
    pub fn new(kind: FileKind, dims: usize, metric: Metric) -> Self {
        FileHeader {
            kind,
            dims: dims as u32,
            metric,
            count: 0,
            capacity: 0,
            generation: 0,
        }
    }

    /// The header's 64 bytes, checksum included.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&self.kind.magic());
        b[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[12..16].copy_from_slice(&(HEADER_LEN as u32).to_le_bytes());
        b[16..20].copy_from_slice(&self.dims.to_le_bytes());
        b[20..24].copy_from_slice(&metric_code(self.metric).to_le_bytes());
        b[24..32].copy_from_slice(&self.count.to_le_bytes());
        b[32..40].copy_from_slice(&self.capacity.to_le_bytes());
        b[40..48].copy_from_slice(&self.generation.to_le_bytes());
        let crc = crc32c::crc32c(&b[..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Parses and checks the header at the start of `bytes`, which must be
    /// a file of kind `expect`; `file` names it in errors.
    pub fn decode(bytes: &[u8], expect: FileKind, file: &Path) -> Result<Self> {
        if bytes.len() >= 8 && bytes[..8] != expect.magic() {
            let found = FileKind::ALL.iter().find(|k| bytes[..8] == k.magic());
            return Err(Error::Incompatible {
                file: file.to_path_buf(),
                reason: match found {
                    Some(k) => format!("expected a {}, found a {}", expect.name(), k.name()),
                    None => format!("not an OmenDB {} (magic bytes differ)", expect.name()),
                },
            });
        }
        if bytes.len() < HEADER_LEN {
            return Err(corrupt(
                file,
                bytes.len() as u64,
                format!(
                    "truncated: {} bytes, shorter than the {HEADER_LEN}-byte header",
                    bytes.len()
                ),
            ));
        }
        let (stored, actual) = (u32_at(bytes, 60), crc32c::crc32c(&bytes[..60]));
        if stored != actual {
            return Err(corrupt(
                file,
                60,
                format!(
                    "header checksum mismatch (stored {stored:#010x}, computed {actual:#010x})"
                ),
            ));
        }
        let version = u32_at(bytes, 8);
        if version > FORMAT_VERSION {
            return Err(Error::Incompatible {
                file: file.to_path_buf(),
                reason: format!(
                    "format version {version}; this build reads up to {FORMAT_VERSION}"
                ),
            });
        }
        if version == 0 {
            return Err(corrupt(file, 8, "format version 0"));
        }
        let header_len = u32_at(bytes, 12);
        if header_len as usize != HEADER_LEN {
            return Err(corrupt(
                file,
                12,
                format!("header length {header_len}, expected {HEADER_LEN}"),
            ));
        }
        let code = u32_at(bytes, 20);
        let metric = metric_from_code(code)
            .ok_or_else(|| corrupt(file, 20, format!("unknown metric code {code}")))?;
        Ok(FileHeader {
            kind: expect,
            dims: u32_at(bytes, 16),
            metric,
            count: u64_at(bytes, 24),
            capacity: u64_at(bytes, 32),
            generation: u64_at(bytes, 40),
        })
    }

    /// Checks that the file agrees with the index's dimension and metric.
    pub fn expect_shape(&self, dims: usize, metric: Metric, file: &Path) -> Result<()> {
        if self.dims as usize != dims {
            return Err(corrupt(
                file,
                16,
                format!("{} dimensions, the manifest says {dims}", self.dims),
            ));
        }
        if self.metric != metric {
            return Err(corrupt(
                file,
                20,
                format!("metric {:?}, the manifest says {metric:?}", self.metric),
            ));
        }
        Ok(())
    }
}

/// Writes sections to a seekable sink, streaming each payload and patching
/// its header (length and checksum) once the payload is done.
pub struct SectionWriter<W: Write + Seek> {
    out: W,
    /// Where the open section's header starts, its kind, flags, length, crc.
    open: Option<(u64, u32, u32, u64, u32)>,
}

impl<W: Write + Seek> SectionWriter<W> {
    /// A writer appending at the sink's current position.
    pub fn new(out: W) -> Self {
        SectionWriter { out, open: None }
    }

    /// Starts a section of `kind`; close it with [`end`](Self::end).
    pub fn begin(&mut self, kind: u32, flags: u32) -> std::io::Result<()> {
        debug_assert!(self.open.is_none(), "section already open");
        let at = self.out.stream_position()?;
        self.out.write_all(&[0u8; SECTION_HEADER_LEN])?;
        self.open = Some((at, kind, flags, 0, 0));
        Ok(())
    }

    /// Appends payload bytes to the open section.
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some((_, _, _, len, crc)) = &mut self.open {
            *len += bytes.len() as u64;
            *crc = crc32c::crc32c_append(*crc, bytes);
        }
        self.out.write_all(bytes)
    }

    /// Closes the open section: pads it and patches its header.
    pub fn end(&mut self) -> std::io::Result<()> {
        let Some((at, kind, flags, len, crc)) = self.open.take() else {
            return Ok(());
        };
        let pad = (8 - (len % 8) as usize) % 8;
        self.out.write_all(&[0u8; 8][..pad])?;
        let end = self.out.stream_position()?;
        self.out.seek(SeekFrom::Start(at))?;
        self.out.write_all(&section_header(kind, flags, len, crc))?;
        self.out.seek(SeekFrom::Start(end))?;
        Ok(())
    }

    /// Writes a whole section at once.
    pub fn section(&mut self, kind: u32, flags: u32, payload: &[u8]) -> std::io::Result<()> {
        self.begin(kind, flags)?;
        self.write(payload)?;
        self.end()
    }

    /// Writes the closing section and hands back the sink.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.end()?;
        self.section(SECTION_END, FLAG_REQUIRED, &[])?;
        Ok(self.out)
    }
}

/// A section header's 24 bytes.
pub fn section_header(kind: u32, flags: u32, len: u64, crc: u32) -> [u8; SECTION_HEADER_LEN] {
    let mut h = [0u8; SECTION_HEADER_LEN];
    h[0..4].copy_from_slice(&kind.to_le_bytes());
    h[4..8].copy_from_slice(&flags.to_le_bytes());
    h[8..16].copy_from_slice(&len.to_le_bytes());
    h[16..20].copy_from_slice(&crc.to_le_bytes());
    let hcrc = crc32c::crc32c(&h[..20]);
    h[20..24].copy_from_slice(&hcrc.to_le_bytes());
    h
}

/// One checked section of a file.
#[derive(Debug, Clone, Copy)]
pub struct Section<'a> {
    /// Its kind tag.
    pub kind: u32,
    /// Its flags.
    pub flags: u32,
    /// Byte offset of the payload in the file.
    pub offset: u64,
    /// The payload.
    pub payload: &'a [u8],
}

/// Splits the bytes after a file's header into sections, checking every
/// header and payload checksum, that the file ends with [`SECTION_END`] and
/// that nothing follows it. Unknown kinds are returned too: the caller skips
/// optional ones and refuses required ones.
pub fn read_sections<'a>(bytes: &'a [u8], file: &Path) -> Result<Vec<Section<'a>>> {
    let mut at = HEADER_LEN;
    let mut out = Vec::new();
    loop {
        if bytes.len() < at + SECTION_HEADER_LEN {
            return Err(corrupt(
                file,
                at as u64,
                "truncated: the file ends before its closing section",
            ));
        }
        let h = &bytes[at..at + SECTION_HEADER_LEN];
        let (stored, actual) = (u32_at(h, 20), crc32c::crc32c(&h[..20]));
        if stored != actual {
            return Err(corrupt(
                file,
                at as u64,
                format!("section header checksum mismatch (stored {stored:#010x}, computed {actual:#010x})"),
            ));
        }
        let (kind, flags, len) = (u32_at(h, 0), u32_at(h, 4), u64_at(h, 8));
        let start = at + SECTION_HEADER_LEN;
        let room = (bytes.len() - start) as u64;
        if len > room {
            return Err(corrupt(
                file,
                at as u64,
                format!("section of {len} bytes, only {room} left in the file"),
            ));
        }
        let payload = &bytes[start..start + len as usize];
        let (stored, actual) = (u32_at(h, 16), crc32c::crc32c(payload));
        if stored != actual {
            return Err(corrupt(
                file,
                start as u64,
                format!("section {kind:#x} checksum mismatch (stored {stored:#010x}, computed {actual:#010x})"),
            ));
        }
        let padded = (len as usize).div_ceil(8) * 8;
        let pad = bytes
            .get(start + len as usize..start + padded)
            .ok_or_else(|| corrupt(file, bytes.len() as u64, "truncated inside section padding"))?;
        if pad.iter().any(|&b| b != 0) {
            return Err(corrupt(
                file,
                (start + len as usize) as u64,
                "non-zero section padding",
            ));
        }
        if kind == SECTION_END {
            if start + padded != bytes.len() {
                return Err(corrupt(
                    file,
                    (start + padded) as u64,
                    "bytes after the closing section",
                ));
            }
            return Ok(out);
        }
        out.push(Section {
            kind,
            flags,
            offset: start as u64,
            payload,
        });
        at = start + padded;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn sample() -> Vec<u8> {
        let mut h = FileHeader::new(FileKind::Graph, 8, Metric::Cosine);
        h.count = 3;
        h.generation = 7;
        let mut cur = Cursor::new(Vec::new());
        cur.write_all(&h.encode()).unwrap();
        let mut w = SectionWriter::new(cur);
        w.section(1, FLAG_REQUIRED, b"hello").unwrap();
        w.begin(2, 0).unwrap();
        w.write(b"ab").unwrap();
        w.write(b"cdefghij").unwrap();
        w.end().unwrap();
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn header_and_sections_round_trip() {
        let bytes = sample();
        let p = Path::new("x");
        let h = FileHeader::decode(&bytes, FileKind::Graph, p).unwrap();
        assert_eq!(
            (h.dims, h.metric, h.count, h.generation),
            (8, Metric::Cosine, 3, 7)
        );
        let s = read_sections(&bytes, p).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].payload, b"hello");
        assert_eq!(s[1].payload, b"abcdefghij");
        assert_eq!(s[1].flags, 0);
    }

    #[test]
    fn another_kind_or_a_newer_version_is_incompatible() {
        let bytes = sample();
        let p = Path::new("x");
        assert!(matches!(
            FileHeader::decode(&bytes, FileKind::Wal, p),
            Err(Error::Incompatible { .. })
        ));
        let mut newer = bytes.clone();
        newer[8..12].copy_from_slice(&2u32.to_le_bytes());
        let crc = crc32c::crc32c(&newer[..60]);
        newer[60..64].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(
            FileHeader::decode(&newer, FileKind::Graph, p),
            Err(Error::Incompatible { .. })
        ));
    }

    #[test]
    fn every_single_flip_or_cut_is_caught() {
        let bytes = sample();
        let p = Path::new("x");
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x10;
            let ok = FileHeader::decode(&b, FileKind::Graph, p)
                .and_then(|_| read_sections(&b, p).map(|_| ()));
            assert!(ok.is_err(), "flip at {i} went unnoticed");
        }
        for cut in 0..bytes.len() {
            let ok = FileHeader::decode(&bytes[..cut], FileKind::Graph, p)
                .and_then(|_| read_sections(&bytes[..cut], p).map(|_| ()));
            assert!(ok.is_err(), "cut at {cut} went unnoticed");
        }
    }
}
