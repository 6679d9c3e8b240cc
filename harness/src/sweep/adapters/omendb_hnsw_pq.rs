//! `omendb-hnsw-pq`: OmenDB's HNSW navigated by PQ codes, re-ranked exactly.

use omendb::{HnswParams, HnswPqIndex, HnswPqParams, PqParams};

use super::omendb_shared::OmendbAdapter;
use super::{param, AlgorithmSpec, BuildContext, ParamSpec};
use crate::sweep::adapter::Adapter;

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
    Ok(OmendbAdapter::boxed(
        SPEC.name,
        HnswPqIndex::new(ctx.dims, ctx.metric, params)?,
    ))
}
