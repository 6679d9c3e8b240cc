//! `usearch`: Unum's USearch through its Rust crate (the C++ core compiled
//! by `cc`), called in process. Compiled only with the harness feature
//! `usearch` (on by default; `--no-default-features` leaves the C++ out).
//!
//! Same graph parameters as the other HNSW engines: `m` is usearch's
//! `connectivity`, `ef_construction` its `expansion_add`, and `ef` is swept
//! with `change_expansion_search`, without rebuilding. Metrics: L2 →
//! `L2sq`, cosine → `Cos`, inner product → `IP`. The build reserves room for
//! all n vectors (and one search/insert context per pool thread) and then
//! adds them in parallel on the current rayon pool: usearch's `add` is
//! thread-safe once capacity is reserved. `memory_usage` reports the
//! library's own byte count (vectors = n × dims × 4, the rest as graph).

use anyhow::{anyhow, bail, Context};
use omendb::{MemoryUsage, Metric};
use rayon::prelude::*;
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use super::{param, AlgorithmSpec, BuildContext, ParamSpec};
use crate::sweep::adapter::{Adapter, Params};

/// Registry entry.
pub const SPEC: AlgorithmSpec = AlgorithmSpec {
    name: "usearch",
    build_params: &[
        ParamSpec::new("m", 16, 2, 256),
        ParamSpec::new("ef_construction", 200, 1, 100_000),
    ],
    query_params: &[ParamSpec::new("ef", 64, 1, 100_000)],
    make: &make,
};

fn make(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
    let metric = match ctx.metric {
        Metric::L2 => MetricKind::L2sq,
        Metric::Cosine => MetricKind::Cos,
        Metric::InnerProduct => MetricKind::IP,
    };
    let options = IndexOptions {
        dimensions: ctx.dims,
        metric,
        quantization: ScalarKind::F32,
        connectivity: param(ctx.build_params, "m")?,
        expansion_add: param(ctx.build_params, "ef_construction")?,
        expansion_search: 64,
        multi: false,
    };
    let index = Index::new(&options).map_err(|e| anyhow!("usearch Index::new: {e}"))?;
    Ok(Box::new(Usearch {
        index,
        dims: ctx.dims,
    }))
}

/// A `usearch::Index` behind the harness trait.
pub struct Usearch {
    index: Index,
    dims: usize,
}

impl Adapter for Usearch {
    fn name(&self) -> &str {
        SPEC.name
    }

    fn build(&mut self, train: &[f32], dims: usize, threads: usize) -> anyhow::Result<()> {
        if dims != self.dims {
            bail!(
                "usearch adapter: built for {} dims, given {dims}",
                self.dims
            );
        }
        let n = train.len() / dims.max(1);
        // One context per thread that may call into the index (the build
        // pool now, the batch pool later: both `threads` wide).
        let contexts = threads.max(rayon::current_num_threads()).max(1);
        self.index
            .reserve_capacity_and_threads(n, contexts)
            .map_err(|e| anyhow!("usearch reserve({n}): {e}"))?;
        let index = &self.index;
        train
            .par_chunks_exact(dims)
            .enumerate()
            .try_for_each(|(i, v)| {
                index
                    .add(i as u64, v)
                    .map_err(|e| anyhow!("usearch add({i}): {e}"))
            })
            .context("usearch build")
    }

    fn set_query_params(&mut self, params: &Params) -> anyhow::Result<()> {
        self.index.change_expansion_search(param(params, "ef")?);
        Ok(())
    }

    fn search(&self, query: &[f32], k: usize) -> anyhow::Result<Vec<u32>> {
        let found = self
            .index
            .search(query, k)
            .map_err(|e| anyhow!("usearch search: {e}"))?;
        found
            .keys
            .iter()
            .map(|&key| u32::try_from(key).context("usearch returned a key past u32"))
            .collect()
    }

    fn memory_usage(&self) -> Option<MemoryUsage> {
        let total = self.index.memory_usage();
        let vectors = self.index.size() * self.dims * std::mem::size_of::<f32>();
        Some(MemoryUsage {
            vectors: vectors.min(total),
            graph: total.saturating_sub(vectors),
            codes: 0,
            ids: 0,
            other: 0,
            disk: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;

    #[test]
    fn finds_exact_neighbours_of_stored_points_and_sweeps_ef() {
        let dims = 8;
        let n = 500;
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let train: Vec<f32> = (0..n * dims)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 24) as f32
            })
            .collect();
        let data = Dataset {
            name: "t".into(),
            metric: Metric::L2,
            dims,
            train: train.clone(),
            test: train[..dims].to_vec(),
            neighbors: vec![vec![0]],
            distances: vec![vec![0.0]],
        };
        let mut bp = Params::new();
        bp.insert("m".into(), 16);
        bp.insert("ef_construction".into(), 100);
        let ctx = BuildContext {
            dims,
            metric: Metric::L2,
            n,
            k: 10,
            build_params: &bp,
            data: &data,
            repeats: 1,
            warmup_seconds: 0.0,
            build_timeout_seconds: 60.0,
            query_timeout_seconds: 60.0,
        };
        let mut a = (SPEC.make)(&ctx).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        pool.install(|| a.build(&train, dims, 2)).unwrap();
        let mut qp = Params::new();
        for ef in [16, 64] {
            qp.insert("ef".into(), ef);
            a.set_query_params(&qp).unwrap();
            let mut hits = 0;
            for (i, q) in train.chunks_exact(dims).enumerate().step_by(10) {
                let found = a.search(q, 10).unwrap();
                assert_eq!(found.len(), 10);
                hits += usize::from(found[0] as usize == i);
            }
            assert!(hits >= 48, "ef {ef}: {hits}/50 found themselves first");
        }
        let mem = a.memory_usage().unwrap();
        assert!(mem.vectors >= n * dims * 4 && mem.graph > 0, "{mem:?}");
        assert!(a.build(&train, dims + 1, 2).is_err());
    }
}
