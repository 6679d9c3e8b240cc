//! How much of a file the page cache holds: `mincore` over a fresh
//! read-only map of it. A memory-mapped index keeps in RAM whatever its
//! searches touched, and the kernel decides how much of that stays; this
//! is the figure to report beside the index's own accounting.

use std::fs::File;
use std::io;
use std::path::Path;

/// Bytes of the file at `path` resident in the page cache now (whole
/// pages; the last one counted up to the file's end). Reading this does
/// not page anything in.
#[cfg(target_os = "linux")]
pub fn resident_bytes(path: &Path) -> io::Result<u64> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(0);
    }
    // SAFETY: a read-only shared map of a file this function opened; it is
    // never read through (only its residency is asked), so a concurrent
    // truncation by another process cannot fault here.
    let map = unsafe { memmap2::MmapOptions::new().map(&file)? };
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    let pages = len.div_ceil(page) as usize;
    let mut flags = vec![0u8; pages];
    // SAFETY: `map` spans `len` bytes from a page-aligned address and stays
    // mapped for the call; `flags` holds one byte per page of that range,
    // as mincore requires.
    let rc = unsafe {
        libc::mincore(
            map.as_ptr() as *mut libc::c_void,
            len as libc::size_t,
            flags.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let whole = flags.iter().filter(|&&f| f & 1 == 1).count() as u64 * page;
    // The last page is partly past the end of the file.
    let last = flags[pages - 1] & 1 == 1;
    Ok(if last {
        whole - (pages as u64 * page - len)
    } else {
        whole
    })
}

/// Bytes of the file at `path` resident in the page cache (not measured
/// on this platform).
#[cfg(not(target_os = "linux"))]
pub fn resident_bytes(_path: &Path) -> io::Result<u64> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "page-cache residency is measured on Linux only",
    ))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn counts_what_was_read_and_nothing_of_a_hole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let len = (1 << 20) + 100;
        // A hole: no page of it is in the cache until read.
        File::create(&p).unwrap().set_len(len).unwrap();
        assert_eq!(resident_bytes(&p).unwrap(), 0);
        let mut f = File::open(&p).unwrap();
        let mut buf = vec![0u8; 256 << 10];
        f.read_exact(&mut buf).unwrap();
        let some = resident_bytes(&p).unwrap();
        assert!((256 << 10..=len).contains(&some), "{some}");
        let mut rest = Vec::new();
        f.read_to_end(&mut rest).unwrap();
        assert_eq!(resident_bytes(&p).unwrap(), len);
        let empty = dir.path().join("e");
        File::create(&empty).unwrap();
        assert_eq!(resident_bytes(&empty).unwrap(), 0);
        assert!(resident_bytes(&dir.path().join("missing")).is_err());
    }
}
