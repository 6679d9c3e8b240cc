//! Judging a case: recall below a floor, or more than half a recall point
//! below the baseline, fails; slower than the baseline only warns, since
//! machines are noisy.

use super::baseline::BaselineEntry;
use super::config::{Case, Insertion};
use super::run::CaseResult;

/// How far (absolute recall) a seeded single-threaded case may fall below
/// its baseline: 0.5 point. Its build is reproducible, so any drop beyond
/// one or two queries' worth is a change in the engine.
pub const BASELINE_TOLERANCE: f64 = 0.005;

/// The same for a case built on all cores: parallel links are not
/// reproducible, and repeated builds of the 100k PQ-on-disk case spread
/// over 0.8 point of recall@1 (0.9714–0.9797), so 0.5 point failed CI on
/// an unchanged engine. 1.5 points still catches any real regression the
/// single-threaded twin of each case would not.
pub const PARALLEL_BASELINE_TOLERANCE: f64 = 0.015;

/// Speed below this share of the baseline's prints a warning.
pub const SPEED_WARN_RATIO: f64 = 0.8;

/// Slack for float noise when comparing recalls (recall over 1,000 queries
/// moves in steps of 0.0001 or more).
const EPS: f64 = 1e-9;

/// The outcome of one case.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The case's name.
    pub case: String,
    /// Why it failed, one sentence each naming the case; empty when it passed.
    pub failures: Vec<String>,
    /// Warnings: speed below the baseline, no baseline to compare with.
    pub warnings: Vec<String>,
    /// Build throughput over the baseline's, when there is one.
    pub build_speed_ratio: Option<f64>,
    /// Query throughput over the baseline's, when there is one.
    pub qps_ratio: Option<f64>,
}

impl Verdict {
    /// Whether the case passed (warnings do not fail it).
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// `PASS`, `WARN` (passed with warnings) or `FAIL`.
    pub fn label(&self) -> &'static str {
        match (self.passed(), self.warnings.is_empty()) {
            (false, _) => "FAIL",
            (true, false) => "WARN",
            (true, true) => "PASS",
        }
    }
}

/// Judges `result` against `case`'s floors and, when given, its baseline.
/// A baseline recorded under another fingerprint is stale and fails the
/// case: the parameters changed, so the baseline must be re-recorded.
pub fn judge(case: &Case, result: &CaseResult, baseline: Option<&BaselineEntry>) -> Verdict {
    let name = &case.name;
    let mut failures = Vec::new();
    let mut warnings = Vec::new();
    let recalls = [
        ("recall@1", result.recall_at_1, case.floors.recall_at_1),
        ("recall@10", result.recall_at_10, case.floors.recall_at_10),
    ];
    for (what, got, floor) in recalls {
        if got + EPS < floor {
            failures.push(format!(
                "case {name}: {what} {got:.4} is below its floor {floor:.4}"
            ));
        }
    }
    if let Some(ceiling) = case.floors.max_ram_bytes_per_vector {
        match result.ram_bytes_per_vector {
            None => failures.push(format!(
                "case {name}: the run reported no RAM accounting to hold to its ceiling of {ceiling:.1} B/vector"
            )),
            Some(got) if got > ceiling + EPS => failures.push(format!(
                "case {name}: {got:.1} RAM bytes/vector is over its ceiling {ceiling:.1}"
            )),
            Some(_) => {}
        }
    }
    let (mut build_speed_ratio, mut qps_ratio) = (None, None);
    match baseline {
        None => warnings.push(format!(
            "case {name}: no baseline entry; record one with --update-baseline"
        )),
        Some(b) if b.fingerprint != case.fingerprint() => failures.push(format!(
            "case {name}: the baseline was recorded with other parameters ({}); \
             re-record it with --update-baseline",
            b.fingerprint
        )),
        Some(b) => {
            let against = [
                ("recall@1", result.recall_at_1, b.recall_at_1),
                ("recall@10", result.recall_at_10, b.recall_at_10),
            ];
            let tolerance = match case.insertion {
                Insertion::Single => BASELINE_TOLERANCE,
                Insertion::Bulk => PARALLEL_BASELINE_TOLERANCE,
            };
            for (what, got, base) in against {
                if got + tolerance + EPS < base {
                    failures.push(format!(
                        "case {name}: {what} {got:.4} is {:.4} below its baseline {base:.4} \
                         (tolerance {tolerance})",
                        base - got
                    ));
                }
            }
            build_speed_ratio = ratio(result.build_vectors_per_s, b.build_vectors_per_s);
            qps_ratio = ratio(result.qps, b.qps);
            for (what, r) in [("build", build_speed_ratio), ("QPS", qps_ratio)] {
                if let Some(r) = r.filter(|&r| r < SPEED_WARN_RATIO) {
                    warnings.push(format!(
                        "case {name}: {what} speed is {r:.2}× the baseline (warning only)"
                    ));
                }
            }
        }
    }
    Verdict {
        case: name.clone(),
        failures,
        warnings,
        build_speed_ratio,
        qps_ratio,
    }
}

fn ratio(now: f64, base: f64) -> Option<f64> {
    (base > 0.0 && now.is_finite()).then(|| now / base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::config::GateConfig;

    fn case(insertion: &str) -> Case {
        let text = serde_json::json!({ "cases": [{
            "name": "c", "dataset": "clustered-32-euclidean", "n": 100, "queries": 10,
            "algorithm": "omendb-hnsw", "insertion": insertion,
            "build": { "m": 8 }, "query": { "ef": 16, "k": 10 },
            "floors": { "recall_at_1": 0.5, "recall_at_10": 0.5 }
        }]});
        GateConfig::parse(&text.to_string())
            .unwrap()
            .cases
            .remove(0)
    }

    fn result(recall: f64) -> CaseResult {
        CaseResult {
            name: "c".into(),
            n_train: 100,
            n_queries: 10,
            recall_at_1: recall,
            recall_at_10: recall,
            build_seconds: 1.0,
            build_vectors_per_s: 100.0,
            qps: 100.0,
            wall_seconds: 1.0,
            ram_bytes_per_vector: Some(150.0),
        }
    }

    #[test]
    fn a_case_over_its_ram_ceiling_fails_and_one_without_accounting_too() {
        let mut case = case("bulk");
        case.floors.max_ram_bytes_per_vector = Some(160.0);
        let base = BaselineEntry::from_result(case.fingerprint(), &result(0.95));
        assert!(judge(&case, &result(0.95), Some(&base)).passed());
        let mut over = result(0.95);
        over.ram_bytes_per_vector = Some(160.5);
        let v = judge(&case, &over, Some(&base));
        assert!(
            !v.passed() && v.failures[0].contains("over its ceiling"),
            "{v:?}"
        );
        over.ram_bytes_per_vector = None;
        let v = judge(&case, &over, Some(&base));
        assert!(
            !v.passed() && v.failures[0].contains("no RAM accounting"),
            "{v:?}"
        );
    }

    /// A parallel build is not reproducible, so its baseline allows 1.5
    /// points of recall; a seeded single-threaded one only 0.5.
    #[test]
    fn bulk_cases_get_the_wider_parallel_tolerance() {
        for (insertion, below, passes) in [
            ("bulk", 0.012, true),
            ("bulk", 0.02, false),
            ("single", 0.004, true),
            ("single", 0.012, false),
        ] {
            let case = case(insertion);
            let base = BaselineEntry::from_result(case.fingerprint(), &result(0.95));
            let v = judge(&case, &result(0.95 - below), Some(&base));
            assert_eq!(v.passed(), passes, "{insertion} {below} below: {v:?}");
        }
    }
}
