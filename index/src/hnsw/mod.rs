//! HNSW: Hierarchical Navigable Small World graphs (Malkov & Yashunin).
//!
//! | file | role |
//! |---|---|
//! | `params.rs` | build parameters and their validation |
//! | `graph.rs` | memory layout: append-only columns (vectors, codes, ids, levels, layer-0 slots, upper-layer pool), node locks |
//! | `words.rs` | link words: in RAM, or in place in a mapped graph file |
//! | `packed.rs` | layer-0 lists bit-packed for a graph at rest |
//! | `persist.rs` | snapshot / restore as graph-file sections, for `crate::storage` |
//! | `inspect.rs` | the vector store, node count, a live id's vector, structural invariants |
//! | `scorer.rs` | per-query distance to a node (exact here; PQ codes elsewhere) |
//! | `search.rs` | greedy descent and the beam search of one layer (next list prefetched) |
//! | `pool.rs` | the sorted beam of a search that may return every node it meets (no filter, no deletes; construction) |
//! | `select.rs` | the neighbour-selection heuristic |
//! | `insert.rs` | linking a node in, concurrently |
//! | `reorder.rs` | renumbering nodes breadth-first after a bulk build, for locality |
//! | `navigate.rs` | search with a caller's scorer, exact re-ranking (for the PQ index) |
//! | `scratch.rs` | pooled per-search scratch: visited bitsets (cleared by the words a search set; grown for nodes stored after a search began), heaps, the pool |
//! | `rng.rs` | the seeded level generator |
//! | `view.rs` | `GraphView`: read-only inspection for indexes that own a graph |
//!
//! Inserting is two phases. A node is *stored*: its level drawn, its
//! vector (and code) appended, its empty link slots taken from room made
//! ahead (`graph.rs`), under the shared read lock and a store mutex, one
//! store at a time. Then, under the read lock, it is *linked*; many threads
//! link at once, locking only the nodes whose lists they rewrite. Searches
//! take the read lock too, so searches, stores and links all run side by
//! side; only growing the columns' room (rarely) takes the write lock.

mod graph;
mod insert;
mod inspect;
mod navigate;
mod packed;
mod params;
pub(crate) mod persist;
mod pool;
mod reconnect;
mod reorder;
mod rng;
pub(crate) mod scorer;
mod scratch;
pub(crate) mod search;
mod select;
mod view;
pub(crate) mod words;

pub(crate) use graph::Graph;
pub use params::HnswParams;
pub use view::GraphView;

use parking_lot::{Mutex, RwLock, RwLockReadGuard};
use rayon::prelude::*;

use crate::distance::Kernels;
use crate::error::{Error, Result};
use crate::index::{Index, MemoryUsage, Neighbor, SearchParams};
use crate::metric::Metric;
use crate::validate;
use graph::NodeId;
use params::MAX_LEVEL;
use rng::LevelRng;
use scorer::ExactScorer;
pub(crate) use scorer::LinkScoring;
use scratch::ScratchPool;

/// An HNSW index over f32 vectors with `u64` ids.
pub struct HnswIndex {
    dims: usize,
    metric: Metric,
    params: HnswParams,
    kernels: Kernels,
    graph: RwLock<Graph>,
    rng: Mutex<LevelRng>,
    scratch: ScratchPool,
    entry_lock: Mutex<()>,
    /// One store at a time: a write's checks (is the id new?) and its
    /// append are one step.
    storing: Mutex<()>,
    /// Writes between their store and their link (their node numbers must
    /// not change: see `reorder.rs`).
    writes_in_flight: std::sync::atomic::AtomicUsize,
}

impl HnswIndex {
    /// An empty index. Fails on `dims = 0` or invalid params.
    pub fn new(dims: usize, metric: Metric, params: HnswParams) -> Result<Self> {
        if dims == 0 {
            return Err(Error::invalid("dims", "must be at least 1"));
        }
        params.validate()?;
        Ok(HnswIndex {
            dims,
            metric,
            params,
            kernels: Kernels::detect(),
            graph: RwLock::new(Graph::new(dims, params.m)),
            rng: Mutex::new(LevelRng::new(params.seed)),
            scratch: ScratchPool::default(),
            entry_lock: Mutex::new(()),
            storing: Mutex::new(()),
            writes_in_flight: Default::default(),
        })
    }

