//! `hnsw_rs`: the `hnsw_rs` crate (Jean-Pierre Both's HNSW), called natively.
//!
//! Built with `parallel_insert_slice` on the current rayon pool; `ef` is a
//! search argument, so one build serves every query-parameter set. The crate
//! keeps no byte accounting, so `memory_usage` is `None` (RSS growth is the
//! only memory figure for it).

use anyhow::bail;
use hnsw_rs::prelude::{DistCosine, DistL2, Distance, Hnsw};
use omendb::Metric;

use super::{param, AlgorithmSpec, BuildContext, ParamSpec};
use crate::sweep::adapter::{Adapter, Params};

/// Registry entry.
pub const SPEC: AlgorithmSpec = AlgorithmSpec {
    name: "hnsw_rs",
    build_params: &[
        // The crate exits the process when `max_nb_connection` > 256.
        ParamSpec::new("m", 16, 2, 256),
        ParamSpec::new("ef_construction", 200, 1, 100_000),
        ParamSpec::new("max_layer", 16, 1, 16),
    ],
    query_params: &[ParamSpec::new("ef", 64, 1, 100_000)],
    make: &make,
};

fn make(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
    let m = param(ctx.build_params, "m")?;
    let efc = param(ctx.build_params, "ef_construction")?;
    let layers = param(ctx.build_params, "max_layer")?;
    let graph = match ctx.metric {
        Metric::L2 => Graph::L2(Hnsw::new(m, ctx.n.max(1), layers, efc, DistL2 {})),
        Metric::Cosine => Graph::Cosine(Hnsw::new(m, ctx.n.max(1), layers, efc, DistCosine {})),
        Metric::InnerProduct => bail!("hnsw_rs adapter: metric `ip` is not supported"),
    };
    Ok(Box::new(HnswRs { graph, ef: 64 }))
}

enum Graph {
    L2(Hnsw<'static, f32, DistL2>),
    Cosine(Hnsw<'static, f32, DistCosine>),
}

/// An `hnsw_rs::Hnsw` behind the harness trait.
pub struct HnswRs {
    graph: Graph,
    ef: usize,
}

fn insert<D: Distance<f32> + Send + Sync>(
    g: &mut Hnsw<'static, f32, D>,
    train: &[f32],
    dims: usize,
) {
    let rows: Vec<(&[f32], usize)> = train.chunks_exact(dims).zip(0..).collect();
    g.parallel_insert_slice(&rows);
    g.set_searching_mode(true);
}

fn search<D: Distance<f32> + Send + Sync>(
    g: &Hnsw<'static, f32, D>,
    q: &[f32],
    k: usize,
    ef: usize,
) -> Vec<u32> {
    g.search(q, k, ef.max(k))
        .iter()
        .map(|n| n.d_id as u32)
        .collect()
}

impl Adapter for HnswRs {
    fn name(&self) -> &str {
        SPEC.name
    }

    fn build(&mut self, train: &[f32], dims: usize, _threads: usize) -> anyhow::Result<()> {
        match &mut self.graph {
            Graph::L2(g) => insert(g, train, dims),
            Graph::Cosine(g) => insert(g, train, dims),
        }
        Ok(())
    }

    fn set_query_params(&mut self, params: &Params) -> anyhow::Result<()> {
        self.ef = param(params, "ef")?;
        Ok(())
    }

    fn search(&self, query: &[f32], k: usize) -> anyhow::Result<Vec<u32>> {
        Ok(match &self.graph {
            Graph::L2(g) => search(g, query, k, self.ef),
            Graph::Cosine(g) => search(g, query, k, self.ef),
        })
    }
}
