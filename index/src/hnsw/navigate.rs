//! Search with a caller-supplied scorer, for index kinds built on this graph
//! (the PQ index scores nodes by their codes, then re-ranks exactly).

use parking_lot::RwLockReadGuard;

use super::graph::{Graph, NodeId};
use super::scorer::Scorer;
use super::search::{descend, search_layer, search_layer_all, Candidate};
use super::HnswIndex;
use crate::distance::prefetch_all;
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::index::Neighbor;
use crate::topk::TopK;

impl HnswIndex {
    /// The graph under its read lock, for a search whose scorer borrows
    /// from it (the codes); search it with [`Self::search_graph`].
    pub(crate) fn read_graph(&self) -> RwLockReadGuard<'_, Graph> {
        self.graph.read()
    }

    /// Descends the hierarchy and beam-searches layer 0 of `g` (locked by
    /// the caller: the scorer borrows it) with `scorer`, returning up to
    /// `ef` live nodes `filter` allows, closest first.
    pub(crate) fn search_graph<S: Scorer>(
        &self,
        g: &Graph,
        scorer: &S,
        ef: usize,
        filter: Option<&Filter>,
    ) -> Result<Vec<Candidate>> {
        let Some((entry, entry_level)) = g.entry() else {
            return Err(Error::EmptyIndex);
        };
        let start = descend(g, scorer, entry, entry_level, 0);
        let mut scratch = self.scratch.get(g.node_count());
        let mut found = Vec::with_capacity(ef);
        let (entries, scratch) = (&[start], &mut scratch);
        match filter {
            None if g.deleted_count() == 0 => {
                search_layer_all(g, scorer, entries, ef, 0, scratch, &mut found)
            }
            None => search_layer(g, scorer, entries, ef, 0, scratch, live(g), &mut found),
            Some(f) => {
                let accept = |n: NodeId| !g.is_deleted(n) && f.allows(g.ids[n as usize]);
                search_layer(g, scorer, entries, ef, 0, scratch, accept, &mut found)
            }
        }
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
        let g = self.graph.read();
        let items: Vec<NodeId> = nodes.iter().map(|c| c.item).collect();
        self.exact_top(&g, query, &items, k)
    }

    /// The best `k` of the live vectors under `ids` by exact distance to
    /// `query`: the search of a filter small enough to scan.
    pub(crate) fn scan_ids(&self, query: &[f32], ids: &[u64], k: usize) -> Vec<Neighbor> {
        self.scan_ids_in(&self.graph.read(), query, ids, k)
    }

    /// [`Self::scan_ids`] on a graph the caller has already locked.
    pub(crate) fn scan_ids_in(
        &self,
        g: &Graph,
        query: &[f32],
        ids: &[u64],
        k: usize,
    ) -> Vec<Neighbor> {
        let nodes: Vec<NodeId> = ids.iter().filter_map(|&id| g.node_of(id)).collect();
        self.exact_top(g, query, &nodes, k)
    }

    /// The best `k` of `nodes` by exact distance to `query`.
    fn exact_top(&self, g: &Graph, query: &[f32], nodes: &[NodeId], k: usize) -> Vec<Neighbor> {
        let q = self.metric.prepared(query, &self.kernels);
        // Rows are read whole and usually miss the cache (or fault in from
        // a mapped file): keep the loads of the next few rows in flight.
        const AHEAD: usize = 6;
        for &n in nodes.iter().take(AHEAD) {
            prefetch_all(g.vector(n));
        }
        let mut top = TopK::new(k);
        for (i, &node) in nodes.iter().enumerate() {
            if let Some(&next) = nodes.get(i + AHEAD) {
                prefetch_all(g.vector(next));
            }
            let d = self.metric.distance(&self.kernels, &q, g.vector(node));
            top.push(d, g.ids[node as usize]);
        }
        top.into_neighbors()
    }
}

/// Accepts the live nodes of `g`.
fn live(g: &Graph) -> impl Fn(NodeId) -> bool + '_ {
    |n| !g.is_deleted(n)
}
