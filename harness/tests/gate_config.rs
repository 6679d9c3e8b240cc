//! The gate's config: the committed `ci/gate.json` parses and holds the
//! required cases; typos, unknown algorithms and parameters and bad values
//! are rejected with errors naming the case and the field; a case is a
//! one-run sweep through the sweep's registry.

use omenbench::gate::{GateConfig, Insertion};
use omenbench::sweep::Registry;
use serde_json::{json, Value};

fn case() -> Value {
    json!({
        "name": "tiny",
        "dataset": "clustered-32-euclidean",
        "n": 2000,
        "queries": 100,
        "algorithm": "omendb-hnsw",
        "insertion": "single",
        "build": { "m": 16, "ef_construction": 100, "seed": 7 },
        "query": { "ef": 64, "k": 10 },
        "floors": { "recall_at_1": 0.9, "recall_at_10": 0.9 }
    })
}

fn parse(cases: Vec<Value>) -> anyhow::Result<GateConfig> {
    GateConfig::parse(&json!({ "cases": cases }).to_string())
}

fn err(cases: Vec<Value>) -> String {
    format!("{:#}", parse(cases).expect_err("config accepted"))
}

#[test]
fn committed_config_parses_and_covers_the_required_cases() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/gate.json");
    let config = GateConfig::load(&path).unwrap();
    let clustered: Vec<_> = config
        .cases
        .iter()
        .filter(|c| c.dataset == "clustered-128-euclidean" && c.algorithm == "omendb-hnsw")
        .collect();
    for insertion in [Insertion::Single, Insertion::Bulk] {
        let c = clustered
            .iter()
            .find(|c| c.insertion == insertion)
            .unwrap_or_else(|| {
                panic!("no clustered-128-euclidean case with {insertion} insertion")
            });
        assert!(c.n.unwrap() >= 100_000 && c.queries == Some(1000));
        assert_eq!((c.build["m"], c.query.params["ef"]), (16, 64));
        assert!(c.floors.recall_at_1 >= 0.95 && c.floors.recall_at_10 >= 0.95);
    }
    assert!(config
        .cases
        .iter()
        .any(|c| c.dataset == "digits-64-euclidean"));
    assert!(config.cases.iter().any(|c| c.dataset.ends_with("-angular")));
    // Every case names an algorithm of the sweep's registry.
    let registry = Registry::builtin();
    for c in &config.cases {
        assert!(registry.get(&c.algorithm).is_some(), "{}", c.algorithm);
    }
}

#[test]
fn the_opt_in_1m_gate_holds_the_compressed_budget() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/gate-1m/gate.json");
    let config = GateConfig::load(&path).unwrap();
    config.validate(&Registry::builtin()).unwrap();
    let c = config
        .cases
        .iter()
        .find(|c| c.algorithm == "omendb-hnsw-pq-disk")
        .expect("a compressed case");
    assert_eq!(c.n, Some(1_000_000));
    assert!(c.floors.recall_at_10 >= 0.95);
    assert_eq!(c.floors.max_ram_bytes_per_vector, Some(160.0));
}

#[test]
fn a_sane_case_parses() {
    let config = parse(vec![case()]).unwrap();
    let c = &config.cases[0];
    assert_eq!(c.algorithm, "omendb-hnsw");
    assert_eq!(c.insertion, Insertion::Single);
    assert_eq!((c.n, c.queries, c.query.k), (Some(2000), Some(100), 10));
    assert_eq!(
        c.fingerprint(),
        "clustered-32-euclidean n=2000 queries=100 omendb-hnsw single m=16 \
         ef_construction=100 seed=7 ef=64 k=10"
    );
}

#[test]
fn unknown_algorithm_is_rejected_naming_the_case() {
    let mut c = case();
    c["algorithm"] = json!("faiss-ivf");
    let e = err(vec![case_named("ok"), c]);
    assert!(e.contains("case 1 (\"tiny\")"), "{e}");
    assert!(e.contains("unknown algorithm `faiss-ivf`"), "{e}");
    assert!(e.contains("omendb-hnsw"), "{e}");
}

#[test]
fn unknown_fields_are_rejected_naming_the_field() {
    let mut c = case();
    c["build"]["efc"] = json!(100);
    let e = err(vec![c]);
    assert!(
        e.contains("build.efc") && e.contains("no parameter `efc`"),
        "{e}"
    );

    let mut c = case();
    c["floor"] = json!(0.9);
    let e = err(vec![c]);
    assert!(e.contains("unknown field `floor`"), "{e}");

    let e = format!(
        "{:#}",
        GateConfig::parse(&json!({ "cases": [case()], "tolerance": 0.1 }).to_string()).unwrap_err()
    );
    assert!(e.contains("unknown field `tolerance`"), "{e}");
}

