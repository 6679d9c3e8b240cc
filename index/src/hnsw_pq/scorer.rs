//! Scoring graph nodes by ADC over their PQ codes.

use crate::distance::prefetch_bytes;
use crate::hnsw::scorer::{fresh, Scorer};
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
        // A node stored after the search took its view of the codes is
        // looked up again; one not yet published scores as unreachable,
        // and the search skips it.
        let at = node as usize * self.m..(node as usize + 1) * self.m;
        match self.codes.get(at.clone()) {
            Some(code) => self.table.distance(code),
            None => fresh(self.graph.codes(), at)
                .map_or(f32::INFINITY, |code| self.table.distance(code)),
        }
    }

    #[inline(always)]
    fn prefetch(&self, node: u32) {
        let start = node as usize * self.m;
        if let Some(code) = self.codes.get(start..start + self.m) {
            prefetch_bytes(code, 128);
        }
    }
}
