//! Per-search scratch reused across searches: an epoch-stamped visited set
//! and the beam search's heaps, checked out of a pool and returned on drop.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use parking_lot::Mutex;

use super::pool::Pool;
use super::search::Candidate;

/// One visited set: a node is visited when its stamp equals the current epoch,
/// so clearing is a counter increment, not a memset.
#[derive(Debug)]
pub struct VisitedList {
    stamps: Vec<u16>,
    epoch: u16,
}

impl VisitedList {
    fn new(capacity: usize) -> Self {
        VisitedList {
            stamps: vec![0; capacity],
            epoch: 0,
        }
    }

    /// Starts a new search over `n` nodes.
    fn reset(&mut self, n: usize) {
        self.grow(n);
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamps.fill(0);
            self.epoch = 1;
        }
    }

    /// Makes room for nodes `0..n`.
    fn grow(&mut self, n: usize) {
        if self.stamps.len() < n {
            self.stamps.resize(n.next_power_of_two().max(1024), 0);
        }
    }

    /// Marks `node`; returns whether it was already visited. A node past
    /// the set's room (stored after the search began) makes room.
    #[inline(always)]
    pub fn check_and_mark(&mut self, node: u32) -> bool {
        if node as usize >= self.stamps.len() {
            self.grow_for(node);
        }
        let slot = &mut self.stamps[node as usize];
        let seen = *slot == self.epoch;
        *slot = self.epoch;
        seen
    }

    #[cold]
    #[inline(never)]
    fn grow_for(&mut self, node: u32) {
        self.grow(node as usize + 1);
    }

    fn bytes(&self) -> usize {
        self.stamps.capacity() * 2
    }
}

/// Everything one search needs besides the graph, kept between searches.
#[derive(Debug)]
pub struct Scratch {
    /// Nodes seen in this search.
    pub visited: VisitedList,
    /// Candidates still to expand, closest first.
    pub frontier: BinaryHeap<Reverse<Candidate>>,
    /// The best `ef` found so far, farthest on top.
    pub results: BinaryHeap<Candidate>,
    /// Unvisited neighbours of the node being expanded.
    pub fresh: Vec<u32>,
    /// The beam of a search that may return every node (`pool.rs`).
    pub pool: Pool,
}

impl Scratch {
    fn new() -> Self {
        Scratch {
            visited: VisitedList::new(0),
            frontier: BinaryHeap::new(),
            results: BinaryHeap::new(),
            fresh: Vec::new(),
            pool: Pool::default(),
        }
    }

    /// Starts a new search over `n` nodes.
    pub fn reset(&mut self, n: usize) {
        self.visited.reset(n);
        self.frontier.clear();
        self.results.clear();
        self.fresh.clear();
    }

    fn bytes(&self) -> usize {
        self.visited.bytes()
            + (self.frontier.capacity() + self.results.capacity())
                * std::mem::size_of::<Candidate>()
            + self.fresh.capacity() * 4
            + self.pool.bytes()
    }
}

/// A pool of scratch spaces shared by all searches of one index.
#[derive(Debug, Default)]
pub struct ScratchPool {
    free: Mutex<Vec<Scratch>>,
}

/// Scratch checked out of the pool; returns itself on drop.
pub struct ScratchHandle<'a> {
    pool: &'a ScratchPool,
    scratch: Option<Scratch>,
}

impl ScratchPool {
    /// Checks out scratch whose visited set is cleared for nodes `0..n`.
    pub fn get(&self, n: usize) -> ScratchHandle<'_> {
        let mut scratch = self.free.lock().pop().unwrap_or_else(Scratch::new);
        scratch.reset(n);
        ScratchHandle {
            pool: self,
            scratch: Some(scratch),
        }
    }

    /// Bytes held by idle scratch spaces.
    pub fn bytes(&self) -> usize {
        self.free.lock().iter().map(Scratch::bytes).sum()
    }
}

impl std::ops::Deref for ScratchHandle<'_> {
    type Target = Scratch;
    fn deref(&self) -> &Scratch {
        self.scratch.as_ref().expect("present until drop")
    }
}

impl std::ops::DerefMut for ScratchHandle<'_> {
    fn deref_mut(&mut self) -> &mut Scratch {
        self.scratch.as_mut().expect("present until drop")
    }
}

impl Drop for ScratchHandle<'_> {
    fn drop(&mut self) {
        if let Some(scratch) = self.scratch.take() {
            self.pool.free.lock().push(scratch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_cleared_between_uses_and_reused() {
        let pool = ScratchPool::default();
        {
            let mut s = pool.get(10);
            assert!(!s.visited.check_and_mark(3));
            assert!(s.visited.check_and_mark(3));
        }
        let mut s = pool.get(5000);
        assert!(!s.visited.check_and_mark(3));
        assert!(!s.visited.check_and_mark(4999));
        drop(s);
        assert!(pool.bytes() >= 5000 * 2);
        // Epoch wrap-around clears stale stamps.
        for _ in 0..70_000 {
            let mut s = pool.get(8);
            assert!(!s.visited.check_and_mark(1));
        }
    }
}
