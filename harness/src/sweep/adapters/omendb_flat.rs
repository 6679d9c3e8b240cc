//! `omendb-flat`: OmenDB's exact brute-force index, the recall ceiling.

use omendb::FlatIndex;

use super::omendb_shared::OmendbAdapter;
use super::{AlgorithmSpec, BuildContext};
use crate::sweep::adapter::Adapter;

/// Registry entry.
pub const SPEC: AlgorithmSpec = AlgorithmSpec {
    name: "omendb-flat",
    build_params: &[],
    query_params: &[],
    make: &make,
};

fn make(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
    Ok(OmendbAdapter::boxed(
        SPEC.name,
        FlatIndex::new(ctx.dims, ctx.metric)?,
    ))
}
