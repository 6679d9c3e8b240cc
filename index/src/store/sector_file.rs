//! A file of fixed-size blocks (whole 4 KiB sectors), each holding the
//! records of one or more nodes, read a few blocks at a time: the on-disk
//! half of the sector index (`sector/`), as DiskANN lays out its graph so
//! that one read brings a node's full vector and its neighbour list.
//!
//! ```text
//! block 0        the 64-byte file header (kind `Sectors`; count = nodes,
//!                capacity = blocks after block 0), then
//!                64  8  bytes per node record (u64)
//!                72  8  records per block (u64)
//!                80  8  bytes per block (u64)
//!                zeros to the end of the block
//! block 1 + b    records b·per_block … b·per_block + per_block − 1, side by
//!                side from the block's start, then zeros
//! ```
//!
//! A record that does not fit one sector gets a block of as many sectors as
//! it needs, alone. The blocks carry no checksum: the reader keeps each
//! block's crc32c in RAM (written beside the file by its caller) and checks
//! every block it reads.
//!
//! Reads go through the page cache, announced together first
//! (`POSIX_FADV_WILLNEED`), so the blocks of one beam step are read from the
//! device at once; or, opened `direct`, bypass it (`O_DIRECT`, the reads of
//! a step in flight at once through kernel AIO, `aio.rs`), so that every
//! read is a device read (the cold figures).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::format::{u64_at, FileHeader, FileKind, HEADER_LEN};
use super::io;
use crate::error::{Error, Result};
use crate::metric::Metric;

/// Bytes in a sector, the unit blocks are made of.
pub const SECTOR: usize = 4096;

/// How records sit in blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockLayout {
    /// Bytes of one node's record.
    pub node_bytes: usize,
    /// Records per block.
    pub per_block: usize,
    /// Bytes per block (a multiple of [`SECTOR`]).
    pub block_bytes: usize,
}

impl BlockLayout {
    /// As many records of `node_bytes` as fit a sector per block, or one
    /// record per block of as many sectors as it needs.
    pub fn for_record(node_bytes: usize) -> Self {
        let node_bytes = node_bytes.max(1);
        if node_bytes <= SECTOR {
            BlockLayout {
                node_bytes,
                per_block: SECTOR / node_bytes,
                block_bytes: SECTOR,
            }
        } else {
            BlockLayout {
                node_bytes,
                per_block: 1,
                block_bytes: node_bytes.div_ceil(SECTOR) * SECTOR,
            }
        }
    }

    /// The block (counted from 0, after the header block) holding `node`.
    #[inline]
    pub fn block_of(&self, node: u32) -> u64 {
        node as u64 / self.per_block as u64
    }

    /// Where `node`'s record starts in its block.
    #[inline]
    pub fn offset_in_block(&self, node: u32) -> usize {
        (node as usize % self.per_block) * self.node_bytes
    }

    /// Blocks that `nodes` records take.
    pub fn blocks_for(&self, nodes: usize) -> u64 {
        nodes.div_ceil(self.per_block) as u64
    }
}

/// Writes a block file record by record.
pub struct SectorWriter {
    out: BufWriter<File>,
    path: PathBuf,
    layout: BlockLayout,
    block: Vec<u8>,
    in_block: usize,
    crcs: Vec<u32>,
}

impl SectorWriter {
    /// Creates `path` (truncating it) for `nodes` records of `layout`.
    pub fn create(
        path: &Path,
        dims: usize,
        metric: Metric,
        nodes: usize,
        layout: BlockLayout,
    ) -> Result<Self> {
        let err = |e| Error::io(path, e);
        let file = io::create(path).map_err(err)?;
        let mut header = FileHeader::new(FileKind::Sectors, dims, metric);
        header.count = nodes as u64;
        header.capacity = layout.blocks_for(nodes);
        header.generation = 0;
        let mut first = vec![0u8; layout.block_bytes];
        first[..HEADER_LEN].copy_from_slice(&header.encode());
        first[64..72].copy_from_slice(&(layout.node_bytes as u64).to_le_bytes());
        first[72..80].copy_from_slice(&(layout.per_block as u64).to_le_bytes());
        first[80..88].copy_from_slice(&(layout.block_bytes as u64).to_le_bytes());
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(&first).map_err(err)?;
        Ok(SectorWriter {
            out,
            path: path.to_path_buf(),
            layout,
            block: vec![0u8; layout.block_bytes],
            in_block: 0,
            crcs: Vec::with_capacity(layout.blocks_for(nodes) as usize),
        })
    }

