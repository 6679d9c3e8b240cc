//! The graph's memory: vectors, levels and links laid out for search speed.
//!
//! * vectors: one contiguous `n × d` array ([`VectorStore`]);
//! * codes (for the kinds that navigate on them): `code_bytes` per node,
//!   one contiguous array indexed by node;
//! * layer 0: one fixed slot of `1 + 2M` words per node, side by side — word 0
//!   is the link count, the rest are neighbour node numbers;
//!   or, in a graph at rest, the same lists bit-packed (`packed.rs`: each
//!   node number in the bits the largest needs), unpacked again before the
//!   first structural change;
//! * upper layers: only nodes with level ≥ 1 have them, in one shared pool of
//!   `1 + M`-word slots, found through a per-node offset.
//!
//! Links are `AtomicU32` so a search can read a list while an insert rewrites
//! it under that node's lock: a reader may see a mix of old and new
//! neighbours, but every one is a valid, fully stored node.
//!
//! **Append-only nodes.** Every per-node column has room allocated ahead
//! ([`Graph::grow`], under the index's exclusive lock, by at least an
//! eighth of the nodes held, so rarely), and a node is *appended* through
//! `&self` ([`Graph::append`]): its row written into each column past the
//! published length, then published by its level (the node count is the
//! levels column's length, stored last with release). So a store runs
//! beside searches and links under the shared lock and waits for nobody;
//! a search scores the nodes published when it began from its snapshot
//! ([`Graph::rows`], [`Graph::codes`]) and looks a newer one up again
//! (`scorer.rs::row_at`).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

use parking_lot::{Mutex, RwLock};

use super::packed::{PackedLinks, MAX_PACKED_LINKS};
use super::words::Words;
use crate::distance::prefetch_bytes;
use crate::error::{Error, Result};
use crate::id_map::IdMap;
use crate::store::{huge, AppendVec, VectorStore};

/// Sentinel for "no entry point yet".
pub(super) const NO_ENTRY: u64 = u64::MAX;

/// Node numbers are dense `u32`s in insertion order.
pub type NodeId = u32;

/// The HNSW graph and the vectors it links.
pub struct Graph {
    pub(crate) vectors: VectorStore,
    /// Per-node codes of the kinds that navigate on codes (`code_bytes`
    /// each; empty when `code_bytes = 0`).
    pub(crate) codes: AppendVec<u8>,
    pub(crate) code_bytes: usize,
    /// External id of each node.
    pub(crate) ids: AppendVec<u64>,
    /// External id → node of its live version.
    pub(crate) by_id: RwLock<IdMap>,
    /// Level of each node; its length is the node count.
    pub(super) levels: AppendVec<u8>,
    pub(super) layer0: Words,
    /// Layer 0 bit-packed, when the graph is at rest (`layer0` is then
    /// empty): read-only, unpacked by [`Graph::unpack_links`].
    pub(super) packed0: Option<PackedLinks>,
    pub(super) upper: Words,
    /// Words of `upper` in use (the rest is room).
    pub(super) upper_used: AtomicUsize,
    pub(super) upper_offset: AppendVec<u32>,
    pub(super) locks: Vec<Mutex<()>>,
    pub(super) deleted: Vec<AtomicBool>,
    pub(super) deleted_count: AtomicUsize,
    /// `(level << 32) | node` of the entry point, or [`NO_ENTRY`].
    pub(super) entry: AtomicU64,
    pub(super) max0: usize,
    pub(super) max_upper: usize,
    /// How many layer-0 lists name each node: counted from the links the
    /// first time an insert needs them (a loaded graph that is only
    /// searched never pays), then kept in step by every link change.
    pub(super) in_degree0: OnceLock<Vec<AtomicU32>>,
    /// One append at a time (the columns' room is shared).
    appending: Mutex<()>,
}

