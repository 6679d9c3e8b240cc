//! The committed baseline, `ci/baseline.json`: what each gate case measured
//! when it was last accepted, rewritten only by `gate --update-baseline`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{ensure, Context};
use serde::{Deserialize, Serialize};

use super::run::CaseResult;

/// Format version written by [`Baseline::save`].
pub const BASELINE_VERSION: u32 = 1;

/// Accepted figures for every case, keyed by case name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Format version ([`BASELINE_VERSION`]).
    pub version: u32,
    /// One entry per case name.
    pub cases: BTreeMap<String, BaselineEntry>,
}

/// One case's accepted figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    /// The case's [`super::config::Case::fingerprint`] when recorded; an
    /// entry whose fingerprint differs from the case's is stale.
    pub fingerprint: String,
    /// Recall@1 (distance-threshold definition).
    pub recall_at_1: f64,
    /// Recall@10 (distance-threshold definition).
    pub recall_at_10: f64,
    /// Build throughput, vectors per second.
    pub build_vectors_per_s: f64,
    /// Single-query throughput, queries per second on one thread.
    pub qps: f64,
}

impl BaselineEntry {
    /// The entry recording `result`, measured under `fingerprint`; recall
    /// is rounded to 1e-6 and speed to 0.1/s so the file stays readable.
    pub fn from_result(fingerprint: String, result: &CaseResult) -> Self {
        let round = |v: f64, per_unit: f64| (v * per_unit).round() / per_unit;
        BaselineEntry {
            fingerprint,
            recall_at_1: round(result.recall_at_1, 1e6),
            recall_at_10: round(result.recall_at_10, 1e6),
            build_vectors_per_s: round(result.build_vectors_per_s, 10.0),
            qps: round(result.qps, 10.0),
        }
    }
}

impl Baseline {
    /// Parses a baseline from JSON text, checking its version and values.
    pub fn parse(text: &str) -> anyhow::Result<Baseline> {
        let b: Baseline = serde_json::from_str(text).context("baseline")?;
        ensure!(
            b.version == BASELINE_VERSION,
            "baseline: version {} is not the supported {BASELINE_VERSION}",
            b.version
        );
        for (name, e) in &b.cases {
            for (field, v) in [
                ("recall_at_1", e.recall_at_1),
                ("recall_at_10", e.recall_at_10),
            ] {
                ensure!(
                    (0.0..=1.0).contains(&v),
                    "baseline: case {name:?}: {field} must be within 0..=1, got {v}"
                );
            }
            for (field, v) in [
                ("build_vectors_per_s", e.build_vectors_per_s),
                ("qps", e.qps),
            ] {
                ensure!(
                    v.is_finite() && v >= 0.0,
                    "baseline: case {name:?}: {field} must be a non-negative number, got {v}"
                );
            }
        }
        Ok(b)
    }

    /// Reads `path`; `Ok(None)` when the file does not exist.
    pub fn load(path: &Path) -> anyhow::Result<Option<Baseline>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(e).with_context(|| format!("reading baseline {}", path.display()))
            }
        };
        Self::parse(&text)
            .with_context(|| path.display().to_string())
            .map(Some)
    }

    /// Writes the baseline to `path` as pretty JSON with a final newline,
    /// through a temporary file so a crash never leaves half a baseline.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(self).context("encoding baseline")?;
        text.push('\n');
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
    }
}
