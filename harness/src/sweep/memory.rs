//! Process memory from `/proc/self/status`, and bytes per vector three ways.
//!
//! RSS is a process-wide figure: it includes the dataset, the allocator's
//! retained free memory and anything else alive, so it is reported as what it
//! is (growth during a build), beside the index's own accounting.

use serde::{Deserialize, Serialize};

/// One reading of the process's resident memory, in bytes (`None` where
/// `/proc` is not available).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RssSample {
    /// `VmRSS`: resident set now.
    pub vm_rss: Option<u64>,
    /// `VmHWM`: peak resident set since the last reset.
    pub vm_hwm: Option<u64>,
    /// `RssAnon`: resident anonymous memory (heap, not file mappings).
    pub rss_anon: Option<u64>,
}

impl RssSample {
    /// Reads `/proc/self/status`.
    pub fn now() -> Self {
        std::fs::read_to_string("/proc/self/status")
            .map(|s| Self::parse(&s))
            .unwrap_or_default()
    }

    /// Parses the text of a `/proc/<pid>/status` file.
    pub fn parse(status: &str) -> Self {
        let field = |name: &str| {
            status.lines().find_map(|line| {
                let rest = line.strip_prefix(name)?.strip_prefix(':')?;
                let kb: u64 = rest.trim().strip_suffix("kB")?.trim().parse().ok()?;
                Some(kb * 1024)
            })
        };
        RssSample {
            vm_rss: field("VmRSS"),
            vm_hwm: field("VmHWM"),
            rss_anon: field("RssAnon"),
        }
    }
}

/// Resets the kernel's peak-RSS mark (`VmHWM`) to the current RSS, so the
/// peak of the next step can be read. Returns whether the kernel accepted it.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The index's own byte accounting, by component (`omendb::MemoryUsage`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryComponents {
    /// Full-precision vectors in RAM.
    pub vectors: u64,
    /// Graph links and levels.
    pub graph: u64,
    /// Compressed codes and codebooks.
    pub codes: u64,
    /// Id tables.
    pub ids: u64,
    /// Everything else.
    pub other: u64,
    /// Bytes on disk (memory-mapped), not in the RAM total.
    pub disk: u64,
    /// Sum of the RAM components.
    pub ram_total: u64,
}

impl From<omendb::MemoryUsage> for MemoryComponents {
    fn from(m: omendb::MemoryUsage) -> Self {
        MemoryComponents {
            vectors: m.vectors as u64,
            graph: m.graph as u64,
            codes: m.codes as u64,
            ids: m.ids as u64,
            other: m.other as u64,
            disk: m.disk as u64,
            ram_total: m.ram_total() as u64,
        }
    }
}

/// Everything measured about memory for one build.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryReport {
    /// The index's own accounting (`null` for engines that keep none).
    pub index_components: Option<MemoryComponents>,
    /// Bytes the index keeps on disk (`null` when it persists nothing).
    pub disk_bytes: Option<u64>,
    /// Process memory just before the build (after the peak reset).
    pub rss_before_build: RssSample,
    /// Process memory just after the build.
    pub rss_after_build: RssSample,
    /// `RssAnon` after − before: heap the build kept (label: process RSS).
    pub rss_anon_growth_bytes: Option<i64>,
    /// `VmHWM` after − `VmRSS` before: the build's peak, including transient
    /// buffers (only when the peak mark could be reset).
    pub rss_peak_growth_bytes: Option<i64>,
}

impl MemoryReport {
    /// Growth figures from two samples; `peak_reset` says whether `VmHWM`
    /// was reset right before `before` was taken.
    pub fn from_samples(before: RssSample, after: RssSample, peak_reset: bool) -> Self {
        let diff = |a: Option<u64>, b: Option<u64>| Some(a? as i64 - b? as i64);
        MemoryReport {
            index_components: None,
            disk_bytes: None,
            rss_before_build: before,
            rss_after_build: after,
            rss_anon_growth_bytes: diff(after.rss_anon, before.rss_anon),
            rss_peak_growth_bytes: if peak_reset {
                diff(after.vm_hwm, before.vm_rss)
            } else {
                None
            },
        }
    }
}

/// Bytes per vector, four ways, each `null` when not measured (never 0 for
/// "not measured").
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BytesPerVector {
    /// The index's own RAM accounting / n.
    pub index: Option<f64>,
    /// On-disk size / n.
    pub disk: Option<f64>,
    /// Process `RssAnon` growth during the build / n.
    pub rss: Option<f64>,
    /// Peak RSS growth during the build (`VmHWM` after − `VmRSS` before) / n;
    /// `null` when the peak could not be measured.
    #[serde(default)]
    pub peak: Option<f64>,
}

impl BytesPerVector {
    /// Divides a memory report by `n` vectors.
    pub fn from_report(m: &MemoryReport, n: usize) -> Self {
        let per = |b: Option<f64>| b.filter(|_| n > 0).map(|b| b / n as f64);
        BytesPerVector {
            index: per(m.index_components.map(|c| c.ram_total as f64)),
            disk: per(m.disk_bytes.map(|b| b as f64)),
            rss: per(m.rss_anon_growth_bytes.map(|b| b as f64)),
            peak: per(m.rss_peak_growth_bytes.map(|b| b as f64)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_fields() {
        let s = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nRssAnon:\t   512 kB\n";
        let r = RssSample::parse(s);
        assert_eq!(r.vm_hwm, Some(2048 * 1024));
        assert_eq!(r.vm_rss, Some(1024 * 1024));
        assert_eq!(r.rss_anon, Some(512 * 1024));
    }

    #[test]
    fn growth_sees_a_real_allocation() {
        let reset = reset_peak();
        let before = RssSample::now();
        // black_box: an allocation nothing reads may be optimised away.
        let block = std::hint::black_box(vec![1u8; 64 << 20]);
        let after = RssSample::now();
        let m = MemoryReport::from_samples(before, after, reset);
        if let Some(g) = m.rss_anon_growth_bytes {
            assert!(g >= 32 << 20, "grew {g}");
        }
        drop(std::hint::black_box(block));
        let b = BytesPerVector::from_report(&m, 1 << 20);
        if let Some(r) = b.rss {
            assert!(r >= 32.0);
        }
    }
}
