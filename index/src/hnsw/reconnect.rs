//! Reconnecting layer 0 after a batch: guarding each node's last in-link
//! (see `insert.rs`) keeps single nodes reachable, but parallel inserts can
//! still leave a small group of nodes that link only among themselves. After
//! a batch, a walk from the entry point finds every live node it cannot
//! reach, and each such group gets one link from the nearest reachable
//! node (as NSG and DiskANN repair connectivity after their builds).

use super::graph::{Graph, NodeId};
use super::HnswIndex;

impl HnswIndex {
    /// Links every live node that the entry point cannot reach on layer 0
    /// back in. Costs one walk of layer 0 (and nothing more when all is
    /// reachable), so it runs after batches, not after single inserts.
    pub(crate) fn reconnect(&self) {
        let g = self.graph.read();
        let Some((entry, _)) = g.entry() else {
            return;
        };
        // Nodes stored meanwhile (by other writers) are past `reached`:
        // their own links are in flight, so they are left alone.
        let n = g.node_count();
        let mut reached = vec![false; n];
        walk(&g, entry, &mut reached);
        let exact = self.exact_links();
        let linker = self.linker(&g, &exact);
        for node in 0..n as NodeId {
            if reached[node as usize] || g.is_deleted(node) {
                continue;
            }
            let scorer = self.scorer(&g, g.vector(node));
            let nearest = self
                .search_graph(&g, &scorer, self.params.ef_construction, None)
                .unwrap_or_default();
            let from = nearest
                .iter()
                .map(|c| c.item)
                .filter(|&c| reached.get(c as usize) == Some(&true) && c != node)
                .chain(std::iter::once(entry))
                .find(|&from| linker.link_into(from, node));
            if from.is_some() {
                walk(&g, node, &mut reached);
            }
        }
    }
}

/// Marks every node reachable from `start` on layer 0 (also what
/// [`HnswIndex::reachable_from_entry`] counts).
pub(super) fn walk(g: &Graph, start: NodeId, reached: &mut [bool]) {
    if reached[start as usize] {
        return;
    }
    reached[start as usize] = true;
    let mut stack = vec![start];
    while let Some(n) = stack.pop() {
        g.for_each_neighbor(n, 0, |m| {
            if let Some(r) = reached.get_mut(m as usize) {
                if !*r {
                    *r = true;
                    stack.push(m);
                }
            }
        });
    }
}
