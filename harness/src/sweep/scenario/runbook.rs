//! A streaming runbook: its config (fractions of the dataset, in the manner
//! of big-ann-benchmarks' streaming runbooks) and its expansion into
//! explicit operations over train row numbers, with the live set at every
//! search step and its exact ground truth.
//!
//! ```json
//! "scenario": { "kind": "streaming", "initial": 0.5, "cycles": 4, "batch": 1000, "seed": 7,
//!   "steps": [ "search", {"insert": 0.1}, {"delete": 0.05}, "search",
//!              {"insert_while_searching": 0.05} ] }
//! ```
//! The first `initial · n` rows are loaded first (step 0); then `steps` run
//! in order, `cycles` times. An insert adds the next unused rows in order;
//! a delete removes a seeded uniform sample of the live rows; `search` runs
//! every query once, read-only, and is scored against the exact neighbours
//! of the live set; `insert_while_searching` inserts on one thread while
//! another searches (latency only: results race the inserts).

use anyhow::{bail, ensure, Context};
use omendb::Metric;
use serde::{Deserialize, Serialize};

use crate::data::groundtruth::GroundTruth;
use crate::data::labels::ground_truth_within;
use crate::data::rng::Rng;

/// One step as written in the config.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Insert this share of `n` (the next unused rows).
    Insert(f64),
    /// Delete this share of `n` (a seeded sample of the live rows).
    Delete(f64),
    /// Run every query once, read-only; scored against the live set.
    Search,
    /// Insert this share of `n` on one thread while another searches.
    InsertWhileSearching(f64),
}

/// The runbook as written in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runbook {
    /// Free text, ignored.
    #[serde(rename = "_comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<serde_json::Value>,
    /// Share of `n` loaded before the first step, in `(0, 1]`.
    pub initial: f64,
    /// The steps of one cycle.
    pub steps: Vec<Step>,
    /// Times the steps run.
    #[serde(default = "one")]
    pub cycles: usize,
    /// Rows per insert call.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Seed of the deletes.
    #[serde(default)]
    pub seed: u64,
}

fn one() -> usize {
    1
}
fn default_batch() -> usize {
    1000
}

/// One explicit operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Insert rows `start..end` (ids = row numbers).
    Insert {
        /// First row.
        start: usize,
        /// One past the last row.
        end: usize,
    },
    /// Delete these ids.
    Delete {
        /// Ids, in deletion order.
        ids: Vec<u64>,
    },
    /// Search every query once, read-only.
    Search,
    /// Insert rows `start..end` while a second thread searches.
    InsertWhileSearching {
        /// First row.
        start: usize,
        /// One past the last row.
        end: usize,
    },
}

impl Op {
    /// The op's name in results.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Insert { .. } => "insert",
            Op::Delete { .. } => "delete",
            Op::Search => "search",
            Op::InsertWhileSearching { .. } => "insert_while_searching",
        }
    }

    /// Vectors the op writes.
    pub fn count(&self) -> usize {
        match self {
            Op::Insert { start, end } | Op::InsertWhileSearching { start, end } => end - start,
            Op::Delete { ids } => ids.len(),
            Op::Search => 0,
        }
    }
}

/// A runbook expanded for `n` rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Every operation in order; the first is the initial load.
    pub ops: Vec<Op>,
    /// Live vectors after each op.
    pub live: Vec<usize>,
    /// For each `Search` op (by position in `ops`): the live ids then,
    /// ascending.
    pub live_at_search: Vec<(usize, Vec<u32>)>,
    /// Rows per insert call.
    pub batch: usize,
}

impl Runbook {
    /// Checks the fields (errors name them).
    pub fn validate(&self) -> anyhow::Result<()> {
        ensure!(
            self.initial.is_finite() && self.initial > 0.0 && self.initial <= 1.0,
            "initial: {} is not a share in (0, 1]",
            self.initial
        );
        ensure!(
            !self.steps.is_empty(),
            "steps: a runbook needs at least one step"
        );
        ensure!(
            self.steps.contains(&Step::Search),
            "steps: a runbook needs at least one \"search\" step (recall is measured there)"
        );
        ensure!(self.cycles >= 1, "cycles: must be at least 1");
        ensure!(self.batch >= 1, "batch: must be at least 1");
        for (i, s) in self.steps.iter().enumerate() {
            if let Step::Insert(f) | Step::Delete(f) | Step::InsertWhileSearching(f) = *s {
                ensure!(
                    f.is_finite() && f > 0.0 && f <= 1.0,
                    "steps[{i}]: {f} is not a share in (0, 1]"
                );
            }
        }
        Ok(())
    }

