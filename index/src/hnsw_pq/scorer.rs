//! Scoring graph nodes by ADC over their PQ codes.

use crate::distance::prefetch_bytes;
use crate::hnsw::scorer::Scorer;
use crate::pq::AdcTable;

/// Distance from one query (its ADC table) to any node's code.
pub struct PqScorer<'a> {
    table: &'a AdcTable,
    codes: &'a [u8],
    m: usize,
}

impl<'a> PqScorer<'a> {
    /// A scorer over `codes` (`m` bytes per node, node-major).
    pub fn new(table: &'a AdcTable, codes: &'a [u8]) -> Self {
        PqScorer {
            table,
            codes,
            m: table.m(),
        }
    }
}

impl Scorer for PqScorer<'_> {
    #[inline(always)]
    fn score(&self, node: u32) -> f32 {
        // A node stored after the search took its view of the codes is
        // past them: it scores as unreachable, and the search skips it.
        let start = node as usize * self.m;
        self.codes
            .get(start..start + self.m)
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
