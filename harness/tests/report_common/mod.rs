//! Synthetic result sets for the report tests (included with `mod`).

#![allow(dead_code)]

use std::path::Path;

use omenbench::sweep::machine::Machine;
use omenbench::sweep::memory::{BytesPerVector, MemoryReport};
use omenbench::sweep::metrics::Latency;
use omenbench::sweep::results::{ResultWriter, RunResult, SCHEMA_VERSION};
use omenbench::sweep::Params;

/// Datasets of the synthetic sets (base names; documents carry `@<scale>`).
pub const DATASETS: [&str; 2] = ["synth-a-32-euclidean", "synth-b-16-angular"];
/// Train sizes.
pub const SCALES: [usize; 2] = [1_000, 10_000];
/// Graph algorithms (queried at several ef) and the exact one.
pub const GRAPH: [&str; 2] = ["omendb-hnsw", "hnsw_rs"];
/// The exact index.
pub const EXACT: &str = "omendb-flat";
/// The ef values graph indexes are queried at.
pub const EFS: [usize; 4] = [10, 20, 40, 80];

fn params(pairs: &[(&str, usize)]) -> Params {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// One run with figures that are a function of its coordinates, scaled by
/// `speed` (QPS and build speed) and `bytes` (bytes per vector).
pub fn run(
    dataset: &str,
    n: usize,
    algorithm: &str,
    ef: Option<usize>,
    speed: f64,
    bytes: f64,
) -> RunResult {
    let di = DATASETS.iter().position(|d| *d == dataset).unwrap_or(0) as f64;
    let ai = match algorithm {
        "omendb-hnsw" => 0.0,
        "hnsw_rs" => 1.0,
        _ => 2.0,
    };
    let scale = (n as f64).log10();
    let (recall, qps) = match ef {
        Some(ef) => {
            let e = EFS.iter().position(|x| *x == ef).unwrap_or(0) as f64;
            (
                (0.80 + 0.06 * e - 0.01 * ai - 0.005 * di - 0.004 * scale).min(1.0),
                speed * 40_000.0 / (1.0 + e) / (1.0 + 0.3 * ai) / scale,
            )
        }
        None => (1.0, speed * 4.0e6 / n as f64),
    };
    let index_bytes = if algorithm == "hnsw_rs" {
        None
    } else {
        Some(bytes * (140.0 + 10.0 * ai + scale))
    };
    let build_vps = speed * 50_000.0 / (1.0 + ai) / scale;
    RunResult {
        schema_version: SCHEMA_VERSION,
        sweep_id: "20260101T000000Z".into(),
        algorithm: algorithm.into(),
        dataset: format!("{dataset}@{}k", n / 1000),
        dataset_spec: dataset.into(),
        n,
        dims: if di == 0.0 { 32 } else { 16 },
        metric: if di == 0.0 { "euclidean" } else { "angular" }.into(),
        n_queries: 100,
        k: 10,
        build_params: if algorithm == EXACT {
            Params::new()
        } else {
            params(&[("ef_construction", 200), ("m", 16)])
        },
        query_params: Some(ef.map(|e| params(&[("ef", e)])).unwrap_or_default()),
        rebuilt_for_query_params: false,
        recall_at_1: Some((recall + 0.02).min(1.0)),
        recall_at_10: Some(recall),
        recall_at_100: None,
        id_recall_at_1: Some((recall + 0.02).min(1.0)),
        id_recall_at_10: Some(recall),
        id_recall_at_100: None,
        build_seconds: Some(n as f64 / build_vps),
        build_vectors_per_second: Some(build_vps),
        build_threads: 4,
        build_timings: Vec::new(),
        qps_single_thread: Some(qps),
        qps_single_thread_repeats: vec![qps * 0.97, qps],
        qps_batch: Some(qps * 3.5),
        qps_batch_repeats: vec![qps * 3.5],
        batch_threads: 4,
        latency_ms: Some(Latency {
            p50: 1000.0 / qps,
            p95: 1300.0 / qps,
            p99: 1500.0 / qps,
            max: 2000.0 / qps,
        }),
        bytes_per_vector: BytesPerVector {
            index: index_bytes,
            disk: None,
            rss: Some(bytes * (180.0 + scale)),
            peak: None,
        },
        memory: MemoryReport::default(),
        neighbors_file: None,
        error: None,
        notes: Vec::new(),
        machine: Machine {
            cpu_model: Some("Test CPU 3000".into()),
            logical_cores: 4,
            physical_cores: Some(2),
            os: Some("Debian GNU/Linux".into()),
            kernel: None,
            memory_bytes: Some(8 << 30),
            rustc: "rustc 1.95.0".into(),
            optimized: true,
        },
        commit: Some("abc1234".into()),
        timestamp: "2026-01-01T00:10:00Z".into(),
        config: serde_json::json!({}),
        process: "in-process".into(),
        qps_single_thread_per_call: None,
        worker: None,
        open_seconds: None,
        page_cache_bytes: None,
        rss_after_open_bytes: None,
        rss_growth_on_open_bytes: None,
        rss_anon_growth_on_open_bytes: None,
        reads_per_query: None,
        shard: None,
        noise: None,
        scenario: Default::default(),
        batch_scaling: Vec::new(),
        qps_single_thread_spread: None,
        qps_batch_spread: None,
        passes: Vec::new(),
        open_loop: Vec::new(),
    }
}

/// Every run of a synthetic sweep.
pub fn sweep(speed: f64, bytes: f64) -> Vec<RunResult> {
    let mut out = Vec::new();
    for d in DATASETS {
        for n in SCALES {
            for a in GRAPH {
                for ef in EFS {
                    out.push(run(d, n, a, Some(ef), speed, bytes));
                }
            }
            out.push(run(d, n, EXACT, None, speed, bytes));
        }
    }
    out
}

/// Writes `runs` as a sweep under `dir` with the harness's own writer.
pub fn write(dir: &Path, runs: &[RunResult]) {
    let mut w = ResultWriter::create(dir, &runs[0].sweep_id).unwrap();
    for r in runs {
        let mut r = r.clone();
        w.write(&mut r, Some(&[vec![0, 1, 2]])).unwrap();
    }
}
