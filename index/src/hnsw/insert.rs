//! Linking a stored node into the graph (the paper's Algorithm 1), safe to
//! run from many threads at once: each node's links are rewritten only under
//! that node's lock, and the entry point moves under the entry lock.

use super::graph::{Graph, NodeId};
use super::params::HnswParams;
use super::scorer::{ExactLinks, ExactScorer, LinkScoring};
use super::search::{descend, search_layer_all, Candidate};
use super::select::{node_ids, select_neighbors};
use super::HnswIndex;

/// Rewrites links of a graph the caller holds: a new node's own lists,
/// back-links into its neighbours' lists, repairs of layer 0.
pub struct Linker<'a, L> {
    /// The graph being extended.
    pub graph: &'a Graph,
    /// Build parameters.
    pub params: &'a HnswParams,
    /// Distances between stored nodes ([`LinkScoring::between`]).
    pub links: &'a L,
}

impl HnswIndex {
    /// Links `node` (already stored, with its level) into the graph `g`
    /// (under the caller's read guard; other nodes may be stored and linked
    /// meanwhile), its candidates found by `links`' scorer.
    pub(super) fn link_one<L: LinkScoring>(&self, g: &Graph, node: NodeId, links: &L) {
        let level = g.level(node);
        // Only an insert that may raise the top level takes the entry lock,
        // and it keeps it until the node is linked, so the entry point never
        // names a node that is not reachable yet.
        let mut raising = None;
        let (entry, entry_level) = loop {
            match g.entry() {
                None => {
                    let lock = self.entry_lock.lock();
                    if g.entry().is_none() {
                        g.set_entry(node, level);
                        return;
                    }
                    drop(lock);
                }
                Some((_, l)) if level > l => {
                    let lock = self.entry_lock.lock();
                    let (e2, l2) = g.entry().expect("entry set before lock");
                    if level > l2 {
                        raising = Some(lock);
                    }
                    break (e2, l2);
                }
                Some(el) => break el,
            }
        };
        let scorer = links.scorer(g, node);
        let top = level.min(entry_level);
        let start = descend(g, &scorer, entry, entry_level, top);
        let mut entries = vec![start];
        let ef = self.params.ef_construction;
        let mut found = Vec::with_capacity(ef);
        let mut ids = Vec::new();
        let mut scratch = self.scratch.get(g.node_count());
        // Each layer's neighbours are chosen top-down, but written
        // bottom-up: a search that reaches this node through an upper
        // layer then always finds its layer-0 links in place (top-down, a
        // search starting layer 0 at a node whose upper links were written
        // but not yet its layer-0 ones found one node).
        let mut chosen: Vec<(usize, Vec<Candidate>)> = Vec::with_capacity(top + 1);
        for layer in (0..=top).rev() {
            scratch.reset(g.node_count());
            search_layer_all(g, &scorer, &entries, ef, layer, &mut scratch, &mut found);
            found.retain(|c| c.item != node);
            let mut selected = Vec::new();
            select_neighbors(
                |a, b| links.between(g, a, b),
                &found,
                self.params.m,
                self.params.keep_pruned,
                &mut selected,
            );
            chosen.push((layer, selected));
            if layer != 0 && !found.is_empty() {
                std::mem::swap(&mut entries, &mut found);
            }
        }
        let linker = self.linker(g, links);
        for (layer, selected) in chosen.iter().rev() {
            linker.set_own_links(node, *layer, selected, &mut ids);
            for &c in selected {
                linker.add_backlink(c.item, node, c.distance, *layer);
            }
            if *layer == 0 {
                linker.ensure_way_in(node, selected);
            }
        }
        if raising.is_some() {
            g.set_entry(node, level);
        }
    }

    /// Linking by exact distance, as this index's own writes link.
    pub(crate) fn exact_links(&self) -> ExactLinks {
        ExactLinks {
            metric: self.metric,
            kernels: self.kernels,
        }
    }

    /// The exact scorer of `query` on `g`.
    pub(super) fn scorer<'a>(&self, g: &'a Graph, query: &'a [f32]) -> ExactScorer<'a> {
        ExactScorer::new(g, query, self.metric, self.kernels)
    }

    /// A [`Linker`] over `g`.
    pub(super) fn linker<'a, L: LinkScoring>(
        &'a self,
        g: &'a Graph,
        links: &'a L,
    ) -> Linker<'a, L> {
        Linker {
            graph: g,
            params: &self.params,
            links,
        }
    }
}

