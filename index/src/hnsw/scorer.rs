//! Per-query scoring: the graph sees node numbers and distances only, so the
//! same search code runs over full vectors or over compressed codes.

use super::graph::{Graph, NodeId};
use crate::distance::{prefetch, Kernels};
use crate::metric::Metric;

/// Distance from one fixed query to any node, built once per query.
pub trait Scorer {
    /// The distance from the query to `node`.
    fn score(&self, node: NodeId) -> f32;
    /// Hints that `node` will be scored soon.
    fn prefetch(&self, _node: NodeId) {}
}

/// Scores nodes by exact distance between a prepared query and stored vectors.
pub struct ExactScorer<'a> {
    graph: &'a Graph,
    query: &'a [f32],
    metric: Metric,
    kernels: Kernels,
}

impl<'a> ExactScorer<'a> {
    /// A scorer for `query` (already prepared for `metric`).
    pub fn new(graph: &'a Graph, query: &'a [f32], metric: Metric, kernels: Kernels) -> Self {
        ExactScorer {
            graph,
            query,
            metric,
            kernels,
        }
    }
}

impl Scorer for ExactScorer<'_> {
    #[inline(always)]
    fn score(&self, node: NodeId) -> f32 {
        self.metric
            .distance(&self.kernels, self.query, self.graph.vector(node))
    }

    #[inline(always)]
    fn prefetch(&self, node: NodeId) {
        prefetch(self.graph.vector(node));
    }
}
