//! `omendb-hnsw-pq`: OmenDB's HNSW navigated by PQ codes, re-ranked exactly.

use omendb::{HnswParams, HnswPqIndex, HnswPqParams, Index, MemoryUsage, PqParams, SearchParams};

use super::{param, AlgorithmSpec, BuildContext, ParamSpec};
use crate::sweep::adapter::{Adapter, Params};

/// Registry entry.
pub const SPEC: AlgorithmSpec = AlgorithmSpec {
    name: "omendb-hnsw-pq",
    build_params: &[
        ParamSpec::new("m", 16, 2, 256),
        ParamSpec::new("ef_construction", 200, 1, 100_000),
        ParamSpec::new("pq_m", 16, 1, 4096),
        ParamSpec::new("seed", 42, 0, usize::MAX),
    ],
    query_params: &[
        ParamSpec::new("ef", 64, 1, 100_000),
        ParamSpec::new("rerank", 100, 0, 100_000),
    ],
    make,
};

fn make(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
    let seed = param(ctx.build_params, "seed")? as u64;
    let params = HnswPqParams {
        hnsw: HnswParams {
            m: param(ctx.build_params, "m")?,
            ef_construction: param(ctx.build_params, "ef_construction")?,
            seed,
            ..Default::default()
        },
        pq: PqParams {
            seed,
            ..PqParams::with_m(param(ctx.build_params, "pq_m")?)
        },
    };
    Ok(Box::new(OmendbHnswPq {
        index: HnswPqIndex::new(ctx.dims, ctx.metric, params)?,
        search: SearchParams::default(),
    }))
}

/// [`HnswPqIndex`] behind the harness trait.
pub struct OmendbHnswPq {
    index: HnswPqIndex,
    search: SearchParams,
}

impl Adapter for OmendbHnswPq {
    fn name(&self) -> &str {
        SPEC.name
    }

    fn build(&mut self, train: &[f32], dims: usize, _threads: usize) -> anyhow::Result<()> {
        let ids: Vec<u64> = (0..(train.len() / dims) as u64).collect();
        self.index.add_batch(&ids, train)?;
        Ok(())
    }

    fn set_query_params(&mut self, params: &Params) -> anyhow::Result<()> {
        self.search = SearchParams {
            ef: param(params, "ef")?,
            rerank: param(params, "rerank")?,
        };
        Ok(())
    }

    fn search(&self, query: &[f32], k: usize) -> anyhow::Result<Vec<u32>> {
        let found = self.index.search(query, k, &self.search)?;
        Ok(found.iter().map(|n| n.id as u32).collect())
    }

    fn memory_usage(&self) -> Option<MemoryUsage> {
        Some(self.index.memory_usage())
    }
}
