//! Renumbering nodes for locality after a bulk build.
//!
//! Node numbers are insertion order, so the neighbours of a node are
//! scattered over the whole index: every hop of a search touches a new
//! page of vectors (or codes) and of links. After a batch has built most
//! of the index, [`HnswIndex::reorder`] renumbers the nodes in
//! breadth-first order from the entry point over layer 0, so that a node's
//! neighbours mostly sit near it, and moves every column's rows into that
//! order in place (along the permutation's cycles: the index never holds
//! two copies of itself). Ids are carried along, so callers never see node
//! numbers change.
//!
//! Vectors in a mapped file cannot move in place (the file on disk must
//! keep matching the last checkpoint until the next one replaces it): an
//! index in a directory renumbers through [`HnswIndex::reorder_mapped`],
//! whose caller writes the rows in the new order to a new file, which the
//! graph then switches to (`storage/reorder.rs`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::OnceLock;

use parking_lot::RwLockUpgradableReadGuard;

use super::graph::{Graph, NodeId};
use super::words::Words;
use super::HnswIndex;
use crate::error::Result;
use crate::id_map::IdMap;
use crate::store::VectorStore;

/// The smallest batch worth reordering after.
pub(super) const MIN_REORDER_NODES: usize = 4_096;

impl HnswIndex {
    /// Whether a batch of `batch` nodes just stored built most of the
    /// index (and is large enough to be worth a pass over all of it): the
    /// point to reorder after, and for a compressed kind to pack its links.
    pub(crate) fn builds_most_of(&self, batch: usize) -> bool {
        batch >= MIN_REORDER_NODES && 2 * batch >= self.graph.read().node_count()
    }

    /// Renumbers the nodes in breadth-first order over layer 0 (see the
    /// module doc). Skipped (returns `false`) when the vectors live in a
    /// mapped file (an index in a directory renumbers with
    /// `DiskIndex::reorder`, which writes a new vector file), or while
    /// other writes are between their store and their link (their node
    /// numbers must not change under them).
    pub fn reorder(&self) -> bool {
        let mut g = self.graph.write();
        if g.vectors.mapped().is_some() || self.writes_in_flight.load(Ordering::SeqCst) > 0 {
            return false;
        }
        let order = bfs_order(&g);
        g.permute(&order, None)
    }

