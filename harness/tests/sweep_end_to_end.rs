//! End to end: a tiny sweep writes result documents whose recall figures
//! match a recomputation from the ids it kept, and whose schema round-trips.

mod sweep_common;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use omenbench::data::Dataset;
use omenbench::sweep::adapters::Registry;
use omenbench::sweep::results::{read_neighbors, read_result, RunResult};
use omenbench::sweep::{run_sweep, SweepConfig, SweepOptions};
use omendb::Metric;

fn config(algorithms: &str, scales: &str) -> SweepConfig {
    SweepConfig::from_json(&format!(
        r#"{{"datasets": ["tiny"], "scales": {scales}, "k": 10, "repeats": 2,
            "threads": 2, "algorithms": {algorithms}}}"#
    ))
    .unwrap()
}

fn run(cfg: &SweepConfig, ds: &Dataset, out: &Path) -> Vec<PathBuf> {
    let sweep = cfg.validate(&Registry::builtin()).unwrap();
    let load = |_: &str, n: usize, _: Option<usize>, _: bool| Ok(sweep_common::cut(ds, n));
    let opts = SweepOptions {
        out: out.to_path_buf(),
        quiet: true,
        stop: Arc::new(AtomicBool::new(false)),
        worker: None,
    };
    let summary = run_sweep(&sweep, &load, &opts).unwrap();
    assert!(!summary.interrupted);
    summary.results
}

/// Recall recomputed from scratch: brute-force true distances in f64.
fn recompute(ds: &Dataset, ids: &[Vec<u32>], r: usize) -> (f64, f64) {
    let d = ds.dims;
    let dist = |q: &[f32], v: &[f32]| -> f64 {
        match ds.metric {
            Metric::L2 => q
                .iter()
                .zip(v)
                .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
                .sum::<f64>()
                .sqrt(),
            Metric::Cosine => {
                let dot: f64 = q
                    .iter()
                    .zip(v)
                    .map(|(a, b)| f64::from(*a) * f64::from(*b))
                    .sum();
                let nq: f64 = q.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>().sqrt();
                let nv: f64 = v.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>().sqrt();
                1.0 - dot / (nq * nv)
            }
            Metric::InnerProduct => unreachable!(),
        }
    };
    let (mut by_dist, mut by_id) = (0.0, 0.0);
    for (qi, found) in ids.iter().enumerate() {
        let q = &ds.test[qi * d..(qi + 1) * d];
        let mut all: Vec<(f64, u32)> = (0..ds.n_train())
            .map(|i| (dist(q, &ds.train[i * d..(i + 1) * d]), i as u32))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        let kth = all[r - 1].0;
        let head = &found[..found.len().min(r)];
        by_dist += head
            .iter()
            .filter(|&&id| dist(q, &ds.train[id as usize * d..(id as usize + 1) * d]) <= kth + 1e-3)
            .count() as f64
            / r as f64;
        let truth = &ds.neighbors[qi][..r];
        by_id += head.iter().filter(|id| truth.contains(id)).count() as f64 / r as f64;
    }
    (by_dist / ids.len() as f64, by_id / ids.len() as f64)
}

