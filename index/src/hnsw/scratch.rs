//! Per-search scratch reused across searches: a visited bitset
//! and the beam search's heaps, checked out of a pool and returned on drop.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use parking_lot::Mutex;

use super::pool::Pool;
use super::search::Candidate;

/// One visited set: a bit per node, so that the set of a million nodes
/// (125 KiB) stays in the core's own cache while a search checks it at
/// random. Clearing zeroes only the words this search set, listed as they
/// go from zero to non-zero, so a search pays for what it visited, never
/// for the whole graph.
#[derive(Debug)]
pub struct VisitedList {
    words: Vec<u64>,
    /// Indices of the words set since the last reset, in
    /// `touched[..count]`. One slot per word plus one: each word goes from
    /// zero to non-zero at most once per search, so recording is a store at
    /// `count` with no branch, `count` moving on only when the word was
    /// zero (the spare slot takes the store made when every word is
    /// already listed).
    touched: Vec<u32>,
    count: usize,
}

impl VisitedList {
    fn new(capacity: usize) -> Self {
        let words = capacity.div_ceil(64);
        VisitedList {
            words: vec![0; words],
            touched: vec![0; words + 1],
            count: 0,
        }
    }

    /// Starts a new search over `n` nodes.
    fn reset(&mut self, n: usize) {
        for &w in &self.touched[..self.count] {
            self.words[w as usize] = 0;
        }
        self.count = 0;
        self.grow(n);
    }

    /// Makes room for nodes `0..n`.
    fn grow(&mut self, n: usize) {
        let words = n.div_ceil(64);
        if self.words.len() < words {
            let room = words.next_power_of_two().max(1024 / 64);
            self.words.resize(room, 0);
            self.touched.resize(room + 1, 0);
        }
    }

    /// Marks `node`; returns whether it was already visited. A node past
    /// the set's room (stored after the search began) makes room.
    #[inline(always)]
    pub fn check_and_mark(&mut self, node: u32) -> bool {
        let at = (node >> 6) as usize;
        if at >= self.words.len() {
            self.grow_for(node);
        }
        let bit = 1u64 << (node & 63);
        let word = &mut self.words[at];
        let old = *word;
        if old & bit != 0 {
            return true;
        }
        *word = old | bit;
        self.touched[self.count] = at as u32;
        self.count += usize::from(old == 0);
        false
    }

    #[cold]
    #[inline(never)]
    fn grow_for(&mut self, node: u32) {
        self.grow(node as usize + 1);
    }

    fn bytes(&self) -> usize {
        self.words.capacity() * 8 + self.touched.capacity() * 4
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
    fn a_search_that_sets_every_word_is_recorded_and_cleared_whole() {
        // Every word of the set goes non-zero, several bits each: the
        // record of touched words is full (its spare slot takes the
        // stores made after that), and the next search starts clear.
        let pool = ScratchPool::default();
        for round in 0..3u32 {
            let mut s = pool.get(1024);
            let n = s.visited.words.len() as u32 * 64;
            for node in (0..n).rev() {
                assert!(!s.visited.check_and_mark(node), "round {round} node {node}");
            }
            for node in 0..n {
                assert!(s.visited.check_and_mark(node), "round {round} node {node}");
            }
            assert_eq!(s.visited.count, s.visited.words.len());
            assert!(s.visited.words.iter().all(|&w| w == u64::MAX));
        }
        let s = pool.get(1024);
        assert!(s.visited.words.iter().all(|&w| w == 0));
    }

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
        // Nodes past the room asked for: the set makes room.
        assert!(!s.visited.check_and_mark(70_001));
        assert!(s.visited.check_and_mark(70_001));
        drop(s);
        assert!(pool.bytes() >= 70_001 / 8);
        // Every bit a search set is clear for the next one.
        for round in 0..3 {
            let mut s = pool.get(80_000);
            for node in (0..80_000).step_by(7 + round) {
                assert!(
                    !s.visited.check_and_mark(node),
                    "round {round}, node {node}"
                );
                assert!(s.visited.check_and_mark(node));
            }
        }
    }
}
