//! Scoring graph nodes by ADC over their PQ codes.

use crate::distance::prefetch_bytes;
use crate::hnsw::scorer::{row_at, Scorer};
use crate::hnsw::Graph;
use crate::pq::AdcTable;

/// Distance from one query (its ADC table) to any node's code.
pub struct PqScorer<'a> {
    table: &'a AdcTable,
    graph: &'a Graph,
    codes: &'a [u8],
    m: usize,
}

impl<'a> PqScorer<'a> {
    /// A scorer over the codes of `graph` (`m` bytes per node).
    pub fn new(table: &'a AdcTable, graph: &'a Graph) -> Self {
        PqScorer {
            table,
            graph,
            codes: graph.codes(),
            m: table.m(),
        }
    }
}

impl Scorer for PqScorer<'_> {
    #[inline(always)]
    fn score(&self, node: u32) -> f32 {
        row_at(self.codes, self.m, node, || self.graph.codes())
            .map_or(f32::INFINITY, |code| self.table.distance(code))
    }

    #[inline(always)]
    fn prefetch(&self, node: u32) {
        let start = node as usize * self.m;
        if let Some(code) = self.codes.get(start..start + self.m) {
            prefetch_bytes(code, 128);
        }
    }
}
