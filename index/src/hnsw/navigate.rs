//! Search with a caller-supplied scorer, for index kinds built on this graph
//! (the PQ index scores nodes by their codes, then re-ranks exactly).

use super::graph::{Graph, NodeId};
use super::scorer::Scorer;
use super::search::{descend, search_layer, Candidate};
use super::HnswIndex;
use crate::distance::prefetch_all;
use crate::error::{Error, Result};
use crate::index::Neighbor;
use crate::topk::TopK;

impl HnswIndex {
    /// Descends the hierarchy and beam-searches layer 0 with `scorer`,
    /// returning up to `ef` live nodes, closest first.
    pub(crate) fn search_nodes<S: Scorer>(&self, scorer: &S, ef: usize) -> Result<Vec<Candidate>> {
        self.search_graph(&self.graph.read(), scorer, ef)
    }

    /// [`Self::search_nodes`] on a graph the caller has already locked (the
    /// exact scorer borrows it).
    pub(crate) fn search_graph<S: Scorer>(
        &self,
        g: &Graph,
        scorer: &S,
        ef: usize,
    ) -> Result<Vec<Candidate>> {
        let Some((entry, entry_level)) = g.entry() else {
            return Err(Error::EmptyIndex);
        };
        let start = descend(g, scorer, entry, entry_level, 0);
        let mut scratch = self.scratch.get(g.node_count());
        let mut found = Vec::with_capacity(ef);
        search_layer(g, scorer, &[start], ef, 0, &mut scratch, true, &mut found);
        Ok(found)
    }

    /// The caller-facing ids of `nodes`, with the distances as scored.
    pub(crate) fn neighbors_of(&self, nodes: &[Candidate]) -> Vec<Neighbor> {
        let g = self.graph.read();
        nodes
            .iter()
            .map(|c| Neighbor {
                id: g.ids[c.item as usize],
                distance: c.distance,
            })
            .collect()
    }

    /// Re-scores `nodes` with exact distances to `query` and keeps the best `k`.
    pub(crate) fn rerank(&self, query: &[f32], nodes: &[Candidate], k: usize) -> Vec<Neighbor> {
        let q = self.metric.prepared(query, &self.kernels);
        let g = self.graph.read();
        // Rows are read whole and usually miss the cache (or fault in from
        // a mapped file): keep the loads of the next few rows in flight.
        const AHEAD: usize = 6;
        for c in nodes.iter().take(AHEAD) {
            prefetch_all(g.vector(c.item));
        }
        let mut top = TopK::new(k);
        for (i, c) in nodes.iter().enumerate() {
            if let Some(next) = nodes.get(i + AHEAD) {
                prefetch_all(g.vector(next.item));
            }
            let node: NodeId = c.item;
            let d = self.metric.distance(&self.kernels, &q, g.vector(node));
            top.push(d, g.ids[node as usize]);
        }
        top.into_neighbors()
    }
}
