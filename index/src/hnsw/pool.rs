//! [`Pool`]: the beam of a search that returns every node it meets, as one
//! sorted array instead of two binary heaps.
//!
//! A beam search keeps the best `ef` nodes found so far and expands, one
//! after another, the closest of them not yet expanded. With heaps that is
//! a min-heap of candidates beside a max-heap of results, every scored
//! node pushed into both and popped from both. Here the `ef` best live in
//! one array sorted by distance, each flagged once expanded: inserting is
//! a binary search and a short move (`ef` is small), the node to expand
//! next is found by walking a cursor that only moves back when a closer
//! node arrives, and the result is the array itself. A node that falls
//! out of the best `ef` is dropped at once; the heaps kept it as a
//! candidate, but never expanded it (it could only be popped after the
//! search had stopped). Used when every node met may be returned (no
//! filter, no deleted node, and construction); otherwise `search.rs`
//! keeps the heaps, which let refused nodes guide the walk without taking
//! a place in the beam.

use std::cmp::Ordering;

/// How many slots from the end an insertion shifts one by one; deeper
/// ones search and move the block at once.
const NEAR_END: usize = 16;

/// One node of the beam.
#[derive(Debug, Clone, Copy)]
struct Slot {
    distance: f32,
    node: u32,
    expanded: bool,
}

/// The best `ef` nodes found so far, closest first.
#[derive(Debug, Default)]
pub struct Pool {
    items: Vec<Slot>,
    ef: usize,
    /// Every item before it is expanded.
    next: usize,
}

impl Pool {
    /// Empties the pool for a search of width `ef` (at least 1).
    pub fn reset(&mut self, ef: usize) {
        self.items.clear();
        self.ef = ef.max(1);
        self.items.reserve(self.ef);
        self.next = 0;
    }

    /// The distance a node must beat to enter: the `ef`-th best's, or
    /// infinity while the pool has room.
    #[inline(always)]
    pub fn bound(&self) -> f32 {
        if self.items.len() < self.ef {
            f32::INFINITY
        } else {
            self.items[self.ef - 1].distance
        }
    }

    /// Adds `node` at `distance` if it is among the best `ef` (after the
    /// nodes already there at the same distance), dropping the worst when
    /// full. Returns whether it entered.
    #[inline(always)]
    pub fn insert(&mut self, distance: f32, node: u32) -> bool {
        self.insert_first(distance, node).is_some()
    }

    /// [`insert`](Self::insert), telling whether the node entered and, if
    /// so, whether it is now the next to be expanded (`Some(true)`).
    #[inline(always)]
    pub fn insert_first(&mut self, distance: f32, node: u32) -> Option<bool> {
        if self.items.len() == self.ef {
            // Not closer (or NaN, which never enters).
            if distance.partial_cmp(&self.items[self.ef - 1].distance) != Some(Ordering::Less) {
                return None;
            }
            self.items.pop();
        }
        // Most nodes that enter land near the end: those are shifted into
        // place one slot at a time from the end (no search, no memmove
        // call); one that lands farther in is placed by binary search and
        // one block move.
        let slot = Slot {
            distance,
            node,
            expanded: false,
        };
        let len = self.items.len();
        let at = if len > NEAR_END && self.items[len - NEAR_END].distance > distance {
            let at = self.items.partition_point(|s| s.distance <= distance);
            self.items.insert(at, slot);
            at
        } else {
            let mut at = len;
            self.items.push(slot);
            while at > 0 && self.items[at - 1].distance > distance {
                self.items[at] = self.items[at - 1];
                at -= 1;
            }
            self.items[at] = slot;
            at
        };
        let first = at <= self.next;
        self.next = self.next.min(at);
        Some(first)
    }

