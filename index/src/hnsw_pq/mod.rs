//! `HnswPqIndex`: an HNSW graph navigated with product-quantized distances,
//! with exact re-ranking of the best candidates.
//!
//! ```text
//! query ─► AdcTable (m × 256, once per query)
//!            │
//!            ▼
//!   graph descent + beam search (ef) scored by ADC over the codes
//!            │  best max(rerank, k) candidates
//!            ▼
//!   exact distances from the full vectors ─► top k
//! ```
//!
//! The graph is built with exact distances (so its quality equals the plain
//! HNSW's); search touches only codes and links until the re-ranking step.
//! `SearchParams::rerank = 0` returns ADC-ranked results with ADC distances.

pub(crate) mod persist;
mod scorer;

use parking_lot::RwLock;

use crate::error::{Error, Result};
use crate::hnsw::{GraphView, HnswIndex, HnswParams};
use crate::index::{Index, MemoryUsage, Neighbor, SearchParams};
use crate::metric::Metric;
use crate::pq::{PqParams, ProductQuantizer, KS};
use crate::validate;
use scorer::PqScorer;

/// Build parameters of an [`HnswPqIndex`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HnswPqParams {
    /// The graph's parameters.
    pub hnsw: HnswParams,
    /// The quantizer's parameters (`m` sub-spaces, 256 centroids each).
    pub pq: PqParams,
}

/// HNSW over PQ codes with exact re-ranking.
pub struct HnswPqIndex {
    graph: HnswIndex,
    pq_params: PqParams,
    /// The quantizer; each node's code (`m` bytes) lives in the graph,
    /// appended with the node.
    pq: RwLock<Option<ProductQuantizer>>,
}

impl HnswPqIndex {
    /// An empty index; the quantizer is trained on the first `add_batch`,
    /// which must then hold at least 256 vectors.
    pub fn new(dims: usize, metric: Metric, params: HnswPqParams) -> Result<Self> {
        params.pq.validate(dims)?; // dims = 0 included
        let mut graph = HnswIndex::new(dims, metric, params.hnsw)?;
        graph.set_code_bytes(params.pq.m);
        Ok(HnswPqIndex {
            graph,
            pq_params: params.pq,
            pq: RwLock::new(None),
        })
    }

    /// The trained quantizer's bytes (codebooks), for saving with the index.
    pub fn quantizer_bytes(&self) -> Option<Vec<u8>> {
        self.pq.read().as_ref().map(ProductQuantizer::to_bytes)
    }

    /// Whether the quantizer has been trained (by the first batch, or given).
    pub fn is_trained(&self) -> bool {
        self.pq.read().is_some()
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

    /// Packs the graph's layer-0 lists (node numbers in the bits the
    /// largest needs: 81 bytes a node instead of 132 at `M = 16` and a
    /// million nodes), as a batch that builds most of the index and an
    /// open leave them. Searches read them packed; the next write unpacks
    /// them. Returns whether they are packed: not while a write is in
    /// flight, not for an index in a directory (it packs at open), not
    /// at `M` > 127.
    pub fn pack_links(&self) -> bool {
        self.graph.pack_links()
    }

    /// Unpacks the layer-0 lists now (the next write would).
    pub fn unpack_links(&self) {
        self.graph.unpack_links()
    }

    /// Whether the layer-0 lists are packed.
    pub fn links_packed(&self) -> bool {
        self.graph.links_packed()
    }

    /// The graph itself, for the storage layer.
    pub(crate) fn hnsw_index(&self) -> &HnswIndex {
        &self.graph
    }

    /// The quantizer's parameters.
    pub fn pq_params(&self) -> &PqParams {
        &self.pq_params
    }

    /// Phase one of [`update`](Index::update): the new version's code and
    /// node, stored unlinked (see [`HnswIndex`]'s two-phase insert).
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

    /// Fails, as `add_batch` would, when a write of `rows` vectors arrives
    /// before the quantizer is trained and is too small to train it. Lets a
    /// caller with a write-ahead log refuse the write before logging it.
    pub fn check_write_rows(&self, rows: usize) -> Result<()> {
        if self.is_trained() || rows >= KS {
            Ok(())
        } else {
            Err(too_few_to_train(rows))
        }
    }

    /// Encodes the batch (training the quantizer first if needed) and
    /// appends the codes; the caller then links the vectors into the graph.
    fn encode_batch(&self, vectors: &[f32]) -> Result<Vec<u8>> {
        if self.pq.read().is_none() {
            let mut slot = self.pq.write();
            if slot.is_none() {
                let rows = vectors.len() / self.graph.dims();
                if rows < KS {
                    return Err(too_few_to_train(rows));
                }
                *slot = Some(ProductQuantizer::train(
                    self.graph.dims(),
                    self.graph.metric(),
                    vectors,
                    &self.pq_params,
                )?);
            }
        }
        self.pq
            .read()
            .as_ref()
            .expect("trained above")
            .encode_batch(vectors)
    }
}

fn too_few_to_train(rows: usize) -> Error {
    Error::invalid(
        "training set",
        format!("the first batch trains the quantizer and needs at least {KS} vectors, got {rows}"),
    )
}

impl Index for HnswPqIndex {
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

    /// A batch that builds most of the index leaves its links packed
    /// ([`HnswPqIndex::pack_links`]).
    fn add_batch(&self, ids: &[u64], vectors: &[f32]) -> Result<()> {
        self.graph
            .store_and_link(|| self.store_batch(ids, vectors))?;
        if self.graph.builds_most_of(ids.len()) {
            self.graph.pack_links();
        }
        Ok(())
    }

    fn remove(&self, id: u64) -> Result<()> {
        self.graph.remove(id)
    }

    /// Needs a trained quantizer.
    fn update(&self, id: u64, vector: &[f32]) -> Result<()> {
        self.graph
            .store_and_link(|| self.store_update(id, vector).map(|n| vec![n]))
    }

    fn search(&self, query: &[f32], k: usize, params: &SearchParams) -> Result<Vec<Neighbor>> {
        validate::query(query, self.dims(), k, self.len())?;
        let depth = params.rerank.max(k);
        let ef = params.ef.max(depth);
        if let Some(f) = &params.filter {
            if let Some(ids) = f.ids().filter(|_| f.scans_exactly(self.len(), ef)) {
                return Ok(self.graph.scan_ids(query, ids, k));
            }
        }
        let pq = self.pq.read();
        let pq = pq.as_ref().ok_or(Error::EmptyIndex)?;
        let table = pq.adc_table(query)?;
        let found = {
            let g = self.graph.read_graph();
            let scorer = PqScorer::new(&table, &g);
            self.graph
                .search_graph(&g, &scorer, ef, params.filter.as_ref())?
        };
        if params.rerank == 0 {
            return Ok(self.graph.neighbors_of(&found[..found.len().min(k)]));
        }
        Ok(self
            .graph
            .rerank(query, &found[..found.len().min(depth)], k))
    }

    fn memory_usage(&self) -> MemoryUsage {
        // Lock order: quantizer, graph (as `search` takes them).
        let codebooks = self
            .pq
            .read()
            .as_ref()
            .map_or(0, ProductQuantizer::memory_bytes);
        let graph = self.graph.memory_usage();
        MemoryUsage {
            codes: graph.codes + codebooks,
            ..graph
        }
    }
}
