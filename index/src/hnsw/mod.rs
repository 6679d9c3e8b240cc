//! HNSW: Hierarchical Navigable Small World graphs (Malkov & Yashunin).
//!
//! | file | role |
//! |---|---|
//! | `params.rs` | build parameters and their validation |
//! | `graph.rs` | memory layout: vectors, levels, layer-0 slots, upper-layer pool, node locks |
//! | `words.rs` | link words: in RAM, or in place in a mapped graph file |
//! | `persist.rs` | snapshot / restore as graph-file sections, for `crate::storage` |
//! | `inspect.rs` | the vector store, node count, a live id's vector, structural invariants |
//! | `scorer.rs` | per-query distance to a node (exact here; PQ codes elsewhere) |
//! | `search.rs` | greedy descent and the beam search of one layer |
//! | `select.rs` | the neighbour-selection heuristic |
//! | `insert.rs` | linking a node in, concurrently |
//! | `navigate.rs` | search with a caller's scorer, exact re-ranking (for the PQ index) |
//! | `scratch.rs` | pooled per-search scratch: epoch-stamped visited sets, heaps |
//! | `rng.rs` | the seeded level generator |
//! | `view.rs` | `GraphView`: read-only inspection for indexes that own a graph |
//!
//! Inserting is two phases. Under the index's write lock a node is *stored*:
//! its vector copied in, its level drawn, its empty link slots allocated.
//! Then, under the shared read lock, it is *linked*; many threads link at
//! once, locking only the nodes whose lists they rewrite. Searches take the
//! read lock too, so they run while other threads insert.

mod graph;
mod insert;
mod inspect;
mod navigate;
mod params;
pub(crate) mod persist;
mod reconnect;
mod rng;
pub(crate) mod scorer;
mod scratch;
pub(crate) mod search;
mod select;
mod view;
pub(crate) mod words;

pub use params::HnswParams;
pub use view::GraphView;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use rayon::prelude::*;

use crate::distance::Kernels;
use crate::error::{Error, Result};
use crate::index::{Index, MemoryUsage, Neighbor, SearchParams};
use crate::metric::Metric;
use crate::validate;
use graph::{Graph, NodeId};
use params::MAX_LEVEL;
use rng::LevelRng;
use scorer::ExactScorer;
use scratch::ScratchPool;

/// How long a store spins for the graph's exclusive lock, and a link
/// stepped aside for it waits, before sleeping on the lock.
const STORE_SPIN: Duration = Duration::from_micros(50);

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
    /// Stores waiting for the graph's exclusive lock (see `graph_mut`).
    stores_waiting: AtomicUsize,
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
            stores_waiting: AtomicUsize::new(0),
        })
    }

    /// The build parameters.
    pub fn params(&self) -> &HnswParams {
        &self.params
    }

    /// Phase one of [`update`](Index::update): marks the old version deleted
    /// and stores the new one, unlinked.
    pub(crate) fn store_update(&self, id: u64, vector: &[f32]) -> Result<NodeId> {
        validate::vector(vector, self.dims, 0)?;
        let mut g = self.graph_mut();
        if let Some(old) = g.by_id.get(id, &g.ids) {
            g.mark_deleted(old);
        }
        self.store(&mut g, id, vector)
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
        let mut g = self.graph_mut();
        if let Some(&id) = ids.iter().find(|&&id| g.by_id.contains(id, &g.ids)) {
            return Err(Error::DuplicateId(id));
        }
        // Room for every row first, so no store of the batch fails half way.
        g.reserve(ids.len())?;
        ids.iter()
            .zip(vectors.chunks_exact(self.dims))
            .map(|(&id, v)| self.store(&mut g, id, v))
            .collect()
    }

    /// Whether `id` is a live vector in the index.
    pub fn contains(&self, id: u64) -> bool {
        let g = self.graph.read();
        g.by_id.contains(id, &g.ids)
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

    /// The graph's exclusive lock, for a store. Links in flight see the
    /// waiting store between steps and step aside ([`Self::yield_to_stores`]),
    /// and this thread spins rather than sleeps meanwhile: on a small
    /// virtual machine a futex hand-off (sleep, wake) costs more than a
    /// whole store, and two one-at-a-time writers would take turns instead
    /// of linking side by side. Past [`STORE_SPIN`] (a long search holds the
    /// lock) it blocks, which also holds back new readers.
    fn graph_mut(&self) -> RwLockWriteGuard<'_, Graph> {
        if let Some(g) = self.graph.try_write() {
            return g;
        }
        self.stores_waiting.fetch_add(1, Ordering::SeqCst);
        let start = Instant::now();
        let g = loop {
            if let Some(g) = self.graph.try_write() {
                break g;
            }
            if start.elapsed() > STORE_SPIN {
                break self.graph.write();
            }
            std::thread::yield_now();
        };
        self.stores_waiting.fetch_sub(1, Ordering::SeqCst);
        g
    }

    /// Lets go of `g` while a store waits for the exclusive lock, and takes
    /// it again once no store waits (spinning, as the store does).
    fn yield_to_stores(&self, g: &mut RwLockReadGuard<'_, Graph>) {
        if self.stores_waiting.load(Ordering::SeqCst) == 0 {
            return;
        }
        RwLockReadGuard::unlocked(g, || {
            let start = Instant::now();
            while self.stores_waiting.load(Ordering::SeqCst) > 0 && start.elapsed() < STORE_SPIN {
                std::thread::yield_now();
            }
        });
    }

    /// Phase one: copies the vector in and allocates its node.
    fn store(&self, g: &mut Graph, id: u64, vector: &[f32]) -> Result<NodeId> {
        let level = self
            .rng
            .lock()
            .level(self.params.level_multiplier(), MAX_LEVEL);
        g.push(id, &self.metric.prepared(vector, &self.kernels), level)
    }

    /// Phase two: links stored nodes, in parallel on the current rayon pool.
    ///
    /// Each node is linked under its own read guard, which it offers to a
    /// waiting writer every few steps (see `insert.rs`): a store waiting for
    /// the exclusive lock (and every search that queues behind a waiting
    /// writer) then waits for a few steps of each link in flight, not for
    /// whole links or the rest of a batch.
    pub(crate) fn link_all(&self, nodes: &[NodeId]) {
        self.graph.read().prepare_in_degrees();
        let link = |node: NodeId| self.link_one(self.graph.read(), node);
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
        let nodes = self.store_batch(ids, vectors)?;
        self.link_all(&nodes);
        Ok(())
    }

    /// Marks `id` deleted: it is never returned again but still routes searches.
    fn remove(&self, id: u64) -> Result<()> {
        let mut g = self.graph_mut();
        let node = g.by_id.get(id, &g.ids).ok_or(Error::UnknownId(id))?;
        g.mark_deleted(node);
        Ok(())
    }

    /// Replaces the vector stored under `id` (or adds it when absent): the
    /// old version is marked deleted and the new one linked in.
    fn update(&self, id: u64, vector: &[f32]) -> Result<()> {
        let node = self.store_update(id, vector)?;
        self.link_all(&[node]);
        Ok(())
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
            codes: 0,
            ids: g.id_bytes(),
            other: g.other_bytes() + self.scratch.bytes(),
            disk: 0,
        }
    }
}
