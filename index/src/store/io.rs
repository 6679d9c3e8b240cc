//! Every file operation of the store (create, open, write, sync, resize,
//! rename, remove, directory sync, map flush) passes one gate, a small
//! trait: the real file system lets everything through; tests install a
//! failing one that refuses a chosen call — the Nth of a workload, or every
//! call from the Nth on — with `ENOSPC` or `EIO`, so a test can sweep a
//! fault over every I/O call a workload makes (`storage/fault_sweep.rs`).
//!
//! Outside tests the gate is the real one, resolved at compile time.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The kind of a file operation, for the gate and for test reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// Creating, opening or removing a file or directory.
    Open,
    /// Writing bytes.
    Write,
    /// `fsync` / `fdatasync` of a file or a directory, or a map flush.
    Sync,
    /// Changing a file's length.
    Resize,
    /// Renaming.
    Rename,
}

/// Decides whether a file operation may run.
pub(crate) trait Gate {
    /// `Ok` to let `op` on `path` run; the error it must fail with otherwise.
    fn check(&self, op: Op, path: &Path) -> io::Result<()>;
}

/// The real file system: every operation runs.
pub(crate) struct RealFiles;

impl Gate for RealFiles {
    #[inline(always)]
    fn check(&self, _op: Op, _path: &Path) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(not(test))]
#[inline(always)]
fn gate(op: Op, path: &Path) -> io::Result<()> {
    RealFiles.check(op, path)
}

#[cfg(test)]
fn gate(op: Op, path: &Path) -> io::Result<()> {
    failing::check(op, path)
}

/// Creates (or truncates) `path` for writing.
pub(crate) fn create(path: &Path) -> io::Result<File> {
    gate(Op::Open, path)?;
    File::create(path)
}

/// Opens `path` with `opts`.
pub(crate) fn open(path: &Path, opts: &OpenOptions) -> io::Result<File> {
    gate(Op::Open, path)?;
    opts.open(path)
}

/// Creates `dir` and its parents.
pub(crate) fn create_dir_all(dir: &Path) -> io::Result<()> {
    gate(Op::Open, dir)?;
    std::fs::create_dir_all(dir)
}

/// Removes the file at `path`.
pub(crate) fn remove_file(path: &Path) -> io::Result<()> {
    gate(Op::Open, path)?;
    std::fs::remove_file(path)
}

/// Writes all of `buf` to `file` (at its cursor).
pub(crate) fn write_all(file: &mut File, path: &Path, buf: &[u8]) -> io::Result<()> {
    gate(Op::Write, path)?;
    file.write_all(buf)
}

