//! The graph's memory: vectors, levels and links laid out for search speed.
//!
//! * vectors: one contiguous `n × d` array ([`VectorStore`]);
//! * layer 0: one fixed slot of `1 + 2M` words per node, side by side — word 0
//!   is the link count, the rest are neighbour node numbers;
//! * upper layers: only nodes with level ≥ 1 have them, in one shared pool of
//!   `1 + M`-word slots, found through a per-node offset.
//!
//! Links are `AtomicU32` so a search can read a list while an insert rewrites
//! it under that node's lock: a reader may see a mix of old and new
//! neighbours, but every one is a valid, fully stored node. Structural growth
//! (new nodes) happens only through `&mut Graph`, under the index's write lock.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;

use parking_lot::Mutex;

use super::words::Words;
use crate::error::Result;
use crate::id_map::IdMap;
use crate::store::VectorStore;

/// Sentinel for "no entry point yet".
pub(super) const NO_ENTRY: u64 = u64::MAX;

/// Node numbers are dense `u32`s in insertion order.
pub type NodeId = u32;

/// The HNSW graph and the vectors it links.
pub struct Graph {
    pub(crate) vectors: VectorStore,
    /// External id of each node.
    pub(crate) ids: Vec<u64>,
    /// External id → node of its live version.
    pub(crate) by_id: IdMap,
    pub(super) levels: Vec<u8>,
    pub(super) layer0: Words,
    pub(super) upper: Words,
    pub(super) upper_offset: Vec<u32>,
    pub(super) locks: Vec<Mutex<()>>,
    pub(super) deleted: Vec<AtomicBool>,
    pub(super) deleted_count: usize,
    /// `(level << 32) | node` of the entry point, or [`NO_ENTRY`].
    pub(super) entry: AtomicU64,
    pub(super) max0: usize,
    pub(super) max_upper: usize,
    /// How many layer-0 lists name each node: counted from the links the
    /// first time an insert needs them (a loaded graph that is only
    /// searched never pays), then kept in step by every link change.
    pub(super) in_degree0: OnceLock<Vec<AtomicU32>>,
}

impl Graph {
    /// An empty graph for `dims`-dimensional vectors with `M = m`.
    pub fn new(dims: usize, m: usize) -> Self {
        Graph {
            vectors: VectorStore::new(dims),
            ids: Vec::new(),
            by_id: IdMap::default(),
            levels: Vec::new(),
            layer0: Words::default(),
            upper: Words::default(),
            upper_offset: Vec::new(),
            locks: Vec::new(),
            deleted: Vec::new(),
            deleted_count: 0,
            entry: AtomicU64::new(NO_ENTRY),
            max0: 2 * m,
            max_upper: m,
            in_degree0: OnceLock::new(),
        }
    }

    /// Nodes allocated (deleted ones included).
    #[inline]
    pub fn node_count(&self) -> usize {
        self.levels.len()
    }

    /// Live (not deleted) nodes.
    pub fn live_count(&self) -> usize {
        self.node_count() - self.deleted_count
    }

    /// Reserves room for `extra` more nodes.
    pub fn reserve(&mut self, extra: usize) -> Result<()> {
        self.vectors.try_reserve(extra)?;
        self.ids.reserve(extra);
        self.by_id.reserve(extra, &self.ids);
        self.levels.reserve(extra);
        self.layer0.owned_mut().reserve(extra * (1 + self.max0));
        self.upper_offset.reserve(extra);
        self.locks.reserve(extra);
        self.deleted.reserve(extra);
        Ok(())
    }

    /// Appends a node (vector already prepared for the metric) with no
    /// links. The vector goes first: a store that cannot grow leaves the
    /// graph unchanged.
    pub fn push(&mut self, id: u64, vector: &[f32], level: usize) -> Result<NodeId> {
        let node = self.node_count() as NodeId;
        self.vectors.push(vector)?;
        self.ids.push(id);
        self.by_id.insert(node, &self.ids);
        self.levels.push(level as u8);
        self.layer0
            .owned_mut()
            .extend((0..1 + self.max0).map(|_| AtomicU32::new(0)));
        self.upper_offset.push(self.upper.len() as u32);
        self.upper
            .owned_mut()
            .extend((0..level * (1 + self.max_upper)).map(|_| AtomicU32::new(0)));
        self.locks.push(Mutex::new(()));
        self.deleted.push(AtomicBool::new(false));
        if let Some(counts) = self.in_degree0.get_mut() {
            counts.push(AtomicU32::new(0));
        }
        Ok(node)
    }

    /// The stored vector of `node`.
    #[inline(always)]
    pub fn vector(&self, node: NodeId) -> &[f32] {
        self.vectors.get(node as usize)
    }

    /// The level of `node`.
    #[inline]
    pub fn level(&self, node: NodeId) -> usize {
        self.levels[node as usize] as usize
    }

    /// The most links a node keeps on `layer`.
    #[inline]
    pub fn max_links(&self, layer: usize) -> usize {
        if layer == 0 {
            self.max0
        } else {
            self.max_upper
        }
    }

    /// The slot of `node` on `layer`: word 0 is the count, then the links.
    #[inline(always)]
    fn slot(&self, node: NodeId, layer: usize) -> &[AtomicU32] {
        if layer == 0 {
            let w = 1 + self.max0;
            let start = node as usize * w;
            &self.layer0[start..start + w]
        } else {
            let w = 1 + self.max_upper;
            let start = self.upper_offset[node as usize] as usize + (layer - 1) * w;
            &self.upper[start..start + w]
        }
    }

