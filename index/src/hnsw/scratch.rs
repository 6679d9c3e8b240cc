//! Visited sets reused across searches: epoch-stamped arrays in a pool.

use parking_lot::Mutex;

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
        if self.stamps.len() < n {
            self.stamps.resize(n.next_power_of_two().max(1024), 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamps.fill(0);
            self.epoch = 1;
        }
    }

    /// Marks `node`; returns whether it was already visited.
    #[inline(always)]
    pub fn check_and_mark(&mut self, node: u32) -> bool {
        let slot = &mut self.stamps[node as usize];
        let seen = *slot == self.epoch;
        *slot = self.epoch;
        seen
    }

    fn bytes(&self) -> usize {
        self.stamps.capacity() * 2
    }
}

/// A pool of visited lists shared by all searches of one index.
#[derive(Debug, Default)]
pub struct VisitedPool {
    free: Mutex<Vec<VisitedList>>,
}

/// A visited list checked out of the pool; returns itself on drop.
pub struct VisitedHandle<'a> {
    pool: &'a VisitedPool,
    list: Option<VisitedList>,
}

impl VisitedPool {
    /// Checks out a cleared list able to mark nodes `0..n`.
    pub fn get(&self, n: usize) -> VisitedHandle<'_> {
        let mut list = self
            .free
            .lock()
            .pop()
            .unwrap_or_else(|| VisitedList::new(0));
        list.reset(n);
        VisitedHandle {
            pool: self,
            list: Some(list),
        }
    }

    /// Bytes held by idle lists.
    pub fn bytes(&self) -> usize {
        self.free.lock().iter().map(VisitedList::bytes).sum()
    }
}

impl std::ops::Deref for VisitedHandle<'_> {
    type Target = VisitedList;
    fn deref(&self) -> &VisitedList {
        self.list.as_ref().expect("present until drop")
    }
}

impl std::ops::DerefMut for VisitedHandle<'_> {
    fn deref_mut(&mut self) -> &mut VisitedList {
        self.list.as_mut().expect("present until drop")
    }
}

impl Drop for VisitedHandle<'_> {
    fn drop(&mut self) {
        if let Some(list) = self.list.take() {
            self.pool.free.lock().push(list);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_cleared_between_uses_and_reused() {
        let pool = VisitedPool::default();
        {
            let mut v = pool.get(10);
            assert!(!v.check_and_mark(3));
            assert!(v.check_and_mark(3));
        }
        let mut v = pool.get(5000);
        assert!(!v.check_and_mark(3));
        assert!(!v.check_and_mark(4999));
        drop(v);
        assert!(pool.bytes() >= 5000 * 2);
        // Epoch wrap-around clears stale stamps.
        for _ in 0..70_000 {
            let mut v = pool.get(8);
            assert!(!v.check_and_mark(1));
        }
    }
}
