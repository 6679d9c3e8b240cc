//! `omendb-hnsw-disk`: OmenDB's HNSW in an index directory. The build loads
//! into a fresh directory with the bulk-load durability, closes it (a
//! checkpoint), and reopens it read-only, so queries run on the
//! memory-mapped vectors of a reopened index, as after a restart; the reopen's
//! time and RSS are recorded (see [`OmendbDiskAdapter`]).

use omendb::HnswParams;
use omendb::{DiskIndex, Durability, OpenOptions};

use super::omendb_shared::{Insert, OmendbDiskAdapter};
use super::{param, AlgorithmSpec, BuildContext, ParamSpec, SINGLE_INSERT_PARAM};
use crate::sweep::adapter::Adapter;

/// Registry entry.
pub const SPEC: AlgorithmSpec = AlgorithmSpec {
    name: "omendb-hnsw-disk",
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
    let (dims, metric) = (ctx.dims, ctx.metric);
    let insert = Insert::from_params(ctx.build_params)?;
    Ok(OmendbDiskAdapter::boxed_with(
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
        insert,
    ))
}