impl Graph {
    /// An empty graph for `dims`-dimensional vectors with `M = m`.
    pub fn new(dims: usize, m: usize) -> Self {
        Graph {
            vectors: VectorStore::new(dims),
            codes: AppendVec::default(),
            code_bytes: 0,
            ids: AppendVec::default(),
            by_id: RwLock::new(IdMap::default()),
            levels: AppendVec::default(),
            layer0: Words::default(),
            packed0: None,
            upper: Words::default(),
            upper_used: AtomicUsize::new(0),
            upper_offset: AppendVec::default(),
            locks: Vec::new(),
            deleted: Vec::new(),
            deleted_count: AtomicUsize::new(0),
            entry: AtomicU64::new(NO_ENTRY),
            max0: 2 * m,
            max_upper: m,
            in_degree0: OnceLock::new(),
            appending: Mutex::new(()),
        }
    }

    /// Nodes published (deleted ones included).
    #[inline]
    pub fn node_count(&self) -> usize {
        self.levels.len()
    }

    /// Live (not deleted) nodes.
    pub fn live_count(&self) -> usize {
        // Loaded one after the other, so a node published and deleted in
        // between may be counted as deleted only.
        self.node_count()
            .saturating_sub(self.deleted_count.load(Ordering::Relaxed))
    }

    /// Nodes every per-node column has room for.
    pub(super) fn capacity(&self) -> usize {
        self.levels.capacity()
    }

    /// Whether `nodes` more nodes, using `upper_words` words of the upper
    /// pool between them, can be appended without growing.
    pub fn has_room(&self, nodes: usize, upper_words: usize) -> bool {
        self.capacity() - self.node_count() >= nodes
            && self.vectors.has_room(nodes)
            && self.codes.has_room(nodes * self.code_bytes)
            && self.ids.has_room(nodes)
            && self.upper_offset.has_room(nodes)
            && self.upper.len() - self.upper_used.load(Ordering::Relaxed) >= upper_words
            && !self.layer0.is_mapped()
            && !self.upper.is_mapped()
            && self.packed0.is_none()
    }

    /// Makes room for `nodes` more nodes and `upper_words` more words of
    /// the upper pool, with room to spare (an eighth of what is held) so
    /// that one-at-a-time appends grow rarely; link words mapped from a
    /// graph file move into RAM, and packed ones are unpacked. The vectors
    /// grow first: a store that cannot grow leaves the graph unchanged.
    pub fn grow(&mut self, nodes: usize, upper_words: usize) -> Result<()> {
        let n = self.node_count();
        let cap = (n + nodes).max(n + n / 8 + 64).max(self.capacity());
        if !self.vectors.has_room(cap - n) {
            self.vectors.try_reserve(cap - n)?;
        }
        self.unpack_links_to(cap);
        self.codes.reserve_total(cap * self.code_bytes);
        self.ids.reserve_total(cap);
        self.levels.reserve_total(cap);
        self.upper_offset.reserve_total(cap);
        let w0 = 1 + self.max0;
        let layer0 = self.layer0.owned_mut();
        layer0.reserve_exact((cap * w0).saturating_sub(layer0.len()));
        huge::advise(layer0.as_ptr(), layer0.capacity());
        layer0.resize_with(cap * w0, || AtomicU32::new(0));
        let used = *self.upper_used.get_mut();
        let room = (used + upper_words).max(used + used / 8 + 16 * (1 + self.max_upper));
        let upper = self.upper.owned_mut();
        if upper.len() < used + upper_words {
            upper.reserve_exact(room - upper.len());
            upper.resize_with(room, || AtomicU32::new(0));
        }
        // Exactly `cap`: `resize_with` alone may double the allocation.
        self.locks
            .reserve_exact(cap.saturating_sub(self.locks.len()));
        self.locks.resize_with(cap, || Mutex::new(()));
        self.deleted
            .reserve_exact(cap.saturating_sub(self.deleted.len()));
        self.deleted.resize_with(cap, || AtomicBool::new(false));
        if let Some(counts) = self.in_degree0.get_mut() {
            counts.reserve_exact(cap.saturating_sub(counts.len()));
            counts.resize_with(cap, || AtomicU32::new(0));
        }
        let (map, ids) = (self.by_id.get_mut(), &self.ids);
        map.reserve(cap - n, ids);
        Ok(())
    }

