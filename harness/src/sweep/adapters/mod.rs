//! The algorithms a sweep can name, and what parameters each accepts.
//!
//! | name | file | build params | query params |
//! |---|---|---|---|
//! | `omendb-flat` | `omendb_flat.rs` | – | – |
//! | `omendb-hnsw` | `omendb_hnsw.rs` | `m`, `ef_construction`, `seed`, `single_insert` | `ef` |
//! | `omendb-hnsw-disk` | `omendb_hnsw_disk.rs` | `m`, `ef_construction`, `seed`, `single_insert` | `ef` (built into a directory, closed, reopened read-only) |
//! | `omendb-hnsw-pq` | `omendb_hnsw_pq.rs` | `m`, `ef_construction`, `pq_m`, `seed` | `ef`, `rerank` |
//! | `omendb-hnsw-pq-disk` | `omendb_hnsw_pq_disk.rs` | `m`, `ef_construction`, `pq_m`, `seed`, `packed_links` | `ef`, `rerank` (built into a directory, closed, reopened read-only; links read packed unless `packed_links = 0`) |
//! | `omendb-hnsw-sq8` | `omendb_hnsw_sq8.rs` | `m`, `ef_construction`, `seed` | `ef`, `rerank` (0: the default depth, `max(ef, k) + ⌈k/2⌉`) |
//! | `omendb-hnsw-sq8-disk` | `omendb_hnsw_sq8_disk.rs` | `m`, `ef_construction`, `seed` | `ef`, `rerank` (built into a directory, closed, reopened read-only) |
//! | `omendb-sector` | `omendb_sector.rs` | `m`, `ef_construction`, `pq_m`, `seed`, `beam_width` | `ef` (the beam search's pool), `direct` (1: `O_DIRECT` reads, the cold figures) (built as `omendb-hnsw-pq`, written as a sector index, reopened; results carry `reads_per_query`) |
//! | `hnsw_rs` | `hnsw_rs.rs` | `m`, `ef_construction`, `max_layer` | `ef` |
//! | `instant-distance` | `instant_distance.rs` | `ef_construction`, `seed` | `ef` (fixed at build: rebuilt per value) |
//! | `usearch` | `usearch.rs` (feature `usearch`, default on) | `m`, `ef_construction` | `ef` |
//! | `hnswlib` | `python.rs` + `harness/adapters/hnswlib.py` (Python worker) | `m`, `ef_construction` | `ef` |
//! | `faiss-hnsw` | `python.rs` + `harness/adapters/faiss_hnsw.py` (Python worker) | `m`, `ef_construction` | `ef` |
//! | `faiss-ivfpq` | `python.rs` + `harness/adapters/faiss_ivfpq.py` (Python worker) | `nlist`, `pq_m`, `nbits`, `refine` | `nprobe`, `k_factor` |
//! | `omendb-python` | `python.rs` + `harness/adapters/omendb_python.py` (Python worker; the wheel from `python/`, `scripts/python-wheel.sh --release`) | `m`, `ef_construction`, `seed` | `ef` |
//!
//! `single_insert` (optional, 0 or 1) makes the build one `add` per vector
//! instead of one `add_batch` (the gate's incremental cases); the PQ and SQ8
//! kinds train their quantizer on the first batch, so they have no such mode.
//!
//! The Python workers run out of process (`process: "python"` in results);
//! `python.rs` documents their JSON-lines protocol and environment. Engines
//! brought in from a config (a `worker` script, an `annb_module`) are not in
//! this registry: `sweep::external` makes their specs from the config.

pub mod hnsw_rs;
pub mod instant_distance;
pub mod isolated;
pub mod omendb_flat;
pub mod omendb_hnsw;
pub mod omendb_hnsw_disk;
pub mod omendb_hnsw_pq;
pub mod omendb_hnsw_pq_disk;
pub mod omendb_hnsw_sq8;
pub mod omendb_hnsw_sq8_disk;
pub mod omendb_sector;
pub mod omendb_shared;
pub mod process;
pub mod python;
#[cfg(feature = "usearch")]
pub mod usearch;
pub mod worker_files;
pub mod worker_reply;

use omendb::Metric;

use super::adapter::{Adapter, Params};
use crate::data::Dataset;

/// One integer parameter an algorithm accepts.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    /// Name as written in configs and results.
    pub name: &'static str,
    /// Value used when a config does not give one.
    pub default: usize,
    /// Smallest accepted value.
    pub min: usize,
    /// Largest accepted value.
    pub max: usize,
    /// Left out of a parameter set when a config does not give it (so
    /// results and their comparisons stay as they were before it existed);
    /// the adapter then behaves as for `default`.
    pub optional: bool,
}

