//! Several reads of one file in flight at once, without threads: Linux's
//! native asynchronous I/O (`io_setup` / `io_submit` / `io_getevents`, as
//! DiskANN uses through libaio), for files opened with `O_DIRECT`, where
//! reads bypass the page cache and a plain `pread` would wait for each
//! device read in turn.
//!
//! [`Aio::read_all`] submits every read, then waits for all of them before
//! it returns, on every path (or aborts the process if the kernel will not
//! say they are done): the kernel never writes into a buffer the caller has
//! taken back.

use std::io;
use std::os::fd::RawFd;

/// One kernel AIO context with room for `depth` reads in flight.
#[derive(Debug)]
pub struct Aio {
    ctx: libc::c_ulong,
    depth: usize,
}

/// The kernel's `struct iocb` (x86-64 and aarch64 little-endian layout).
#[repr(C)]
#[derive(Default)]
struct Iocb {
    data: u64,
    key: u32,
    rw_flags: i32,
    opcode: u16,
    reqprio: i16,
    fildes: u32,
    buf: u64,
    nbytes: u64,
    offset: i64,
    reserved2: u64,
    flags: u32,
    resfd: u32,
}

/// The kernel's `struct io_event`.
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct IoEvent {
    data: u64,
    obj: u64,
    res: i64,
    res2: i64,
}

const IOCB_CMD_PREAD: u16 = 0;

impl Aio {
    /// A context for up to `depth` reads at once.
    pub fn new(depth: usize) -> io::Result<Self> {
        let mut ctx: libc::c_ulong = 0;
        // SAFETY: io_setup writes one aio_context_t to the pointer, which
        // points at a live local.
        let r = unsafe { libc::syscall(libc::SYS_io_setup, depth as libc::c_long, &mut ctx) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Aio { ctx, depth })
    }

    /// Reads each `(offset, buffer)` of `reads` in full from `fd`, all in
    /// flight at once (at most `depth`); an `O_DIRECT` file needs aligned
    /// offsets, lengths and buffers. A short read is an error.
    pub fn read_all(&mut self, fd: RawFd, reads: &mut [(u64, &mut [u8])]) -> io::Result<()> {
        assert!(
            reads.len() <= self.depth,
            "more reads than the context holds"
        );
        let iocbs: Vec<Iocb> = reads
            .iter_mut()
            .enumerate()
            .map(|(i, (offset, buf))| Iocb {
                data: i as u64,
                opcode: IOCB_CMD_PREAD,
                fildes: fd as u32,
                buf: buf.as_mut_ptr() as u64,
                nbytes: buf.len() as u64,
                offset: *offset as i64,
                ..Default::default()
            })
            .collect();
        let mut ptrs: Vec<*const Iocb> = iocbs.iter().map(|c| c as *const Iocb).collect();
        let mut submitted = 0usize;
        let mut failure = None;
        while submitted < ptrs.len() {
            let rest = &mut ptrs[submitted..];
            // SAFETY: every iocb names a buffer of `reads`, borrowed
            // mutably for this whole call, and this call reaps every read
            // it submits (below) before the borrows end.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_io_submit,
                    self.ctx,
                    rest.len() as libc::c_long,
                    rest.as_mut_ptr(),
                )
            };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                failure = Some(e);
                break;
            }
            if r == 0 {
                failure = Some(io::Error::other("io_submit accepted no read"));
                break;
            }
            submitted += r as usize;
        }
        let mut events = vec![IoEvent::default(); submitted];
        let mut reaped = 0usize;
        while reaped < submitted {
            // SAFETY: the kernel writes at most `submitted - reaped` events
            // into the slice's remaining room.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_io_getevents,
                    self.ctx,
                    (submitted - reaped) as libc::c_long,
                    (submitted - reaped) as libc::c_long,
                    events[reaped..].as_mut_ptr(),
                    std::ptr::null_mut::<libc::timespec>(),
                )
            };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                // The reads cannot be waited for, and the buffers must never
                // be handed back (nor unwound and freed) while the kernel
                // may write them: stop here. io_getevents with a live
                // context and no timeout fails only on EINTR (retried).
                eprintln!("omendb: io_getevents failed with reads in flight: {e}");
                std::process::abort();
            }
            reaped += r as usize;
        }
        if let Some(e) = failure {
            return Err(e);
        }
        for ev in &events {
            let want = reads[ev.data as usize].1.len() as i64;
            if ev.res < 0 {
                return Err(io::Error::from_raw_os_error(-ev.res as i32));
            }
            if ev.res != want {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("read {} of {want} bytes", ev.res),
                ));
            }
        }
        Ok(())
    }
}

impl Drop for Aio {
    fn drop(&mut self) {
        // SAFETY: the context is this value's own; no read is in flight,
        // as `read_all` reaps all of its reads before returning (or aborts).
        unsafe {
            libc::syscall(libc::SYS_io_destroy, self.ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn reads_land_where_asked_and_short_reads_fail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let bytes: Vec<u8> = (0..5 * 4096).map(|i| (i / 4096) as u8 + 1).collect();
        std::fs::write(&path, &bytes).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let mut aio = Aio::new(4).unwrap();
        let (mut a, mut b, mut c) = (vec![0u8; 4096], vec![0u8; 4096], vec![0u8; 8192]);
        let mut reads = [(4 * 4096, &mut a[..]), (0, &mut b[..]), (4096, &mut c[..])];
        aio.read_all(file.as_raw_fd(), &mut reads).unwrap();
        assert!(a.iter().all(|&x| x == 5) && b.iter().all(|&x| x == 1));
        assert!(c[..4096].iter().all(|&x| x == 2) && c[4096..].iter().all(|&x| x == 3));
        let mut past = [(4 * 4096 + 100, &mut c[..])];
        assert!(aio.read_all(file.as_raw_fd(), &mut past).is_err());
    }
}
