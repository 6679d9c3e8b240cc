//! Scoring graph nodes by the integer kernels over their SQ8 codes.

use crate::distance::int::IntKernels;
use crate::distance::prefetch_bytes;
use crate::hnsw::scorer::{row_at, Scorer};
use crate::hnsw::{Graph, LinkScoring};
use crate::sq8::{Sq8Quantizer, Sq8Query};

/// Distance from one quantized query to any node's code.
pub struct Sq8Scorer<'a> {
    query: Sq8Query,
    graph: &'a Graph,
    codes: &'a [u8],
    dims: usize,
}

impl<'a> Sq8Scorer<'a> {
    /// A scorer over the codes of `graph` (`dims` bytes per node).
    pub fn new(query: Sq8Query, graph: &'a Graph, dims: usize) -> Self {
        Sq8Scorer {
            query,
            graph,
            codes: graph.codes(),
            dims,
        }
    }
}

impl Scorer for Sq8Scorer<'_> {
    #[inline(always)]
    fn score(&self, node: u32) -> f32 {
        row_at(self.codes, self.dims, node, || self.graph.codes())
            .map_or(f32::INFINITY, |code| self.query.distance(code))
    }

    #[inline(always)]
    fn prefetch(&self, node: u32) {
        let start = node as usize * self.dims;
        if let Some(code) = self.codes.get(start..start + self.dims) {
            prefetch_bytes(code, 256);
        }
    }
}

/// Linking by the codes: each insertion's candidate searches run on the
/// integer kernels, as queries do (issue 16, step 5); the candidates they
/// find are scored again exactly before the neighbours are chosen.
pub struct Sq8Links<'a> {
    /// The trained quantizer.
    pub sq: &'a Sq8Quantizer,
    /// The integer kernels.
    pub kernels: IntKernels,
}

impl LinkScoring for Sq8Links<'_> {
    type For<'a>
        = Sq8Scorer<'a>
    where
        Self: 'a;
    const ESTIMATES: bool = true;

    fn scorer<'a>(&'a self, g: &'a Graph, node: u32) -> Sq8Scorer<'a> {
        let query = Sq8Query::new(self.sq, g.vector(node), self.kernels);
        Sq8Scorer::new(query, g, self.sq.dims())
    }
}