    /// Calls `f` on each neighbour of `node` on `layer`.
    #[inline(always)]
    pub fn for_each_neighbor(&self, node: NodeId, layer: usize, mut f: impl FnMut(NodeId)) {
        let slot = self.slot(node, layer);
        let count = (slot[0].load(Ordering::Acquire) as usize).min(slot.len() - 1);
        for link in &slot[1..=count] {
            f(link.load(Ordering::Relaxed));
        }
    }

    /// Copies the neighbours of `node` on `layer` into `out` (cleared first).
    pub fn neighbors_into(&self, node: NodeId, layer: usize, out: &mut Vec<NodeId>) {
        out.clear();
        self.for_each_neighbor(node, layer, |n| out.push(n));
    }

    /// Replaces the links of `node` on `layer`. Callers hold the node's lock.
    pub fn set_neighbors(&self, node: NodeId, layer: usize, links: &[NodeId]) {
        let slot = self.slot(node, layer);
        debug_assert!(links.len() < slot.len());
        let n = links.len().min(slot.len() - 1);
        for (dst, &src) in slot[1..=n].iter().zip(links) {
            dst.store(src, Ordering::Relaxed);
        }
        slot[0].store(n as u32, Ordering::Release);
    }

    /// Layer-0 in-degree of every node, counted from the links on first use.
    fn in_degrees(&self) -> &[AtomicU32] {
        self.in_degree0.get_or_init(|| {
            let counts: Vec<AtomicU32> =
                (0..self.node_count()).map(|_| AtomicU32::new(0)).collect();
            for node in 0..self.node_count() as NodeId {
                self.for_each_neighbor(node, 0, |n| {
                    if let Some(c) = counts.get(n as usize) {
                        c.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
            counts
        })
    }

    /// How many layer-0 lists name `node`.
    pub fn in_degree(&self, node: NodeId) -> u32 {
        self.in_degrees()[node as usize].load(Ordering::Relaxed)
    }

    /// Records a new layer-0 link to `node`.
    pub fn count_link_to(&self, node: NodeId) {
        self.in_degrees()[node as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Records a dropped layer-0 link to `node`, unless it is `node`'s last
    /// one: returns `false` (and counts nothing) when dropping it would
    /// leave `node` with no way in. The check and the count are one atomic
    /// step, so two lists shrinking at once cannot both drop the last link.
    pub fn try_uncount_link_to(&self, node: NodeId) -> bool {
        self.in_degrees()[node as usize]
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                (c > 1).then(|| c - 1)
            })
            .is_ok()
    }

    /// Records a dropped layer-0 link to `node`, even its last.
    pub fn uncount_link_to(&self, node: NodeId) {
        let _ = self.in_degrees()[node as usize].fetch_update(
            Ordering::Relaxed,
            Ordering::Relaxed,
            |c| c.checked_sub(1),
        );
    }

    /// Counts in-degrees now, before links change (see [`Self::in_degree`]).
    pub fn prepare_in_degrees(&self) {
        self.in_degrees();
    }

    /// The lock serialising writes to `node`'s links.
    #[inline]
    pub fn lock(&self, node: NodeId) -> parking_lot::MutexGuard<'_, ()> {
        self.locks[node as usize].lock()
    }

    /// The entry point and its level, if the graph has one.
    #[inline]
    pub fn entry(&self) -> Option<(NodeId, usize)> {
        let e = self.entry.load(Ordering::Acquire);
        (e != NO_ENTRY).then_some((e as u32, (e >> 32) as usize))
    }

    /// Makes `node` (of `level`) the entry point.
    pub fn set_entry(&self, node: NodeId, level: usize) {
        self.entry
            .store(((level as u64) << 32) | node as u64, Ordering::Release);
    }

    /// Whether `node` is marked deleted.
    #[inline(always)]
    pub fn is_deleted(&self, node: NodeId) -> bool {
        self.deleted[node as usize].load(Ordering::Relaxed)
    }

    /// Marks `node` deleted (it keeps routing searches) and forgets its id.
    pub fn mark_deleted(&mut self, node: NodeId) {
        if !self.deleted[node as usize].swap(true, Ordering::Relaxed) {
            self.deleted_count += 1;
            let id = self.ids[node as usize];
            if self.by_id.get(id, &self.ids) == Some(node) {
                self.by_id.remove(id, &self.ids);
            }
        }
    }

    /// Bytes of links, levels and offsets.
    pub fn graph_bytes(&self) -> usize {
        self.layer0.bytes()
            + self.upper.bytes()
            + self.upper_offset.capacity() * 4
            + self.levels.capacity()
    }

    /// Bytes of links viewed in place in a mapped graph file (included in
    /// [`graph_bytes`](Self::graph_bytes)).
    pub fn mapped_bytes(&self) -> usize {
        self.layer0.mapped_bytes() + self.upper.mapped_bytes()
    }

    /// Bytes of the id table and map.
    pub fn id_bytes(&self) -> usize {
        self.ids.capacity() * 8 + self.by_id.bytes()
    }

    /// Bytes of per-node locks, deletion marks and in-degree counts.
    pub fn other_bytes(&self) -> usize {
        self.locks.capacity() * std::mem::size_of::<Mutex<()>>()
            + self.deleted.capacity()
            + self.in_degree0.get().map_or(0, |c| c.capacity() * 4)
    }
}
