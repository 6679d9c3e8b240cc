//! `HnswSq8Index`: an HNSW graph navigated over 8-bit scalar-quantized
//! codes with integer kernels, with exact re-ranking of the best candidates.
//!
//! ```text
//! query ─► Sq8Query (quantized once: d lanes of i16)
//!            │
//!            ▼
//!   graph descent + beam search (ef) scored by IntKernels over the codes
//!            │  (n × d bytes, one contiguous array, indexed by node)
//!            │  best `depth` candidates
//!            ▼
//!   exact distances from the full vectors (RAM or mapped) ─► top k
//! ```
//!
//! The graph is linked by the codes too (`scorer::Sq8Links`): each
//! insertion's candidate searches run on the integer kernels, the
//! neighbours are chosen on the distances they found, and the heuristic's
//! distances between stored nodes (and a full list's distances to its
//! owner) are taken between codes, so linking never reads the full
//! vectors (a graph as good as an exactly linked one in
//! `tests/hnsw_sq8.rs`; on fashion-mnist (784-d) the build is 1.5–1.7×
//! what it was with exact distances in the choice). Search touches only codes
//! and links until the re-ranking step, and the results always carry exact
//! distances.
//!
//! **Re-rank depth.** `SearchParams::rerank > 0` re-ranks the best
//! `max(rerank, k)` candidates (and raises `ef` to at least that many).
//! `rerank = 0` (the default) re-ranks [`default_depth`]`(ef, k)` =
//! `max(ef, k) + ⌈k / 2⌉` candidates, the whole (so slightly widened) beam.
//! The f32 search answers with the best `k` of a beam of `ef`; an SQ8 beam
//! of exactly `ef` loses the true neighbours the codes rank just past its
//! edge, which costs up to 0.02 recall@10 when `ef` is close to `k` (and
//! nothing from `ef ≈ 3k` up). The `⌈k / 2⌉` extra places absorb that, so
//! recall stays level with f32 traversal at equal `ef` (at or above it,
//! within 0.002, in `tests/hnsw_sq8.rs`), for about `ef + k/2` exact
//! distances per query, a small share of the code distances the beam
//! search spends. There is no unranked mode: the codes' distances never
//! reach the caller.

pub(crate) mod persist;
mod scorer;

use parking_lot::RwLock;

use crate::distance::int::IntKernels;
use crate::error::{Error, Result};
use crate::hnsw::{GraphView, HnswIndex, HnswParams};
use crate::index::{Index, MemoryUsage, Neighbor, SearchParams};
use crate::metric::Metric;
use crate::sq8::{Sq8Params, Sq8Quantizer, Sq8Query, MIN_TRAIN_ROWS};
use crate::validate;
use scorer::{Sq8Links, Sq8Scorer};

/// Build parameters of an [`HnswSq8Index`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HnswSq8Params {
    /// The graph's parameters.
    pub hnsw: HnswParams,
    /// The quantizer's training parameters.
    pub sq8: Sq8Params,
}

/// HNSW over SQ8 codes with exact re-ranking.
pub struct HnswSq8Index {
    graph: HnswIndex,
    sq8_params: Sq8Params,
    kernels: IntKernels,
    /// The quantizer; each node's code (`dims` bytes) lives in the graph,
    /// appended with the node.
    sq: RwLock<Option<Sq8Quantizer>>,
}

impl HnswSq8Index {
    /// An empty index; the quantizer is trained on the first `add_batch`,
    /// which must then hold at least [`MIN_TRAIN_ROWS`] vectors, and its
    /// ranges stay fixed after that (later values beyond them are clamped
    /// in the codes; re-ranking still sees them exactly). Dimensions are
    /// limited to 8192 (the integer kernels' bound).
    pub fn new(dims: usize, metric: Metric, params: HnswSq8Params) -> Result<Self> {
        params.sq8.validate(dims)?; // dims = 0 included
        let mut graph = HnswIndex::new(dims, metric, params.hnsw)?;
        graph.set_code_bytes(dims);
        Ok(HnswSq8Index {
            graph,
            sq8_params: params.sq8,
            kernels: IntKernels::detect(),
            sq: RwLock::new(None),
        })
    }

