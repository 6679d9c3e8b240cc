//! A failing, panicking or hanging adapter is recorded and the sweep goes on;
//! broken configs name the field at fault.

mod sweep_common;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use omenbench::sweep::adapters::{AlgorithmSpec, BuildContext, ParamSpec, Registry};
use omenbench::sweep::results::read_result;
use omenbench::sweep::{run_sweep, Adapter, Params, SweepConfig, SweepOptions};
use omendb::Metric;

/// Fails, panics or hangs at the step its `mode` build parameter names.
struct Faulty {
    mode: usize,
}

const BUILD_ERROR: usize = 0;
const BUILD_PANIC: usize = 1;
const SEARCH_PANIC: usize = 2;
const BUILD_HANG: usize = 3;

impl Adapter for Faulty {
    fn name(&self) -> &str {
        "faulty"
    }
    fn build(&mut self, _: &[f32], _: usize, _: usize) -> anyhow::Result<()> {
        match self.mode {
            BUILD_ERROR => anyhow::bail!("refusing to build"),
            BUILD_PANIC => panic!("build exploded"),
            BUILD_HANG => {
                std::thread::sleep(Duration::from_secs(8));
                Ok(())
            }
            _ => Ok(()),
        }
    }
    fn set_query_params(&mut self, _: &Params) -> anyhow::Result<()> {
        Ok(())
    }
    fn search(&self, _: &[f32], k: usize) -> anyhow::Result<Vec<u32>> {
        if self.mode == SEARCH_PANIC {
            panic!("search exploded");
        }
        Ok((0..k as u32).collect())
    }
}

fn make_faulty(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
    Ok(Box::new(Faulty {
        mode: ctx.build_params["mode"],
    }))
}

const FAULTY: AlgorithmSpec = AlgorithmSpec {
    name: "faulty",
    build_params: &[ParamSpec::new("mode", 0, 0, 3)],
    query_params: &[],
    make: &make_faulty,
};

#[test]
fn faulty_adapters_are_recorded_and_the_sweep_goes_on() {
    let ds = sweep_common::clustered(200, 5, 4, Metric::L2, 1);
    let mut registry = Registry::builtin();
    registry.register(FAULTY);
    let cfg = SweepConfig::from_json(
        r#"{"datasets": ["tiny"], "scales": [200], "repeats": 1, "build_timeout_seconds": 2.5,
            "algorithms": [{"name": "faulty", "build": {"mode": [0, 1, 2, 3]}}, {"name": "omendb-flat"}]}"#,
    )
    .unwrap();
    let sweep = cfg.validate(&registry).unwrap();
    let out = tempfile::tempdir().unwrap();
    let load = |_: &str, _: usize, _: Option<usize>, _: bool| Ok(ds.clone());
    let opts = SweepOptions {
        out: out.path().to_path_buf(),
        quiet: true,
        stop: Arc::new(AtomicBool::new(false)),
        worker: None,
    };
    let summary = run_sweep(&sweep, &load, &opts).unwrap();
    let results: Vec<_> = summary
        .results
        .iter()
        .map(|p| read_result(p).unwrap())
        .collect();
    assert_eq!(results.len(), 5);
    assert_eq!(summary.errors, 4);
    let err = |i: usize| results[i].error.clone().unwrap_or_default();
    assert!(err(0).contains("refusing to build"), "{}", err(0));
    assert!(
        err(1).contains("panicked") && err(1).contains("build exploded"),
        "{}",
        err(1)
    );
    assert!(
        err(2).contains("panicked") && err(2).contains("search exploded"),
        "{}",
        err(2)
    );
    assert!(
        results[2].build_seconds.is_some(),
        "the build before the failure is kept"
    );
    assert!(err(3).contains("timed out"), "{}", err(3));
    let flat = &results[4];
    assert_eq!(flat.algorithm, "omendb-flat");
    assert!(flat.error.is_none());
    assert_eq!(flat.recall_at_10, Some(1.0));
    // The hung build was still running when the flat index was measured.
    assert!(
        flat.notes.iter().any(|n| n.contains("abandoned")),
        "{:?}",
        flat.notes
    );
}

