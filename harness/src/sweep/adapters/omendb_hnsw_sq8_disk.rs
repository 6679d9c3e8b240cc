//! `omendb-hnsw-sq8-disk`: OmenDB's SQ8-navigated HNSW in an index
//! directory. Built like `omendb-hnsw-disk` (fresh directory, bulk-load
//! durability, closed, reopened read-only; see [`OmendbDiskAdapter`]); the
//! reopened index navigates by the SQ8 codes it keeps in RAM and re-ranks
//! exactly from the memory-mapped vectors, so its RAM accounting holds no
//! vectors.

use omendb::{DiskIndex, Durability, OpenOptions};

use super::omendb_hnsw_sq8::{sq8_params, BUILD_PARAMS, QUERY_PARAMS};
use super::omendb_shared::OmendbDiskAdapter;
use super::{AlgorithmSpec, BuildContext};
use crate::sweep::adapter::Adapter;

/// Registry entry (the parameters of `omendb-hnsw-sq8`).
pub const SPEC: AlgorithmSpec = AlgorithmSpec {
    name: "omendb-hnsw-sq8-disk",
    build_params: BUILD_PARAMS,
    query_params: QUERY_PARAMS,
    make: &make,
};

fn make(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
    let params = sq8_params(ctx)?;
    let (dims, metric) = (ctx.dims, ctx.metric);
    Ok(OmendbDiskAdapter::boxed(SPEC.name, move |dir| {
        DiskIndex::create(
            dir,
            dims,
            metric,
            params,
            OpenOptions::with_durability(Durability::Never),
        )
    }))
}
