//! [`GraphView`]: read-only inspection of a graph that another index owns
//! (a PQ-navigated or on-disk index, which must see every write itself: a
//! vector added behind its back would have no PQ code and no log record).

use super::HnswIndex;
use crate::index::Index;

/// Inspection methods of an [`HnswIndex`], without its writes.
#[derive(Clone, Copy)]
pub struct GraphView<'a>(pub(crate) &'a HnswIndex);

impl GraphView<'_> {
    /// See [`HnswIndex::check_invariants`].
    pub fn check_invariants(&self) -> Result<(), String> {
        self.0.check_invariants()
    }

    /// See [`HnswIndex::reachable_from_entry`].
    pub fn reachable_from_entry(&self) -> usize {
        self.0.reachable_from_entry()
    }

    /// See [`HnswIndex::vector_of`].
    pub fn vector_of(&self, id: u64) -> Option<Vec<f32>> {
        self.0.vector_of(id)
    }

    /// See [`HnswIndex::layer_sizes`].
    pub fn layer_sizes(&self) -> Vec<usize> {
        self.0.layer_sizes()
    }

    /// See [`HnswIndex::max_level`].
    pub fn max_level(&self) -> usize {
        self.0.max_level()
    }

    /// See [`HnswIndex::contains`].
    pub fn contains(&self, id: u64) -> bool {
        self.0.contains(id)
    }

    /// Live vectors in the graph.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the graph holds no live vector.
    pub fn is_empty(&self) -> bool {
        self.0.len() == 0
    }
}
