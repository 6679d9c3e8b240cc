//! `omendb-hnsw-pq-disk`: OmenDB's PQ-navigated HNSW in an index directory.
//! Built like `omendb-hnsw-disk` (fresh directory, bulk-load durability,
//! closed, reopened read-only, reopen timed and its RSS measured; see
//! [`OmendbDiskAdapter`]); the reopened index navigates by the PQ codes it
//! keeps in RAM and re-ranks exactly from the memory-mapped vectors, so its
//! RAM accounting holds no vectors.

use omendb::{DiskIndex, Durability, OpenOptions};

use super::omendb_hnsw_pq::{pq_params, BUILD_PARAMS, QUERY_PARAMS};
use super::omendb_shared::OmendbDiskAdapter;
use super::{AlgorithmSpec, BuildContext};
use crate::sweep::adapter::Adapter;

/// Registry entry (the parameters of `omendb-hnsw-pq`).
pub const SPEC: AlgorithmSpec = AlgorithmSpec {
    name: "omendb-hnsw-pq-disk",
    build_params: BUILD_PARAMS,
    query_params: QUERY_PARAMS,
    make: &make,
};

fn make(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
    let params = pq_params(ctx)?;
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
