//! Vector rows in a memory-mapped file that grows in large steps.
//!
//! ```text
//! offset        size              field
//! 0             64                file header (kind Vectors; count and capacity
//!                                 as of the last checkpoint or growth)
//! 64            capacity·dims·4   rows, f32 little-endian, row i at 64 + i·dims·4
//! ```
//!
//! Growth extends the file with its blocks allocated (`posix_fallocate`,
//! see `io::grow`: on a sparse file a full disk would show only when a row
//! is written through the map, as a `SIGBUS`) and maps it again; rows are
//! never copied through RAM. Each step adds the current size, at most [`MAX_STEP_BYTES`], so a
//! large file grows by 1 GiB at a time. [`MmapVectors::shrink_to_fit`] cuts
//! the room off again when the index closes.
//!
//! The rows are read straight from the map: an opened index does not read
//! its vectors into RAM, the kernel pages them in as searches touch them.
//! The header's `count` is informational; how many rows are valid is the
//! graph file's node count (see `disk_hnsw.rs`).

#[cfg(not(target_endian = "little"))]
compile_error!("the memory-mapped vector format assumes a little-endian host");

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicUsize, Ordering};

use memmap2::{MmapMut, MmapOptions};
use parking_lot::Mutex;

use super::format::{corrupt, FileHeader, FileKind, HEADER_LEN};
use super::io::{self as store_io, GatedFile};
use crate::error::{Error, Result};
use crate::metric::Metric;

/// The largest single growth step.
pub const MAX_STEP_BYTES: usize = 1 << 30;
/// The room a new file starts with.
const INITIAL_BYTES: usize = 1 << 20;

/// A vector file and its memory map. Rows are appended beside readers
/// (see [`append`](MmapVectors::append)): a row past the valid length is
/// written, then the length published, and valid rows are never written
/// again; growing the map takes `&mut self`.
#[derive(Debug)]
pub struct MmapVectors {
    path: PathBuf,
    file: File,
    map: MmapMut,
    /// The map's first byte, taken from `map` with write access each time
    /// the map changes: all reads and writes of the rows go through it, so
    /// no reference to the whole map exists while a row is appended.
    base: *mut u8,
    dims: usize,
    metric: Metric,
    len: AtomicUsize,
    appending: Mutex<()>,
    capacity: usize,
    /// Whether writes reach the file (false: a read-only open, whose map is
    /// a private copy-on-write view and grows into anonymous memory).
    shared: bool,
}

// SAFETY: `base` points into `map`, which this value owns and which lives
// as long as it does; what is shared across threads is reads of published
// rows and appends past them under `appending` (see the type's doc), the
// same discipline `AppendVec` keeps for RAM columns.
unsafe impl Send for MmapVectors {}
// SAFETY: as for `Send`.
unsafe impl Sync for MmapVectors {}

impl MmapVectors {
    /// Creates a new, empty vector file at `path` (which must not exist).
    pub fn create(path: &Path, dims: usize, metric: Metric) -> Result<Self> {
        let io = |e| Error::io(path, e);
        let file = store_io::open(
            path,
            OpenOptions::new().read(true).write(true).create_new(true),
        )
        .map_err(io)?;
        let row = dims * 4;
        let capacity = (INITIAL_BYTES / row).max(16);
        store_io::grow(&file, path, 0, (HEADER_LEN + capacity * row) as u64).map_err(io)?;
        let map = map_shared(&file, path)?;
        let mut v = Self::over(path, file, map, (dims, metric), 0, capacity, true);
        v.write_header(0);
        Ok(v)
    }

