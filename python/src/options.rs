//! Keyword arguments as engine parameters, checked with clear `ValueError`s.

use std::str::FromStr;

use omendb::{Durability, HnswParams, HnswPqParams, Metric, OpenOptions, PqParams};
use pyo3::prelude::*;

use crate::errors::{to_py, value_error};

/// The kinds `omendb.Index(kind=…)` accepts.
pub const KINDS: &[&str] = &["flat", "hnsw", "hnsw-pq"];

/// A count argument: an integer at least `min`.
pub fn count(name: &str, value: i64, min: i64) -> PyResult<usize> {
    if value < min {
        return Err(value_error(format!(
            "{name} must be at least {min}, got {value}"
        )));
    }
    usize::try_from(value).map_err(|_| value_error(format!("{name} = {value} is too large")))
}

/// Parses a metric name (`l2` / `euclidean`, `cosine` / `angular`, `ip` / `dot`).
pub fn metric(name: &str) -> PyResult<Metric> {
    Metric::from_str(name).map_err(to_py)
}

/// The metric's name as the binding reports it.
pub fn metric_name(metric: Metric) -> &'static str {
    match metric {
        Metric::L2 => "l2",
        Metric::Cosine => "cosine",
        Metric::InnerProduct => "ip",
    }
}

/// Checks a kind name.
pub fn kind(name: &str) -> PyResult<&'static str> {
    KINDS
        .iter()
        .copied()
        .find(|k| *k == name)
        .ok_or_else(|| value_error(format!("unknown kind {name:?} (expected one of {KINDS:?})")))
}

/// Build parameters shared by the graph kinds.
#[derive(Debug, Clone, Copy)]
pub struct Build {
    /// The graph's parameters.
    pub hnsw: HnswParams,
    /// The quantizer's `m` (PQ kinds).
    pub pq_m: usize,
}

impl Build {
    /// Reads `m`, `ef_construction`, `seed` and `pq_m` (default: the
    /// largest divisor of `dims` up to 16, so no sub-space is all padding).
    pub fn new(
        dims: usize,
        m: i64,
        ef_construction: i64,
        seed: Option<i64>,
        pq_m: Option<i64>,
    ) -> PyResult<Self> {
        let mut hnsw = HnswParams::new(
            count("m", m, 2)?,
            count("ef_construction", ef_construction, 1)?,
        );
        if let Some(seed) = seed {
            hnsw.seed = count("seed", seed, 0)? as u64;
        }
        let pq_m = match pq_m {
            Some(v) => count("pq_m", v, 1)?,
            None => (1..=16.min(dims.max(1)))
                .rev()
                .find(|m| dims.is_multiple_of(*m))
                .unwrap_or(1),
        };
        Ok(Build { hnsw, pq_m })
    }

    /// The PQ kind's parameters (one seed for graph and quantizer).
    pub fn pq(&self) -> HnswPqParams {
        HnswPqParams {
            hnsw: self.hnsw,
            pq: PqParams {
                seed: self.hnsw.seed,
                ..PqParams::with_m(self.pq_m)
            },
        }
    }
}

/// `durability`: `"every-op"`, `"never"`, or an integer N (sync every N writes).
pub fn durability(value: &Bound<'_, PyAny>) -> PyResult<Durability> {
    if let Ok(s) = value.extract::<String>() {
        return match s.as_str() {
            "every-op" => Ok(Durability::EveryOp),
            "never" => Ok(Durability::Never),
            _ => Err(value_error(format!(
                "durability must be \"every-op\", \"never\" or a positive integer, got {s:?}"
            ))),
        };
    }
    let n: i64 = value.extract().map_err(|_| {
        value_error("durability must be \"every-op\", \"never\" or a positive integer")
    })?;
    let n = count("durability", n, 1)?;
    u32::try_from(n)
        .map(Durability::Group)
        .map_err(|_| value_error(format!("durability = {n} is too large")))
}

/// Options for opening or creating a directory.
pub fn open_options(read_only: bool, durability: Durability, verify_vectors: bool) -> OpenOptions {
    OpenOptions {
        read_only,
        durability,
        verify_vectors,
        ..OpenOptions::default()
    }
}