    /// The trained quantizer's bytes, for saving with the index.
    pub fn quantizer_bytes(&self) -> Option<Vec<u8>> {
        self.sq.read().as_ref().map(Sq8Quantizer::to_bytes)
    }

    /// Whether the quantizer has been trained (by the first batch).
    pub fn is_trained(&self) -> bool {
        self.sq.read().is_some()
    }

    /// The graph this index navigates, for inspection (writes go through
    /// this index, which keeps codes and nodes in step).
    pub fn hnsw(&self) -> GraphView<'_> {
        GraphView(&self.graph)
    }

    /// Renumbers the nodes (and their codes) for locality, as
    /// [`HnswIndex::reorder`] does; done automatically after a batch that
    /// builds most of the index.
    pub fn reorder(&self) -> bool {
        self.graph.reorder()
    }

    /// The graph itself, for the storage layer.
    pub(crate) fn hnsw_index(&self) -> &HnswIndex {
        &self.graph
    }

    /// The quantizer's training parameters.
    pub fn sq8_params(&self) -> &Sq8Params {
        &self.sq8_params
    }

    /// The same graph searched with exact f32 distances throughout, as
    /// [`HnswIndex`] searches: the baseline the quantized traversal is
    /// measured against (equal graph, equal `ef`).
    pub fn search_exact(
        &self,
        query: &[f32],
        k: usize,
        params: &SearchParams,
    ) -> Result<Vec<Neighbor>> {
        self.graph.search(query, k, params)
    }

    /// The integer kernels searches use.
    pub fn kernels(&self) -> IntKernels {
        self.kernels
    }

    /// Phase one of [`update`](Index::update): the new version's code and
    /// node, stored unlinked.
    pub(crate) fn store_update(&self, id: u64, vector: &[f32]) -> Result<u32> {
        validate::vector(vector, self.dims(), 0)?;
        let code = self.encode_batch(vector)?;
        self.graph.store_update_coded(id, vector, &code)
    }

    /// Phase one of [`add_batch`](Index::add_batch): codes and nodes
    /// stored, unlinked, in order.
    pub(crate) fn store_batch(&self, ids: &[u64], vectors: &[f32]) -> Result<Vec<u32>> {
        validate::batch(ids, vectors, self.dims())?;
        self.store_rows(ids, vectors)
    }

    /// [`store_batch`](Self::store_batch) of a batch its caller has already
    /// validated.
    pub(crate) fn store_rows(&self, ids: &[u64], vectors: &[f32]) -> Result<Vec<u32>> {
        let codes = self.encode_batch(vectors)?;
        self.graph.store_rows_coded(ids, vectors, &codes)
    }

    /// Phase two of a write: links stored `nodes`, their candidates found
    /// over the codes ([`Sq8Links`]). Lock order: quantizer, graph (as
    /// `search` takes them).
    pub(crate) fn link(&self, nodes: &[u32]) {
        let sq = self.sq.read();
        match sq.as_ref() {
            Some(sq) => self.graph.link_all_by(
                nodes,
                &Sq8Links {
                    sq,
                    kernels: self.kernels,
                    exact: self.graph.exact_links(),
                },
            ),
            // Unreachable: nodes are stored only once the quantizer is
            // trained.
            None => self.graph.link_all(nodes),
        }
    }

    /// Fails, as `add_batch` would, when a write of `rows` vectors arrives
    /// before the quantizer is trained and is too small to train it.
    pub fn check_write_rows(&self, rows: usize) -> Result<()> {
        if self.is_trained() || rows >= MIN_TRAIN_ROWS {
            Ok(())
        } else {
            Err(too_few_to_train(rows))
        }
    }

    /// Encodes the batch, training the quantizer on it first if needed.
    fn encode_batch(&self, vectors: &[f32]) -> Result<Vec<u8>> {
        if self.sq.read().is_none() {
            let mut slot = self.sq.write();
            if slot.is_none() {
                let rows = vectors.len() / self.dims();
                if rows < MIN_TRAIN_ROWS {
                    return Err(too_few_to_train(rows));
                }
                *slot = Some(Sq8Quantizer::train(
                    self.dims(),
                    self.metric(),
                    vectors,
                    &self.sq8_params,
                )?);
            }
        }
        Ok(self
            .sq
            .read()
            .as_ref()
            .expect("trained above")
            .encode_batch(vectors))
    }
}

