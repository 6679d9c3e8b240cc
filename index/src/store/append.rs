//! [`AppendVec`]: a column that grows at its end while others read it.
//!
//! The graph's per-node columns (vectors, ids, levels, codes) are read by
//! every search and written only at their end, by one store at a time. An
//! `AppendVec` lets that store run beside readers: its room is allocated
//! ahead, the store writes past the published length, then publishes the
//! new length (release; readers load it with acquire). Published elements
//! are never written again, so a reader borrows them as a plain slice with
//! no lock. Making more room moves the column, so it takes `&mut self`: the
//! owner does it under its exclusive lock, rarely (owners grow by a share
//! of what they hold, not by one).

use std::cell::UnsafeCell;
use std::fmt;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

/// A growable array whose published prefix is read lock-free while one
/// appender at a time writes past it into room reserved beforehand.
pub struct AppendVec<T> {
    buf: Box<[UnsafeCell<MaybeUninit<T>>]>,
    len: AtomicUsize,
    appending: Mutex<()>,
}

// SAFETY: elements below `len` are only read (through `&self`) once
// published; elements at or past `len` are written only by the holder of
// `appending`, and no reference to them exists until `len` is published
// past them (release), after which they are never written again. So
// sharing `&AppendVec<T>` between threads shares only reads of `T` (needs
// `Sync`) and moves of `T` values into the buffer (needs `Send`).
unsafe impl<T: Send + Sync> Sync for AppendVec<T> {}

impl<T> Default for AppendVec<T> {
    fn default() -> Self {
        AppendVec {
            buf: Box::new([]),
            len: AtomicUsize::new(0),
            appending: Mutex::new(()),
        }
    }
}

impl<T: Copy> AppendVec<T> {
    /// An empty column with room for `capacity` elements. The room is
    /// allocated, not touched: pages are committed as elements arrive.
    pub fn with_capacity(capacity: usize) -> Self {
        let buf: Box<[MaybeUninit<T>]> = Box::new_uninit_slice(capacity);
        // SAFETY: `UnsafeCell<MaybeUninit<T>>` is `repr(transparent)` over
        // `MaybeUninit<T>`, so the two slices have the same layout, and the
        // box is re-made with the same length and allocation.
        let buf = unsafe { Box::from_raw(Box::into_raw(buf) as *mut [UnsafeCell<MaybeUninit<T>>]) };
        super::huge::advise(buf.as_ptr(), buf.len());
        AppendVec {
            buf,
            len: AtomicUsize::new(0),
            appending: Mutex::new(()),
        }
    }

    /// A column holding exactly `values` (no room to spare).
    pub fn from_vec(values: Vec<T>) -> Self {
        let column = AppendVec::with_capacity(values.len());
        let appended = column.extend_from_slice(&values);
        debug_assert!(appended);
        column
    }

    /// Published elements.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Whether nothing is published.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Elements the column has room for without moving.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Whether `extra` more elements fit without moving.
    pub fn has_room(&self, extra: usize) -> bool {
        self.capacity() - self.len() >= extra
    }

    /// The published elements.
    #[inline(always)]
    pub fn as_slice(&self) -> &[T] {
        let len = self.len();
        // SAFETY: the first `len` cells were initialised before `len` was
        // published (release, paired with the acquire in `len`) and are
        // never written again: appends write only past `len`, and the
        // methods that move or truncate the buffer take `&mut self`, which
        // cannot coexist with this borrow. The cell type has `T`'s layout.
        unsafe { std::slice::from_raw_parts(self.buf.as_ptr().cast::<T>(), len) }
    }

    /// The published elements, mutably (no reader can hold any).
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        let len = *self.len.get_mut();
        // SAFETY: as in `as_slice`, the first `len` cells are initialised;
        // `&mut self` excludes every other borrow of them.
        unsafe { std::slice::from_raw_parts_mut(self.buf.as_mut_ptr().cast::<T>(), len) }
    }

    /// Appends `values` and publishes them, if they fit; returns `false`
    /// (appending nothing) when they do not.
    pub fn extend_from_slice(&self, values: &[T]) -> bool {
        let _one = self.appending.lock();
        let len = self.len.load(Ordering::Relaxed);
        if values.len() > self.buf.len() - len {
            return false;
        }
        for (cell, &v) in self.buf[len..len + values.len()].iter().zip(values) {
            // SAFETY: the cell is past the published length, so no reader
            // holds a reference to it, and `appending` keeps other
            // appenders out.
            unsafe { (*cell.get()).write(v) };
        }
        self.len.store(len + values.len(), Ordering::Release);
        true
    }

    /// Appends one element, if it fits (see [`extend_from_slice`](Self::extend_from_slice)).
    pub fn push(&self, value: T) -> bool {
        self.extend_from_slice(&[value])
    }

    /// Makes room for `capacity` elements in all, moving the published
    /// ones into a new buffer if the current one is smaller.
    pub fn reserve_total(&mut self, capacity: usize) {
        if capacity <= self.capacity() {
            return;
        }
        let bigger = AppendVec::with_capacity(capacity);
        let appended = bigger.extend_from_slice(self.as_slice());
        debug_assert!(appended);
        *self = bigger;
    }

    /// Bytes of room held (published or not).
    pub fn bytes(&self) -> usize {
        self.capacity() * std::mem::size_of::<T>()
    }
}

impl<T: Copy> std::ops::Deref for AppendVec<T> {
    type Target = [T];

    #[inline(always)]
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T: Copy + fmt::Debug> fmt::Debug for AppendVec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppendVec")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_publish_in_order_and_refuse_beyond_room() {
        let mut v = AppendVec::with_capacity(4);
        assert!(v.is_empty());
        assert!(v.extend_from_slice(&[1u32, 2, 3]));
        assert!(!v.extend_from_slice(&[4, 5]), "two do not fit in one");
        assert_eq!(&*v, &[1, 2, 3]);
        assert!(v.push(4));
        assert!(!v.push(5));
        v.reserve_total(10);
        assert_eq!(v.capacity(), 10);
        assert!(v.extend_from_slice(&[5, 6]));
        assert_eq!(&*v, &[1, 2, 3, 4, 5, 6]);
        assert_eq!(AppendVec::from_vec(vec![7u8, 8]).as_slice(), &[7, 8]);
    }

    #[test]
    fn readers_see_only_whole_published_rows_while_one_thread_appends() {
        const ROW: usize = 16;
        let v = AppendVec::<u64>::with_capacity(ROW * 4_000);
        std::thread::scope(|s| {
            s.spawn(|| {
                for r in 0..4_000u64 {
                    assert!(v.extend_from_slice(&[r; ROW]));
                }
            });
            for _ in 0..2 {
                s.spawn(|| loop {
                    let seen = v.as_slice();
                    assert_eq!(seen.len() % ROW, 0, "a row is published whole");
                    for (r, row) in seen.chunks_exact(ROW).enumerate() {
                        assert!(row.iter().all(|&x| x == r as u64));
                    }
                    if seen.len() == ROW * 4_000 {
                        break;
                    }
                });
            }
        });
    }
}