#[test]
fn tiny_sweep_recall_matches_recomputation_and_schema_round_trips() {
    let full = sweep_common::clustered(1000, 40, 16, Metric::L2, 7);
    let out = tempfile::tempdir().unwrap();
    let cfg = config(
        r#"[{"name": "omendb-flat"},
            {"name": "omendb-hnsw", "build": {"m": 8, "ef_construction": 40}, "query": {"ef": [10, 40]}},
            {"name": "hnsw_rs", "build": {"m": 8, "ef_construction": 40}, "query": {"ef": [10, 40]}},
            {"name": "instant-distance", "build": {"ef_construction": 40}, "query": {"ef": [10, 20]}}]"#,
        r#"["500", "1k"]"#,
    );
    let files = run(&cfg, &full, out.path());
    // 2 scales × (1 flat + 2 omendb-hnsw + 2 hnsw_rs + 2 instant-distance).
    assert_eq!(files.len(), 14);
    for path in &files {
        let r: RunResult = read_result(path).unwrap();
        assert!(r.error.is_none(), "{}: {:?}", path.display(), r.error);
        let ds = sweep_common::cut(&full, r.n);
        let ids = read_neighbors(path, &r).unwrap();
        assert_eq!(ids.len(), ds.n_test());
        for (depth, dist, id) in [
            (1, r.recall_at_1, r.id_recall_at_1),
            (10, r.recall_at_10, r.id_recall_at_10),
        ] {
            let (want_dist, want_id) = recompute(&ds, &ids, depth);
            assert!(
                (dist.unwrap() - want_dist).abs() < 1e-9,
                "{} @{depth}: {dist:?} vs {want_dist}",
                r.algorithm
            );
            assert!(
                (id.unwrap() - want_id).abs() < 1e-9,
                "{} id@{depth}: {id:?} vs {want_id}",
                r.algorithm
            );
        }
        assert!(
            r.recall_at_100.is_none() && r.id_recall_at_100.is_none(),
            "k = 10 < 100"
        );
        assert_eq!(r.qps_single_thread_repeats.len(), 2);
        assert_eq!(r.qps_batch_repeats.len(), 2);
        let best = r
            .qps_single_thread_repeats
            .iter()
            .copied()
            .fold(0.0, f64::max);
        assert_eq!(r.qps_single_thread, Some(best));
        let lat = r.latency_ms.unwrap();
        assert!(lat.p50 <= lat.p95 && lat.p95 <= lat.p99 && lat.p99 <= lat.max);
        assert!(r.build_seconds.unwrap() > 0.0);
        // Memory columns are null where not measured, never a stand-in 0.
        if r.memory.index_components.is_none() {
            assert_eq!(r.bytes_per_vector.index, None, "{}", r.algorithm);
        }
        assert_eq!(
            r.bytes_per_vector.peak.is_some(),
            r.memory.rss_peak_growth_bytes.is_some(),
            "{}",
            r.algorithm
        );
        if r.algorithm == "hnsw_rs" || r.algorithm == "instant-distance" {
            assert_eq!(r.bytes_per_vector.index, None, "no own accounting");
        }
        // The noise record is kept with every measured run.
        let noise = r.noise.expect("noise record");
        assert!(noise.cores >= 1);
        assert_eq!(
            r.rebuilt_for_query_params,
            r.algorithm == "instant-distance"
        );
        if r.algorithm == "omendb-flat" {
            // The exact index finds every true neighbour.
            assert_eq!(r.recall_at_10, Some(1.0));
            let comps = r.memory.index_components.unwrap();
            assert!(comps.vectors as usize >= r.n * r.dims * 4);
            assert!(r.bytes_per_vector.index.unwrap() >= (r.dims * 4) as f64);
        }
        // Round trip: the document reads back into the same value and
        // serialises to the same JSON.
        let text = std::fs::read_to_string(path).unwrap();
        let again: RunResult = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(again, r);
        let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
        for key in [
            "schema_version",
            "algorithm",
            "dataset",
            "n",
            "dims",
            "metric",
            "build_params",
            "query_params",
            "recall_at_1",
            "recall_at_10",
            "recall_at_100",
            "id_recall_at_10",
            "build_seconds",
            "build_vectors_per_second",
            "build_threads",
            "qps_single_thread",
            "qps_single_thread_repeats",
            "qps_batch",
            "latency_ms",
            "bytes_per_vector",
            "memory",
            "error",
            "machine",
            "commit",
            "timestamp",
            "config",
        ] {
            assert!(raw.get(key).is_some(), "missing {key}");
        }
        assert_eq!(raw["config"], serde_json::to_value(&cfg).unwrap());
    }
    // Higher ef never loses recall on the same build here, and both engines
    // find most neighbours on this easy set.
    let results: Vec<RunResult> = files.iter().map(|p| read_result(p).unwrap()).collect();
    for r in results.iter().filter(|r| r.algorithm != "omendb-flat") {
        assert!(
            r.recall_at_10.unwrap() > 0.5,
            "{}: {:?}",
            r.algorithm,
            r.recall_at_10
        );
    }
}

#[test]
fn angular_sweep_runs() {
    let ds = sweep_common::clustered(300, 10, 8, Metric::Cosine, 3);
    let out = tempfile::tempdir().unwrap();
    let cfg = config(
        r#"[{"name": "omendb-flat"}, {"name": "omendb-hnsw", "query": {"ef": 50}}, {"name": "hnsw_rs", "query": {"ef": 50}}, {"name": "instant-distance", "query": {"ef": 50}}]"#,
        "[300]",
    );
    for path in run(&cfg, &ds, out.path()) {
        let r = read_result(&path).unwrap();
        assert!(r.error.is_none(), "{:?}", r.error);
        assert_eq!(r.metric, "angular");
        let ids = read_neighbors(&path, &r).unwrap();
        let (want, _) = recompute(&ds, &ids, 10);
        assert!((r.recall_at_10.unwrap() - want).abs() < 1e-9);
    }
}

#[test]
fn a_thread_list_measures_batch_qps_at_every_count() {
    let ds = sweep_common::clustered(500, 20, 8, Metric::L2, 21);
    let cfg = SweepConfig::from_json(
        r#"{"datasets": ["tiny"], "scales": [500], "k": 10, "repeats": 2,
            "threads": [2, 1], "algorithms": [{"name": "omendb-hnsw", "query": {"ef": [20, 40]}}]}"#,
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let files = run(&cfg, &ds, out.path());
    assert_eq!(files.len(), 2);
    for path in &files {
        let r = read_result(path).unwrap();
        assert!(r.error.is_none(), "{:?}", r.error);
        // Builds and the reported batch figure use the largest count.
        assert_eq!((r.build_threads, r.batch_threads), (2, 2));
        let counts: Vec<usize> = r.batch_scaling.iter().map(|p| p.threads).collect();
        assert_eq!(counts, vec![1, 2]);
        for p in &r.batch_scaling {
            assert_eq!(p.qps_repeats.len(), 2, "{} thread(s)", p.threads);
            assert!(p.qps.unwrap() > 0.0);
        }
        assert_eq!(r.qps_batch_repeats, r.batch_scaling[1].qps_repeats);
        assert_eq!(r.qps_batch, r.batch_scaling[1].qps);
    }
}