    /// Appends a node (vector already prepared for the metric, `code` of
    /// `code_bytes` bytes) with no links, beside readers, and returns it.
    /// Fails, appending nothing, when the room made by [`grow`](Self::grow)
    /// does not hold it.
    pub fn append(&self, id: u64, vector: &[f32], code: &[u8], level: usize) -> Result<NodeId> {
        let _one = self.appending.lock();
        let words = level * (1 + self.max_upper);
        if !self.has_room(1, words) || code.len() != self.code_bytes {
            return Err(Error::invalid("node", "appended without room made for it"));
        }
        let node = self.node_count();
        let offset = self.upper_used.load(Ordering::Relaxed);
        // Every column's room was checked above and only this thread
        // appends, so each takes the row. The codes go last: a scorer
        // bounds its view by the node count (see `codes`), never by them.
        let fits = self.vectors.append(vector)
            && self.ids.push(id)
            && self.upper_offset.push(offset as u32)
            && self.codes.extend_from_slice(code);
        debug_assert!(fits);
        // Fresh slots are zero (never used); clear the counts anyway, so a
        // slot's state never depends on what room once held.
        self.layer0[node * (1 + self.max0)].store(0, Ordering::Relaxed);
        for layer in 0..level {
            self.upper[offset + layer * (1 + self.max_upper)].store(0, Ordering::Relaxed);
        }
        self.upper_used.store(offset + words, Ordering::Relaxed);
        self.deleted[node].store(false, Ordering::Relaxed);
        if let Some(counts) = self.in_degree0.get() {
            counts[node].store(0, Ordering::Relaxed);
        }
        // Publish: the node count is the levels' length.
        self.levels.push(level as u8);
        self.by_id.write().insert(node as NodeId, &self.ids);
        Ok(node as NodeId)
    }

    /// The live node of `id`, if any.
    #[inline]
    pub fn node_of(&self, id: u64) -> Option<NodeId> {
        self.by_id.read().get(id, &self.ids)
    }

    /// Whether `id` is live.
    pub fn contains(&self, id: u64) -> bool {
        self.node_of(id).is_some()
    }

    /// The codes of the nodes published now, node-major (empty for a kind
    /// without codes). A scorer over this snapshot never scores a node
    /// whose other columns are not yet visible: the node count is loaded
    /// first, and every column of a node is written before it is counted.
    #[inline(always)]
    pub fn codes(&self) -> &[u8] {
        let n = self.node_count();
        &self.codes[..n * self.code_bytes]
    }

