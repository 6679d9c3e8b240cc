//! Scenario `filtered` end to end through `run_sweep`: labels at every
//! selectivity (uniform and cluster-correlated), each engine's results
//! checked against brute force computed here (plain loops, not the
//! harness's ground-truth code): nothing outside the filter is returned,
//! the stored ground truth is exact, and recall@10 is what the ids give.
//! With the pinned venv, hnswlib's and faiss's native filters run too
//! (fails under `CI=true` without the venv).

mod ci_common;
mod sweep_common;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use omenbench::data::Dataset;
use omenbench::sweep::adapters::Registry;
use omenbench::sweep::results::{read_neighbors, read_result, RunResult};
use omenbench::sweep::{run_sweep, SweepConfig, SweepOptions};
use omendb::Metric;
use serde::Deserialize;

#[derive(Deserialize)]
struct LabelFile {
    label: Label,
    neighbors: Vec<Vec<u32>>,
}

#[derive(Deserialize)]
struct Label {
    allowed: Vec<u32>,
}

fn sweep(ds: &Dataset, algorithms: &str) -> (tempfile::TempDir, Vec<(PathBuf, RunResult)>) {
    let cfg = SweepConfig::from_json(&format!(
        r#"{{"datasets": ["tiny"], "scales": [{}], "k": 10, "repeats": 2, "threads": 2,
            "scenario": {{"kind": "filtered", "selectivities": [0.5, 0.1, 0.01, 0.001],
                          "correlations": ["none", "clusters"], "seed": 5}},
            "algorithms": {algorithms}}}"#,
        ds.n_train()
    ))
    .unwrap();
    let sweep = cfg.validate(&Registry::builtin()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let opts = SweepOptions {
        out: out.path().to_path_buf(),
        quiet: true,
        stop: Arc::new(AtomicBool::new(false)),
        worker: None,
    };
    let load = |_: &str, _: usize, _: Option<usize>, _: bool| Ok(ds.clone());
    let summary = run_sweep(&sweep, &load, &opts).unwrap();
    let runs = summary
        .results
        .iter()
        .map(|p| (p.clone(), read_result(p).unwrap()))
        .collect();
    (out, runs)
}

fn l2(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum()
}

/// Brute force: the 10 nearest allowed rows of each query.
fn brute(ds: &Dataset, allowed: &[u32]) -> Vec<Vec<(f64, u32)>> {
    let d = ds.dims;
    ds.test
        .chunks_exact(d)
        .map(|q| {
            let mut all: Vec<(f64, u32)> = allowed
                .iter()
                .map(|&i| (l2(q, &ds.train[i as usize * d..(i as usize + 1) * d]), i))
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            all.truncate(10);
            all
        })
        .collect()
}

/// Checks every run of `runs`; returns recall@10 per (algorithm, label).
fn check(ds: &Dataset, runs: &[(PathBuf, RunResult)]) -> Vec<(String, String, String, f64)> {
    let d = ds.dims;
    let mut out = Vec::new();
    for (path, r) in runs {
        assert!(r.error.is_none(), "{} {:?}", r.algorithm, r.error);
        assert_eq!(r.scenario.scenario.as_deref(), Some("filtered"));
        let f = r.scenario.filter.as_ref().expect("filter record");
        let dir = path.parent().unwrap();
        let file: LabelFile =
            serde_json::from_str(&std::fs::read_to_string(dir.join(&f.ground_truth_file)).unwrap())
                .unwrap();
        let allowed = &file.label.allowed;
        assert_eq!(allowed.len(), f.allowed);
        let s = r.scenario.selectivity.unwrap();
        assert!((s - allowed.len() as f64 / ds.n_train() as f64).abs() < 1e-12);
        // The stored ground truth is the brute-force one (by distance: ties).
        let truth = brute(ds, allowed);
        for (q, (stored, bf)) in file.neighbors.iter().zip(&truth).enumerate() {
            assert_eq!(stored.len(), bf.len(), "query {q}");
            let query = &ds.test[q * d..(q + 1) * d];
            for (id, (dist, _)) in stored.iter().zip(bf) {
                let got = l2(query, &ds.train[*id as usize * d..(*id as usize + 1) * d]);
                assert!((got - dist).abs() <= 1e-4 * dist.max(1.0), "query {q}");
            }
        }
        // Nothing outside the filter, and recall@10 is what the ids give.
        let ids = read_neighbors(path, r).unwrap();
        let mut hits = 0.0;
        for (q, found) in ids.iter().enumerate() {
            assert!(found.len() <= 10);
            for id in found {
                assert!(
                    allowed.binary_search(id).is_ok(),
                    "{} returned {id}, outside the filter {}",
                    r.algorithm,
                    f.label
                );
            }
            let want: Vec<u32> = truth[q].iter().map(|x| x.1).collect();
            hits += found.iter().filter(|i| want.contains(i)).count() as f64 / want.len() as f64;
        }
        let id_recall = hits / ids.len() as f64;
        let stored = r.id_recall_at_10.unwrap();
        assert!(
            (id_recall - stored).abs() < 0.02,
            "{} {}: recomputed id recall {id_recall}, stored {stored}",
            r.algorithm,
            f.label
        );
        assert!(r.qps_single_thread.is_some_and(|q| q > 0.0));
        assert_eq!(r.qps_single_thread_repeats.len(), 2);
        out.push((
            r.algorithm.clone(),
            f.label.clone(),
            f.mode.clone(),
            r.recall_at_10.unwrap(),
        ));
    }
    out
}

