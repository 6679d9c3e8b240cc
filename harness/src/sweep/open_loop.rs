//! Open-loop load: queries sent at a fixed offered rate (queries per
//! second), latency percentiles at that load, as VectorDBBench's "search at
//! a controlled QPS".
//!
//! Query `i` is due at `start + i / rate`, whatever happened to the queries
//! before it. `threads` senders take the next due query in turn, wait for
//! its due time when early, and search it; its latency runs from the **due
//! time** to the answer, so a query that waited behind slow ones carries that
//! wait (no coordinated omission). When the engine cannot keep up, the queue
//! grows and the percentiles show it; `achieved_qps` then falls below the
//! offered rate and `late_fraction` rises.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure};
use serde::{Deserialize, Serialize};

use super::adapter::{Adapter, Params};
use super::guard::Outcome;
use super::measure::{Built, Measurer};
use super::results::RunResult;
use crate::data::Dataset;

/// A query counts as sent late when its sender took it up this long after
/// its due time.
const LATE_AFTER: Duration = Duration::from_millis(1);

/// The `open_loop` section of a sweep config: off when absent.
///
/// ```json
/// "open_loop": { "offered_qps": [500, 1000, 2000], "seconds": 2 }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenLoopConfig {
    /// Offered rates, queries per second; each is one open-loop run per
    /// query-parameter set.
    pub offered_qps: Vec<f64>,
    /// How long each rate is offered: `rate × seconds` queries (at least 1),
    /// cycling through the query set.
    #[serde(default = "default_seconds")]
    pub seconds: f64,
    /// Sending threads (the engine's concurrent searches); the sweep's
    /// `threads` when absent.
    #[serde(default)]
    pub threads: Option<usize>,
}

fn default_seconds() -> f64 {
    2.0
}

impl OpenLoopConfig {
    /// Checks the rates, the duration and the thread count.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.offered_qps.is_empty() {
            bail!("open_loop.offered_qps: an empty list leaves nothing to run");
        }
        for (i, q) in self.offered_qps.iter().enumerate() {
            if !(q.is_finite() && *q > 0.0) {
                bail!("open_loop.offered_qps[{i}]: must be a positive rate, got {q}");
            }
        }
        if !(self.seconds.is_finite() && self.seconds > 0.0 && self.seconds <= 3600.0) {
            bail!(
                "open_loop.seconds: must be in (0, 3600], got {}",
                self.seconds
            );
        }
        if self.threads == Some(0) {
            bail!("open_loop.threads: must be at least 1");
        }
        Ok(())
    }

    /// The load to offer at `rate`, on `threads` senders when the config
    /// does not say.
    pub fn load(&self, rate: f64, threads: usize) -> OpenLoad {
        OpenLoad {
            offered_qps: rate,
            queries: ((rate * self.seconds).round() as usize).max(1),
            threads: self.threads.unwrap_or(threads).max(1),
        }
    }
}

/// One open-loop run to make.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OpenLoad {
    /// Queries per second offered.
    pub offered_qps: f64,
    /// Queries sent in all.
    pub queries: usize,
    /// Concurrent senders.
    pub threads: usize,
}

/// What one open-loop run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenLoopPoint {
    /// Queries per second offered.
    pub offered_qps: f64,
    /// Queries answered per second, first due time to last answer.
    pub achieved_qps: Option<f64>,
    /// Queries sent.
    pub queries: usize,
    /// Concurrent senders.
    pub threads: usize,
    /// Fraction of queries taken up more than 1 ms after their due time
    /// (the engine, or the senders, fell behind).
    pub late_fraction: f64,
    /// Latency from due time to answer, milliseconds: median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Slowest query.
    pub max_ms: f64,
}

