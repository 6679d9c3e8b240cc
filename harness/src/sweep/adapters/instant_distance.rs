//! `instant-distance`: the `instant-distance` crate's HNSW.
//!
//! Its `ef_search` is fixed when the index is built, so the runner rebuilds
//! the index for every query-parameter set and marks those results
//! `rebuilt_for_query_params`. `M` is a constant of the crate (32), so only
//! `ef_construction` and `seed` are build parameters. Points are scored with
//! OmenDB's SIMD kernels, as a user of the crate would supply a fast
//! distance; the graph algorithm is the crate's own.

use std::cell::RefCell;
use std::sync::OnceLock;

use anyhow::{bail, ensure};
use instant_distance::{Builder, HnswMap, Point, Search};
use omendb::{Kernels, Metric};

use super::{param, AlgorithmSpec, BuildContext, ParamSpec};
use crate::sweep::adapter::{Adapter, Params};

/// Registry entry.
pub const SPEC: AlgorithmSpec = AlgorithmSpec {
    name: "instant-distance",
    build_params: &[
        ParamSpec::new("ef_construction", 100, 1, 100_000),
        ParamSpec::new("seed", 42, 0, usize::MAX),
    ],
    query_params: &[ParamSpec::new("ef", 64, 1, 100_000)],
    make: &make,
};

fn make(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
    ensure!(
        matches!(ctx.metric, Metric::L2 | Metric::Cosine),
        "instant-distance adapter: metric `{}` is not supported",
        ctx.metric
    );
    Ok(Box::new(InstantDistance {
        metric: ctx.metric,
        ef_construction: param(ctx.build_params, "ef_construction")?,
        seed: param(ctx.build_params, "seed")? as u64,
        k: ctx.k,
        ef: None,
        map: None,
    }))
}

fn kernels() -> &'static Kernels {
    static KERNELS: OnceLock<Kernels> = OnceLock::new();
    KERNELS.get_or_init(Kernels::detect)
}

/// A train vector under squared L2.
#[derive(Clone)]
struct L2Point(Box<[f32]>);

impl Point for L2Point {
    fn distance(&self, other: &Self) -> f32 {
        kernels().l2_sq(&self.0, &other.0)
    }
}

/// A train vector normalised to unit length, under `1 − cos`.
#[derive(Clone)]
struct CosPoint(Box<[f32]>);

impl CosPoint {
    fn new(v: &[f32]) -> Self {
        let mut v = v.to_vec();
        Metric::Cosine.prepare(&mut v, kernels());
        CosPoint(v.into_boxed_slice())
    }
}

impl Point for CosPoint {
    fn distance(&self, other: &Self) -> f32 {
        1.0 - kernels().dot(&self.0, &other.0)
    }
}

enum Map {
    L2(HnswMap<L2Point, u32>),
    Cosine(HnswMap<CosPoint, u32>),
}

thread_local! {
    /// Search scratch reused across queries on one thread, as the crate
    /// intends (`Search` is its reusable buffer set).
    static SCRATCH: RefCell<Search> = RefCell::new(Search::default());
}

/// An `instant_distance::HnswMap` behind the harness trait.
pub struct InstantDistance {
    metric: Metric,
    ef_construction: usize,
    seed: u64,
    k: usize,
    ef: Option<usize>,
    map: Option<Map>,
}

impl Adapter for InstantDistance {
    fn name(&self) -> &str {
        SPEC.name
    }

    fn ef_fixed_at_build(&self) -> bool {
        true
    }

    fn build(&mut self, train: &[f32], dims: usize, _threads: usize) -> anyhow::Result<()> {
        let Some(ef) = self.ef else {
            bail!("instant-distance: `ef` must be set before the build (it is fixed at build)");
        };
        let builder = Builder::default()
            .ef_construction(self.ef_construction)
            .ef_search(ef.max(self.k))
            .seed(self.seed);
        let values: Vec<u32> = (0..(train.len() / dims) as u32).collect();
        self.map = Some(match self.metric {
            Metric::Cosine => {
                let points = train.chunks_exact(dims).map(CosPoint::new).collect();
                Map::Cosine(builder.build(points, values))
            }
            _ => {
                let points = train
                    .chunks_exact(dims)
                    .map(|v| L2Point(v.into()))
                    .collect();
                Map::L2(builder.build(points, values))
            }
        });
        Ok(())
    }

    fn set_query_params(&mut self, params: &Params) -> anyhow::Result<()> {
        let ef = param(params, "ef")?;
        match (self.ef, &self.map) {
            (Some(built), Some(_)) if built != ef => {
                bail!("instant-distance: index built with ef {built}; ef {ef} needs a rebuild")
            }
            _ => self.ef = Some(ef),
        }
        Ok(())
    }

    fn search(&self, query: &[f32], k: usize) -> anyhow::Result<Vec<u32>> {
        let Some(map) = &self.map else {
            bail!("instant-distance: search before build");
        };
        Ok(SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            match map {
                Map::L2(m) => m
                    .search(&L2Point(query.into()), &mut scratch)
                    .take(k)
                    .map(|item| *item.value)
                    .collect(),
                Map::Cosine(m) => m
                    .search(&CosPoint::new(query), &mut scratch)
                    .take(k)
                    .map(|item| *item.value)
                    .collect(),
            }
        }))
    }
}