    /// The explicit operations for `n` train rows; an error when the
    /// runbook inserts more rows than exist or deletes more than are live.
    pub fn expand(&self, n: usize) -> anyhow::Result<Plan> {
        self.validate()?;
        let share = |f: f64| ((f * n as f64).round() as usize).max(1);
        let mut rng = Rng::new(self.seed);
        let mut alive = vec![false; n];
        let mut live_ids: Vec<u64> = Vec::new();
        let initial = share(self.initial).min(n);
        let mut next = initial;
        for (i, a) in alive.iter_mut().enumerate().take(initial) {
            *a = true;
            live_ids.push(i as u64);
        }
        let mut ops = vec![Op::Insert {
            start: 0,
            end: initial,
        }];
        let mut live = vec![initial];
        let mut live_at_search = Vec::new();
        for cycle in 0..self.cycles {
            for (i, step) in self.steps.iter().enumerate() {
                let at = || format!("cycle {cycle}, steps[{i}]");
                let op = match *step {
                    Step::Insert(f) | Step::InsertWhileSearching(f) => {
                        let c = share(f);
                        if next + c > n {
                            bail!(
                                "{}: inserts rows {next}..{} but the dataset has {n} at this scale",
                                at(),
                                next + c
                            );
                        }
                        for (r, a) in alive.iter_mut().enumerate().take(next + c).skip(next) {
                            *a = true;
                            live_ids.push(r as u64);
                        }
                        let (start, end) = (next, next + c);
                        next = end;
                        if matches!(step, Step::Insert(_)) {
                            Op::Insert { start, end }
                        } else {
                            Op::InsertWhileSearching { start, end }
                        }
                    }
                    Step::Delete(f) => {
                        let c = share(f);
                        if c >= live_ids.len() {
                            bail!(
                                "{}: deletes {c} of the {} live vectors (at least one must stay)",
                                at(),
                                live_ids.len()
                            );
                        }
                        let mut ids = Vec::with_capacity(c);
                        for _ in 0..c {
                            let j = rng.below(live_ids.len());
                            let id = live_ids.swap_remove(j);
                            alive[id as usize] = false;
                            ids.push(id);
                        }
                        Op::Delete { ids }
                    }
                    Step::Search => {
                        let ids = (0..n as u32).filter(|&r| alive[r as usize]).collect();
                        live_at_search.push((ops.len(), ids));
                        Op::Search
                    }
                };
                ops.push(op);
                live.push(live_ids.len());
            }
        }
        Ok(Plan {
            ops,
            live,
            live_at_search,
            batch: self.batch,
        })
    }
}

impl Plan {
    /// Rows the plan ever inserts (the capacity an index needs).
    pub fn rows_used(&self) -> usize {
        self.ops
            .iter()
            .filter_map(|op| match op {
                Op::Insert { end, .. } | Op::InsertWhileSearching { end, .. } => Some(*end),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// Exact ground truth (depth `k`) of every search step, in order:
    /// neighbours among the live rows of `train` at that step.
    pub fn ground_truth(
        &self,
        train: &[f32],
        test: &[f32],
        dims: usize,
        metric: Metric,
        k: usize,
    ) -> anyhow::Result<Vec<GroundTruth>> {
        self.live_at_search
            .iter()
            .map(|(op, ids)| {
                ground_truth_within(train, test, dims, metric, ids, k)
                    .with_context(|| format!("ground truth of search step {op}"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(steps: Vec<Step>) -> Runbook {
        Runbook {
            comment: None,
            initial: 0.5,
            steps,
            cycles: 2,
            batch: 10,
            seed: 1,
        }
    }

    #[test]
    fn expands_inserts_deletes_and_searches() {
        let b = book(vec![Step::Insert(0.1), Step::Delete(0.05), Step::Search]);
        let p = b.expand(100).unwrap();
        assert_eq!(p.ops[0], Op::Insert { start: 0, end: 50 });
        assert_eq!(p.ops[1], Op::Insert { start: 50, end: 60 });
        assert_eq!(p.ops[4], Op::Insert { start: 60, end: 70 });
        assert_eq!(p.live, vec![50, 60, 55, 55, 65, 60, 60]);
        assert_eq!(p.live_at_search.len(), 2);
        let (op, ids) = &p.live_at_search[1];
        assert_eq!((*op, ids.len()), (6, 60));
        // Deleted ids are not live at the next search.
        let Op::Delete { ids: gone } = &p.ops[5] else {
            panic!("not a delete")
        };
        assert!(gone
            .iter()
            .all(|g| ids.binary_search(&(*g as u32)).is_err()));
        assert_eq!(p.rows_used(), 70);
        assert_eq!(p, b.expand(100).unwrap(), "seeded");
    }

    #[test]
    fn refuses_impossible_runbooks() {
        let e = book(vec![Step::Insert(0.4), Step::Search])
            .expand(100)
            .unwrap_err();
        assert!(format!("{e:#}").contains("cycle 1, steps[0]"), "{e:#}");
        let e = book(vec![Step::Delete(0.5), Step::Search])
            .expand(100)
            .unwrap_err();
        assert!(format!("{e:#}").contains("deletes"), "{e:#}");
        assert!(book(vec![Step::Insert(0.1)]).expand(100).is_err());
        let mut b = book(vec![Step::Search]);
        b.initial = 0.0;
        assert!(b.expand(100).is_err());
    }

    #[test]
    fn parses_the_config_form() {
        let b: Runbook = serde_json::from_str(
            r#"{"initial": 0.5, "steps": ["search", {"insert": 0.1}, {"delete": 0.05},
                {"insert_while_searching": 0.05}]}"#,
        )
        .unwrap();
        assert_eq!(b.steps[0], Step::Search);
        assert_eq!(b.steps[3], Step::InsertWhileSearching(0.05));
        assert_eq!((b.cycles, b.batch, b.seed), (1, 1000, 0));
    }
}