    /// Appends the next node's record (`layout.node_bytes` long).
    pub fn push(&mut self, record: &[u8]) -> Result<()> {
        debug_assert_eq!(record.len(), self.layout.node_bytes);
        let at = self.in_block * self.layout.node_bytes;
        self.block[at..at + record.len()].copy_from_slice(record);
        self.in_block += 1;
        if self.in_block == self.layout.per_block {
            self.flush_block()?;
        }
        Ok(())
    }

    fn flush_block(&mut self) -> Result<()> {
        self.crcs.push(crc32c::crc32c(&self.block));
        self.out
            .write_all(&self.block)
            .map_err(|e| Error::io(&self.path, e))?;
        self.block.fill(0);
        self.in_block = 0;
        Ok(())
    }

    /// Writes the last block, syncs the file and returns each block's
    /// crc32c.
    pub fn finish(mut self) -> Result<Vec<u32>> {
        if self.in_block > 0 {
            self.flush_block()?;
        }
        let path = self.path.clone();
        let file = self
            .out
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        io::sync_all(&file, &path).map_err(|e| Error::io(&path, e))?;
        Ok(self.crcs)
    }
}

/// Buffers for a few blocks, aligned for `O_DIRECT`, with the kernel AIO
/// context that reads a direct file's blocks into them at once.
pub struct BlockBufs {
    raw: Vec<u8>,
    start: usize,
    block_bytes: usize,
    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    aio: Option<super::aio::Aio>,
}

impl BlockBufs {
    /// Room for `count` blocks of `block_bytes`.
    pub fn new(count: usize, block_bytes: usize) -> Self {
        let raw = vec![0u8; count * block_bytes + SECTOR];
        let start = raw.as_ptr().align_offset(SECTOR).min(SECTOR);
        BlockBufs {
            raw,
            start,
            block_bytes,
            #[cfg(all(
                target_os = "linux",
                any(target_arch = "x86_64", target_arch = "aarch64")
            ))]
            aio: None,
        }
    }

    /// Bytes of the buffers.
    pub fn bytes(&self) -> usize {
        self.raw.len()
    }

    /// Blocks these buffers hold.
    pub fn capacity(&self) -> usize {
        (self.raw.len() - SECTOR) / self.block_bytes
    }

    /// Block buffer `i`.
    pub fn block(&self, i: usize) -> &[u8] {
        let at = self.start + i * self.block_bytes;
        &self.raw[at..at + self.block_bytes]
    }

    fn block_mut(&mut self, i: usize) -> &mut [u8] {
        let at = self.start + i * self.block_bytes;
        &mut self.raw[at..at + self.block_bytes]
    }
}

/// An open block file.
pub struct SectorFile {
    file: File,
    path: PathBuf,
    layout: BlockLayout,
    blocks: u64,
    direct: bool,
}

