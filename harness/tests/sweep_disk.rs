//! Disk-backed adapters through the sweep runner: the build is closed and
//! reopened, and the reopen's time and RSS reach the result documents, the
//! sweep's `summary.md` and the HTML report; bytes per vector count RAM only.

mod sweep_common;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use omenbench::data::Dataset;
use omenbench::report::write_report;
use omenbench::sweep::adapters::Registry;
use omenbench::sweep::results::{read_result, RunResult};
use omenbench::sweep::{run_sweep, SweepConfig, SweepOptions};
use omendb::Metric;

/// Runs `algorithms` (a JSON list) on `ds`; returns the sweep's directory
/// and its documents.
fn sweep(ds: &Dataset, algorithms: &str, out: &Path) -> (PathBuf, Vec<(PathBuf, RunResult)>) {
    let cfg = SweepConfig::from_json(&format!(
        r#"{{"datasets": ["tiny"], "scales": [{}], "k": 10, "repeats": 1,
            "threads": 2, "algorithms": {algorithms}}}"#,
        ds.n_train()
    ))
    .unwrap();
    let sweep = cfg.validate(&Registry::builtin()).unwrap();
    let load = |_: &str, _: usize, _: Option<usize>, _: bool| Ok(ds.clone());
    let opts = SweepOptions {
        out: out.to_path_buf(),
        quiet: true,
        stop: Arc::new(AtomicBool::new(false)),
        worker: None,
    };
    let summary = run_sweep(&sweep, &load, &opts).unwrap();
    assert!(!summary.interrupted);
    let results = summary
        .results
        .iter()
        .map(|p| (p.clone(), read_result(p).unwrap()))
        .collect();
    (summary.dir, results)
}

/// A disk run's reopen figures are there, and its mapped vectors are
/// counted on disk, not in the RAM figure.
fn check_reopen(path: &Path, r: &RunResult) {
    assert!(r.open_seconds.unwrap() > 0.0, "{:?}", r.open_seconds);
    if cfg!(target_os = "linux") {
        assert!(r.rss_after_open_bytes.unwrap() > 0);
        assert!(r.rss_growth_on_open_bytes.is_some());
        assert!(r.rss_anon_growth_on_open_bytes.is_some());
    }
    let comps = r.memory.index_components.unwrap();
    let raw = (r.n * r.dims * 4) as u64;
    assert_eq!(comps.vectors, 0, "{comps:?}");
    assert!(comps.disk >= raw, "{comps:?}");
    assert!(r.memory.disk_bytes.unwrap() >= raw);
    assert_eq!(
        r.bytes_per_vector.index,
        Some(comps.ram_total as f64 / r.n as f64)
    );
    assert!(r.bytes_per_vector.disk.unwrap() >= (r.dims * 4) as f64);
    // What the page cache held of the mapped files after the queries: the
    // rows they re-ranked or walked, at most the files.
    if cfg!(target_os = "linux") {
        let cached = r.page_cache_bytes.expect("page cache measured");
        assert!(
            cached > 0 && cached <= r.memory.disk_bytes.unwrap(),
            "{cached}"
        );
    }
    // The figures are in the document, by name.
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(doc["open_seconds"].as_f64().unwrap() > 0.0);
    for key in [
        "rss_after_open_bytes",
        "rss_growth_on_open_bytes",
        "rss_anon_growth_on_open_bytes",
    ] {
        assert!(doc.get(key).is_some(), "missing {key}");
    }
}

#[test]
fn disk_adapter_reports_open_time_and_rss_after_open() {
    let ds = sweep_common::clustered(2000, 50, 16, Metric::L2, 11);
    let out = tempfile::tempdir().unwrap();
    let (dir, results) = sweep(
        &ds,
        r#"[{"name": "omendb-hnsw-disk", "build": {"m": 8, "ef_construction": 40}, "query": {"ef": [20, 40]}},
            {"name": "omendb-hnsw", "build": {"m": 8, "ef_construction": 40}, "query": {"ef": 40}}]"#,
        out.path(),
    );
    assert_eq!(results.len(), 3);
    for (path, r) in &results {
        assert!(r.error.is_none(), "{}: {:?}", r.algorithm, r.error);
        assert!(
            r.recall_at_10.unwrap() > 0.8,
            "{}: {:?}",
            r.algorithm,
            r.recall_at_10
        );
        if r.algorithm == "omendb-hnsw-disk" {
            check_reopen(path, r);
        } else {
            assert_eq!(r.open_seconds, None);
            assert_eq!(r.page_cache_bytes, None);
            assert_eq!(r.rss_after_open_bytes, None);
            assert_eq!(r.rss_growth_on_open_bytes, None);
            assert_eq!(r.rss_anon_growth_on_open_bytes, None);
        }
    }

    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        summary
            .lines()
            .find(|l| l.starts_with("| dataset |"))
            .unwrap()
            .ends_with("| open s | RSS after open MiB | page cache B/vec |"),
        "{summary}"
    );
    let html =
        std::fs::read_to_string(write_report(&dir, &out.path().join("report")).unwrap()).unwrap();
    assert!(html.contains("<th>open s</th>"));
    // Summary table and runs table: one open-time cell per row.
    let open_cells = html.matches("class=\"num open\"").count();
    assert_eq!(open_cells, 2 + results.len(), "{open_cells}");
}