/// The re-rank depth (and beam width) of a search with `rerank = 0`:
/// `max(ef, k) + ⌈k / 2⌉` (see the module doc).
pub fn default_depth(ef: usize, k: usize) -> usize {
    ef.max(k).saturating_add(k.div_ceil(2))
}

fn too_few_to_train(rows: usize) -> Error {
    Error::invalid(
        "training set",
        format!(
            "the first batch trains the SQ8 ranges and needs at least {MIN_TRAIN_ROWS} vectors, got {rows}"
        ),
    )
}

impl Index for HnswSq8Index {
    fn dims(&self) -> usize {
        self.graph.dims()
    }

    fn metric(&self) -> Metric {
        self.graph.metric()
    }

    fn len(&self) -> usize {
        self.graph.len()
    }

    fn add(&self, id: u64, vector: &[f32]) -> Result<()> {
        self.add_batch(&[id], vector)
    }

    fn add_batch(&self, ids: &[u64], vectors: &[f32]) -> Result<()> {
        self.graph
            .store_and_link_by(|| self.store_batch(ids, vectors), |n| self.link(n))
    }

    fn remove(&self, id: u64) -> Result<()> {
        self.graph.remove(id)
    }

    /// Needs a trained quantizer.
    fn update(&self, id: u64, vector: &[f32]) -> Result<()> {
        self.graph.store_and_link_by(
            || self.store_update(id, vector).map(|n| vec![n]),
            |n| self.link(n),
        )
    }

    /// Re-ranks `max(rerank, k)` candidates, or [`default_depth`] when
    /// `rerank = 0` (see the module doc). A filter is applied during the
    /// traversal (filtered-out nodes are walked through, never returned);
    /// an allow-set small enough is scanned exactly instead, as every
    /// graph kind does.
    fn search(&self, query: &[f32], k: usize, params: &SearchParams) -> Result<Vec<Neighbor>> {
        validate::query(query, self.dims(), k, self.len())?;
        let depth = if params.rerank == 0 {
            default_depth(params.ef, k)
        } else {
            params.rerank.max(k)
        };
        let ef = params.ef.max(depth);
        if let Some(f) = &params.filter {
            if let Some(ids) = f.ids().filter(|_| f.scans_exactly(self.len(), ef)) {
                return Ok(self.graph.scan_ids(query, ids, k));
            }
        }
        let sq = self.sq.read();
        let sq = sq.as_ref().ok_or(Error::EmptyIndex)?;
        let q = Sq8Query::new(sq, query, self.kernels);
        let found = {
            let g = self.graph.read_graph();
            let scorer = Sq8Scorer::new(q, &g, self.dims());
            self.graph
                .search_graph(&g, &scorer, ef, params.filter.as_ref())?
        };
        Ok(self
            .graph
            .rerank(query, &found[..found.len().min(depth)], k))
    }

    fn memory_usage(&self) -> MemoryUsage {
        // Lock order: quantizer, graph (as `search` takes them).
        let ranges = self
            .sq
            .read()
            .as_ref()
            .map_or(0, Sq8Quantizer::memory_bytes);
        let graph = self.graph.memory_usage();
        MemoryUsage {
            codes: graph.codes + ranges,
            ..graph
        }
    }
}
