//! What the results were measured on: CPU, cores, OS, compiler, commit, time.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The machine and build a sweep ran on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// `model name` from `/proc/cpuinfo`.
    pub cpu_model: Option<String>,
    /// Threads the process may run on (`available_parallelism`).
    pub logical_cores: usize,
    /// Distinct (physical id, core id) pairs in `/proc/cpuinfo`.
    pub physical_cores: Option<usize>,
    /// `PRETTY_NAME` from `/etc/os-release`.
    pub os: Option<String>,
    /// Kernel release.
    pub kernel: Option<String>,
    /// Total RAM, bytes (`MemTotal`).
    pub memory_bytes: Option<u64>,
    /// `rustc --version` of the compiler that built this binary.
    pub rustc: String,
    /// Whether this binary was built with optimisations.
    pub optimized: bool,
}

impl Machine {
    /// Probes the current machine.
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string());
        let mut cores = std::collections::BTreeSet::new();
        let mut phys = "";
        for line in cpuinfo.lines() {
            if let Some((k, v)) = line.split_once(':') {
                match k.trim() {
                    "physical id" => phys = v.trim(),
                    "core id" => {
                        cores.insert((phys.to_string(), v.trim().to_string()));
                    }
                    _ => {}
                }
            }
        }
        let os = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                    .map(|v| v.trim_matches('"').to_string())
            });
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .map(|s| s.trim().to_string());
        let memory_bytes = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().strip_suffix("kB"))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|kb| kb * 1024)
        });
        Machine {
            cpu_model,
            logical_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            physical_cores: (!cores.is_empty()).then_some(cores.len()),
            os,
            kernel,
            memory_bytes,
            rustc: env!("OMENBENCH_RUSTC_VERSION").to_string(),
            optimized: !cfg!(debug_assertions),
        }
    }
}

/// The git commit of the working directory (`-dirty` appended when tracked
/// files differ from it), or `None` outside a repository.
pub fn git_commit() -> Option<String> {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let head = run(&["rev-parse", "HEAD"])?;
    let dirty =
        run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{head}-dirty") } else { head })
}

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Calendar date (year, month, day) of a day count since 1970-01-01
/// (proleptic Gregorian; Howard Hinnant's civil-from-days algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn parts(secs: u64) -> (i64, u32, u32, u64, u64, u64) {
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    (y, m, d, s / 3600, s / 60 % 60, s % 60)
}

/// RFC 3339 UTC timestamp, e.g. `2026-11-25T10:15:00Z`.
pub fn timestamp_rfc3339(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = parts(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Compact UTC timestamp for directory names, e.g. `20261125T101500Z`.
pub fn timestamp_compact(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = parts(secs);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

/// The current time, RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    timestamp_rfc3339(unix_now())
}

/// The current time, compact form.
pub fn now_compact() -> String {
    timestamp_compact(unix_now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_known_dates() {
        assert_eq!(timestamp_rfc3339(0), "1970-01-01T00:00:00Z");
        // 2000-02-29 12:34:56 UTC (a leap day).
        assert_eq!(timestamp_rfc3339(951_827_696), "2000-02-29T12:34:56Z");
        assert_eq!(timestamp_compact(951_827_696), "20000229T123456Z");
    }

    #[test]
    fn machine_is_probed() {
        let m = Machine::detect();
        assert!(m.logical_cores >= 1);
        assert!(m.rustc.starts_with("rustc") || m.rustc == "unknown");
    }
}