    /// The closest node not yet expanded, now marked expanded.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<u32> {
        self.skip_expanded();
        let slot = self.items.get_mut(self.next)?;
        slot.expanded = true;
        self.next += 1;
        Some(slot.node)
    }

    /// The node [`pop`](Self::pop) would return next, if nothing closer
    /// arrives first.
    #[inline(always)]
    pub fn peek(&mut self) -> Option<u32> {
        self.skip_expanded();
        self.items.get(self.next).map(|s| s.node)
    }

    #[inline(always)]
    fn skip_expanded(&mut self) {
        while self.items.get(self.next).is_some_and(|s| s.expanded) {
            self.next += 1;
        }
    }

    /// The nodes held with their distances, closest first.
    pub fn iter(&self) -> impl Iterator<Item = (f32, u32)> + '_ {
        self.items.iter().map(|s| (s.distance, s.node))
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<Slot>()
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    use super::*;
    use crate::rng::SplitMix64;
    use crate::topk::Scored;

    #[test]
    fn keeps_the_best_ef_sorted_and_expands_closest_first() {
        let mut p = Pool::default();
        p.reset(3);
        assert_eq!(p.bound(), f32::INFINITY);
        for (d, n) in [(5.0, 5), (1.0, 1), (3.0, 3)] {
            assert!(p.insert(d, n));
        }
        assert_eq!(p.bound(), 5.0);
        assert!(!p.insert(5.0, 6), "a tie with the worst does not enter");
        assert!(!p.insert(9.0, 9));
        assert_eq!(p.pop(), Some(1));
        assert!(p.insert(2.0, 2), "closer than the worst: 5 drops out");
        assert_eq!(p.bound(), 3.0);
        assert_eq!(p.peek(), Some(2), "the newcomer is expanded next");
        assert_eq!(p.pop(), Some(2));
        assert_eq!(p.pop(), Some(3));
        assert_eq!(p.pop(), None);
        let all: Vec<(f32, u32)> = p.iter().collect();
        assert_eq!(all, vec![(1.0, 1), (2.0, 2), (3.0, 3)]);
        p.reset(0);
        assert!(p.insert(4.0, 4), "ef 0 is taken as 1");
        assert!(p.insert(3.0, 3));
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![(3.0, 3)]);
    }

    /// The pool expands the same nodes, in the same order, as the two-heap
    /// beam it replaces, on random streams of scored nodes.
    #[test]
    fn expands_what_two_heaps_would() {
        let mut rng = SplitMix64::new(7);
        // Widths on both sides of `NEAR_END`: insertions walked in from the
        // end and ones placed by search.
        for round in 0..300 {
            let ef = 1 + rng.below(4 * NEAR_END);
            let mut pool = Pool::default();
            pool.reset(ef);
            let mut frontier: BinaryHeap<Reverse<Scored<u32>>> = BinaryHeap::new();
            let mut results: BinaryHeap<Scored<u32>> = BinaryHeap::new();
            let mut next_node = 0u32;
            let mut arrive = |pool: &mut Pool,
                              frontier: &mut BinaryHeap<Reverse<Scored<u32>>>,
                              results: &mut BinaryHeap<Scored<u32>>,
                              rng: &mut SplitMix64| {
                for _ in 0..rng.below(12) {
                    // Distinct distances: ties may be broken either way.
                    let d = next_node as f32 * 0.001 + rng.below(1000) as f32;
                    let bound = if results.len() >= ef {
                        results.peek().unwrap().distance
                    } else {
                        f32::INFINITY
                    };
                    let s = Scored {
                        distance: d,
                        item: next_node,
                    };
                    if d < bound {
                        frontier.push(Reverse(s));
                        results.push(s);
                        if results.len() > ef {
                            results.pop();
                        }
                    }
                    assert_eq!(pool.insert(d, next_node), d < bound, "round {round}");
                    next_node += 1;
                }
            };
            arrive(&mut pool, &mut frontier, &mut results, &mut rng);
            loop {
                let bound = if results.len() >= ef {
                    results.peek().unwrap().distance
                } else {
                    f32::INFINITY
                };
                let heap_next = frontier
                    .pop()
                    .map(|Reverse(c)| c)
                    .filter(|c| c.distance <= bound);
                assert_eq!(pool.pop(), heap_next.map(|c| c.item), "round {round}");
                if heap_next.is_none() {
                    break;
                }
                arrive(&mut pool, &mut frontier, &mut results, &mut rng);
            }
            let want: Vec<u32> = results.into_sorted_vec().iter().map(|s| s.item).collect();
            let got: Vec<u32> = pool.iter().map(|(_, n)| n).collect();
            assert_eq!(got, want, "round {round}");
        }
    }
}
