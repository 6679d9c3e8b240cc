//! The gate end to end on a tiny synthetic set: a crippled index fails its
//! floors, a baseline above what is achievable fails, a sane config passes,
//! and `--update-baseline` writes a baseline the next run passes against.

use std::path::{Path, PathBuf};

use omenbench::data::Resolver;
use omenbench::gate::cli::{gate, GateArgs};
use omenbench::gate::{Baseline, RunOptions};
use serde_json::{json, Value};

fn opts(dir: &Path) -> RunOptions {
    RunOptions {
        resolver: Resolver {
            cache: dir.join("cache"),
            fetch: false,
            ..Resolver::from_env()
        },
        progress: false,
        out: None,
        worker: None,
    }
}

fn case(name: &str, insertion: &str, m: usize, ef: usize) -> Value {
    json!({
        "name": name,
        "dataset": "clustered-32-euclidean",
        "n": 2000,
        "queries": 200,
        "algorithm": "omendb-hnsw",
        "insertion": insertion,
        "build": { "m": m, "ef_construction": 100, "seed": 7 },
        "query": { "ef": ef, "k": 10 },
        "floors": { "recall_at_1": 0.95, "recall_at_10": 0.95 }
    })
}

/// Writes a config of `cases` into `dir` and returns gate arguments for it.
fn args(dir: &Path, cases: Vec<Value>, update: bool) -> GateArgs {
    let config = dir.join("gate.json");
    std::fs::write(&config, json!({ "cases": cases }).to_string()).unwrap();
    GateArgs {
        config,
        baseline: Some(dir.join("baseline.json")),
        update_baseline: update,
        quiet: true,
        out: None,
    }
}

/// Runs the gate; the captured table and the result.
fn run(a: &GateArgs, dir: &Path) -> (String, anyhow::Result<()>) {
    let mut out = Vec::new();
    let r = gate(a, &opts(dir), &mut out);
    (String::from_utf8(out).unwrap(), r)
}

fn sane() -> Vec<Value> {
    vec![
        case("sane-single", "single", 16, 64),
        case("sane-bulk", "bulk", 16, 64),
    ]
}

#[test]
fn crippled_index_fails_its_floor_naming_case_and_floor() {
    let dir = tempfile::tempdir().unwrap();
    let a = args(
        dir.path(),
        vec![
            case("sane", "single", 16, 64),
            case("crippled", "single", 2, 1),
        ],
        false,
    );
    let (table, r) = run(&a, dir.path());
    let e = r.expect_err("a crippled index passed the gate").to_string();
    assert!(e.starts_with("gate FAILED: 1 of 2 cases failed"), "{e}");
    assert!(e.contains("case crippled: recall@10"), "{e}");
    assert!(e.contains("below its floor 0.9500"), "{e}");
    assert!(!e.contains("case sane:"), "{e}");
    assert!(!e.contains('\n'), "the reason must be one line: {e}");
    let row = table.lines().find(|l| l.starts_with("crippled ")).unwrap();
    assert!(row.contains("FAIL"), "{table}");
    let row = table.lines().find(|l| l.starts_with("sane ")).unwrap();
    assert!(!row.contains("FAIL"), "{table}");
}

#[test]
fn sane_config_passes_and_update_baseline_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline.json");

    // No baseline yet: floors still judge; missing entries only warn.
    let (table, r) = run(&args(dir.path(), sane(), false), dir.path());
    r.unwrap();
    assert!(
        table.contains("warning: case sane-single: no baseline entry"),
        "{table}"
    );
    assert!(!baseline.exists());

    // Deliberately record one.
    let (table, r) = run(&args(dir.path(), sane(), true), dir.path());
    r.unwrap();
    assert!(
        table
            .lines()
            .last()
            .unwrap()
            .starts_with("gate: baseline rewritten"),
        "{table}"
    );
    let b = Baseline::load(&baseline)
        .unwrap()
        .expect("baseline written");
    assert_eq!(b.cases.len(), 2);
    let single = &b.cases["sane-single"];
    assert!(single.recall_at_10 >= 0.95 && single.recall_at_10 <= 1.0);
    assert!(single.build_vectors_per_s > 0.0 && single.qps > 0.0);
    assert!(
        single.fingerprint.contains("single m=16"),
        "{}",
        single.fingerprint
    );

    // Saving what was loaded gives the same file back.
    let text = std::fs::read_to_string(&baseline).unwrap();
    b.save(&baseline).unwrap();
    assert_eq!(std::fs::read_to_string(&baseline).unwrap(), text);

    // The next run compares against it and passes (the single-threaded
    // build is seeded, so its recall is exactly the recorded one).
    let (table, r) = run(&args(dir.path(), sane(), false), dir.path());
    r.unwrap();
    assert!(
        table
            .lines()
            .last()
            .unwrap()
            .starts_with("gate: PASSED: all 2 cases"),
        "{table}"
    );
    let row = table
        .lines()
        .find(|l| l.starts_with("sane-single "))
        .unwrap();
    assert!(
        row.contains(&format!("{:.4}", single.recall_at_10)),
        "{table}"
    );
    assert!(row.contains("build ") && row.contains("qps "), "{table}");
}