#[test]
fn bad_values_are_rejected_naming_the_field() {
    let checks: [(&str, Value, &str); 6] = [
        (
            "/insertion",
            json!("parallel"),
            "unknown variant `parallel`",
        ),
        ("/build/m", json!(1), "build.m: 1 is out of range"),
        ("/query/k", json!(5), "query.k"),
        ("/floors/recall_at_10", json!(1.5), "floors.recall_at_10"),
        ("/n", json!(0), "n: must be at least 1"),
        ("/query/ef", json!(-3), "invalid value"),
    ];
    for (pointer, value, expect) in checks {
        let mut c = case();
        *c.pointer_mut(pointer).unwrap() = value;
        let e = err(vec![c]);
        assert!(e.contains("case 0 (\"tiny\")"), "{pointer}: {e}");
        assert!(e.contains(expect), "{pointer}: {e}");
    }
    let mut c = case();
    c.as_object_mut().unwrap().remove("floors");
    assert!(err(vec![c]).contains("missing field `floors`"));
}

#[test]
fn pq_and_disk_options_are_checked_by_the_registry() {
    let mut c = case();
    c["algorithm"] = json!("omendb-hnsw-pq");
    c["build"]["pq_m"] = json!(16);
    c["query"]["rerank"] = json!(64);
    // The PQ kinds train their quantizer on the first batch.
    assert!(
        err(vec![c.clone()]).contains("insertion: `omendb-hnsw-pq` takes its vectors in one batch")
    );
    c["insertion"] = json!("bulk");
    let config = parse(vec![c]).unwrap();
    assert!(config.cases[0]
        .fingerprint()
        .ends_with("k=10 pq_m=16 rerank=64"));

    let mut c = case();
    c["algorithm"] = json!("omendb-hnsw-disk");
    c["query"]["rerank"] = json!(10);
    let e = err(vec![c]);
    assert!(
        e.contains("query.rerank") && e.contains("no parameter `rerank`"),
        "{e}"
    );

    // The old gate-only names are gone: one name per kind, the sweep's.
    let mut c = case();
    c["algorithm"] = json!("omendb-disk-hnsw");
    assert!(err(vec![c]).contains("unknown algorithm `omendb-disk-hnsw`"));

    let mut c = case();
    c["algorithm"] = json!("omendb-hnsw-pq-disk");
    c["build"]["pq_m"] = json!(8);
    c["query"]["rerank"] = json!(50);
    c["insertion"] = json!("bulk");
    assert!(parse(vec![c.clone()]).is_ok());
    c["build"]["single_insert"] = json!(1);
    assert!(err(vec![c]).contains("build.single_insert: set by `insertion`"));
}

#[test]
fn a_case_is_a_one_run_sweep() {
    let config = parse(vec![case()]).unwrap();
    let sweep = config.cases[0].sweep(&Registry::builtin(), 2000).unwrap();
    assert_eq!(
        (sweep.scales.clone(), sweep.k, sweep.repeats),
        (vec![2000], 10, 1)
    );
    let plan = &sweep.algorithms[0];
    assert_eq!(plan.spec.name, "omendb-hnsw");
    assert_eq!(plan.build_sets.len(), 1);
    assert_eq!(plan.query_sets.len(), 1);
    let b = &plan.build_sets[0];
    assert_eq!((b["m"], b["ef_construction"], b["seed"]), (16, 100, 7));
    assert_eq!(
        b["single_insert"], 1,
        "single insertion reaches the adapter"
    );
    assert_eq!(plan.query_sets[0]["ef"], 64);
}

#[test]
fn duplicate_names_and_empty_gates_are_rejected() {
    assert!(err(vec![case(), case()]).contains("\"tiny\" is used twice"));
    assert!(err(vec![]).contains("no cases"));
}

fn case_named(name: &str) -> Value {
    let mut c = case();
    c["name"] = json!(name);
    c
}

#[test]
fn scenario_cases_are_one_run_and_fingerprinted() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/gate.json");
    let config = GateConfig::load(&path).unwrap();
    for kind in ["filtered", "streaming"] {
        let c = config
            .cases
            .iter()
            .find(|c| c.scenario.as_ref().is_some_and(|s| s.name() == kind))
            .unwrap_or_else(|| panic!("ci/gate.json has no {kind} case"));
        assert!(c.n.unwrap() <= 10_000, "{kind}: keep CI fast");
        assert!(c.fingerprint().contains(&format!("\"kind\":\"{kind}\"")));
        let sweep = c.sweep(&Registry::builtin(), 1000).unwrap();
        assert!(sweep.config.scenario.is_some());
    }
    let mut c = case();
    c["insertion"] = json!("bulk");
    c["scenario"] = json!({"kind": "filtered", "selectivities": [0.1, 0.01]});
    assert!(
        err(vec![c.clone()]).contains("one selectivity"),
        "{}",
        err(vec![c.clone()])
    );
    c["scenario"] = json!({"kind": "filtered", "selectivities": [0.1], "correlations": ["none"]});
    assert!(parse(vec![c.clone()]).is_ok());
    c["insertion"] = json!("single");
    assert!(err(vec![c]).contains("insertion"));
}
