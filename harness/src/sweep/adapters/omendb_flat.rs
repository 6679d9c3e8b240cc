//! `omendb-flat`: OmenDB's exact brute-force index, the recall ceiling.

use omendb::{FlatIndex, Index, MemoryUsage, SearchParams};

use super::{AlgorithmSpec, BuildContext};
use crate::sweep::adapter::{Adapter, Params};

/// Registry entry.
pub const SPEC: AlgorithmSpec = AlgorithmSpec {
    name: "omendb-flat",
    build_params: &[],
    query_params: &[],
    make,
};

fn make(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
    Ok(Box::new(OmendbFlat {
        index: FlatIndex::new(ctx.dims, ctx.metric)?,
    }))
}

/// [`FlatIndex`] behind the harness trait.
pub struct OmendbFlat {
    index: FlatIndex,
}

impl Adapter for OmendbFlat {
    fn name(&self) -> &str {
        SPEC.name
    }

    fn build(&mut self, train: &[f32], dims: usize, _threads: usize) -> anyhow::Result<()> {
        let ids: Vec<u64> = (0..(train.len() / dims) as u64).collect();
        self.index.add_batch(&ids, train)?;
        Ok(())
    }

    fn set_query_params(&mut self, _params: &Params) -> anyhow::Result<()> {
        Ok(())
    }

    fn search(&self, query: &[f32], k: usize) -> anyhow::Result<Vec<u32>> {
        let found = self.index.search(query, k, &SearchParams::default())?;
        Ok(found.iter().map(|n| n.id as u32).collect())
    }

    fn batch_search(
        &self,
        queries: &[f32],
        _dims: usize,
        k: usize,
    ) -> anyhow::Result<Vec<Vec<u32>>> {
        let found = self
            .index
            .search_batch(queries, k, &SearchParams::default())?;
        Ok(found
            .into_iter()
            .map(|row| row.iter().map(|n| n.id as u32).collect())
            .collect())
    }

    fn memory_usage(&self) -> Option<MemoryUsage> {
        Some(self.index.memory_usage())
    }
}