impl SectorFile {
    /// Opens `path`, checks its header against `dims`, `metric` and `nodes`,
    /// and its length against the blocks it announces. `direct` reads
    /// bypass the page cache where the platform allows it (Linux).
    pub fn open(
        path: &Path,
        dims: usize,
        metric: Metric,
        nodes: usize,
        direct: bool,
    ) -> Result<Self> {
        let err = |e| Error::io(path, e);
        let file = File::open(path).map_err(err)?;
        let mut first = vec![0u8; SECTOR];
        read_exact_at(&file, &mut first, 0).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                super::format::corrupt(path, 0, "shorter than its header block")
            } else {
                Error::io(path, e)
            }
        })?;
        let header = FileHeader::decode(&first, FileKind::Sectors, path)?;
        header.expect_shape(dims, metric, path)?;
        let layout = BlockLayout {
            node_bytes: u64_at(&first, 64) as usize,
            per_block: u64_at(&first, 72) as usize,
            block_bytes: u64_at(&first, 80) as usize,
        };
        let bad = |reason: String| super::format::corrupt(path, 64, reason);
        if header.count != nodes as u64 {
            return Err(bad(format!(
                "holds {} nodes, its index {nodes}",
                header.count
            )));
        }
        let expected = BlockLayout::for_record(layout.node_bytes);
        if layout != expected || header.capacity != layout.blocks_for(nodes) {
            return Err(bad(format!("inconsistent block layout {layout:?}")));
        }
        let blocks = header.capacity;
        let want = (blocks + 1) * layout.block_bytes as u64;
        let len = file.metadata().map_err(err)?.len();
        if len != want {
            return Err(super::format::corrupt(
                path,
                len.min(want),
                format!("{len} bytes, its blocks need {want}"),
            ));
        }
        let file = if direct {
            open_direct(path)?.unwrap_or(file)
        } else {
            file
        };
        Ok(SectorFile {
            file,
            path: path.to_path_buf(),
            layout,
            blocks,
            direct,
        })
    }

    /// How records sit in blocks.
    pub fn layout(&self) -> BlockLayout {
        self.layout
    }

    /// Whether reads bypass the page cache (`O_DIRECT` was asked for and
    /// the file system took it).
    pub fn direct(&self) -> bool {
        self.direct
    }

    /// Blocks of records (the header block not counted).
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// Bytes of the file.
    pub fn file_bytes(&self) -> u64 {
        (self.blocks + 1) * self.layout.block_bytes as u64
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads `blocks` into `bufs` (block `blocks[i]` into buffer `i`):
    /// through the page cache after announcing all of them, so their device
    /// reads run at once, or each straight from the device (`direct`).
    pub fn read_blocks(&self, blocks: &[u64], bufs: &mut BlockBufs) -> Result<()> {
        assert!(blocks.len() <= bufs.capacity(), "more blocks than buffers");
        let bb = self.layout.block_bytes as u64;
        if let Some(&b) = blocks.iter().find(|&&b| b >= self.blocks) {
            return Err(super::format::corrupt(
                &self.path,
                (b + 1) * bb,
                format!("block {b} past the file's {} blocks", self.blocks),
            ));
        }
        if !self.direct && blocks.len() > 1 {
            for &b in blocks {
                advise(&self.file, (b + 1) * bb, bb, Advice::WillNeed);
            }
        }
        #[cfg(all(
            target_os = "linux",
            any(target_arch = "x86_64", target_arch = "aarch64")
        ))]
        if self.direct && blocks.len() > 1 && self.read_direct_at_once(blocks, bufs)? {
            return Ok(());
        }
        self.read_one_by_one(blocks, bufs)
    }

    /// Reads `blocks` one after another into `bufs`.
    fn read_one_by_one(&self, blocks: &[u64], bufs: &mut BlockBufs) -> Result<()> {
        let bb = self.layout.block_bytes as u64;
        for (i, &b) in blocks.iter().enumerate() {
            read_exact_at(&self.file, bufs.block_mut(i), (b + 1) * bb)
                .map_err(|e| Error::io(&self.path, e))?;
        }
        Ok(())
    }

    /// Reads `blocks` of a direct file all in flight at once (kernel AIO);
    /// `false`, with nothing read, where the kernel refuses a context.
    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    fn read_direct_at_once(&self, blocks: &[u64], bufs: &mut BlockBufs) -> Result<bool> {
        use std::os::fd::AsRawFd;
        let mut aio = match bufs.aio.take() {
            Some(aio) => aio,
            None => match super::aio::Aio::new(bufs.capacity()) {
                Ok(aio) => aio,
                Err(_) => return Ok(false),
            },
        };
        let bb = self.layout.block_bytes;
        let start = bufs.start;
        let mut reads: Vec<(u64, &mut [u8])> = bufs.raw[start..start + blocks.len() * bb]
            .chunks_mut(bb)
            .zip(blocks)
            .map(|(buf, &b)| ((b + 1) * bb as u64, buf))
            .collect();
        let done = aio.read_all(self.file.as_raw_fd(), &mut reads);
        bufs.aio = Some(aio);
        done.map(|()| true).map_err(|e| Error::io(&self.path, e))
    }

    /// Drops the file's pages from the page cache (they are clean), so the
    /// next reads come from the device.
    pub fn drop_cache(&self) {
        advise(&self.file, 0, 0, Advice::DontNeed);
    }
}

fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = file;
        f.seek(SeekFrom::Start(offset))?;
        f.read_exact(buf)
    }
}

#[cfg(target_os = "linux")]
fn open_direct(path: &Path) -> Result<Option<File>> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
    {
        Ok(f) => Ok(Some(f)),
        // A file system without O_DIRECT (tmpfs): the page cache it is.
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_path: &Path) -> Result<Option<File>> {
    Ok(None)
}

enum Advice {
    WillNeed,
    DontNeed,
}

/// A hint to the page cache about a range of `file` (0 length: to its end).
/// Best effort: a refused hint changes nothing but speed.
fn advise(file: &File, offset: u64, len: u64, advice: Advice) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let advice = match advice {
            Advice::WillNeed => libc::POSIX_FADV_WILLNEED,
            Advice::DontNeed => libc::POSIX_FADV_DONTNEED,
        };
        // SAFETY: posix_fadvise only reads its integer arguments; the
        // descriptor is owned by `file`, open for the whole call.
        unsafe {
            libc::posix_fadvise(file.as_raw_fd(), offset as i64, len as i64, advice);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len, advice);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_blocks_cached_and_direct() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.oms");
        for node_bytes in [100usize, 4096, 5000] {
            let layout = BlockLayout::for_record(node_bytes);
            let n = 25;
            let mut w = SectorWriter::create(&path, 4, Metric::L2, n, layout).unwrap();
            for i in 0..n {
                w.push(&vec![i as u8 + 1; node_bytes]).unwrap();
            }
            let crcs = w.finish().unwrap();
            assert_eq!(crcs.len() as u64, layout.blocks_for(n));
            for direct in [false, true] {
                let f = SectorFile::open(&path, 4, Metric::L2, n, direct).unwrap();
                let mut bufs = BlockBufs::new(3, layout.block_bytes);
                let nodes = [0u32, 24, 7];
                let blocks: Vec<u64> = nodes.iter().map(|&v| layout.block_of(v)).collect();
                f.read_blocks(&blocks, &mut bufs).unwrap();
                for (i, &v) in nodes.iter().enumerate() {
                    let b = bufs.block(i);
                    assert_eq!(crc32c::crc32c(b), crcs[blocks[i] as usize]);
                    let at = layout.offset_in_block(v);
                    assert!(b[at..at + node_bytes].iter().all(|&x| x == v as u8 + 1));
                }
                let past = f.read_blocks(&[f.blocks()], &mut bufs);
                assert!(matches!(past, Err(Error::Corrupt { .. })), "{past:?}");
                f.drop_cache();
            }
            assert!(matches!(
                SectorFile::open(&path, 4, Metric::L2, n + 1, false),
                Err(Error::Corrupt { .. })
            ));
            assert!(SectorFile::open(&path, 5, Metric::L2, n, false).is_err());
        }
        // Cut short: refused at open.
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(SECTOR as u64 * 2).unwrap();
        assert!(matches!(
            SectorFile::open(&path, 4, Metric::L2, 25, false),
            Err(Error::Corrupt { .. })
        ));
    }
}