#[test]
fn baseline_above_achievable_recall_fails() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = case("capped", "single", 4, 10);
    c["floors"] = json!({ "recall_at_1": 0.0, "recall_at_10": 0.0 });
    let (_, r) = run(&args(dir.path(), vec![c.clone()], true), dir.path());
    r.unwrap();
    // Claim the baseline was perfect; the index cannot reach it.
    let path = dir.path().join("baseline.json");
    let mut b = Baseline::load(&path).unwrap().unwrap();
    let measured = b.cases["capped"].recall_at_10;
    assert!(measured < 0.995, "the capped case reached {measured}");
    b.cases.get_mut("capped").unwrap().recall_at_10 = 1.0;
    b.save(&path).unwrap();

    let (_, r) = run(&args(dir.path(), vec![c], false), dir.path());
    let e = r.expect_err("passed below its baseline").to_string();
    assert!(e.contains("case capped: recall@10"), "{e}");
    assert!(
        e.contains("below its baseline 1.0000 (tolerance 0.005)"),
        "{e}"
    );
}

#[test]
fn changed_parameters_make_the_baseline_stale() {
    let dir = tempfile::tempdir().unwrap();
    let (_, r) = run(
        &args(dir.path(), vec![case("c", "single", 16, 64)], true),
        dir.path(),
    );
    r.unwrap();
    let (_, r) = run(
        &args(dir.path(), vec![case("c", "single", 16, 32)], false),
        dir.path(),
    );
    let e = r.expect_err("stale baseline accepted").to_string();
    assert!(
        e.contains("case c: the baseline was recorded with other parameters"),
        "{e}"
    );
}

#[test]
fn update_baseline_refuses_to_record_a_case_below_its_floor() {
    let dir = tempfile::tempdir().unwrap();
    let a = args(dir.path(), vec![case("crippled", "bulk", 2, 1)], true);
    let (_, r) = run(&a, dir.path());
    let e = r.expect_err("recorded a crippled baseline").to_string();
    assert!(e.contains("(baseline not written)"), "{e}");
    assert!(!dir.path().join("baseline.json").exists());
}

#[test]
fn default_baseline_sits_beside_the_config() {
    let a = GateArgs {
        config: PathBuf::from("ci/gate.json"),
        baseline: None,
        update_baseline: false,
        quiet: true,
        out: None,
    };
    assert_eq!(a.baseline_path(), PathBuf::from("ci/baseline.json"));
}

/// A ratio floor of omendb-hnsw over the exact index at recall@10 0.9.
fn ratio_floor(floor: f64) -> Value {
    json!({
        "name": "hnsw-vs-flat",
        "dataset": "clustered-32-euclidean", "n": 2000, "queries": 200, "repeats": 2,
        "engine": {"name": "omendb-hnsw", "build": {"m": 16, "ef_construction": 100},
                   "query": {"ef": [8, 16, 32, 64]}},
        "reference": {"name": "omendb-flat"},
        "recall": 0.9, "floor": floor
    })
}

fn args_with_floor(dir: &Path, floor: Value) -> GateArgs {
    let mut a = args(dir, sane(), false);
    let config = json!({ "cases": sane(), "ratio_floors": [floor] });
    std::fs::write(&a.config, config.to_string()).unwrap();
    a.baseline = Some(dir.join("no-baseline.json"));
    a
}

#[test]
fn a_ratio_floor_not_met_warns_but_never_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (table, r) = run(&args_with_floor(dir.path(), ratio_floor(1e6)), dir.path());
    r.expect("a ratio floor must not fail the gate");
    let line = table
        .lines()
        .find(|l| l.starts_with("ratio hnsw-vs-flat: omendb-hnsw / omendb-flat at recall@10 0.90"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        line.contains("× (") && line.ends_with("floor 1000000.00"),
        "{line}"
    );
    assert!(
        table.contains("warning: ratio hnsw-vs-flat: omendb-hnsw / omendb-flat")
            && table.contains("below its floor 1000000.00 (warning only)"),
        "{table}"
    );
    assert!(
        table.lines().last().unwrap().starts_with("gate: PASSED"),
        "{table}"
    );

    // Met: the line, no warning.
    let (table, r) = run(&args_with_floor(dir.path(), ratio_floor(1e-6)), dir.path());
    r.unwrap();
    assert!(table.contains("ratio hnsw-vs-flat:"), "{table}");
    assert!(!table.contains("warning: ratio"), "{table}");

    // A broken floor is a config error naming it.
    let mut bad = ratio_floor(-1.0);
    bad["name"] = json!("broken");
    let (_, r) = run(&args_with_floor(dir.path(), bad), dir.path());
    let e = format!("{:#}", r.unwrap_err());
    assert!(
        e.contains("ratio_floors[0] (\"broken\")") && e.contains("floor"),
        "{e}"
    );
}