    /// Renumbers the nodes as [`reorder`](Self::reorder) does, for vectors
    /// that cannot move in place: `rewrite` gets the current vectors and
    /// the new order (`order[new] = old`) and returns a store holding the
    /// same rows in that order, which replaces the current one. Searches go
    /// on while `rewrite` runs; they wait only for the renumbering itself.
    /// The caller keeps every write out meanwhile (the storage layer holds
    /// its writer mutex, with no link in flight). An error from `rewrite`
    /// changes nothing. Returns `false` (calling nothing) for an empty
    /// index or while a write is between its store and its link.
    pub(crate) fn reorder_mapped(
        &self,
        rewrite: impl FnOnce(&VectorStore, &[NodeId]) -> Result<VectorStore>,
    ) -> Result<bool> {
        // Upgradable: readers go on, no other writer can come in between.
        let g = self.graph.upgradable_read();
        if g.node_count() == 0 || self.writes_in_flight.load(Ordering::SeqCst) > 0 {
            return Ok(false);
        }
        let order = bfs_order(&g);
        let vectors = rewrite(&g.vectors, &order)?;
        let mut g = RwLockUpgradableReadGuard::upgrade(g);
        Ok(g.permute(&order, Some(vectors)))
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
    /// Renumbers node `order[new]` as `new`, in place: every column's rows
    /// moved along the permutation's cycles (one row of scratch each, so
    /// the index never holds two copies of itself), every link translated.
    /// The vectors are `reordered` (already in the new order) when given,
    /// else moved in RAM; returns `false`, changing nothing, when they are
    /// neither (mapped, and no reordered store given).
    fn permute(&mut self, order: &[NodeId], reordered: Option<VectorStore>) -> bool {
        let n = order.len();
        match reordered {
            Some(v) => {
                debug_assert_eq!(v.len(), n, "a reordered store holds every row");
                self.vectors = v;
            }
            None => {
                let d = self.vectors.dims();
                let Some(rows) = self.vectors.ram_rows_mut() else {
                    return false;
                };
                permute_rows(rows, d, order);
            }
        }
        self.unpack_links();
        let mut new_of = vec![0 as NodeId; n];
        for (new, &old) in order.iter().enumerate() {
            new_of[old as usize] = new as NodeId;
        }
        let cb = self.code_bytes;
        permute_rows(self.codes.as_mut_slice(), cb, order);
        permute_rows(self.ids.as_mut_slice(), 1, order);
        // Upper slots vary in size: rebuilt in the new order (they belong
        // to about one node in M, so this copy is small).
        let wu = 1 + self.max_upper;
        let mut upper = Vec::with_capacity(self.upper.len());
        let mut offsets = Vec::with_capacity(n);
        for &old in order {
            let start = self.upper_offset[old as usize] as usize;
            offsets.push(upper.len() as u32);
            for w in &self.upper[start..start + self.level(old) * wu] {
                upper.push(AtomicU32::new(w.load(Ordering::Relaxed)));
            }
        }
        permute_rows(self.levels.as_mut_slice(), 1, order);
        self.upper_offset.as_mut_slice().copy_from_slice(&offsets);
        let used = upper.len();
        upper.resize_with(self.upper.len(), || AtomicU32::new(0));
        self.upper = Words::Owned(upper);
        *self.upper_used.get_mut() = used;
        let w0 = 1 + self.max0;
        let layer0 = &mut self.layer0.owned_mut()[..n * w0];
        permute_atomic_rows(layer0, w0, order);
        for slot in layer0.chunks_exact_mut(w0) {
            translate(slot, &new_of);
        }
        for slot in self.upper.owned_mut()[..used].chunks_exact_mut(wu) {
            translate(slot, &new_of);
        }
        permute_atomic_rows(&mut self.deleted[..n], 1, order);
        self.in_degree0 = OnceLock::new();
        let mut by_id = IdMap::with_capacity(self.live_count());
        for node in 0..n {
            if !self.deleted[node].load(Ordering::Relaxed) {
                by_id.insert(node as NodeId, &self.ids);
            }
        }
        *self.by_id.get_mut() = by_id;
        if let Some((e, level)) = self.entry() {
            self.set_entry(new_of[e as usize], level);
        }
        true
    }
}

/// One step of moving rows along a permutation's cycles.
enum Move {
    /// Keep row `.0` aside (the first row of a cycle).
    Save(usize),
    /// Copy row `from` over row `to`.
    Copy { from: usize, to: usize },
    /// Write the row kept aside over row `.0` (closing the cycle).
    Restore(usize),
}

/// Walks the cycles of `order[new] = old`, telling `step` how to move row
/// `order[new]` to row `new` with one row kept aside at a time.
fn cycles(order: &[NodeId], mut step: impl FnMut(Move)) {
    let mut done = vec![false; order.len()];
    for start in 0..order.len() {
        if done[start] || order[start] as usize == start {
            continue;
        }
        step(Move::Save(start));
        let mut at = start;
        loop {
            done[at] = true;
            let from = order[at] as usize;
            if from == start {
                step(Move::Restore(at));
                break;
            }
            step(Move::Copy { from, to: at });
            at = from;
        }
    }
}

/// Moves row `order[new]` of `data` (rows of `width`) to row `new`.
fn permute_rows<T: Copy>(data: &mut [T], width: usize, order: &[NodeId]) {
    if width == 0 {
        return;
    }
    let mut first = Vec::with_capacity(width);
    cycles(order, |step| match step {
        Move::Save(row) => {
            first.clear();
            first.extend_from_slice(&data[row * width..(row + 1) * width]);
        }
        Move::Copy { from, to } => data.copy_within(from * width..(from + 1) * width, to * width),
        Move::Restore(row) => data[row * width..(row + 1) * width].copy_from_slice(&first),
    });
}

/// [`permute_rows`] of atomics (not `Copy`; `&mut` makes their plain
/// values reachable).
fn permute_atomic_rows<A: Atomic>(data: &mut [A], width: usize, order: &[NodeId]) {
    let mut first = Vec::with_capacity(width);
    cycles(order, |step| match step {
        Move::Save(row) => {
            first.clear();
            first.extend(
                data[row * width..(row + 1) * width]
                    .iter_mut()
                    .map(|a| a.value()),
            );
        }
        Move::Copy { from, to } => {
            for i in 0..width {
                let v = data[from * width + i].value();
                data[to * width + i].set(v);
            }
        }
        Move::Restore(row) => {
            for (a, &v) in data[row * width..(row + 1) * width].iter_mut().zip(&first) {
                a.set(v);
            }
        }
    });
}

/// The atomics [`permute_atomic_rows`] moves: plain access through `&mut`.
trait Atomic {
    type Value: Copy;
    fn value(&mut self) -> Self::Value;
    fn set(&mut self, v: Self::Value);
}

impl Atomic for AtomicU32 {
    type Value = u32;
    fn value(&mut self) -> u32 {
        *self.get_mut()
    }
    fn set(&mut self, v: u32) {
        *self.get_mut() = v;
    }
}

impl Atomic for AtomicBool {
    type Value = bool;
    fn value(&mut self) -> bool {
        *self.get_mut()
    }
    fn set(&mut self, v: bool) {
        *self.get_mut() = v;
    }
}

/// Renumbers the links of `slot` (count, then links) by `new_of`, and
/// zeroes its unused words.
fn translate(slot: &mut [AtomicU32], new_of: &[NodeId]) {
    let count = (*slot[0].get_mut() as usize).min(slot.len() - 1);
    *slot[0].get_mut() = count as u32;
    for (i, w) in slot.iter_mut().enumerate().skip(1) {
        let link = w.get_mut();
        *link = if i <= count {
            new_of[*link as usize]
        } else {
            0
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_move_along_the_permutations_cycles() {
        // order[new] = old: a 3-cycle, a fixed point and a swap.
        let order: Vec<NodeId> = vec![2, 0, 1, 3, 5, 4];
        let mut data: Vec<u32> = (0..6).flat_map(|r| [r * 10, r * 10 + 1]).collect();
        permute_rows(&mut data, 2, &order);
        let want: Vec<u32> = order.iter().flat_map(|&r| [r * 10, r * 10 + 1]).collect();
        assert_eq!(data, want);
        let mut none: Vec<u8> = Vec::new();
        permute_rows(&mut none, 0, &order);
        let mut words: Vec<AtomicU32> = (0..6)
            .flat_map(|r| [AtomicU32::new(r * 10), AtomicU32::new(r * 10 + 1)])
            .collect();
        permute_atomic_rows(&mut words, 2, &order);
        let words: Vec<u32> = words.into_iter().map(AtomicU32::into_inner).collect();
        assert_eq!(words, want);
    }
}
