//! `FlatIndex`: exact brute-force search, the ground-truth engine.

use parking_lot::RwLock;
use rayon::prelude::*;

use crate::distance::Kernels;
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::id_map::IdMap;
use crate::index::{Index, MemoryUsage, Neighbor, SearchParams};
use crate::metric::Metric;
use crate::topk::TopK;
use crate::validate;

/// Exact search by scanning every vector. Batches are parallel over queries
/// and blocked over the data so a block of vectors is reused from cache by a
/// group of queries.
pub struct FlatIndex {
    dims: usize,
    metric: Metric,
    kernels: Kernels,
    data: RwLock<FlatData>,
}

#[derive(Default)]
struct FlatData {
    vectors: Vec<f32>,
    ids: Vec<u64>,
    by_id: IdMap,
}

/// Queries scored together against one block of data.
const QUERY_BLOCK: usize = 8;
/// Bytes of data vectors per block (about half a typical L2).
const DATA_BLOCK_BYTES: usize = 256 * 1024;

impl FlatIndex {
    /// An empty exact index.
    pub fn new(dims: usize, metric: Metric) -> Result<Self> {
        if dims == 0 {
            return Err(Error::invalid("dims", "must be at least 1"));
        }
        Ok(FlatIndex {
            dims,
            metric,
            kernels: Kernels::detect(),
            data: RwLock::new(FlatData::default()),
        })
    }

    /// Whether `id` is in the index.
    pub fn contains(&self, id: u64) -> bool {
        let data = self.data.read();
        data.by_id.contains(id, &data.ids)
    }

    /// Exact neighbours of every query row, as ground truth. Equivalent to
    /// `search_batch` but never truncates `k` against anything but `len`.
    pub fn ground_truth(&self, queries: &[f32], k: usize) -> Result<Vec<Vec<Neighbor>>> {
        self.search_batch(queries, k, &SearchParams::default())
    }

    /// The best `k` rows for each query, among the rows `filter` allows.
    fn scan(
        &self,
        data: &FlatData,
        queries: &[Vec<f32>],
        k: usize,
        filter: Option<&Filter>,
    ) -> Vec<Vec<Neighbor>> {
        let d = self.dims;
        let mut tops: Vec<TopK<u64>> = queries.iter().map(|_| TopK::new(k)).collect();
        let rows_per_block = (DATA_BLOCK_BYTES / (d * 4)).max(1);
        for (b, block) in data.vectors.chunks(rows_per_block * d).enumerate() {
            let base = b * rows_per_block;
            for (q, top) in queries.iter().zip(tops.iter_mut()) {
                for (r, v) in block.chunks_exact(d).enumerate() {
                    if filter.is_some_and(|f| !f.allows(data.ids[base + r])) {
                        continue;
                    }
                    let dist = self.metric.distance(&self.kernels, q, v);
                    if dist < top.threshold() {
                        top.push(dist, data.ids[base + r]);
                    }
                }
            }
        }
        tops.into_iter().map(TopK::into_neighbors).collect()
    }
}

impl Index for FlatIndex {
    fn dims(&self) -> usize {
        self.dims
    }

    fn metric(&self) -> Metric {
        self.metric
    }

    fn len(&self) -> usize {
        self.data.read().ids.len()
    }

    fn add(&self, id: u64, vector: &[f32]) -> Result<()> {
        self.add_batch(&[id], vector)
    }

    fn add_batch(&self, ids: &[u64], vectors: &[f32]) -> Result<()> {
        validate::batch(ids, vectors, self.dims)?;
        let mut data = self.data.write();
        if let Some(&id) = ids.iter().find(|&&id| data.by_id.contains(id, &data.ids)) {
            return Err(Error::DuplicateId(id));
        }
        data.vectors.reserve(vectors.len());
        for (&id, v) in ids.iter().zip(vectors.chunks_exact(self.dims)) {
            let slot = data.ids.len() as u32;
            let v = self.metric.prepared(v, &self.kernels);
            data.vectors.extend_from_slice(&v);
            data.ids.push(id);
            let FlatData { ids, by_id, .. } = &mut *data;
            by_id.insert(slot, ids);
        }
        Ok(())
    }

    fn remove(&self, id: u64) -> Result<()> {
        let d = self.dims;
        let mut data = self.data.write();
        let FlatData {
            vectors,
            ids,
            by_id,
        } = &mut *data;
        let row = by_id.remove(id, ids).ok_or(Error::UnknownId(id))? as usize;
        // Swap-remove: the last row moves into the hole.
        let last = ids.len() - 1;
        if row != last {
            let moved = ids[last];
            by_id.remove(moved, ids);
            ids.swap(row, last);
            vectors.copy_within(last * d..(last + 1) * d, row * d);
        }
        ids.pop();
        vectors.truncate(last * d);
        if row != last {
            by_id.insert(row as u32, ids);
        }
        Ok(())
    }