    /// The vectors of the nodes published now, row-major (a snapshot, as
    /// [`codes`](Self::codes)).
    #[inline(always)]
    pub fn rows(&self) -> &[f32] {
        let n = self.node_count();
        &self.vectors.rows()[..n * self.vectors.dims()]
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

    /// Hints the CPU to load `node`'s layer-0 list (the next one a search
    /// will probably read; its list is read right after, so it exists).
    #[inline(always)]
    pub fn prefetch_links(&self, node: NodeId) {
        match &self.packed0 {
            Some(p) => prefetch_bytes(p.slot_bytes_of(node), usize::MAX),
            None => prefetch_bytes(self.slot(node, 0), usize::MAX),
        }
    }

    /// Calls `f` on each neighbour of `node` on `layer`.
    #[inline(always)]
    pub fn for_each_neighbor(&self, node: NodeId, layer: usize, mut f: impl FnMut(NodeId)) {
        if let (0, Some(p)) = (layer, &self.packed0) {
            return p.for_each(node, f);
        }
        let slot = self.slot(node, layer);
        let count = (slot[0].load(Ordering::Acquire) as usize).min(slot.len() - 1);
        // A link may name a node stored after the caller's scorer took its
        // view of the rows: that node scores as unreachable (see
        // `ExactScorer`), so nothing else of it is read.
        for link in &slot[1..=count] {
            f(link.load(Ordering::Relaxed));
        }
    }

    /// Copies the neighbours of `node` on `layer` into `out` (cleared first).
    pub fn neighbors_into(&self, node: NodeId, layer: usize, out: &mut Vec<NodeId>) {
        out.clear();
        self.for_each_neighbor(node, layer, |n| out.push(n));
    }

    /// Replaces the links of `node` on `layer`. Callers hold the node's lock
    /// and stored a node since the links were packed, if they were (a store
    /// unpacks them: see [`Self::has_room`]).
    pub fn set_neighbors(&self, node: NodeId, layer: usize, links: &[NodeId]) {
        debug_assert!(
            layer > 0 || self.packed0.is_none(),
            "packed links rewritten"
        );
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
            let counts: Vec<AtomicU32> = (0..self.capacity()).map(|_| AtomicU32::new(0)).collect();
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

    /// Nodes marked deleted. A search that reads 0 (acquire) may take every
    /// node it meets as live: a removal marks the node first, then counts
    /// it (release).
    #[inline]
    pub fn deleted_count(&self) -> usize {
        self.deleted_count.load(Ordering::Acquire)
    }

    /// Marks `node` deleted (it keeps routing searches) and forgets its id.
    pub fn mark_deleted(&self, node: NodeId) {
        if !self.deleted[node as usize].swap(true, Ordering::Relaxed) {
            self.deleted_count.fetch_add(1, Ordering::Release);
            let id = self.ids[node as usize];
            let mut map = self.by_id.write();
            if map.get(id, &self.ids) == Some(node) {
                map.remove(id, &self.ids);
            }
        }
    }

    /// Bytes of links (packed or not), levels and offsets.
    pub fn graph_bytes(&self) -> usize {
        self.layer0.bytes()
            + self.packed0.as_ref().map_or(0, PackedLinks::bytes)
            + self.upper.bytes()
            + self.upper_offset.bytes()
            + self.levels.bytes()
    }

    /// Packs layer 0 (see [`PackedLinks`]) and returns whether it is
    /// packed: not when its lists are longer than a packed slot holds. The
    /// caller holds the graph exclusively, with no write between its store
    /// and its link.
    pub fn pack_links(&mut self) -> bool {
        if self.packed0.is_none() && self.max0 <= MAX_PACKED_LINKS {
            let packed = PackedLinks::pack(&self.layer0, self.node_count(), self.max0);
            self.layer0 = Words::default();
            self.packed0 = Some(packed);
        }
        self.packed0.is_some()
    }

    /// Unpacks layer 0 into writable slots, for every node there is room
    /// for (nothing to do when it is not packed).
    pub fn unpack_links(&mut self) {
        self.unpack_links_to(self.capacity());
    }

    /// Unpacks layer 0 into writable slots for `capacity` nodes.
    fn unpack_links_to(&mut self, capacity: usize) {
        if let Some(p) = self.packed0.take() {
            let mut words = p.unpack(capacity);
            huge::advise(words.as_mut_ptr(), words.capacity());
            self.layer0 = Words::Owned(words);
        }
    }

    /// Whether layer 0 is packed.
    pub fn links_packed(&self) -> bool {
        self.packed0.is_some()
    }

    /// Calls `f` on the layer-0 slots of `nodes` as words (a count, then
    /// links; `1 + 2M` per node), packed or not: for writing and checking
    /// them.
    pub fn with_layer0_words<R>(
        &self,
        nodes: std::ops::Range<usize>,
        f: impl FnOnce(&[AtomicU32]) -> R,
    ) -> R {
        let w = 1 + self.max0;
        match &self.packed0 {
            None => f(&self.layer0[nodes.start * w..nodes.end * w]),
            Some(p) => f(&p.slots(nodes)),
        }
    }

    /// Bytes of links viewed in place in a mapped graph file (included in
    /// [`graph_bytes`](Self::graph_bytes)).
    pub fn mapped_bytes(&self) -> usize {
        self.layer0.mapped_bytes() + self.upper.mapped_bytes()
    }

    /// Bytes of the id table and map.
    pub fn id_bytes(&self) -> usize {
        self.ids.bytes() + self.by_id.read().bytes()
    }

    /// Bytes of per-node locks, deletion marks and in-degree counts.
    pub fn other_bytes(&self) -> usize {
        self.locks.capacity() * std::mem::size_of::<Mutex<()>>()
            + self.deleted.capacity()
            + self.in_degree0.get().map_or(0, |c| c.capacity() * 4)
    }
}
