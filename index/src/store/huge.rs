//! Asking the kernel for huge pages under the columns a search walks at
//! random (codes, links, vectors): with 4 KiB pages a 100k-node index's
//! codes alone span 3,000 pages, more than the TLB holds, so most scored
//! neighbours cost a page walk besides their cache misses. Under
//! transparent huge pages in `madvise` mode (the common default) only
//! regions marked `MADV_HUGEPAGE` get 2 MiB pages.

/// Smaller allocations are left alone: they fit the TLB as they are.
const WORTH_IT: usize = 4 << 20;

/// Marks the pages of `len` elements from `ptr` (an allocation this
/// process owns) for huge pages, before they are first touched. Only a
/// hint: refused or unsupported, nothing changes but speed.
pub(crate) fn advise<T>(ptr: *const T, len: usize) {
    let bytes = len.saturating_mul(std::mem::size_of::<T>());
    if bytes < WORTH_IT {
        return;
    }
    advise_bytes(ptr as usize, bytes);
}

#[cfg(target_os = "linux")]
fn advise_bytes(start: usize, bytes: usize) {
    const PAGE: usize = 4096;
    let first = start.next_multiple_of(PAGE);
    let end = (start + bytes) & !(PAGE - 1);
    if end <= first {
        return;
    }
    // SAFETY: `madvise(MADV_HUGEPAGE)` changes no contents and no
    // mapping, only how the kernel backs the range; the range is
    // page-aligned and inside an allocation the caller owns.
    unsafe {
        libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_bytes(_start: usize, _bytes: usize) {}