    fn update(&self, id: u64, vector: &[f32]) -> Result<()> {
        validate::vector(vector, self.dims, 0)?;
        let v = self.metric.prepared(vector, &self.kernels);
        let mut data = self.data.write();
        match data.by_id.get(id, &data.ids) {
            Some(row) => {
                let row = row as usize;
                data.vectors[row * self.dims..(row + 1) * self.dims].copy_from_slice(&v);
            }
            None => {
                let row = data.ids.len() as u32;
                data.vectors.extend_from_slice(&v);
                data.ids.push(id);
                let FlatData { ids, by_id, .. } = &mut *data;
                by_id.insert(row, ids);
            }
        }
        Ok(())
    }

    fn search(&self, query: &[f32], k: usize, params: &SearchParams) -> Result<Vec<Neighbor>> {
        let data = self.data.read();
        validate::query(query, self.dims, k, data.ids.len())?;
        let q = self.metric.prepared(query, &self.kernels);
        Ok(self
            .scan(&data, &[q], k, params.filter.as_ref())
            .pop()
            .unwrap_or_default())
    }

    fn search_batch(
        &self,
        queries: &[f32],
        k: usize,
        params: &SearchParams,
    ) -> Result<Vec<Vec<Neighbor>>> {
        let d = self.dims;
        validate::query_batch(queries, d)?;
        let data = self.data.read();
        for (row, q) in queries.chunks_exact(d).enumerate() {
            validate::query(q, d, k, data.ids.len()).map_err(|e| match e {
                Error::NonFinite {
                    component, value, ..
                } => Error::NonFinite {
                    row,
                    component,
                    value,
                },
                e => e,
            })?;
        }
        let prepared: Vec<Vec<f32>> = queries
            .chunks_exact(d)
            .map(|q| self.metric.prepared(q, &self.kernels))
            .collect();
        Ok(prepared
            .par_chunks(QUERY_BLOCK)
            .flat_map_iter(|block| self.scan(&data, block, k, params.filter.as_ref()))
            .collect())
    }

    fn memory_usage(&self) -> MemoryUsage {
        let data = self.data.read();
        MemoryUsage {
            vectors: data.vectors.capacity() * 4,
            ids: data.ids.capacity() * 8 + data.by_id.bytes(),
            ..MemoryUsage::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exact_neighbours_and_rejects_bad_input() {
        let idx = FlatIndex::new(2, Metric::L2).unwrap();
        assert!(matches!(
            idx.search(&[0.0, 0.0], 1, &SearchParams::default()),
            Err(Error::EmptyIndex)
        ));
        let ids: Vec<u64> = (0..10).map(|i| 100 + i).collect();
        let vecs: Vec<f32> = (0..10).flat_map(|i| [i as f32, 0.0]).collect();
        idx.add_batch(&ids, &vecs).unwrap();
        let res = idx
            .search(&[3.2, 0.0], 3, &SearchParams::default())
            .unwrap();
        let got: Vec<u64> = res.iter().map(|n| n.id).collect();
        assert_eq!(got, vec![103, 104, 102]);
        assert!((res[0].distance - 0.04).abs() < 1e-5);
        let batch = idx
            .search_batch(&[3.2, 0.0, 8.9, 0.0], 2, &SearchParams::default())
            .unwrap();
        assert_eq!(batch[1][0].id, 109);
        assert!(matches!(
            idx.add(105, &[1.0, 1.0]),
            Err(Error::DuplicateId(105))
        ));
        assert!(matches!(
            idx.add(1, &[1.0]),
            Err(Error::DimensionMismatch { .. })
        ));
        assert!(matches!(
            idx.add(1, &[f32::NAN, 1.0]),
            Err(Error::NonFinite { .. })
        ));
        assert!(matches!(
            idx.search(&[0.0, 0.0], 0, &SearchParams::default()),
            Err(Error::ZeroK)
        ));
        assert!(matches!(
            idx.search(&[0.0, 0.0], 11, &SearchParams::default()),
            Err(Error::KTooLarge { k: 11, len: 10 })
        ));
        assert!(matches!(
            idx.search_batch(&[0.0, 0.0, f32::INFINITY, 0.0], 1, &SearchParams::default()),
            Err(Error::NonFinite { row: 1, .. })
        ));
        assert_eq!(idx.len(), 10);
    }
}
