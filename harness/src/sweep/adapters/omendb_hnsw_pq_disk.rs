//! `omendb-hnsw-pq-disk`: OmenDB's PQ-navigated HNSW in an index directory.
//! Built like `omendb-hnsw-disk` (fresh directory, bulk-load durability,
//! closed, reopened read-only, reopen timed and its RSS measured; see
//! [`OmendbDiskAdapter`]); the reopened index navigates by the PQ codes it
//! keeps in RAM and re-ranks exactly from the memory-mapped vectors, so its
//! RAM accounting holds no vectors. The reopened index reads its layer-0
//! links bit-packed; `packed_links = 0` unpacks them after the reopen, to
//! measure the same graph both ways.

use omendb::{DiskIndex, Durability, OpenOptions};

use super::omendb_hnsw_pq::{pq_params, BUILD_PARAMS, QUERY_PARAMS};
use super::omendb_shared::{Insert, OmendbDiskAdapter};
use super::{param, AlgorithmSpec, BuildContext, ParamSpec};
use crate::sweep::adapter::Adapter;

/// Registry entry (the parameters of `omendb-hnsw-pq`).
pub const SPEC: AlgorithmSpec = AlgorithmSpec {
    name: "omendb-hnsw-pq-disk",
    build_params: &[
        BUILD_PARAMS[0],
        BUILD_PARAMS[1],
        BUILD_PARAMS[2],
        BUILD_PARAMS[3],
        ParamSpec::new("packed_links", 1, 0, 1),
    ],
    query_params: QUERY_PARAMS,
    make: &make,
};

fn make(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
    let params = pq_params(ctx)?;
    let (dims, metric) = (ctx.dims, ctx.metric);
    let packed = param(ctx.build_params, "packed_links")? == 1;
    let adapter = OmendbDiskAdapter::new(
        SPEC.name,
        move |dir| {
            DiskIndex::create(
                dir,
                dims,
                metric,
                params,
                OpenOptions::with_durability(Durability::Never),
            )
        },
        Insert::Batch,
    );
    Ok(Box::new(adapter.after_reopen(move |index| {
        if let (false, Some(pq)) = (packed, index.pq()) {
            pq.unpack_links();
        }
    })))
}