    /// Creates a vector file at `path` (replacing any file there) holding
    /// `count` rows, row `i` being `row(i)`, with room for `capacity`
    /// (at least `count`): written through the file (not the map) and
    /// synced before it is mapped, so the rows are durable on return. The
    /// file's name becomes durable with the next directory sync.
    pub fn create_from<'r>(
        path: &Path,
        dims: usize,
        metric: Metric,
        count: usize,
        capacity: usize,
        row: impl Fn(usize) -> &'r [f32],
    ) -> Result<Self> {
        let io = |e| Error::io(path, e);
        let capacity = capacity.max(count).max(1);
        let file = store_io::open(
            path,
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true),
        )
        .map_err(io)?;
        let bytes = (HEADER_LEN + capacity * dims * 4) as u64;
        store_io::grow(&file, path, 0, bytes).map_err(io)?;
        let mut out = BufWriter::with_capacity(1 << 20, GatedFile::new(file, path));
        out.write_all(&header(dims, metric, count, capacity))
            .map_err(io)?;
        for i in 0..count {
            let r = row(i);
            debug_assert_eq!(r.len(), dims, "row length");
            for x in r {
                out.write_all(&x.to_le_bytes()).map_err(io)?;
            }
        }
        let file = out
            .into_inner()
            .map_err(|e| Error::io(path, e.into_error()))?
            .into_file();
        store_io::sync_all(&file, path).map_err(io)?;
        let map = map_shared(&file, path)?;
        Ok(Self::over(
            path,
            file,
            map,
            (dims, metric),
            count,
            capacity,
            true,
        ))
    }

    /// Opens an existing vector file whose first `rows` rows are valid.
    /// `writable = false` maps it copy-on-write: nothing is ever written to
    /// the file, and the file may live on a read-only path.
    pub fn open(
        path: &Path,
        dims: usize,
        metric: Metric,
        rows: usize,
        writable: bool,
    ) -> Result<Self> {
        let io = |e| Error::io(path, e);
        let mut file =
            store_io::open(path, OpenOptions::new().read(true).write(writable)).map_err(io)?;
        let file_len = file.metadata().map_err(io)?.len();
        let mut head = vec![0u8; HEADER_LEN.min(file_len as usize)];
        file.read_exact(&mut head).map_err(io)?;
        let header = FileHeader::decode(&head, FileKind::Vectors, path)?;
        header.expect_shape(dims, metric, path)?;
        let row = (dims * 4) as u64;
        let capacity = (file_len - HEADER_LEN as u64) / row;
        if capacity < rows as u64 {
            return Err(corrupt(
                path,
                file_len,
                format!("truncated: room for {capacity} rows, the graph holds {rows}"),
            ));
        }
        let capacity = usize::try_from(capacity)
            .map_err(|_| corrupt(path, 32, "capacity does not fit in memory"))?;
        let map = if writable {
            map_shared(&file, path)?
        } else {
            // SAFETY: a private (copy-on-write) map of a file this process
            // holds the directory lock on; writes stay in this process.
            unsafe { MmapOptions::new().map_copy(&file) }.map_err(io)?
        };
        Ok(Self::over(
            path,
            file,
            map,
            (dims, metric),
            rows,
            capacity,
            writable,
        ))
    }

    /// The vectors of `file`, mapped by `map` (rows of `shape`: dims and
    /// metric), `len` of them valid, room for `capacity`; `shared`: writes
    /// reach the file.
    fn over(
        path: &Path,
        file: File,
        mut map: MmapMut,
        shape: (usize, Metric),
        len: usize,
        capacity: usize,
        shared: bool,
    ) -> Self {
        MmapVectors {
            path: path.to_path_buf(),
            file,
            base: map.as_mut_ptr(),
            map,
            dims: shape.0,
            metric: shape.1,
            len: AtomicUsize::new(len),
            appending: Mutex::new(()),
            capacity,
            shared,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Valid rows.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Row length.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Rows the map has room for.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Every valid row, row-major.
    #[inline(always)]
    pub fn rows(&self) -> &[f32] {
        // SAFETY: the map is at least HEADER_LEN + capacity·dims·4 bytes and
        // len ≤ capacity; its base is page-aligned and HEADER_LEN is a
        // multiple of 4, so the pointer is aligned for f32; every bit
        // pattern is a valid f32. The directory lock keeps other instances
        // of this library from writing the file while it is mapped. Rows
        // below the published length are never written again (`append`
        // writes past it; moving the map takes `&mut self`).
        unsafe {
            std::slice::from_raw_parts(
                self.base.add(HEADER_LEN).cast::<f32>(),
                self.len() * self.dims,
            )
        }
    }

    /// Row `i`.
    #[inline(always)]
    pub fn get(&self, i: usize) -> &[f32] {
        &self.rows()[i * self.dims..(i + 1) * self.dims]
    }

    /// The valid rows as bytes (what the checkpoint checksums).
    pub fn row_bytes(&self) -> &[u8] {
        let rows = self.rows();
        // SAFETY: the same bytes as `rows`, viewed as bytes (any f32 is 4
        // initialised bytes).
        unsafe { std::slice::from_raw_parts(rows.as_ptr().cast::<u8>(), rows.len() * 4) }
    }

    /// Makes room for `extra` more rows, growing the file if needed.
    pub fn reserve(&mut self, extra: usize) -> Result<()> {
        let need = self.len() + extra;
        if need <= self.capacity {
            return Ok(());
        }
        let row = self.dims * 4;
        let mut cap = self.capacity.max(1);
        while cap < need {
            cap += (cap * row).min(MAX_STEP_BYTES).div_ceil(row).max(1);
        }
        self.grow_to(cap)
    }

    #[cfg(test)]
    /// Appends one row, growing the file first when it is full (reserve
    /// room for a batch with [`reserve`](Self::reserve) so that no push of
    /// it can fail half way). A file that cannot grow is an error.
    pub fn push(&mut self, v: &[f32]) -> Result<()> {
        self.reserve(1)?;
        let appended = self.append(v);
        debug_assert!(appended, "room reserved above");
        Ok(())
    }

    /// Appends one row beside readers, if the map has room for it; returns
    /// `false` (writing nothing) when it is full.
    pub fn append(&self, v: &[f32]) -> bool {
        assert_eq!(v.len(), self.dims, "row length");
        let _one = self.appending.lock();
        let len = self.len.load(Ordering::Relaxed);
        if len == self.capacity {
            return false;
        }
        let at = HEADER_LEN + len * self.dims * 4;
        // SAFETY: at + dims·4 ≤ HEADER_LEN + capacity·dims·4 ≤ map length
        // (len < capacity); aligned as in `rows`. The row is past the
        // published length, so no reader has a reference to it, and
        // `appending` keeps other appenders out.
        let dst =
            unsafe { std::slice::from_raw_parts_mut(self.base.add(at).cast::<f32>(), self.dims) };
        dst.copy_from_slice(v);
        self.len.store(len + 1, Ordering::Release);
        true
    }

    fn grow_to(&mut self, cap: usize) -> Result<()> {
        let bytes = HEADER_LEN + cap * self.dims * 4;
        if self.shared {
            let from = HEADER_LEN + self.capacity * self.dims * 4;
            store_io::grow(&self.file, &self.path, from as u64, bytes as u64)
                .map_err(|e| Error::io(&self.path, e))?;
            self.map = map_shared(&self.file, &self.path)?;
            self.base = self.map.as_mut_ptr();
        } else {
            // A read-only open replaying its log: the file cannot grow, so
            // the rows move to anonymous memory (the only copy through RAM).
            let mut map = MmapMut::map_anon(bytes).map_err(|e| Error::io(&self.path, e))?;
            let used = HEADER_LEN + self.len() * self.dims * 4;
            map[..used].copy_from_slice(&self.map[..used]);
            self.map = map;
            self.base = self.map.as_mut_ptr();
        }
        self.capacity = cap;
        if self.shared {
            self.write_header(self.len());
        }
        Ok(())
    }

    /// Rewrites the header with `count` rows and the current capacity.
    pub fn write_header(&mut self, count: usize) {
        let h = header(self.dims, self.metric, count, self.capacity);
        self.map[..HEADER_LEN].copy_from_slice(&h);
        self.base = self.map.as_mut_ptr();
    }

    /// Writes the map and the file's size through to the disk.
    pub fn sync(&self) -> Result<()> {
        if !self.shared {
            return Ok(());
        }
        let io = |e| Error::io(&self.path, e);
        store_io::flush_map(&self.map, &self.path).map_err(io)?;
        store_io::sync_all(&self.file, &self.path).map_err(io)
    }

    /// Cuts the file down to the valid rows (room is added back on the next
    /// push). Used when the index closes, so a closed index holds exactly
    /// header + rows.
    pub fn shrink_to_fit(&mut self) -> Result<()> {
        let len = self.len();
        if !self.shared || self.capacity == len {
            return Ok(());
        }
        let path = self.path.clone();
        let io = |e| Error::io(&path, e);
        let bytes = HEADER_LEN + len * self.dims * 4;
        // Map the smaller length before cutting the file, so no mapped page
        // ever lies past the end of the file.
        // SAFETY: as in `map_shared`; the new map covers only bytes the
        // file keeps.
        let map = unsafe { MmapOptions::new().len(bytes).map_mut(&self.file) }.map_err(io)?;
        self.map = map;
        self.base = self.map.as_mut_ptr();
        self.capacity = len;
        self.write_header(len);
        store_io::flush_map(&self.map, &path).map_err(io)?;
        store_io::set_len(&self.file, &path, bytes as u64).map_err(io)?;
        store_io::sync_all(&self.file, &path).map_err(io)
    }

    /// Size of the file, and the bytes the file system has allocated for it
    /// (smaller while growth room is still sparse, where the file system
    /// cannot allocate ahead).
    pub fn disk_bytes(&self) -> (u64, u64) {
        file_sizes(&self.path)
    }
}

/// A vector file's header: `count` rows valid, room for `capacity`.
fn header(dims: usize, metric: Metric, count: usize, capacity: usize) -> [u8; HEADER_LEN] {
    let mut h = FileHeader::new(FileKind::Vectors, dims, metric);
    h.count = count as u64;
    h.capacity = capacity as u64;
    h.encode()
}

/// A file's logical size and its allocated bytes.
pub fn file_sizes(path: &Path) -> (u64, u64) {
    match std::fs::metadata(path) {
        Ok(m) => {
            #[cfg(unix)]
            let alloc = std::os::unix::fs::MetadataExt::blocks(&m) * 512;
            #[cfg(not(unix))]
            let alloc = m.len();
            (m.len(), alloc)
        }
        Err(_) => (0, 0),
    }
}

fn map_shared(file: &File, path: &Path) -> Result<MmapMut> {
    // SAFETY: the file is opened read-write by this process, which holds
    // the index directory's lock, so no other instance resizes or writes
    // it while mapped; the map is only ever read within its length.
    unsafe { MmapOptions::new().map_mut(file) }.map_err(|e| Error::io(path, e))
}

/// Checks the first `rows` rows of the vector file at `path` against the
/// per-chunk checksums taken at the last checkpoint, reading with plain
/// reads (the pages go to the page cache, not into this process's map).
pub fn verify_rows(
    path: &Path,
    dims: usize,
    rows: usize,
    chunk: usize,
    crcs: &[u32],
) -> Result<()> {
    let io = |e| Error::io(path, e);
    let total = rows * dims * 4;
    if chunk == 0 || crcs.len() != total.div_ceil(chunk) {
        return Err(corrupt(
            path,
            0,
            "vector checksum table does not match the row count",
        ));
    }
    let mut f = store_io::open(path, OpenOptions::new().read(true)).map_err(io)?;
    f.seek(SeekFrom::Start(HEADER_LEN as u64)).map_err(io)?;
    let mut buf = vec![0u8; chunk];
    for (i, &want) in crcs.iter().enumerate() {
        let n = chunk.min(total - i * chunk);
        f.read_exact(&mut buf[..n]).map_err(io)?;
        let got = crc32c::crc32c(&buf[..n]);
        if got != want {
            return Err(corrupt(
                path,
                (HEADER_LEN + i * chunk) as u64,
                format!(
                    "vector rows checksum mismatch (stored {want:#010x}, computed {got:#010x})"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_reopens_and_shrinks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v");
        let mut v = MmapVectors::create(&p, 3, Metric::L2).unwrap();
        let first_cap = v.capacity();
        for i in 0..first_cap * 3 {
            v.reserve(1).unwrap();
            v.push(&[i as f32, 1.0, 2.0]).unwrap();
        }
        assert!(v.capacity() >= first_cap * 3);
        assert_eq!(v.get(first_cap + 1), &[(first_cap + 1) as f32, 1.0, 2.0]);
        v.sync().unwrap();
        let n = v.len();
        v.shrink_to_fit().unwrap();
        assert_eq!(v.disk_bytes().0, (HEADER_LEN + n * 12) as u64);
        drop(v);
        let mut r = MmapVectors::open(&p, 3, Metric::L2, n, false).unwrap();
        assert_eq!(r.get(n - 1)[0], (n - 1) as f32);
        // A read-only map grows into anonymous memory, never the file.
        r.reserve(10).unwrap();
        r.push(&[9.0, 9.0, 9.0]).unwrap();
        assert_eq!(r.get(n), &[9.0, 9.0, 9.0]);
        assert_eq!(r.get(0), &[0.0, 1.0, 2.0]);
        assert_eq!(file_sizes(&p).0, (HEADER_LEN + n * 12) as u64);
        assert!(matches!(
            MmapVectors::open(&p, 3, Metric::L2, n + 1, false),
            Err(Error::Corrupt { .. })
        ));
        assert!(matches!(
            MmapVectors::open(&p, 4, Metric::L2, 1, false),
            Err(Error::Corrupt { .. })
        ));
    }

    #[test]
    fn a_file_that_cannot_grow_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v");
        let mut v = MmapVectors::create(&p, 2, Metric::L2).unwrap();
        // Swap in a read-only handle: `set_len` on it fails, as growth does
        // on a full or read-only file system.
        v.file = std::fs::File::open(&p).unwrap();
        let cap = v.capacity();
        for i in 0..cap {
            v.push(&[i as f32, 0.0]).unwrap();
        }
        assert!(matches!(v.push(&[1.0, 1.0]), Err(Error::Io { .. })));
        assert_eq!(v.len(), cap, "the failed push added nothing");
        let mut store = crate::store::VectorStore::Mapped(v);
        assert!(!store.append(&[1.0, 1.0]), "a full map takes no row");
        assert!(store.try_reserve(10).is_err());
    }
}