impl ParamSpec {
    /// A parameter accepting `min..=max`, `default` when not given.
    pub const fn new(name: &'static str, default: usize, min: usize, max: usize) -> Self {
        ParamSpec {
            name,
            default,
            min,
            max,
            optional: false,
        }
    }

    /// A parameter accepting `min..=max`, absent from the parameter set
    /// when not given (the adapter then behaves as for `min`).
    pub const fn optional(name: &'static str, min: usize, max: usize) -> Self {
        ParamSpec {
            name,
            default: min,
            min,
            max,
            optional: true,
        }
    }
}

/// Build parameter of the OmenDB kinds that can insert one vector at a
/// time: 1 = one `add` call per vector, in row order, on one thread (an
/// incremental build); 0 or absent = one `add_batch` call (a bulk load).
pub const SINGLE_INSERT: &str = "single_insert";

/// The [`SINGLE_INSERT`] parameter's spec.
pub const SINGLE_INSERT_PARAM: ParamSpec = ParamSpec::optional(SINGLE_INSERT, 0, 1);

/// What an adapter factory is given.
#[derive(Debug, Clone, Copy)]
pub struct BuildContext<'a> {
    /// Vector dimension.
    pub dims: usize,
    /// Metric of the dataset.
    pub metric: Metric,
    /// Number of vectors that will be built.
    pub n: usize,
    /// Neighbours each query will ask for.
    pub k: usize,
    /// The build-parameter set, every parameter of the spec present.
    pub build_params: &'a Params,
    /// The whole dataset being run (out-of-process adapters hand it to their
    /// worker as a file; in-process adapters get their vectors in `build`).
    pub data: &'a Dataset,
    /// Timed passes per query-parameter set (out-of-process workers run them).
    pub repeats: usize,
    /// Untimed queries before each query-parameter set's timed passes,
    /// seconds (out-of-process workers run them).
    pub warmup_seconds: f64,
    /// The sweep's limit for one build, seconds.
    pub build_timeout_seconds: f64,
    /// The sweep's limit for one query pass, seconds.
    pub query_timeout_seconds: f64,
}

/// Makes an adapter for one build-parameter set: a plain function for the
/// built-in algorithms (`make: &make_x`), a closure for engines brought in
/// from a config (`sweep::external`).
pub type MakeAdapter =
    &'static (dyn Fn(&BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> + Send + Sync);

/// An algorithm the sweep can run: its name, parameters and factory.
#[derive(Clone, Copy)]
pub struct AlgorithmSpec {
    /// Registry name used in configs, `--algorithms` and results.
    pub name: &'static str,
    /// Build-time parameters.
    pub build_params: &'static [ParamSpec],
    /// Query-time parameters.
    pub query_params: &'static [ParamSpec],
    /// Factory.
    pub make: MakeAdapter,
}

impl std::fmt::Debug for AlgorithmSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlgorithmSpec")
            .field("name", &self.name)
            .field("build_params", &self.build_params)
            .field("query_params", &self.query_params)
            .finish_non_exhaustive()
    }
}

/// The set of algorithms a sweep may name.
#[derive(Debug, Clone)]
pub struct Registry {
    specs: Vec<AlgorithmSpec>,
}

impl Registry {
    /// Every algorithm compiled into this binary.
    pub fn builtin() -> Self {
        Registry {
            specs: vec![
                omendb_flat::SPEC,
                omendb_hnsw::SPEC,
                omendb_hnsw_disk::SPEC,
                omendb_hnsw_pq::SPEC,
                omendb_hnsw_pq_disk::SPEC,
                omendb_hnsw_sq8::SPEC,
                omendb_hnsw_sq8_disk::SPEC,
                omendb_sector::SPEC,
                hnsw_rs::SPEC,
                instant_distance::SPEC,
                #[cfg(feature = "usearch")]
                usearch::SPEC,
                python::HNSWLIB,
                python::FAISS_HNSW,
                python::FAISS_IVFPQ,
                python::OMENDB_PYTHON,
            ],
        }
    }

    /// Adds (or replaces, by name) an algorithm; tests register fakes.
    pub fn register(&mut self, spec: AlgorithmSpec) {
        self.specs.retain(|s| s.name != spec.name);
        self.specs.push(spec);
    }

    /// The algorithm called `name`.
    pub fn get(&self, name: &str) -> Option<&AlgorithmSpec> {
        self.specs.iter().find(|s| s.name == name)
    }

    /// Registered names, in registration order.
    pub fn names(&self) -> Vec<&'static str> {
        self.specs.iter().map(|s| s.name).collect()
    }
}

/// Reads parameter `name` from a complete parameter set (the config
/// validation fills in every default, so absence is an internal error that
/// is reported, not a panic).
pub fn param(params: &Params, name: &str) -> anyhow::Result<usize> {
    params
        .get(name)
        .copied()
        .ok_or_else(|| anyhow::anyhow!("parameter `{name}` missing"))
}
