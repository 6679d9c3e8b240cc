//! The default sweep: what `omenbench run` does with no arguments.
//!
//! Sized to finish in well under 15 minutes on a 2-core machine: a clustered
//! synthetic 128-d L2 set and the real `digits-64-euclidean` set (1,600
//! vectors, so its larger scales collapse into one), 100 → 100k vectors,
//! OmenDB's exact and HNSW indexes beside the peers that count — hnswlib,
//! faiss-hnsw (Python workers; the venv is made on first use) and usearch
//! (when compiled in) — and `hnsw_rs` and `instant-distance`, at M = 16 /
//! ef_construction = 200, a few `ef` values each. The summary leads with
//! the QPS ratios to hnswlib at equal recall.
//! instant-distance (M fixed at 32 by the crate) is rebuilt for every `ef`
//! and is the slowest builder, so it gets ef_construction = 100 and two `ef`
//! values.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::config::{AlgorithmConfig, SweepConfig};

/// The `ef` values every graph index is queried at.
pub const DEFAULT_EFS: [usize; 4] = [10, 20, 40, 80];

/// instant-distance's `ef` values (each one a full rebuild).
pub const INSTANT_DISTANCE_EFS: [usize; 2] = [10, 40];

fn grid(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn graph(name: &str, build: &[(&str, Value)], efs: &[usize]) -> AlgorithmConfig {
    AlgorithmConfig {
        build: grid(build),
        query: grid(&[("ef", json!(efs))]),
        ..AlgorithmConfig::with_defaults(name)
    }
}

/// The default sweep config.
pub fn default_sweep() -> SweepConfig {
    let hnsw = [("m", json!(16)), ("ef_construction", json!(200))];
    let algorithms = vec![
        AlgorithmConfig::with_defaults("omendb-flat"),
        graph("omendb-hnsw", &hnsw, &DEFAULT_EFS),
        graph("hnswlib", &hnsw, &DEFAULT_EFS),
        graph("faiss-hnsw", &hnsw, &DEFAULT_EFS),
        #[cfg(feature = "usearch")]
        graph("usearch", &hnsw, &DEFAULT_EFS),
        graph("hnsw_rs", &hnsw, &DEFAULT_EFS),
        // Rebuilt for every ef (fixed at build by the crate), and the
        // slowest builder here: ef_construction 100, two ef values.
        graph(
            "instant-distance",
            &[("ef_construction", json!(100))],
            &INSTANT_DISTANCE_EFS,
        ),
    ];
    SweepConfig {
        comment: Some(json!(
            "omenbench default sweep (harness/src/sweep/defaults.rs)"
        )),
        datasets: vec![
            "clustered-128-euclidean".to_string(),
            "digits-64-euclidean".to_string(),
        ],
        scales: vec![json!("100"), json!("1k"), json!("10k"), json!("100k")],
        // Each set's own query count: 1,000 for synthetic sets, all 197 of
        // digits (a cap above a file's test count is an error).
        queries: None,
        k: 10,
        threads: None,
        single_thread_build: false,
        repeats: 3,
        // Shorter than a config's default (0.5 s): the sweep has ~500
        // query sets and is meant to finish in minutes.
        warmup_seconds: 0.2,
        build_timeout_seconds: 600.0,
        query_timeout_seconds: 120.0,
        algorithms,
        scenario: None,
        isolate_builds: true,
        interleave: true,
        open_loop: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::adapters::Registry;

    #[test]
    fn default_sweep_validates() {
        let s = default_sweep().validate(&Registry::builtin()).unwrap();
        assert_eq!(s.scales, vec![100, 1_000, 10_000, 100_000]);
        for peer in [
            "omendb-hnsw",
            "hnswlib",
            "faiss-hnsw",
            "hnsw_rs",
            "instant-distance",
        ] {
            assert!(s.algorithms.iter().any(|a| a.spec.name == peer), "{peer}");
        }
        let id = s
            .algorithms
            .iter()
            .find(|a| a.spec.name == "instant-distance")
            .unwrap();
        assert_eq!(id.query_sets.len(), INSTANT_DISTANCE_EFS.len());
    }
}