    /// The build parameters.
    pub fn params(&self) -> &HnswParams {
        &self.params
    }

    /// Phase one of [`update`](Index::update): marks the old version deleted
    /// and stores the new one, unlinked.
    pub(crate) fn store_update(&self, id: u64, vector: &[f32]) -> Result<NodeId> {
        self.store_update_coded(id, vector, &[])
    }

    /// [`store_update`](Self::store_update) of a node with its `code`
    /// (for the kinds that navigate on codes).
    pub(crate) fn store_update_coded(
        &self,
        id: u64,
        vector: &[f32],
        code: &[u8],
    ) -> Result<NodeId> {
        validate::vector(vector, self.dims, 0)?;
        let _one = self.storing.lock();
        let levels = self.draw_levels(1);
        let g = self.room_for(&levels)?;
        if let Some(old) = g.node_of(id) {
            g.mark_deleted(old);
        }
        let v = self.metric.prepared(vector, &self.kernels);
        g.append(id, &v, code, levels[0])
    }

    /// Phase one of [`add_batch`](Index::add_batch): checks the batch and
    /// that its ids are new, and stores every vector, unlinked, returning
    /// their nodes in order. Nothing is stored when an id is taken.
    pub(crate) fn store_batch(&self, ids: &[u64], vectors: &[f32]) -> Result<Vec<NodeId>> {
        validate::batch(ids, vectors, self.dims)?;
        self.store_rows(ids, vectors)
    }

    /// [`store_batch`](Self::store_batch) of a batch its caller has already
    /// validated (`validate::batch`): checks only that the ids are new.
    pub(crate) fn store_rows(&self, ids: &[u64], vectors: &[f32]) -> Result<Vec<NodeId>> {
        self.store_rows_coded(ids, vectors, &[])
    }

    /// [`store_rows`](Self::store_rows) with each row's code (`codes` holds
    /// `code_bytes` per row, or nothing for a kind without codes).
    pub(crate) fn store_rows_coded(
        &self,
        ids: &[u64],
        vectors: &[f32],
        codes: &[u8],
    ) -> Result<Vec<NodeId>> {
        let _one = self.storing.lock();
        {
            let g = self.graph.read();
            if let Some(&id) = ids.iter().find(|&&id| g.contains(id)) {
                return Err(Error::DuplicateId(id));
            }
        }
        let levels = self.draw_levels(ids.len());
        // Room for every row first, so no store of the batch fails half way.
        let g = self.room_for(&levels)?;
        let code_bytes = codes.len() / ids.len().max(1);
        ids.iter()
            .zip(vectors.chunks_exact(self.dims))
            .zip(&levels)
            .enumerate()
            .map(|(i, ((&id, v), &level))| {
                let v = self.metric.prepared(v, &self.kernels);
                g.append(id, &v, &codes[i * code_bytes..(i + 1) * code_bytes], level)
            })
            .collect()
    }

    /// Makes room for `rows` more nodes now (the vector file grown, if it
    /// must), so that their store cannot fail for want of it.
    pub(crate) fn reserve(&self, rows: usize) -> Result<()> {
        if !self.graph.read().has_room(rows, 0) {
            self.graph.write().grow(rows, 0)?;
        }
        Ok(())
    }

    /// Levels for `n` new nodes, drawn in order.
    fn draw_levels(&self, n: usize) -> Vec<usize> {
        let mut rng = self.rng.lock();
        (0..n)
            .map(|_| rng.level(self.params.level_multiplier(), MAX_LEVEL))
            .collect()
    }

