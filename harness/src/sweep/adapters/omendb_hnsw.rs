//! `omendb-hnsw`: OmenDB's HNSW graph index.

use omendb::hnsw::{HnswIndex, HnswParams};
use omendb::{Index, MemoryUsage, SearchParams};

use super::{param, AlgorithmSpec, BuildContext, ParamSpec};
use crate::sweep::adapter::{Adapter, Params};

/// Registry entry.
pub const SPEC: AlgorithmSpec = AlgorithmSpec {
    name: "omendb-hnsw",
    build_params: &[
        ParamSpec::new("m", 16, 2, 256),
        ParamSpec::new("ef_construction", 200, 1, 100_000),
        ParamSpec::new("seed", 42, 0, usize::MAX),
    ],
    query_params: &[ParamSpec::new("ef", 64, 1, 100_000)],
    make,
};

fn make(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
    let params = HnswParams {
        m: param(ctx.build_params, "m")?,
        ef_construction: param(ctx.build_params, "ef_construction")?,
        seed: param(ctx.build_params, "seed")? as u64,
        ..Default::default()
    };
    Ok(Box::new(OmendbHnsw {
        index: HnswIndex::new(ctx.dims, ctx.metric, params)?,
        search: SearchParams::default(),
    }))
}

/// [`HnswIndex`] behind the harness trait.
pub struct OmendbHnsw {
    index: HnswIndex,
    search: SearchParams,
}

impl Adapter for OmendbHnsw {
    fn name(&self) -> &str {
        SPEC.name
    }

    fn build(&mut self, train: &[f32], dims: usize, _threads: usize) -> anyhow::Result<()> {
        let ids: Vec<u64> = (0..(train.len() / dims) as u64).collect();
        self.index.add_batch(&ids, train)?;
        Ok(())
    }

    fn set_query_params(&mut self, params: &Params) -> anyhow::Result<()> {
        self.search = SearchParams::with_ef(param(params, "ef")?);
        Ok(())
    }

    fn search(&self, query: &[f32], k: usize) -> anyhow::Result<Vec<u32>> {
        let found = self.index.search(query, k, &self.search)?;
        Ok(found.iter().map(|n| n.id as u32).collect())
    }

    fn batch_search(
        &self,
        queries: &[f32],
        _dims: usize,
        k: usize,
    ) -> anyhow::Result<Vec<Vec<u32>>> {
        let found = self.index.search_batch(queries, k, &self.search)?;
        Ok(found
            .into_iter()
            .map(|row| row.iter().map(|n| n.id as u32).collect())
            .collect())
    }

    fn memory_usage(&self) -> Option<MemoryUsage> {
        Some(self.index.memory_usage())
    }
}
