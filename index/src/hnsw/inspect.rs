//! Inspection of a graph: its vector store, node count, a live id's vector,
//! mapped bytes, and the structural invariants checked after a restore and
//! by tests.

use std::sync::atomic::{AtomicU32, Ordering};

use super::graph::{Graph, NodeId, NO_ENTRY};
use super::HnswIndex;
use crate::store::VectorStore;

impl HnswIndex {
    /// Runs `f` on the vector store under the read lock.
    pub(crate) fn with_vectors<R>(&self, f: impl FnOnce(&VectorStore) -> R) -> R {
        f(&self.graph.read().vectors)
    }

    /// Runs `f` on the vector store under the write lock (which waits for
    /// searches and links in flight).
    pub(crate) fn with_vectors_mut<R>(&self, f: impl FnOnce(&mut VectorStore) -> R) -> R {
        f(&mut self.graph.write().vectors)
    }

    /// A copy of the stored vector of live `id` (as prepared for the
    /// metric: normalised for cosine), or `None` if `id` is not live.
    pub fn vector_of(&self, id: u64) -> Option<Vec<f32>> {
        let g = self.graph.read();
        g.node_of(id).map(|node| g.vector(node).to_vec())
    }

    /// Bytes of links viewed in place in a mapped graph file rather than
    /// held in the heap.
    pub(crate) fn mapped_graph_bytes(&self) -> usize {
        self.graph.read().mapped_bytes()
    }

    /// Nodes in the graph, deleted ones included.
    pub(crate) fn node_count(&self) -> usize {
        self.graph.read().node_count()
    }

    /// Checks the graph's structural invariants: every link names an
    /// existing node, no list exceeds its width, the entry point exists at
    /// its level, and the id map points at live nodes carrying those ids.
    /// Returns what is wrong, for tests and after a restore. Meaningful
    /// with no write in flight: beside a writer, the counts it compares
    /// can be read a node apart.
    pub fn check_invariants(&self) -> std::result::Result<(), String> {
        check_graph(&self.graph.read())
    }
}

pub(super) fn check_graph(g: &Graph) -> std::result::Result<(), String> {
    let n = g.node_count();
    let check_slot =
        |words: &[AtomicU32], max: usize, what: &str| -> std::result::Result<(), String> {
            let count = words[0].load(Ordering::Relaxed) as usize;
            if count > max {
                return Err(format!("{what}: {count} links, at most {max}"));
            }
            if let Some(l) = words[1..=count]
                .iter()
                .map(|w| w.load(Ordering::Relaxed))
                .find(|&l| l as usize >= n)
            {
                return Err(format!("{what}: link to node {l}, only {n} nodes"));
            }
            Ok(())
        };
    for node in 0..n {
        g.with_layer0_words(node..node + 1, |slot| {
            check_slot(slot, g.max0, &format!("node {node} layer 0"))
        })?;
        let wu = 1 + g.max_upper;
        for layer in 1..=g.levels[node] as usize {
            let start = g.upper_offset[node] as usize + (layer - 1) * wu;
            let slot = g
                .upper
                .get(start..start + wu)
                .ok_or_else(|| format!("node {node} layer {layer}: slot past the pool"))?;
            check_slot(slot, g.max_upper, &format!("node {node} layer {layer}"))?;
        }
    }
    let e = g.entry.load(Ordering::Acquire);
    match (n, e) {
        (0, NO_ENTRY) => {}
        (0, _) => return Err("an entry point in an empty graph".into()),
        (_, NO_ENTRY) => return Err("no entry point in a non-empty graph".into()),
        _ => {
            let (node, level) = ((e & 0xFFFF_FFFF) as usize, (e >> 32) as usize);
            if node >= n || g.levels[node] as usize != level {
                return Err(format!(
                    "entry point {node} at level {level} does not exist"
                ));
            }
        }
    }
    let by_id = g.by_id.read();
    for node in by_id.rows() {
        let node = node as usize;
        if node >= n || g.deleted[node].load(Ordering::Relaxed) {
            return Err(format!("the id map names node {node}, which is not live"));
        }
        let id = g.ids[node];
        if by_id.get(id, &g.ids) != Some(node as NodeId) {
            return Err(format!("id {id} of node {node} does not map back to it"));
        }
    }
    if by_id.len() != g.live_count() {
        return Err(format!(
            "{} live ids, {} live nodes",
            by_id.len(),
            g.live_count()
        ));
    }
    if g.vectors.len() != n {
        return Err(format!("{n} nodes but {} vector rows", g.vectors.len()));
    }
    if g.codes.len() != n * g.code_bytes {
        return Err(format!(
            "{n} nodes but {} bytes of codes ({} a node)",
            g.codes.len(),
            g.code_bytes
        ));
    }
    Ok(())
}