    /// The read guard, with room made for nodes of `levels` (growing takes
    /// the write lock, rarely). The caller holds `storing`, so the room
    /// stays free until it appends.
    fn room_for(&self, levels: &[usize]) -> Result<RwLockReadGuard<'_, Graph>> {
        let words = levels.iter().sum::<usize>() * (1 + self.params.m);
        {
            let g = self.graph.read();
            if g.has_room(levels.len(), words) {
                return Ok(g);
            }
        }
        self.graph.write().grow(levels.len(), words)?;
        Ok(self.graph.read())
    }

    /// Whether `id` is a live vector in the index.
    pub fn contains(&self, id: u64) -> bool {
        self.graph.read().contains(id)
    }

    /// Highest level in the graph (0 when it has one layer or none).
    pub fn max_level(&self) -> usize {
        self.graph.read().entry().map_or(0, |(_, l)| l)
    }

    /// How many nodes each layer holds: `[layer 0, layer 1, …]`.
    pub fn layer_sizes(&self) -> Vec<usize> {
        let g = self.graph.read();
        let mut sizes = vec![0; MAX_LEVEL + 1];
        for n in 0..g.node_count() as NodeId {
            for s in sizes.iter_mut().take(g.level(n) + 1) {
                *s += 1;
            }
        }
        while sizes.len() > 1 && sizes.last() == Some(&0) {
            sizes.pop();
        }
        sizes
    }

    /// Nodes reachable from the entry point on layer 0 (deleted ones
    /// included), for connectivity checks.
    pub fn reachable_from_entry(&self) -> usize {
        let g = self.graph.read();
        let Some((entry, _)) = g.entry() else {
            return 0;
        };
        let mut reached = vec![false; g.node_count()];
        reconnect::walk(&g, entry, &mut reached);
        reached.iter().filter(|&&r| r).count()
    }

    /// A whole in-RAM write: `store` (phase one), then its nodes linked;
    /// after a batch that built most of the index, the nodes are
    /// renumbered for locality ([`reorder`](Self::reorder)).
    pub(crate) fn store_and_link(&self, store: impl FnOnce() -> Result<Vec<NodeId>>) -> Result<()> {
        self.store_and_link_by(store, |nodes| self.link_all(nodes))
    }

    /// [`store_and_link`](Self::store_and_link) with the caller's `link`
    /// (a quantized index links by its codes: [`link_all_by`](Self::link_all_by)).
    pub(crate) fn store_and_link_by(
        &self,
        store: impl FnOnce() -> Result<Vec<NodeId>>,
        link: impl FnOnce(&[NodeId]),
    ) -> Result<()> {
        use std::sync::atomic::Ordering::SeqCst;
        self.writes_in_flight.fetch_add(1, SeqCst);
        let stored = store();
        if let Ok(nodes) = &stored {
            link(nodes);
        }
        self.writes_in_flight.fetch_sub(1, SeqCst);
        let batch = stored?.len();
        if self.builds_most_of(batch) {
            self.reorder();
        }
        Ok(())
    }

    /// Phase two: links stored nodes, in parallel on the current rayon pool.
    ///
    /// Each node is linked under its own read guard, so a writer that must
    /// grow the columns waits for the links in flight, not for the rest of
    /// a batch.
    pub(crate) fn link_all(&self, nodes: &[NodeId]) {
        self.link_all_by(nodes, &self.exact_links());
    }

    /// [`link_all`](Self::link_all), each node's candidates found by
    /// `links`' scorer (and chosen on exact distances).
    pub(crate) fn link_all_by<L: LinkScoring>(&self, nodes: &[NodeId], links: &L) {
        self.graph.read().prepare_in_degrees();
        let link = |node: NodeId| self.link_one(&self.graph.read(), node, links);
        if nodes.len() == 1 || rayon::current_num_threads() == 1 {
            nodes.iter().for_each(|&n| link(n));
        } else {
            nodes.par_iter().with_min_len(16).for_each(|&n| link(n));
        }
        if nodes.len() > 1 {
            self.reconnect();
        }
    }
}

impl Index for HnswIndex {
    fn dims(&self) -> usize {
        self.dims
    }

    fn metric(&self) -> Metric {
        self.metric
    }

    fn len(&self) -> usize {
        self.graph.read().live_count()
    }

    fn add(&self, id: u64, vector: &[f32]) -> Result<()> {
        self.add_batch(&[id], vector)
    }

    fn add_batch(&self, ids: &[u64], vectors: &[f32]) -> Result<()> {
        self.store_and_link(|| self.store_batch(ids, vectors))
    }

