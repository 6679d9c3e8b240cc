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

/// Scores nodes by exact distance between a prepared query and stored
/// vectors: the rows of the nodes published when the scorer was made
/// ([`Graph::rows`]), looked up again for a node stored after that (by a
/// writer beside this search). A node not yet published when looked up
/// scores as unreachable, so the search never moves to it, nor reads
/// anything else of it.
pub struct ExactScorer<'a> {
    graph: &'a Graph,
    rows: &'a [f32],
    dims: usize,
    query: &'a [f32],
    metric: Metric,
    kernels: Kernels,
}

impl<'a> ExactScorer<'a> {
    /// A scorer for `query` (already prepared for `metric`).
    pub fn new(graph: &'a Graph, query: &'a [f32], metric: Metric, kernels: Kernels) -> Self {
        ExactScorer {
            graph,
            rows: graph.rows(),
            dims: query.len(),
            query,
            metric,
            kernels,
        }
    }

    #[inline(always)]
    fn row(&self, node: NodeId) -> Option<&'a [f32]> {
        row_at(self.rows, self.dims, node, || self.graph.rows())
    }
}

impl Scorer for ExactScorer<'_> {
    #[inline(always)]
    fn score(&self, node: NodeId) -> f32 {
        self.row(node).map_or(f32::INFINITY, |v| {
            self.metric.distance(&self.kernels, self.query, v)
        })
    }

    #[inline(always)]
    fn prefetch(&self, node: NodeId) {
        if let Some(v) = self.row(node) {
            prefetch(v);
        }
    }
}

/// How linking a node scores the candidates its searches meet, and the
/// distances between stored nodes that choosing neighbours compares: by
/// exact distance ([`ExactLinks`]), or by an index's cheaper estimate (the
/// SQ8 index's codes), the choice then made on those estimates.
pub trait LinkScoring: Sync {
    /// The scorer of one node's insertion.
    type For<'a>: Scorer
    where
        Self: 'a;
    /// A scorer of `node`'s own (stored, prepared) vector over `g`.
    fn scorer<'a>(&'a self, g: &'a Graph, node: NodeId) -> Self::For<'a>;
    /// The distance between stored nodes `a` and `b` that choosing
    /// neighbours uses: the heuristic's checks between candidates, and a
    /// full list's distances to its owner when a link joins it. Exact, or
    /// the index's estimate.
    fn between(&self, g: &Graph, a: NodeId, b: NodeId) -> f32;
}

/// Linking by exact distance.
pub struct ExactLinks {
    /// The metric.
    pub metric: Metric,
    /// Distance kernels.
    pub kernels: Kernels,
}

impl LinkScoring for ExactLinks {
    type For<'a> = ExactScorer<'a>;

    fn scorer<'a>(&'a self, g: &'a Graph, node: NodeId) -> ExactScorer<'a> {
        ExactScorer::new(g, g.vector(node), self.metric, self.kernels)
    }

    #[inline(always)]
    fn between(&self, g: &Graph, a: NodeId, b: NodeId) -> f32 {
        self.metric
            .distance(&self.kernels, g.vector(a), g.vector(b))
    }
}

/// Row `node` (of `width` elements) of a scorer's snapshot `rows`, or, for
/// a node stored after the snapshot was taken, of the view `now()` takes;
/// `None` for a node not published yet (it scores as unreachable, so the
/// search skips it and reads nothing else of it).
#[inline(always)]
pub(crate) fn row_at<'a, T>(
    rows: &'a [T],
    width: usize,
    node: NodeId,
    now: impl FnOnce() -> &'a [T],
) -> Option<&'a [T]> {
    let at = node as usize * width..(node as usize + 1) * width;
    match rows.get(at.clone()) {
        Some(row) => Some(row),
        None => fresh(now(), at),
    }
}

/// `rows[at]` of a view taken after a snapshot missed: kept out of line,
/// as the rare case it is.
#[cold]
#[inline(never)]
fn fresh<T>(rows: &[T], at: std::ops::Range<usize>) -> Option<&[T]> {
    rows.get(at)
}
