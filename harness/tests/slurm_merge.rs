//! The merged results of a sharded sweep equal the same sweep run unsharded:
//! the same run keys, identical recall (seeded, single-threaded builds),
//! every run tagged with its shard, every shard's marker present, and a
//! report written over the merged directory.
//!
//! Two ways in:
//! * `shards_run_in_turn_equal_the_whole_sweep` runs here, in process: all
//!   N shards one after another, then the whole sweep, on an in-memory set.
//! * `slurm_results_equal_the_unsharded_run` checks what `ci/slurm-local.sh`
//!   produced on a real (one-node) Slurm cluster; the script runs it with
//!   `OMENBENCH_SHARDED`, `OMENBENCH_UNSHARDED`, `OMENBENCH_SHARDS` and
//!   `OMENBENCH_REPORT` set.

mod sweep_common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use omenbench::report::ResultSet;
use omenbench::sweep::results::RunResult;
use omenbench::sweep::shard::{self, Shard, ShardPlan};
use omenbench::sweep::{run_sweep, run_sweep_part, Registry, SweepConfig, SweepOptions};
use omendb::Metric;

/// recall@10, id-recall@10 and error of one run.
type Outcome = (Option<f64>, Option<f64>, Option<String>);

/// Run key → its [`Outcome`], from every result document under `dir`.
fn by_key(dir: &Path) -> BTreeMap<String, Outcome> {
    let set = ResultSet::load(dir).unwrap();
    assert!(
        set.skipped.is_empty(),
        "unreadable files: {:?}",
        set.skipped
    );
    assert_eq!(set.superseded, 0, "{}: runs written twice", dir.display());
    set.results()
        .map(|r| {
            (
                format!(
                    "{} n={} {} {:?} {:?}",
                    r.dataset_spec, r.n, r.algorithm, r.build_params, r.query_params
                ),
                (r.recall_at_10, r.id_recall_at_10, r.error.clone()),
            )
        })
        .collect()
}

fn shards_of(dir: &Path) -> Vec<Option<Shard>> {
    ResultSet::load(dir)
        .unwrap()
        .results()
        .map(|r: &RunResult| r.shard)
        .collect()
}

/// Asserts the two directories hold the same runs with the same recall.
fn assert_same_runs(sharded: &Path, whole: &Path) {
    let a = by_key(sharded);
    let b = by_key(whole);
    assert!(!b.is_empty());
    let ka: Vec<&String> = a.keys().collect();
    let kb: Vec<&String> = b.keys().collect();
    assert_eq!(ka, kb, "the sharded and unsharded runs differ");
    for (k, (ra, rb)) in a.iter().zip(b.values()).map(|((k, ra), rb)| (k, (ra, rb))) {
        assert_eq!(ra.2, None, "{k}: {:?}", ra.2);
        assert_eq!(rb.2, None, "{k}: {:?}", rb.2);
        assert!(ra.0.is_some(), "{k}: no recall");
        assert_eq!(ra, rb, "{k}: recall differs");
    }
}

#[test]
fn shards_run_in_turn_equal_the_whole_sweep() {
    let ds = sweep_common::clustered(1200, 40, 16, Metric::L2, 5);
    let cfg = SweepConfig::from_json(
        r#"{"datasets": ["tiny", "tiny2"], "scales": [300, 1200, 5000], "k": 10, "repeats": 1, "threads": 1,
            "algorithms": [
              {"name": "omendb-flat"},
              {"name": "omendb-hnsw", "build": {"m": [8, 12], "ef_construction": 40, "seed": 3}, "query": {"ef": [10, 40]}},
              {"name": "instant-distance", "build": {"ef_construction": 30, "seed": 3}, "query": {"ef": [20]}}]}"#,
    )
    .unwrap();
    let sweep = cfg.validate(&Registry::builtin()).unwrap();
    // 5000 is more than the set has. `tiny` fails to load there, as a
    // prepared cache says; `tiny2` gives its 1,200 vectors again. Either way
    // every shard skips that scale, as the whole sweep does.
    let load = |spec: &str, n: usize, _: Option<usize>, _: bool| {
        anyhow::ensure!(
            spec == "tiny2" || n <= 1200,
            "asked for {n} train vectors but the source has 1200"
        );
        let mut d = sweep_common::cut(&ds, n);
        d.name = spec.to_string();
        Ok(d)
    };
    let out = tempfile::tempdir().unwrap();
    let opts = |dir: PathBuf| SweepOptions {
        out: dir,
        quiet: true,
        stop: Arc::new(AtomicBool::new(false)),
        worker: None,
    };
    let whole = run_sweep(&sweep, &load, &opts(out.path().join("whole"))).unwrap();
    let count = 3;
    let mut sharded_dir = None;
    for i in 0..count {
        let plan = ShardPlan::new(&sweep, Shard::new(i, count).unwrap(), "merged".into());
        let s = run_sweep_part(
            &sweep,
            &load,
            &opts(out.path().join("sharded")),
            Some(&plan),
        )
        .unwrap();
        assert!(!s.interrupted);
        assert!(s.results.iter().all(|p| p
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(&Shard::new(i, count).unwrap().file_prefix())));
        sharded_dir = Some(s.dir);
    }
    let sharded_dir = sharded_dir.unwrap();
    assert_same_runs(&sharded_dir, &whole.dir);
    let shards = shards_of(&sharded_dir);
    for i in 0..count {
        assert!(
            shards.contains(&Some(Shard::new(i, count).unwrap())),
            "shard {i} ran nothing"
        );
    }
    assert!(shards_of(&whole.dir).iter().all(Option::is_none));
    // n = 1200 appears once per run although 1200 and 5000 were both asked.
    assert!(by_key(&sharded_dir).keys().all(|k| !k.contains("n=5000")));
    assert!(shard::done_shards(&sharded_dir, count).is_empty());
}

fn env_path(name: &str) -> PathBuf {
    PathBuf::from(std::env::var_os(name).unwrap_or_else(|| {
        panic!("{name} is not set: this test checks ci/slurm-local.sh's output; run that script")
    }))
}

#[test]
#[ignore = "checks a real Slurm run: ci/slurm-local.sh runs it with OMENBENCH_SHARDED etc. set"]
fn slurm_results_equal_the_unsharded_run() {
    let sharded = env_path("OMENBENCH_SHARDED");
    let whole = env_path("OMENBENCH_UNSHARDED");
    let report = env_path("OMENBENCH_REPORT");
    let count: usize = std::env::var("OMENBENCH_SHARDS")
        .expect("OMENBENCH_SHARDS")
        .parse()
        .unwrap();
    assert_same_runs(&sharded, &whole);
    let shards = shards_of(&sharded);
    assert!(shards.iter().all(|s| s.is_some_and(|s| s.count == count)));
    assert_eq!(
        shard::done_shards(&sharded, count).len(),
        count,
        "every shard leaves its marker"
    );
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(html.contains("OmenDB benchmark report"));
    let runs = by_key(&sharded).len();
    assert!(
        html.contains(&format!("{runs} run(s)")),
        "report of {runs} runs"
    );
}
