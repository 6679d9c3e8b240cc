//! The noise record: the machine's load average and CPU steal just before
//! and just after a run's timed passes (`/proc/loadavg`, `/proc/stat`), so a
//! figure taken while other work ran can be told apart and marked.

use serde::{Deserialize, Serialize};

/// One reading of the machine's load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadSample {
    /// One-minute load average (`/proc/loadavg`).
    pub load_avg_1m: Option<f64>,
    /// CPU time of all cores since boot, in clock ticks (`/proc/stat`).
    pub cpu_ticks: Option<u64>,
    /// Of which stolen by the hypervisor, in clock ticks.
    pub steal_ticks: Option<u64>,
}

impl LoadSample {
    /// Reads `/proc/loadavg` and `/proc/stat` (fields `None` without them).
    pub fn now() -> Self {
        let load = std::fs::read_to_string("/proc/loadavg").ok();
        let stat = std::fs::read_to_string("/proc/stat").ok();
        Self::parse(load.as_deref(), stat.as_deref())
    }

    /// Parses the text of `/proc/loadavg` and `/proc/stat`.
    pub fn parse(loadavg: Option<&str>, stat: Option<&str>) -> Self {
        let load_avg_1m = loadavg
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok());
        // "cpu  user nice system idle iowait irq softirq steal guest guest_nice"
        let ticks: Option<Vec<u64>> = stat
            .and_then(|s| s.lines().find(|l| l.starts_with("cpu ")))
            .map(|l| {
                l.split_whitespace()
                    .skip(1)
                    .filter_map(|x| x.parse().ok())
                    .collect()
            });
        // guest time is already counted in user time: sum the first eight.
        let cpu_ticks = ticks
            .as_ref()
            .filter(|t| t.len() >= 8)
            .map(|t| t[..8].iter().sum());
        let steal_ticks = ticks.as_ref().and_then(|t| t.get(7).copied());
        LoadSample {
            load_avg_1m,
            cpu_ticks,
            steal_ticks,
        }
    }
}

/// The machine's load around a run's timed passes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct NoiseRecord {
    /// Just before the first timed pass.
    pub before: LoadSample,
    /// Just after the last timed pass.
    pub after: LoadSample,
    /// Share of CPU time stolen between the two readings (0–1).
    pub steal_share: Option<f64>,
    /// Logical cores of the machine.
    pub cores: usize,
    /// Whether the load average before or after exceeded the core count:
    /// the run's timings were taken on a busy machine.
    pub loaded: bool,
}

impl NoiseRecord {
    /// The record of two readings on a machine of `cores` cores.
    pub fn between(before: LoadSample, after: LoadSample, cores: usize) -> Self {
        let steal_share = match (
            before.cpu_ticks,
            after.cpu_ticks,
            before.steal_ticks,
            after.steal_ticks,
        ) {
            (Some(c0), Some(c1), Some(s0), Some(s1)) if c1 > c0 && s1 >= s0 => {
                Some((s1 - s0) as f64 / (c1 - c0) as f64)
            }
            _ => None,
        };
        let loaded = [before.load_avg_1m, after.load_avg_1m]
            .into_iter()
            .flatten()
            .any(|l| l > cores as f64);
        NoiseRecord {
            before,
            after,
            steal_share,
            cores,
            loaded,
        }
    }
}

/// Logical cores of this machine.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_and_load_are_read_and_judged() {
        let b = LoadSample::parse(
            Some("0.50 0.40 0.30 1/200 12345\n"),
            Some("cpu  100 0 50 800 10 0 0 40 0 0\ncpu0 1 2 3\n"),
        );
        assert_eq!(b.load_avg_1m, Some(0.5));
        assert_eq!((b.cpu_ticks, b.steal_ticks), (Some(1000), Some(40)));
        let a = LoadSample::parse(
            Some("3.10 1.00 0.50 3/210 12400\n"),
            Some("cpu  200 0 100 1500 10 0 0 90 0 0\n"),
        );
        let n = NoiseRecord::between(b, a, 2);
        // 50 of 900 ticks stolen.
        assert!((n.steal_share.unwrap() - 50.0 / 900.0).abs() < 1e-12);
        assert!(n.loaded, "load 3.1 on 2 cores");
        assert!(!NoiseRecord::between(b, b, 2).loaded);
        assert_eq!(NoiseRecord::between(b, b, 2).steal_share, None);
        let none = LoadSample::parse(None, None);
        assert_eq!(none, LoadSample::default());
    }
}
