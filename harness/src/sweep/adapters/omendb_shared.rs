//! The adapter shared by OmenDB's in-memory index kinds: any
//! [`omendb::Index`] behind the harness trait. The kinds differ only in how
//! their registry entry builds the index.

use omendb::{Index, MemoryUsage, SearchParams};

use crate::sweep::adapter::{Adapter, Params};

/// An OmenDB index behind the harness trait.
pub struct OmendbAdapter {
    name: &'static str,
    index: Box<dyn Index>,
    search: SearchParams,
}

impl OmendbAdapter {
    /// Wraps `index` as the algorithm called `name`.
    pub fn boxed(name: &'static str, index: impl Index + 'static) -> Box<dyn Adapter> {
        Box::new(OmendbAdapter {
            name,
            index: Box::new(index),
            search: SearchParams::default(),
        })
    }
}

/// The engine's per-query knobs from a query-parameter set: `ef` and
/// `rerank` where the algorithm has them, the engine's defaults otherwise.
pub fn search_params(params: &Params) -> SearchParams {
    let default = SearchParams::default();
    SearchParams {
        ef: params.get("ef").copied().unwrap_or(default.ef),
        rerank: params.get("rerank").copied().unwrap_or(default.rerank),
    }
}

/// Caller ids (train row numbers) of a result list.
pub fn row_ids(found: &[omendb::Neighbor]) -> Vec<u32> {
    found.iter().map(|n| n.id as u32).collect()
}

impl Adapter for OmendbAdapter {
    fn name(&self) -> &str {
        self.name
    }

    fn build(&mut self, train: &[f32], dims: usize, _threads: usize) -> anyhow::Result<()> {
        let ids: Vec<u64> = (0..(train.len() / dims) as u64).collect();
        self.index.add_batch(&ids, train)?;
        Ok(())
    }

    fn set_query_params(&mut self, params: &Params) -> anyhow::Result<()> {
        self.search = search_params(params);
        Ok(())
    }

    fn search(&self, query: &[f32], k: usize) -> anyhow::Result<Vec<u32>> {
        Ok(row_ids(&self.index.search(query, k, &self.search)?))
    }

    fn batch_search(
        &self,
        queries: &[f32],
        _dims: usize,
        k: usize,
    ) -> anyhow::Result<Vec<Vec<u32>>> {
        let found = self.index.search_batch(queries, k, &self.search)?;
        Ok(found.iter().map(|row| row_ids(row)).collect())
    }

    fn memory_usage(&self) -> Option<MemoryUsage> {
        Some(self.index.memory_usage())
    }
}
