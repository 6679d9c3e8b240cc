//! `omendb-hnsw`: OmenDB's HNSW graph index.

use omendb::hnsw::{HnswIndex, HnswParams};

use super::omendb_shared::{Insert, OmendbAdapter};
use super::{param, AlgorithmSpec, BuildContext, ParamSpec, SINGLE_INSERT_PARAM};
use crate::sweep::adapter::Adapter;

/// Registry entry.
pub const SPEC: AlgorithmSpec = AlgorithmSpec {
    name: "omendb-hnsw",
    build_params: &[
        ParamSpec::new("m", 16, 2, 256),
        ParamSpec::new("ef_construction", 200, 1, 100_000),
        ParamSpec::new("seed", 42, 0, usize::MAX),
        SINGLE_INSERT_PARAM,
    ],
    query_params: &[ParamSpec::new("ef", 64, 1, 100_000)],
    make: &make,
};

fn make(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
    let params = HnswParams {
        m: param(ctx.build_params, "m")?,
        ef_construction: param(ctx.build_params, "ef_construction")?,
        seed: param(ctx.build_params, "seed")? as u64,
        ..Default::default()
    };
    Ok(OmendbAdapter::boxed_with(
        SPEC.name,
        HnswIndex::new(ctx.dims, ctx.metric, params)?,
        Insert::from_params(ctx.build_params)?,
    ))
}
