//! [`Words`]: a run of link words (`AtomicU32`) owned in RAM, or viewed in
//! place in a mapped graph file after an open. Reads see one slice either
//! way; the first structural change (a node appended) copies a mapped run
//! into RAM, since a mapped file cannot grow under its readers.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use crate::store::mapped_graph::{MappedGraphFile, MappedWords};

/// Link words: layer-0 slots or the upper-layer pool.
#[derive(Debug)]
pub enum Words {
    /// Words in RAM.
    Owned(Vec<AtomicU32>),
    /// A run of words in a mapped graph file, bounds-checked once at open.
    Mapped(MappedWords),
}

impl Default for Words {
    fn default() -> Self {
        Words::Owned(Vec::new())
    }
}

impl Words {
    /// A mapped run; `None` when it does not fit the file or is misaligned.
    pub fn mapped(file: &Arc<MappedGraphFile>, offset: usize, count: usize) -> Option<Self> {
        file.run(offset, count).map(Words::Mapped)
    }

    /// The words, wherever they live.
    #[inline(always)]
    pub fn as_slice(&self) -> &[AtomicU32] {
        match self {
            Words::Owned(v) => v,
            Words::Mapped(run) => run.as_slice(),
        }
    }

    /// The words in RAM, copying a mapped run there first.
    pub fn owned_mut(&mut self) -> &mut Vec<AtomicU32> {
        if let Words::Mapped(_) = self {
            let copy = self
                .as_slice()
                .iter()
                .map(|w| AtomicU32::new(w.load(Ordering::Relaxed)))
                .collect();
            *self = Words::Owned(copy);
        }
        match self {
            Words::Owned(v) => v,
            Words::Mapped(_) => unreachable!("replaced above"),
        }
    }

    /// Bytes of the run, owned or mapped: searches read links all the time,
    /// so a mapped run is memory the index uses (from the page cache rather
    /// than its own heap), and the index's accounting counts it.
    pub fn bytes(&self) -> usize {
        match self {
            Words::Owned(v) => v.capacity() * 4,
            Words::Mapped(run) => run.len() * 4,
        }
    }

    /// Whether the words are viewed in a mapped file (and cannot grow).
    pub fn is_mapped(&self) -> bool {
        matches!(self, Words::Mapped(_))
    }

    /// Bytes viewed in a mapped file.
    pub fn mapped_bytes(&self) -> usize {
        match self {
            Words::Owned(_) => 0,
            Words::Mapped(run) => run.len() * 4,
        }
    }
}

impl std::ops::Deref for Words {
    type Target = [AtomicU32];

    #[inline(always)]
    fn deref(&self) -> &[AtomicU32] {
        self.as_slice()
    }
}
