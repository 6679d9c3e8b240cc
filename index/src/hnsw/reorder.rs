//! Renumbering nodes for locality after a bulk build.
//!
//! Node numbers are insertion order, so the neighbours of a node are
//! scattered over the whole index: every hop of a search touches a new
//! page of vectors (or codes) and of links. After a batch has built most
//! of the index, [`HnswIndex::reorder`] renumbers the nodes in
//! breadth-first order from the entry point over layer 0, so that a node's
//! neighbours mostly sit near it, and rewrites every column in that order.
//! Ids are carried along, so callers never see node numbers change.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

use parking_lot::{Mutex, RwLock};

use super::graph::{Graph, NodeId, NO_ENTRY};
use super::words::Words;
use super::HnswIndex;
use crate::id_map::IdMap;
use crate::store::{AppendVec, VectorStore};

/// The smallest batch worth reordering after.
pub(super) const MIN_REORDER_NODES: usize = 4_096;

impl HnswIndex {
    /// Renumbers the nodes in breadth-first order over layer 0 (see the
    /// module doc). Skipped (returns `false`) when the vectors live in a
    /// mapped file, or while other writes are between their store and
    /// their link (their node numbers must not change under them).
    pub fn reorder(&self) -> bool {
        let mut g = self.graph.write();
        if g.vectors.mapped().is_some() || self.writes_in_flight.load(Ordering::SeqCst) > 0 {
            return false;
        }
        let order = bfs_order(&g);
        *g = g.permuted(&order);
        true
    }
}

/// Every node, breadth-first from the entry point over layer 0 (neighbours
/// in list order), then any node the walk did not reach, in number order:
/// `order[new] = old`.
fn bfs_order(g: &Graph) -> Vec<NodeId> {
    let n = g.node_count();
    let mut seen = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let mut queue = VecDeque::new();
    let starts = g.entry().map(|(e, _)| e).into_iter().chain(0..n as NodeId);
    for start in starts {
        if seen[start as usize] {
            continue;
        }
        seen[start as usize] = true;
        queue.push_back(start);
        while let Some(node) = queue.pop_front() {
            order.push(node);
            g.for_each_neighbor(node, 0, |m| {
                if let Some(s) = seen.get_mut(m as usize) {
                    if !*s {
                        *s = true;
                        queue.push_back(m);
                    }
                }
            });
        }
    }
    order
}

impl Graph {
    /// This graph with node `order[new]` renumbered `new`: every column
    /// rewritten in the new order, every link translated, exactly as much
    /// room as nodes. The vectors must be in RAM.
    fn permuted(&self, order: &[NodeId]) -> Graph {
        let n = order.len();
        let mut new_of = vec![0 as NodeId; n];
        for (new, &old) in order.iter().enumerate() {
            new_of[old as usize] = new as NodeId;
        }
        let d = self.vectors.dims();
        let rows = self.vectors.rows();
        let mut vectors = Vec::with_capacity(n * d);
        let cb = self.code_bytes;
        let mut codes = Vec::with_capacity(n * cb);
        for &old in order {
            let old = old as usize;
            vectors.extend_from_slice(&rows[old * d..(old + 1) * d]);
            codes.extend_from_slice(&self.codes[old * cb..(old + 1) * cb]);
        }
        let ids: Vec<u64> = order.iter().map(|&o| self.ids[o as usize]).collect();
        let levels: Vec<u8> = order.iter().map(|&o| self.levels[o as usize]).collect();
        let translate = |words: &mut Vec<AtomicU32>, old: NodeId, layer: usize| {
            let mut links = Vec::new();
            self.neighbors_into(old, layer, &mut links);
            words.push(AtomicU32::new(links.len() as u32));
            let width = self.max_links(layer);
            words.extend(links.iter().map(|&l| AtomicU32::new(new_of[l as usize])));
            words.extend((links.len()..width).map(|_| AtomicU32::new(0)));
        };
        let mut layer0 = Vec::with_capacity(n * (1 + self.max0));
        let mut upper = Vec::new();
        let mut upper_offset = Vec::with_capacity(n);
        for &old in order {
            translate(&mut layer0, old, 0);
            upper_offset.push(upper.len() as u32);
            for layer in 1..=self.level(old) {
                translate(&mut upper, old, layer);
            }
        }
        let deleted: Vec<AtomicBool> = order
            .iter()
            .map(|&o| AtomicBool::new(self.is_deleted(o)))
            .collect();
        let ids = AppendVec::from_vec(ids);
        let mut by_id = IdMap::with_capacity(self.live_count());
        for (node, d) in deleted.iter().enumerate() {
            if !d.load(Ordering::Relaxed) {
                by_id.insert(node as NodeId, &ids);
            }
        }
        let entry = match self.entry() {
            Some((e, level)) => ((level as u64) << 32) | new_of[e as usize] as u64,
            None => NO_ENTRY,
        };
        Graph {
            vectors: VectorStore::Ram {
                dims: d,
                data: AppendVec::from_vec(vectors),
            },
            codes: AppendVec::from_vec(codes),
            code_bytes: cb,
            ids,
            by_id: RwLock::new(by_id),
            levels: AppendVec::from_vec(levels),
            layer0: Words::Owned(layer0),
            upper_used: AtomicUsize::new(upper.len()),
            upper: Words::Owned(upper),
            upper_offset: AppendVec::from_vec(upper_offset),
            locks: (0..n).map(|_| Mutex::new(())).collect(),
            deleted,
            deleted_count: AtomicUsize::new(n - self.live_count()),
            entry: AtomicU64::new(entry),
            max0: self.max0,
            max_upper: self.max_upper,
            in_degree0: OnceLock::new(),
            appending: Mutex::new(()),
        }
    }
}