    /// Marks `id` deleted: it is never returned again but still routes searches.
    fn remove(&self, id: u64) -> Result<()> {
        let _one = self.storing.lock();
        let g = self.graph.read();
        let node = g.node_of(id).ok_or(Error::UnknownId(id))?;
        g.mark_deleted(node);
        Ok(())
    }

    /// Replaces the vector stored under `id` (or adds it when absent): the
    /// old version is marked deleted and the new one linked in. A reader
    /// beside the update may find `id` absent for the moment between the
    /// two (never both versions).
    fn update(&self, id: u64, vector: &[f32]) -> Result<()> {
        self.store_and_link(|| self.store_update(id, vector).map(|n| vec![n]))
    }

    fn search(&self, query: &[f32], k: usize, params: &SearchParams) -> Result<Vec<Neighbor>> {
        let g = self.graph.read();
        validate::query(query, self.dims, k, g.live_count())?;
        let ef = params.ef.max(k);
        if let Some(f) = &params.filter {
            if let Some(ids) = f.ids().filter(|_| f.scans_exactly(g.live_count(), ef)) {
                return Ok(self.scan_ids_in(&g, query, ids, k));
            }
        }
        let q = self.metric.prepared(query, &self.kernels);
        let scorer = ExactScorer::new(&g, &q, self.metric, self.kernels);
        let found = self.search_graph(&g, &scorer, ef, params.filter.as_ref())?;
        Ok(found
            .into_iter()
            .take(k)
            .map(|c| Neighbor {
                id: g.ids[c.item as usize],
                distance: c.distance,
            })
            .collect())
    }

    fn memory_usage(&self) -> MemoryUsage {
        let g = self.graph.read();
        MemoryUsage {
            vectors: g.vectors.bytes(),
            graph: g.graph_bytes(),
            codes: g.codes.bytes(),
            ids: g.id_bytes(),
            other: g.other_bytes() + self.scratch.bytes(),
            disk: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    /// A store takes only the shared lock: it completes while a search (or
    /// a link) holds the graph, and the search's view stays whole.
    #[test]
    fn a_store_does_not_wait_for_a_reader() {
        let d = 8;
        let index = HnswIndex::new(d, Metric::L2, HnswParams::new(8, 32)).unwrap();
        let rows: Vec<f32> = (0..100 * d).map(|i| (i % 97) as f32).collect();
        let ids: Vec<u64> = (0..100).collect();
        index.add_batch(&ids, &rows).unwrap();
        index.reserve(10).unwrap();
        let reader = index.graph.read();
        let before = reader.node_count();
        let far = vec![1_000.0; d];
        let (done, finished) = mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| {
                let stored = index.store_rows(&[500], &far);
                done.send(stored).unwrap();
            });
            let stored = finished
                .recv_timeout(Duration::from_secs(20))
                .expect("the store waited for the reader");
            assert_eq!(stored.unwrap(), vec![100]);
            assert_eq!(
                reader.node_count(),
                before + 1,
                "published beside the reader"
            );
            assert_eq!(reader.node_of(500), Some(100));
            assert_eq!(reader.vector(100), &far[..]);
            drop(reader);
        });
        index.link_all(&[100]);
        let hit = index.search(&far, 1, &SearchParams::with_ef(16)).unwrap();
        assert_eq!(hit[0].id, 500, "{hit:?}");
        assert_eq!(index.check_invariants(), Ok(()));
    }

    /// Room grows by an eighth of the nodes held, so one-at-a-time stores
    /// take the write lock rarely, and the accounting counts the room.
    #[test]
    fn one_at_a_time_stores_grow_the_room_rarely() {
        let d = 4;
        let index = HnswIndex::new(d, Metric::L2, HnswParams::new(4, 16)).unwrap();
        let mut grew = 0;
        let mut cap = 0;
        for i in 0..2_000u64 {
            let v = [i as f32, 1.0, 2.0, 3.0];
            index.add(i, &v).unwrap();
            let now = index.graph.read().capacity();
            grew += usize::from(now != cap);
            cap = now;
        }
        assert!(grew <= 30, "room grew {grew} times over 2,000 stores");
        let mem = index.memory_usage();
        assert!(mem.vectors >= cap * d * 4 && mem.ids >= cap * 8, "{mem:?}");
        assert_eq!(index.check_invariants(), Ok(()));
    }
}
