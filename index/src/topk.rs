//! A bounded max-heap that keeps the `k` closest candidates seen so far.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::index::Neighbor;

/// A distance with a total order (NaN never enters: inputs are validated),
/// paired with a payload; ties break on the payload so results are stable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored<T> {
    /// The distance.
    pub distance: f32,
    /// What it is the distance to.
    pub item: T,
}

impl<T: Ord> Eq for Scored<T> {}

impl<T: Ord> PartialOrd for Scored<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Ord> Ord for Scored<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.distance
            .total_cmp(&other.distance)
            .then_with(|| self.item.cmp(&other.item))
    }
}

/// Keeps the `k` smallest `(distance, item)` pairs pushed into it.
#[derive(Debug, Clone)]
pub struct TopK<T: Ord> {
    k: usize,
    heap: BinaryHeap<Scored<T>>,
}

impl<T: Ord + Copy> TopK<T> {
    /// An empty collector for `k` results.
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    /// The distance a new candidate must beat to enter (infinite until full).
    #[inline]
    pub fn threshold(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::INFINITY
        } else {
            self.heap.peek().map_or(f32::INFINITY, |s| s.distance)
        }
    }

    /// Offers a candidate.
    #[inline]
    pub fn push(&mut self, distance: f32, item: T) {
        if self.heap.len() < self.k {
            self.heap.push(Scored { distance, item });
        } else if let Some(mut top) = self.heap.peek_mut() {
            let cand = Scored { distance, item };
            if cand < *top {
                *top = cand;
            }
        }
    }

    /// The kept candidates, closest first.
    pub fn into_sorted(self) -> Vec<Scored<T>> {
        self.heap.into_sorted_vec()
    }
}

impl TopK<u64> {
    /// The kept candidates as [`Neighbor`]s, closest first.
    pub fn into_neighbors(self) -> Vec<Neighbor> {
        self.into_sorted()
            .into_iter()
            .map(|s| Neighbor {
                id: s.item,
                distance: s.distance,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_k_smallest_in_order() {
        let mut t = TopK::new(3);
        for (i, d) in [5.0, 1.0, 4.0, 2.0, 3.0, 0.5].into_iter().enumerate() {
            t.push(d, i as u64);
        }
        let got: Vec<u64> = t.into_neighbors().iter().map(|n| n.id).collect();
        assert_eq!(got, vec![5, 1, 3]);
    }
}