#[test]
fn in_memory_sweep_keeps_the_tables_unchanged() {
    let ds = sweep_common::clustered(300, 10, 8, Metric::L2, 5);
    let out = tempfile::tempdir().unwrap();
    let (dir, results) = sweep(&ds, r#"[{"name": "omendb-flat"}]"#, out.path());
    assert!(results.iter().all(|(_, r)| r.open_seconds.is_none()));
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(!summary.contains("open s"), "{summary}");
    let html =
        std::fs::read_to_string(write_report(&dir, &out.path().join("report")).unwrap()).unwrap();
    assert!(!html.contains("open s"));
}

#[test]
fn pq_disk_adapter_keeps_only_graph_and_codes_in_ram() {
    let ds = sweep_common::clustered(2000, 50, 16, Metric::L2, 13);
    let out = tempfile::tempdir().unwrap();
    let (_, results) = sweep(
        &ds,
        r#"[{"name": "omendb-hnsw-pq-disk", "build": {"m": 8, "ef_construction": 40, "pq_m": 8},
             "query": {"ef": 40, "rerank": [0, 50]}}]"#,
        out.path(),
    );
    assert_eq!(results.len(), 2);
    for (path, r) in &results {
        assert!(r.error.is_none(), "{:?}", r.error);
        check_reopen(path, r);
        let comps = r.memory.index_components.unwrap();
        assert!(comps.codes >= (r.n * 8) as u64, "{comps:?}");
    }
    // Exact re-ranking from the mapped vectors finds what the codes miss.
    let recall = |rerank: usize| {
        results
            .iter()
            .find(|(_, r)| r.query_params.as_ref().unwrap()["rerank"] == rerank)
            .and_then(|(_, r)| r.recall_at_10)
            .unwrap()
    };
    assert!(recall(50) > 0.8, "{}", recall(50));
    assert!(recall(50) >= recall(0), "{} < {}", recall(50), recall(0));
}

#[test]
fn sq8_adapters_reach_recall_and_the_disk_kind_keeps_no_vectors_in_ram() {
    let ds = sweep_common::clustered(2000, 50, 16, Metric::L2, 17);
    let out = tempfile::tempdir().unwrap();
    let (_, results) = sweep(
        &ds,
        r#"[{"name": "omendb-hnsw-sq8", "build": {"m": 8, "ef_construction": 40},
             "query": {"ef": 40}},
            {"name": "omendb-hnsw-sq8-disk", "build": {"m": 8, "ef_construction": 40},
             "query": {"ef": 40}}]"#,
        out.path(),
    );
    assert_eq!(results.len(), 2);
    for (path, r) in &results {
        assert!(r.error.is_none(), "{:?}", r.error);
        let comps = r.memory.index_components.unwrap();
        assert!(comps.codes >= (r.n * r.dims) as u64, "{comps:?}");
        // The default re-rank depth re-ranks exactly.
        assert!(
            r.recall_at_10.unwrap() > 0.9,
            "{}: {:?}",
            r.algorithm,
            r.recall_at_10
        );
        if r.algorithm.ends_with("-disk") {
            check_reopen(path, r);
        } else {
            assert!(comps.vectors >= (r.n * r.dims * 4) as u64, "{comps:?}");
        }
    }
}

#[test]
fn sector_adapter_reports_reads_per_query_warm_and_direct() {
    let ds = sweep_common::clustered(3000, 50, 16, Metric::L2, 12);
    let out = tempfile::tempdir().unwrap();
    let (_, results) = sweep(
        &ds,
        r#"[{"name": "omendb-sector", "build": {"m": 8, "ef_construction": 40, "pq_m": 4, "beam_width": 4},
             "query": {"ef": [20, 60], "direct": [0, 1]}}]"#,
        out.path(),
    );
    assert_eq!(results.len(), 4);
    let mut recall = std::collections::BTreeMap::new();
    for (_, r) in &results {
        assert!(r.error.is_none(), "{:?}", r.error);
        let qp = r.query_params.as_ref().unwrap();
        let (ef, direct) = (qp["ef"], qp["direct"]);
        let reads = r.reads_per_query.expect("reads per query recorded");
        // Each search reads a block per node it expands: about ef of them
        // (candidates pushed out of the pool may have been expanded first).
        assert!(
            (2.0..=2.0 * ef as f64).contains(&reads),
            "ef {ef}: {reads} reads/query"
        );
        assert!(r.open_seconds.is_some() && r.page_cache_bytes.is_some());
        // RAM: codes, ids and upper layers, far below the 64 B of a vector.
        let ram = r.bytes_per_vector.index.unwrap();
        assert!(ram < 40.0, "{ram} RAM B/vector");
        recall.insert((ef, direct), r.recall_at_10.unwrap());
    }
    // Direct reads find what cached reads find.
    for ef in [20, 60] {
        assert_eq!(recall[&(ef, 0)], recall[&(ef, 1)], "ef {ef}");
    }
    assert!(recall[&(60, 0)] > 0.9, "{recall:?}");
}
