//! `omendb-hnsw-pq-disk`: OmenDB's PQ-navigated HNSW in an index directory.
//! Built like `omendb-hnsw-disk` (fresh directory, bulk-load durability,
//! closed, reopened read-only, reopen timed and its RSS measured; see
//! [`OmendbDiskAdapter`]); the reopened index navigates by the PQ codes it
//! keeps in RAM and re-ranks exactly from the memory-mapped vectors, so its
//! RAM accounting holds no vectors.

use omendb::storage::{DiskHnswIndex, Durability};
use omendb::{HnswParams, HnswPqParams, PqParams};

use super::omendb_shared::OmendbDiskAdapter;
use super::{param, AlgorithmSpec, BuildContext, ParamSpec};
use crate::sweep::adapter::Adapter;

/// Registry entry (the parameters of `omendb-hnsw-pq`).
pub const SPEC: AlgorithmSpec = AlgorithmSpec {
    name: "omendb-hnsw-pq-disk",
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
    let (dims, metric) = (ctx.dims, ctx.metric);
    Ok(OmendbDiskAdapter::boxed(SPEC.name, move |dir| {
        DiskHnswIndex::create_pq(dir, dims, metric, params, Durability::Never)
    }))
}