#[test]
fn a_dataset_that_fails_to_load_is_recorded() {
    let cfg = SweepConfig::from_json(
        r#"{"datasets": ["nowhere"], "scales": [10], "algorithms": [{"name": "omendb-flat"}]}"#,
    )
    .unwrap();
    let sweep = cfg.validate(&Registry::builtin()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let load =
        |spec: &str, _: usize, _: Option<usize>, _: bool| anyhow::bail!("no dataset called {spec}");
    let opts = SweepOptions {
        out: out.path().to_path_buf(),
        quiet: true,
        stop: Arc::new(AtomicBool::new(false)),
        worker: None,
    };
    let summary = run_sweep(&sweep, &load, &opts).unwrap();
    assert_eq!(summary.results.len(), 1);
    let r = read_result(&summary.results[0]).unwrap();
    assert!(r.error.unwrap().contains("no dataset called nowhere"));
}

#[test]
fn a_stop_request_ends_the_sweep_keeping_what_was_written() {
    let ds = sweep_common::clustered(100, 5, 4, Metric::L2, 2);
    let cfg = SweepConfig::from_json(
        r#"{"datasets": ["tiny"], "scales": [100], "repeats": 1, "algorithms": [{"name": "omendb-flat"}]}"#,
    )
    .unwrap();
    let sweep = cfg.validate(&Registry::builtin()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let load = |_: &str, _: usize, _: Option<usize>, _: bool| Ok(ds.clone());
    let opts = SweepOptions {
        out: out.path().to_path_buf(),
        quiet: true,
        stop: Arc::new(AtomicBool::new(true)),
        worker: None,
    };
    let summary = run_sweep(&sweep, &load, &opts).unwrap();
    assert!(summary.interrupted);
    assert!(summary.results.is_empty());
}

fn config_error(text: &str) -> String {
    let registry = Registry::builtin();
    match SweepConfig::from_json(text).and_then(|c| c.validate(&registry)) {
        Ok(_) => panic!("config accepted: {text}"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn broken_configs_name_the_field() {
    let e = config_error(
        r#"{"datasets": ["d"], "scales": [1], "algorithms": [{"name": "omendb-flat"}, {"name": "annoy"}]}"#,
    );
    assert!(
        e.contains("algorithms[1].name") && e.contains("annoy"),
        "{e}"
    );
    let e = config_error(
        r#"{"datasets": ["d"], "scales": [1], "algorithms": [{"name": "hnsw_rs", "build": {"ef_construction": -4}}]}"#,
    );
    assert!(e.contains("algorithms[0].build.ef_construction"), "{e}");
    let e = config_error(
        r#"{"datasets": ["d"], "scales": [1], "algorithms": [{"name": "hnsw_rs", "query": {"efs": [1]}}]}"#,
    );
    assert!(e.contains("algorithms[0].query.efs"), "{e}");
    let e = config_error(
        r#"{"datasets": ["/missing/sift-128-euclidean.hdf5"], "scales": [1], "algorithms": [{"name": "omendb-flat"}]}"#,
    );
    assert!(
        e.contains("datasets[0]") && e.contains("does not exist"),
        "{e}"
    );
    let e = config_error(r#"{"scales": [1], "algorithms": [{"name": "omendb-flat"}]}"#);
    assert!(e.contains("datasets"), "{e}");
    let e =
        config_error(r#"{"datasets": [], "scales": [1], "algorithms": [{"name": "omendb-flat"}]}"#);
    assert!(e.contains("datasets"), "{e}");
}

#[test]
fn the_example_configs_validate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let cfg = SweepConfig::load(&path).unwrap();
            cfg.validate(&Registry::builtin())
                .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            seen += 1;
        }
    }
    assert!(seen > 0, "no example config in {}", dir.display());
}
