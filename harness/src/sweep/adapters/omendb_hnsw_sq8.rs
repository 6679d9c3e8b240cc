//! `omendb-hnsw-sq8`: OmenDB's HNSW navigated by 8-bit scalar-quantized
//! codes (integer kernels), re-ranked exactly.

use omendb::{HnswParams, HnswSq8Index, HnswSq8Params, Sq8Params};

use super::omendb_shared::OmendbAdapter;
use super::{param, AlgorithmSpec, BuildContext, ParamSpec};
use crate::sweep::adapter::Adapter;

/// Registry entry.
pub const SPEC: AlgorithmSpec = AlgorithmSpec {
    name: "omendb-hnsw-sq8",
    build_params: BUILD_PARAMS,
    query_params: QUERY_PARAMS,
    make: &make,
};

/// Build parameters of both SQ8 kinds (in RAM and on disk).
pub(super) const BUILD_PARAMS: &[ParamSpec] = &[
    ParamSpec::new("m", 16, 2, 256),
    ParamSpec::new("ef_construction", 200, 1, 100_000),
    ParamSpec::new("seed", 42, 0, usize::MAX),
];

/// Query parameters of both SQ8 kinds: `rerank = 0` (the default) re-ranks
/// the engine's default depth, `max(ef, k) + ⌈k/2⌉` candidates, exactly.
pub(super) const QUERY_PARAMS: &[ParamSpec] = &[
    ParamSpec::new("ef", 64, 1, 100_000),
    ParamSpec::new("rerank", 0, 0, 100_000),
];

/// The engine parameters a build-parameter set names.
pub(super) fn sq8_params(ctx: &BuildContext<'_>) -> anyhow::Result<HnswSq8Params> {
    Ok(HnswSq8Params {
        hnsw: HnswParams {
            m: param(ctx.build_params, "m")?,
            ef_construction: param(ctx.build_params, "ef_construction")?,
            seed: param(ctx.build_params, "seed")? as u64,
            ..Default::default()
        },
        sq8: Sq8Params::default(),
    })
}

fn make(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
    Ok(OmendbAdapter::boxed(
        SPEC.name,
        HnswSq8Index::new(ctx.dims, ctx.metric, sq8_params(ctx)?)?,
    ))
}