impl<L: LinkScoring> Linker<'_, L> {
    /// Writes `node`'s own links on `layer`. A concurrent insert that reached
    /// `node` through a higher layer may already have linked itself in here;
    /// those links are merged, not overwritten (else that node could lose
    /// its only way in).
    fn set_own_links(
        &self,
        node: NodeId,
        layer: usize,
        selected: &[Candidate],
        ids: &mut Vec<NodeId>,
    ) {
        let graph = self.graph;
        let _lock = graph.lock(node);
        graph.neighbors_into(node, layer, ids);
        if ids.is_empty() {
            node_ids(selected, ids);
            if layer == 0 {
                ids.iter().for_each(|&n| graph.count_link_to(n));
            }
            graph.set_neighbors(node, layer, ids);
            return;
        }
        let mut candidates: Vec<Candidate> = selected.to_vec();
        for &n in ids.iter() {
            if !selected.iter().any(|c| c.item == n) {
                candidates.push(Candidate {
                    distance: self.links.between(graph, node, n),
                    item: n,
                });
            }
        }
        candidates.sort_unstable();
        let old = std::mem::take(ids);
        self.shrink(&candidates, &old, layer, self.params.keep_pruned, ids);
        graph.set_neighbors(node, layer, ids);
    }

    /// Adds `node` to `target`'s links on `layer`, shrinking them with the
    /// heuristic when full.
    fn add_backlink(&self, target: NodeId, node: NodeId, distance: f32, layer: usize) {
        let graph = self.graph;
        let max = graph.max_links(layer);
        let _lock = graph.lock(target);
        let mut current = Vec::with_capacity(max + 1);
        graph.neighbors_into(target, layer, &mut current);
        if current.contains(&node) {
            return;
        }
        if current.len() < max {
            current.push(node);
            if layer == 0 {
                graph.count_link_to(node);
            }
            graph.set_neighbors(target, layer, &current);
            return;
        }
        let mut candidates: Vec<Candidate> = current
            .iter()
            .map(|&n| Candidate {
                distance: self.links.between(graph, target, n),
                item: n,
            })
            .collect();
        candidates.push(Candidate {
            distance,
            item: node,
        });
        candidates.sort_unstable();
        let mut links = Vec::with_capacity(max);
        // Shrinking does not back-fill: measured on 20k×128 clustered
        // data, back-filled shrinks kept every list full, so each later
        // back-link paid for another shrink (build 10.2k → 12.6k vec/s
        // without), and recall at equal ef was no better (0.936 vs 0.941
        // at ef = 10).
        self.shrink(&candidates, &current, layer, false, &mut links);
        graph.set_neighbors(target, layer, &links);
    }

    /// The links a list keeps out of `candidates` (sorted by distance to its
    /// owner), given that it held `old` before. On layer 0 a link that is
    /// some node's last way in is kept even when the heuristic would drop
    /// it: else that node becomes unreachable and no search finds it again
    /// (measured on 300 Gaussian 8-d vectors at `M = 8`: one build in 40 left
    /// a node orphaned). Keeps the in-degree counts in step.
    fn shrink(
        &self,
        candidates: &[Candidate],
        old: &[NodeId],
        layer: usize,
        keep_pruned: bool,
        out: &mut Vec<NodeId>,
    ) {
        let graph = self.graph;
        let max = graph.max_links(layer);
        let mut selected = Vec::with_capacity(max);
        select_neighbors(
            |a, b| self.links.between(graph, a, b),
            candidates,
            max,
            keep_pruned,
            &mut selected,
        );
        if layer != 0 {
            node_ids(&selected, out);
            return;
        }
        let is_kept = |n: NodeId, kept: &[Candidate]| kept.iter().any(|c| c.item == n);
        let mut kept = selected;
        for &c in candidates {
            if old.contains(&c.item)
                && !is_kept(c.item, &kept)
                && !graph.try_uncount_link_to(c.item)
            {
                kept.push(c);
            }
        }
        if kept.len() > max {
            // Rare: more last links than room. Drop the farthest of the
            // heuristic's picks, new ones first (they were never counted).
            kept.sort_unstable();
            while kept.len() > max {
                let at = kept
                    .iter()
                    .rposition(|c| !old.contains(&c.item))
                    .unwrap_or(kept.len() - 1);
                let gone = kept.remove(at);
                if old.contains(&gone.item) {
                    graph.uncount_link_to(gone.item);
                }
            }
        }
        for c in &kept {
            if !old.contains(&c.item) {
                graph.count_link_to(c.item);
            }
        }
        node_ids(&kept, out);
    }

    /// Gives `node` a way in on layer 0 when every neighbour it linked to
    /// shrank it out of its list: the nearest neighbour with room takes it,
    /// or else one that can drop a link that is not another node's last.
    fn ensure_way_in(&self, node: NodeId, nearest: &[Candidate]) {
        let graph = self.graph;
        if graph.in_degree(node) > 0 || graph.entry().is_some_and(|(e, _)| e == node) {
            return;
        }
        for c in nearest {
            if self.link_into(c.item, node) {
                return;
            }
        }
    }

    /// Adds a layer-0 link `from → to`: into free room, or in place of the
    /// farthest link of `from` that is not its target's last way in.
    /// Returns whether `from` now links to `to`.
    pub fn link_into(&self, from: NodeId, to: NodeId) -> bool {
        let graph = self.graph;
        let max = graph.max_links(0);
        let mut links = Vec::with_capacity(max);
        let _lock = graph.lock(from);
        graph.neighbors_into(from, 0, &mut links);
        if links.contains(&to) {
            return true;
        }
        if links.len() < max {
            links.push(to);
        } else {
            let mut far: Vec<Candidate> = links
                .iter()
                .map(|&n| Candidate {
                    distance: self.links.between(graph, from, n),
                    item: n,
                })
                .collect();
            far.sort_unstable();
            let Some(gone) = far.iter().rev().find(|f| graph.try_uncount_link_to(f.item)) else {
                return false;
            };
            let at = links.iter().position(|&n| n == gone.item).expect("listed");
            links[at] = to;
        }
        graph.count_link_to(to);
        graph.set_neighbors(from, 0, &links);
        true
    }
}