/// Nearest-rank percentile of sorted `s` (not empty).
fn percentile(s: &[f64], p: f64) -> f64 {
    s[((p * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1]
}

impl OpenLoopPoint {
    /// Summarises latencies (ms, any order) of a run of `load` that took
    /// `seconds` from the first due time to the last answer, `late` of its
    /// queries taken up late.
    pub fn from_latencies(
        load: &OpenLoad,
        mut latencies_ms: Vec<f64>,
        seconds: f64,
        late: usize,
    ) -> anyhow::Result<Self> {
        ensure!(!latencies_ms.is_empty(), "no query was answered");
        latencies_ms.sort_by(f64::total_cmp);
        let s = &latencies_ms;
        Ok(OpenLoopPoint {
            offered_qps: load.offered_qps,
            achieved_qps: (seconds > 0.0).then(|| s.len() as f64 / seconds),
            queries: s.len(),
            threads: load.threads,
            late_fraction: late as f64 / s.len() as f64,
            p50_ms: percentile(s, 0.50),
            p95_ms: percentile(s, 0.95),
            p99_ms: percentile(s, 0.99),
            p999_ms: percentile(s, 0.999),
            max_ms: s[s.len() - 1],
        })
    }
}

/// Offers `load` to `adapter` (its query parameters already set), cycling
/// through `queries` (`dims` wide), `k` neighbours each.
pub fn drive(
    adapter: &dyn Adapter,
    queries: &[f32],
    dims: usize,
    k: usize,
    load: &OpenLoad,
) -> anyhow::Result<OpenLoopPoint> {
    ensure!(
        dims > 0 && !queries.is_empty() && queries.len().is_multiple_of(dims),
        "open loop: no queries"
    );
    ensure!(
        load.offered_qps.is_finite() && load.offered_qps > 0.0,
        "open loop: offered rate {} is not a positive number",
        load.offered_qps
    );
    let rows: Vec<&[f32]> = queries.chunks_exact(dims).collect();
    let next = AtomicUsize::new(0);
    let interval = 1.0 / load.offered_qps;
    let start = Instant::now();
    let per_thread = std::thread::scope(|scope| {
        let senders: Vec<_> = (0..load.threads.max(1))
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<(Vec<f64>, usize, Instant)> {
                    let mut lat = Vec::new();
                    let mut late = 0;
                    let mut last = start;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= load.queries {
                            return Ok((lat, late, last));
                        }
                        let due = start + Duration::from_secs_f64(i as f64 * interval);
                        let now = Instant::now();
                        if now < due {
                            std::thread::sleep(due - now);
                        } else if now - due > LATE_AFTER {
                            late += 1;
                        }
                        adapter.search(rows[i % rows.len()], k)?;
                        last = Instant::now();
                        lat.push(last.saturating_duration_since(due).as_secs_f64() * 1e3);
                    }
                })
            })
            .collect();
        senders
            .into_iter()
            .map(|h| match h.join() {
                Ok(r) => r,
                Err(p) => bail!(
                    "open-loop sender panicked: {}",
                    super::guard::panic_message(&*p)
                ),
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let mut latencies = Vec::with_capacity(load.queries);
    let mut late = 0;
    let mut end = start;
    for (lat, l, last) in per_thread {
        latencies.extend(lat);
        late += l;
        end = end.max(last);
    }
    OpenLoopPoint::from_latencies(load, latencies, (end - start).as_secs_f64(), late)
}

impl Measurer<'_> {
    /// Offers every configured open-loop rate to `built` at `qp` (workers
    /// drive it in their own process; in-process engines are driven here,
    /// guarded): each point into `r.open_loop`; a rate that cannot be run
    /// becomes a note (the closed-loop figures stand), and ends the list.
    pub(crate) fn open_loop(
        &self,
        ds: &Arc<Dataset>,
        built: &mut Built,
        qp: &Params,
        r: &mut RunResult,
    ) {
        let Some(cfg) = &self.sweep.open_loop else {
            return;
        };
        if r.error.is_some() {
            return;
        }
        for &rate in &cfg.offered_qps {
            let load = cfg.load(rate, self.sweep.threads);
            match self.one_load(ds, built, qp, load) {
                Ok(p) => r.open_loop.push(p),
                Err(e) => {
                    r.notes
                        .push(format!("open loop at {rate} queries/s not run: {e:#}"));
                    break;
                }
            }
        }
    }

    fn one_load(
        &self,
        ds: &Arc<Dataset>,
        built: &mut Built,
        qp: &Params,
        load: OpenLoad,
    ) -> anyhow::Result<OpenLoopPoint> {
        let adapter = Arc::get_mut(&mut built.adapter)
            .ok_or_else(|| anyhow!("the index is still in use by an abandoned pass"))?;
        if let Some(done) = adapter.open_loop(qp, &load) {
            return done;
        }
        adapter.set_query_params(qp)?;
        let (a, data, k) = (built.adapter.clone(), ds.clone(), self.sweep.k);
        let due = load.queries as f64 / load.offered_qps;
        let limit = self.sweep.query_timeout_seconds + 2.0 * due;
        match self.steps.run("open-loop", limit, move || {
            drive(&**a, &data.test, data.dims, k, &load)
        }) {
            Outcome::Done(p) => Ok(p),
            other => bail!("{}", other.error_text("open-loop run").unwrap_or_default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers after a fixed service time.
    struct Slow(Duration);

    impl Adapter for Slow {
        fn name(&self) -> &str {
            "slow"
        }
        fn build(&mut self, _: &[f32], _: usize, _: usize) -> anyhow::Result<()> {
            Ok(())
        }
        fn set_query_params(&mut self, _: &Params) -> anyhow::Result<()> {
            Ok(())
        }
        fn search(&self, _: &[f32], _: usize) -> anyhow::Result<Vec<u32>> {
            std::thread::sleep(self.0);
            Ok(vec![0])
        }
    }

    #[test]
    fn under_capacity_latency_is_the_service_time() {
        let load = OpenLoad {
            offered_qps: 200.0,
            queries: 40,
            threads: 2,
        };
        let p = drive(&Slow(Duration::from_millis(1)), &[0.0; 4], 2, 1, &load).unwrap();
        assert_eq!(p.queries, 40);
        assert!(p.p50_ms >= 1.0 && p.p50_ms < 20.0, "{p:?}");
        let achieved = p.achieved_qps.unwrap();
        assert!(achieved > 100.0 && achieved < 260.0, "{p:?}");
    }

    #[test]
    fn over_capacity_the_wait_is_counted_from_the_due_time() {
        // 1 sender, 5 ms per query, 1000 offered per second: query i is due
        // at i ms and answered near 5(i+1) ms, so the last of 40 waits
        // about 160 ms. Timed from the send it would read 5 ms.
        let load = OpenLoad {
            offered_qps: 1000.0,
            queries: 40,
            threads: 1,
        };
        let p = drive(&Slow(Duration::from_millis(5)), &[0.0; 2], 2, 1, &load).unwrap();
        assert!(p.max_ms > 100.0, "{p:?}");
        assert!(p.late_fraction > 0.5, "{p:?}");
        assert!(p.achieved_qps.unwrap() < 300.0, "{p:?}");
    }

    #[test]
    fn percentiles_are_nearest_rank_and_bad_config_is_named() {
        let load = OpenLoad {
            offered_qps: 1.0,
            queries: 1000,
            threads: 1,
        };
        let lat: Vec<f64> = (1..=1000).map(f64::from).collect();
        let p = OpenLoopPoint::from_latencies(&load, lat, 1.0, 0).unwrap();
        assert_eq!(
            (p.p50_ms, p.p95_ms, p.p99_ms, p.p999_ms, p.max_ms),
            (500.0, 950.0, 990.0, 999.0, 1000.0)
        );
        let bad = OpenLoopConfig {
            offered_qps: vec![100.0, -1.0],
            seconds: 1.0,
            threads: None,
        };
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.contains("open_loop.offered_qps[1]"), "{e}");
    }
}
