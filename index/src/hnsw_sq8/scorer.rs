//! Scoring graph nodes by the integer kernels over their SQ8 codes.

use crate::distance::int::IntKernels;
use crate::distance::prefetch_bytes;
use crate::hnsw::scorer::{row_at, ExactLinks, Scorer};
use crate::hnsw::{Graph, LinkScoring};
use crate::metric::Metric;
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

/// Linking by the codes (issue 16, step 5): each insertion's candidate
/// searches run on the integer kernels, as queries do, and the neighbours
/// are chosen on those distances; the distances between stored nodes that
/// choosing also needs (the heuristic's checks, a full list's distances to
/// its owner) are taken between codes for L2 and cosine
/// (`step² · Σ (a − b)²`, halved for cosine: the codes quantize unit
/// vectors, and `1 − a·b = |a − b|² / 2` for those), exactly for inner
/// product. The full vectors are not read while linking.
pub struct Sq8Links<'a> {
    /// The trained quantizer.
    pub sq: &'a Sq8Quantizer,
    /// The integer kernels.
    pub kernels: IntKernels,
    /// Exact distances where codes cannot stand in (inner product).
    pub exact: ExactLinks,
}

impl LinkScoring for Sq8Links<'_> {
    type For<'a>
        = Sq8Scorer<'a>
    where
        Self: 'a;

    fn scorer<'a>(&'a self, g: &'a Graph, node: u32) -> Sq8Scorer<'a> {
        let query = Sq8Query::new(self.sq, g.vector(node), self.kernels);
        Sq8Scorer::new(query, g, self.sq.dims())
    }

    #[inline(always)]
    fn between(&self, g: &Graph, a: u32, b: u32) -> f32 {
        // Cosine: `1 − a·b = |a − b|² / 2` for the unit vectors coded.
        let factor = match self.sq.metric() {
            Metric::L2 => 1.0,
            Metric::Cosine => 0.5,
            Metric::InnerProduct => return self.exact.between(g, a, b),
        };
        let d = self.sq.dims();
        let codes = g.codes();
        let (ca, cb) = (&codes[a as usize * d..][..d], &codes[b as usize * d..][..d]);
        let step = self.sq.step();
        self.kernels.codes_l2(ca, cb) as f32 * step * step * factor
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::Kernels;
    use crate::hnsw::HnswParams;
    use crate::hnsw_sq8::{HnswSq8Index, HnswSq8Params};
    use crate::index::Index;
    use crate::rng::SplitMix64;

    #[test]
    fn distances_between_nodes_follow_the_exact_ones() {
        let (n, d) = (600, 48);
        let mut r = SplitMix64::new(11);
        let v: Vec<f32> = (0..n * d)
            .map(|_| r.next_f64() as f32 * 2.0 - 1.0)
            .collect();
        let ids: Vec<u64> = (0..n as u64).collect();
        for metric in [Metric::L2, Metric::Cosine, Metric::InnerProduct] {
            let index = HnswSq8Index::new(
                d,
                metric,
                HnswSq8Params {
                    hnsw: HnswParams::new(8, 40),
                    ..Default::default()
                },
            )
            .unwrap();
            index.add_batch(&ids, &v).unwrap();
            let sq = index.sq.read();
            let links = Sq8Links {
                sq: sq.as_ref().unwrap(),
                kernels: index.kernels,
                exact: index.graph.exact_links(),
            };
            let g = index.graph.read_graph();
            let kernels = Kernels::detect();
            let mut worst = 0.0f32;
            for a in 0..50u32 {
                for b in 50..100u32 {
                    let exact = metric.distance(&kernels, g.vector(a), g.vector(b));
                    let est = links.between(&g, a, b);
                    if metric == Metric::InnerProduct {
                        assert_eq!(est, exact);
                    }
                    worst = worst.max((est - exact).abs() / exact.abs().max(1e-3));
                }
            }
            assert!(worst < 0.02, "{metric:?}: relative error up to {worst}");
        }
    }
}
