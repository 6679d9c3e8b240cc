//! `omendb-hnsw-pq`: OmenDB's HNSW navigated by PQ codes, re-ranked exactly.

use omendb::{HnswParams, HnswPqIndex, HnswPqParams, PqParams};

use super::omendb_shared::OmendbAdapter;
use super::{param, AlgorithmSpec, BuildContext, ParamSpec};
use crate::sweep::adapter::Adapter;

/// Registry entry.
pub const SPEC: AlgorithmSpec = AlgorithmSpec {
    name: "omendb-hnsw-pq",
    build_params: BUILD_PARAMS,
    query_params: QUERY_PARAMS,
    make: &make,
};

/// Build parameters of the PQ kind in RAM (the disk kind's add
/// `packed_links`).
pub(super) const BUILD_PARAMS: &[ParamSpec; 4] = &[
    ParamSpec::new("m", 16, 2, 256),
    ParamSpec::new("ef_construction", 200, 1, 100_000),
    ParamSpec::new("pq_m", 16, 1, 4096),
    ParamSpec::new("seed", 42, 0, usize::MAX),
];

/// Query parameters of both PQ kinds.
pub(super) const QUERY_PARAMS: &[ParamSpec] = &[
    ParamSpec::new("ef", 64, 1, 100_000),
    ParamSpec::new("rerank", 100, 0, 100_000),
];

/// The engine parameters a build-parameter set names (one seed for graph
/// and quantizer).
pub(super) fn pq_params(ctx: &BuildContext<'_>) -> anyhow::Result<HnswPqParams> {
    let seed = param(ctx.build_params, "seed")? as u64;
    Ok(HnswPqParams {
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
    })
}

fn make(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
    Ok(OmendbAdapter::boxed(
        SPEC.name,
        HnswPqIndex::new(ctx.dims, ctx.metric, pq_params(ctx)?)?,
    ))
}