/// Renders the report of `results` and returns (figure id, series names).
fn report_figures(results: &std::path::Path) -> Vec<(String, String)> {
    let out = results.join("report");
    let path = omenbench::report::write_report(results, &out).unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let doc = scraper::Html::parse_document(&text);
    assert!(doc.errors.is_empty(), "HTML parse errors: {:?}", doc.errors);
    let sel = scraper::Selector::parse("figure.chart").unwrap();
    doc.select(&sel)
        .map(|f| {
            let v = f.value();
            (
                v.attr("id").unwrap_or_default().to_string(),
                v.attr("data-series").unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn filtered_recall_matches_brute_force_at_every_selectivity() {
    let ds = sweep_common::clustered(3000, 40, 16, Metric::L2, 3);
    let algorithms = if cfg!(feature = "usearch") {
        r#"[{"name": "omendb-hnsw", "query": {"ef": 64}},
            {"name": "omendb-hnsw-disk", "query": {"ef": 64}},
            {"name": "usearch", "query": {"ef": 64}},
            {"name": "hnsw_rs", "query": {"ef": 64}}]"#
    } else {
        r#"[{"name": "omendb-hnsw", "query": {"ef": 64}},
            {"name": "omendb-hnsw-disk", "query": {"ef": 64}},
            {"name": "hnsw_rs", "query": {"ef": 64}}]"#
    };
    let (out, runs) = sweep(&ds, algorithms);
    let engines = if cfg!(feature = "usearch") { 4 } else { 3 };
    assert_eq!(runs.len(), engines * 8);
    let figures = check(&ds, &runs);
    for (alg, label, mode, recall) in &figures {
        let native = alg != "hnsw_rs";
        assert_eq!(mode, if native { "native" } else { "post-filter" }, "{alg}");
        // Natively filtered graphs hold recall at every selectivity.
        if alg.starts_with("omendb") {
            assert!(*recall >= 0.9, "{alg} {label}: recall@10 {recall}");
        }
    }
    // The report draws recall vs selectivity and recall/QPS per selectivity.
    let figs = report_figures(out.path());
    let n = ds.n_train();
    for corr in ["none", "clusters"] {
        let key = format!("filtered-recall-{}-{n}-{corr}", ds.name);
        let (_, series) = figs
            .iter()
            .find(|f| f.0.ends_with(&key))
            .unwrap_or_else(|| {
                panic!(
                    "no {key} among {:?}",
                    figs.iter().map(|f| &f.0).collect::<Vec<_>>()
                )
            });
        assert!(
            series.contains("omendb-hnsw") && series.contains("hnsw_rs (post-filter)"),
            "{series}"
        );
        for s in ["0_5", "0_1", "0_01", "0_001"] {
            let key = format!("filtered-pareto-{}-{n}-{corr}-{s}", ds.name);
            assert!(figs.iter().any(|f| f.0.ends_with(&key)), "no {key}");
        }
    }
    // The end-of-sweep table lists every label, post-filtering named.
    let summary = std::fs::read_to_string(runs[0].0.parent().unwrap().join("summary.md")).unwrap();
    assert!(
        summary.contains("| mode |") && summary.contains("post-filter (k′ = "),
        "{summary}"
    );
    assert_eq!(
        summary
            .lines()
            .filter(|l| l.contains("s0.001-clusters"))
            .count(),
        engines
    );
    // Scenario runs stay off the plain k-NN charts.
    assert!(!figs.iter().any(|f| f.0.starts_with("pareto-")), "{figs:?}");
}

#[test]
fn bad_scenarios_are_refused_with_the_field_named() {
    let parse = |scenario: &str, alg: &str| {
        SweepConfig::from_json(&format!(
            r#"{{"datasets": ["d"], "scales": [10], "scenario": {scenario},
                "algorithms": [{{"name": "{alg}"}}]}}"#
        ))
        .and_then(|c| c.validate(&Registry::builtin()))
        .map(|_| ())
        .map_err(|e| format!("{e:#}"))
    };
    let e = parse(
        r#"{"kind": "filtered", "selectivities": [0]}"#,
        "omendb-hnsw",
    )
    .unwrap_err();
    assert!(e.contains("selectivities[0]"), "{e}");
    let e = parse(r#"{"kind": "filtered"}"#, "faiss-ivfpq").unwrap_err();
    assert!(e.contains("cannot run the filtered scenario"), "{e}");
    let e = parse(
        r#"{"kind": "streaming", "initial": 0.5, "steps": ["search"]}"#,
        "hnsw_rs",
    )
    .unwrap_err();
    assert!(e.contains("cannot run the streaming scenario"), "{e}");
    let e = parse(
        r#"{"kind": "streaming", "initial": 0.5, "steps": [{"insert": 0.1}]}"#,
        "omendb-hnsw",
    )
    .unwrap_err();
    assert!(e.contains("search"), "{e}");
    let e = parse(r#"{"kind": "sideways"}"#, "omendb-hnsw").unwrap_err();
    assert!(e.contains("sideways"), "{e}");
    parse(r#"{"kind": "filtered"}"#, "omendb-hnsw").unwrap();
}

/// The venv's Python, or `None` (a failure under `CI=true`).
fn venv() -> Option<PathBuf> {
    let python = omenbench::data::repo_root().join(".venv/bin/python");
    if python.exists() {
        return Some(python);
    }
    ci_common::absent("the Python venv (.venv)", "bash scripts/python-env.sh");
    None
}

#[test]
fn hnswlib_and_faiss_filter_natively_in_the_scenario_worker() {
    let Some(python) = venv() else { return };
    std::env::set_var("OMENBENCH_PYTHON", &python);
    let ds = sweep_common::clustered(3000, 40, 16, Metric::L2, 4);
    let (_out, runs) = sweep(
        &ds,
        r#"[{"name": "hnswlib", "query": {"ef": 64}}, {"name": "faiss-hnsw", "query": {"ef": 64}}]"#,
    );
    assert_eq!(runs.len(), 16);
    for (_, r) in &runs {
        assert_eq!(r.process, "python");
    }
    for (alg, label, mode, recall) in check(&ds, &runs) {
        assert_eq!(mode, "native");
        // Uniform labels at ≥ 10% are easy for any filtered graph search.
        eprintln!("{alg} {label}: recall@10 {recall:.3}");
        if label == "s0.5-none" || label == "s0.1-none" {
            assert!(recall >= 0.9, "{alg} {label}: recall@10 {recall}");
        }
    }
}

#[test]
fn committed_scenario_configs_validate_and_fit_10k() {
    use omenbench::sweep::scenario::Scenario;
    for name in ["filtered-100k.json", "streaming-100k.json"] {
        let path = omenbench::data::repo_root()
            .join("harness/configs")
            .join(name);
        let cfg = SweepConfig::load(&path).unwrap();
        let sweep = cfg.validate(&Registry::builtin()).unwrap();
        match cfg.scenario.as_ref().expect("a scenario") {
            Scenario::Filtered(f) => {
                assert_eq!(f.selectivities, [0.5, 0.1, 0.01, 0.001]);
                assert!(sweep.algorithms.iter().any(|a| a.spec.name == "hnswlib"));
            }
            Scenario::Streaming(book) => {
                for n in [10_000, 100_000] {
                    book.expand(n).unwrap();
                }
            }
        }
    }
}