/// Writes `len` zero bytes to `file` at `offset`, leaving its cursor
/// where it was.
pub(crate) fn write_zeros_at(file: &File, path: &Path, offset: u64, len: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    const CHUNK: usize = 64 << 10;
    let zeros = [0u8; CHUNK];
    let mut at = offset;
    while at < offset + len {
        gate(Op::Write, path)?;
        let n = ((offset + len - at) as usize).min(CHUNK);
        file.write_all_at(&zeros[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

/// `fdatasync`.
pub(crate) fn sync_data(file: &File, path: &Path) -> io::Result<()> {
    gate(Op::Sync, path)?;
    file.sync_data()
}

/// Starts a named thread for file work. In tests it runs behind the gate
/// of the thread that starts it, so a fault swept over a workload reaches
/// the threads the store starts too.
pub(crate) fn spawn(
    name: &str,
    work: impl FnOnce() + Send + 'static,
) -> io::Result<std::thread::JoinHandle<()>> {
    #[cfg(test)]
    let work = {
        let gate = failing::installed();
        move || {
            failing::install(gate);
            work()
        }
    };
    std::thread::Builder::new().name(name.into()).spawn(work)
}

/// `fsync`.
pub(crate) fn sync_all(file: &File, path: &Path) -> io::Result<()> {
    gate(Op::Sync, path)?;
    file.sync_all()
}

/// Sets `file`'s length.
pub(crate) fn set_len(file: &File, path: &Path, len: u64) -> io::Result<()> {
    gate(Op::Resize, path)?;
    file.set_len(len)
}

/// Grows `file` from `from` to `len` bytes with the new blocks allocated,
/// so that writing through a map of the new part cannot find the disk full
/// (a `SIGBUS` that kills the process, not an error): a full disk fails
/// here, as an error, before any row is written there. Where the file
/// system cannot allocate ahead, a plain (sparse) resize.
pub(crate) fn grow(file: &File, path: &Path, from: u64, len: u64) -> io::Result<()> {
    gate(Op::Resize, path)?;
    #[cfg(target_os = "linux")]
    if len > from {
        use std::os::unix::io::AsRawFd;
        let (offset, extra) = (from as libc::off_t, (len - from) as libc::off_t);
        // SAFETY: posix_fallocate on a file descriptor this `File` owns and
        // keeps open for the call; it touches no memory of this process.
        match unsafe { libc::posix_fallocate(file.as_raw_fd(), offset, extra) } {
            0 => return Ok(()),
            libc::EOPNOTSUPP | libc::ENOSYS | libc::EINVAL => {}
            errno => return Err(io::Error::from_raw_os_error(errno)),
        }
    }
    file.set_len(len)
}

/// Renames `from` to `to`.
pub(crate) fn rename(from: &Path, to: &Path) -> io::Result<()> {
    gate(Op::Rename, to)?;
    std::fs::rename(from, to)
}

/// Syncs directory `dir`, so renames and creations in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    gate(Op::Sync, dir)?;
    File::open(dir)?.sync_all()
}

/// Flushes a writable map of `path` to its file.
pub(crate) fn flush_map(map: &memmap2::MmapMut, path: &Path) -> io::Result<()> {
    gate(Op::Sync, path)?;
    map.flush()
}

/// A file whose writes pass the gate (for buffered writers).
pub(crate) struct GatedFile {
    file: File,
    path: PathBuf,
}

impl GatedFile {
    /// Wraps `file`, opened at `path`.
    pub(crate) fn new(file: File, path: &Path) -> Self {
        GatedFile {
            file,
            path: path.to_path_buf(),
        }
    }

    /// The file back.
    pub(crate) fn into_file(self) -> File {
        self.file
    }
}

impl Write for GatedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        gate(Op::Write, &self.path)?;
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Seek for GatedFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.file.seek(pos)
    }
}

/// The failing gate of tests, installed per thread.
#[cfg(test)]
pub(crate) mod failing {
    use std::cell::RefCell;
    use std::io;
    use std::path::Path;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    use super::{Gate, Op, RealFiles};

    /// Fails call number `at` (counting from 0) with OS error `errno`, and
    /// with `sticky` every call after it too (a disk that stays full).
    /// Shared by the threads it is installed on ([`with_gate`], and the
    /// threads those start through [`super::spawn`]), which count as one.
    pub(crate) struct FailingFiles {
        at: u64,
        errno: i32,
        sticky: bool,
        calls: AtomicU64,
        failed: Mutex<Vec<(Op, String)>>,
    }

    impl FailingFiles {
        /// A gate failing call `at` (and with `sticky` every later one)
        /// with `errno` (`libc::ENOSPC`, `libc::EIO`).
        pub(crate) fn new(at: u64, errno: i32, sticky: bool) -> Self {
            FailingFiles {
                at,
                errno,
                sticky,
                calls: AtomicU64::new(0),
                failed: Mutex::new(Vec::new()),
            }
        }

        /// Gated calls made so far.
        pub(crate) fn calls(&self) -> u64 {
            self.calls.load(Ordering::SeqCst)
        }

        /// The calls that failed: kind and path.
        pub(crate) fn failed(&self) -> Vec<(Op, String)> {
            self.failed.lock().unwrap().clone()
        }
    }

    impl Gate for FailingFiles {
        fn check(&self, op: Op, path: &Path) -> io::Result<()> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if n == self.at || (self.sticky && n > self.at) {
                self.failed
                    .lock()
                    .unwrap()
                    .push((op, path.display().to_string()));
                return Err(io::Error::from_raw_os_error(self.errno));
            }
            Ok(())
        }
    }

    thread_local! {
        static INSTALLED: RefCell<Option<Arc<FailingFiles>>> = const { RefCell::new(None) };
    }

    /// The gate of the current thread: the installed one, else the real one.
    pub(super) fn check(op: Op, path: &Path) -> io::Result<()> {
        match installed() {
            Some(g) => g.check(op, path),
            None => RealFiles.check(op, path),
        }
    }

    /// The gate installed on this thread, if any.
    pub(super) fn installed() -> Option<Arc<FailingFiles>> {
        INSTALLED.with(|g| g.borrow().clone())
    }

    /// Installs `gate` on this thread (`None`: the real file system).
    pub(super) fn install(gate: Option<Arc<FailingFiles>>) {
        INSTALLED.with(|g| *g.borrow_mut() = gate);
    }

    /// Runs `f` with `gate` installed on this thread (file operations on
    /// other threads are not gated, except on threads started meanwhile
    /// through [`super::spawn`]).
    pub(crate) fn with_gate<T>(gate: &Arc<FailingFiles>, f: impl FnOnce() -> T) -> T {
        install(Some(gate.clone()));
        let out = f();
        install(None);
        out
    }
}
