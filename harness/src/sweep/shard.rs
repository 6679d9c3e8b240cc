//! Splitting a sweep into N shards (`omenbench run --shard I/N`) for a
//! cluster job array, a Kubernetes Indexed Job or `xargs -P` on one box.
//!
//! ```text
//!  Sweep ──► build_sets()  one per dataset × scale × algorithm × build-parameter set
//!             │            (with all its query sets: nothing is built twice)
//!             ├─► cost     scale × builds it makes (see BuildSet::cost)
//!             └─► assign() longest first, each to the least-loaded shard
//!                          (ties: the lower shard number) ──► ShardPlan
//! ```
//!
//! The split depends only on the validated config, so every shard computes
//! the same plan on its own node, and running all N shards gives exactly the
//! runs of the unsharded sweep. Balance: greedy longest-first scheduling
//! (Graham's LPT) puts at most the mean load plus the largest single build
//! set on any shard, and is within 4/3 of the best possible split.
//!
//! Each shard writes into one shared sweep directory; when it has run all its
//! build sets it leaves a marker `shards/<I>-of-<N>.done` there (JSON, not
//! named `.json` so reports do not read it), which is what
//! `omenbench slurm status` counts.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use super::config::Sweep;

/// One shard of N: `index` counts from 0 to `count − 1` (as Slurm array task
/// ids and `JOB_COMPLETION_INDEX` do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shard {
    /// This shard's number, `0..count`.
    pub index: usize,
    /// How many shards the sweep is split into.
    pub count: usize,
}

impl Shard {
    /// A shard, checked: `count ≥ 1` and `index < count`.
    pub fn new(index: usize, count: usize) -> anyhow::Result<Shard> {
        if count == 0 {
            bail!("shard count must be at least 1");
        }
        if index >= count {
            bail!(
                "shard {index}/{count}: the index counts from 0 to {} (as Slurm array task ids do)",
                count - 1
            );
        }
        Ok(Shard { index, count })
    }

    /// The file name prefix of this shard's result documents (`s03of16-`),
    /// so shards writing into one directory never pick the same name.
    pub fn file_prefix(&self) -> String {
        let w = (self.count - 1).to_string().len().max(2);
        format!("s{:0w$}of{:0w$}-", self.index, self.count)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = anyhow::Error;

    /// Parses `I/N`, e.g. `3/16`.
    fn from_str(s: &str) -> anyhow::Result<Shard> {
        let (i, n) = s
            .split_once('/')
            .with_context(|| format!("shard `{s}`: expected I/N, e.g. 0/4"))?;
        let parse = |t: &str, what: &str| -> anyhow::Result<usize> {
            t.trim()
                .parse::<usize>()
                .with_context(|| format!("shard `{s}`: {what} `{t}` is not a whole number"))
        };
        Shard::new(parse(i, "index")?, parse(n, "count")?)
    }
}

/// A build set's place in the sweep: indices into `Sweep::datasets`,
/// `Sweep::scales`, `Sweep::algorithms` and that algorithm's `build_sets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BuildSetId {
    /// Index into the datasets.
    pub dataset: usize,
    /// Index into the scales.
    pub scale: usize,
    /// Index into the algorithms.
    pub algorithm: usize,
    /// Index into the algorithm's build-parameter sets.
    pub build: usize,
}

/// One unit of work: a dataset scale × algorithm × build-parameter set,
/// with every query set of the algorithm.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildSet {
    /// Where it sits in the sweep.
    pub id: BuildSetId,
    /// Estimated cost: the scale (train vectors asked) times the builds the
    /// set makes (two when single-thread builds are timed too). Whether an
    /// engine rebuilds per query set is not known before an adapter exists,
    /// so that is not weighed.
    pub cost: f64,
}

/// Every build set of `sweep`, in the unsharded run order (dataset, scale,
/// algorithm, build set).
pub fn build_sets(sweep: &Sweep) -> Vec<BuildSet> {
    let builds = if sweep.single_thread_build && sweep.threads != 1 {
        2.0
    } else {
        1.0
    };
    let mut out = Vec::new();
    for dataset in 0..sweep.datasets.len() {
        for (scale, &n) in sweep.scales.iter().enumerate() {
            for (algorithm, plan) in sweep.algorithms.iter().enumerate() {
                for build in 0..plan.build_sets.len() {
                    out.push(BuildSet {
                        id: BuildSetId {
                            dataset,
                            scale,
                            algorithm,
                            build,
                        },
                        cost: n as f64 * builds,
                    });
                }
            }
        }
    }
    out
}

/// Assigns each of `sets` to one of `count` shards: costliest first (ties
/// in run order), each to the shard with the least cost so far (ties: the
/// lowest shard number). Returns, per shard, its build sets in run order.
pub fn assign(sets: &[BuildSet], count: usize) -> Vec<Vec<BuildSetId>> {
    let count = count.max(1);
    let mut order: Vec<usize> = (0..sets.len()).collect();
    order.sort_by(|&a, &b| sets[b].cost.total_cmp(&sets[a].cost).then(a.cmp(&b)));
    let mut load = vec![0.0f64; count];
    let mut parts: Vec<Vec<BuildSetId>> = vec![Vec::new(); count];
    for i in order {
        let shard = (0..count)
            .min_by(|&x, &y| load[x].total_cmp(&load[y]).then(x.cmp(&y)))
            .unwrap_or(0);
        load[shard] += sets[i].cost;
        parts[shard].push(sets[i].id);
    }
    for p in &mut parts {
        p.sort();
    }
    parts
}

/// What one shard runs: its build sets, and the sweep directory all shards
/// share.
#[derive(Debug, Clone)]
pub struct ShardPlan {
    /// The shard.
    pub shard: Shard,
    /// The sweep id (directory name) every shard writes under.
    pub sweep_id: String,
    /// The build sets this shard runs.
    pub owned: BTreeSet<BuildSetId>,
    /// Their total estimated cost, and the whole sweep's.
    pub cost: f64,
    /// The whole sweep's estimated cost.
    pub total_cost: f64,
}

impl ShardPlan {
    /// The plan of `shard` of `sweep`, writing under `sweep_id`.
    pub fn new(sweep: &Sweep, shard: Shard, sweep_id: String) -> ShardPlan {
        let sets = build_sets(sweep);
        let parts = assign(&sets, shard.count);
        let owned: BTreeSet<BuildSetId> = parts[shard.index].iter().copied().collect();
        let cost = sets
            .iter()
            .filter(|s| owned.contains(&s.id))
            .map(|s| s.cost)
            .sum();
        ShardPlan {
            shard,
            sweep_id,
            owned,
            cost,
            total_cost: sets.iter().map(|s| s.cost).sum(),
        }
    }

    /// Whether this shard runs the build set.
    pub fn runs(&self, id: BuildSetId) -> bool {
        self.owned.contains(&id)
    }

    /// Whether this shard runs anything at dataset `dataset`, scale `scale`
    /// (so it need not load the data otherwise).
    pub fn needs(&self, dataset: usize, scale: usize) -> bool {
        self.owned
            .iter()
            .any(|id| id.dataset == dataset && id.scale == scale)
    }
}

/// The sweep id shards use when none is given: `sharded-<hash of the
/// config>`, the same on every node, so `xargs -P` or an Indexed Job needs
/// no coordination.
pub fn default_sweep_id(sweep: &Sweep) -> String {
    let text = serde_json::to_string(&sweep.config).unwrap_or_default();
    format!("sharded-{:016x}", xxh3_64(text.as_bytes()))
}

/// Whether scale number `index` of `scales`, which gave a dataset of only
/// `n` train vectors (fewer than asked), repeats an earlier scale: an
/// earlier scale asking for at least `n` gave the same `n`, so the unsharded
/// sweep runs that size once, at the earlier scale. Every shard decides this
/// alone, from the scale list.
pub fn earlier_scale_gives(scales: &[usize], index: usize, n: usize) -> bool {
    scales[..index.min(scales.len())].iter().any(|&s| s >= n)
}

/// What a shard leaves in `<sweep dir>/shards/` when it has run every build
/// set it owns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoneMarker {
    /// The shard.
    pub shard: Shard,
    /// Result documents it wrote.
    pub results: usize,
    /// How many of them record an error.
    pub errors: usize,
    /// Build sets it ran.
    pub build_sets: usize,
    /// Wall time, seconds.
    pub seconds: f64,
    /// The host it ran on.
    pub host: Option<String>,
    /// When it finished, RFC 3339 UTC.
    pub finished: String,
}

/// The marker file of `shard` in sweep directory `dir`.
pub fn marker_path(dir: &Path, shard: Shard) -> PathBuf {
    dir.join("shards")
        .join(format!("{}-of-{}.done", shard.index, shard.count))
}

/// Writes `marker` into `dir/shards/` (temporary file, then rename).
pub fn write_marker(dir: &Path, marker: &DoneMarker) -> anyhow::Result<PathBuf> {
    let path = marker_path(dir, marker.shard);
    let parent = path.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let tmp = path.with_extension("done.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(marker)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(path)
}

/// The shards of `count` that have left a marker in `dir`.
pub fn done_shards(dir: &Path, count: usize) -> BTreeSet<usize> {
    (0..count)
        .filter(|&i| {
            let path = marker_path(dir, Shard { index: i, count });
            std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<DoneMarker>(&b).ok())
                .is_some_and(|m| m.shard.index == i && m.shard.count == count)
        })
        .collect()
}

/// This machine's host name (`/proc/sys/kernel/hostname`, else `$HOSTNAME`).
pub fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::{Registry, SweepConfig};

    fn sweep(json: &str) -> Sweep {
        SweepConfig::from_json(json)
            .unwrap()
            .validate(&Registry::builtin())
            .unwrap()
    }

    fn big() -> Sweep {
        sweep(
            r#"{"datasets": ["a", "b", "c"], "scales": ["1k", "10k", "100k", 300, "1M"],
                "algorithms": [
                  {"name": "omendb-hnsw", "build": {"m": [8, 16, 32], "ef_construction": [100, 200]}},
                  {"name": "hnsw_rs", "build": {"m": [12, 24]}},
                  {"name": "omendb-flat"}]}"#,
        )
    }

    #[test]
    fn shards_parse_and_refuse_nonsense() {
        assert_eq!("3/16".parse::<Shard>().unwrap(), Shard::new(3, 16).unwrap());
        assert_eq!(" 0 / 1 ".parse::<Shard>().unwrap().count, 1);
        for bad in ["4/4", "1/0", "x/2", "1", "-1/2", "1/2/3", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let e = "4/4".parse::<Shard>().unwrap_err().to_string();
        assert!(e.contains("0 to 3"), "{e}");
        assert_eq!(Shard::new(3, 16).unwrap().file_prefix(), "s03of16-");
        assert_eq!(Shard::new(7, 200).unwrap().file_prefix(), "s007of200-");
    }

    #[test]
    fn split_is_deterministic_and_covers_every_build_set_once() {
        let s = big();
        let sets = build_sets(&s);
        assert_eq!(sets.len(), 3 * 5 * (6 + 2 + 1));
        for count in [1, 2, 3, 4, 7, 16, 200] {
            let parts = assign(&sets, count);
            assert_eq!(parts.len(), count);
            // Same answer twice, and from a fresh validation of the config.
            assert_eq!(parts, assign(&build_sets(&big()), count));
            let mut all: Vec<BuildSetId> = parts.iter().flatten().copied().collect();
            all.sort();
            let mut want: Vec<BuildSetId> = sets.iter().map(|s| s.id).collect();
            want.sort();
            assert_eq!(all, want, "count {count}: every build set exactly once");
            // The per-shard plans agree with the split.
            for (i, part) in parts.iter().enumerate() {
                let plan = ShardPlan::new(&s, Shard::new(i, count).unwrap(), "x".into());
                assert_eq!(plan.owned.iter().copied().collect::<Vec<_>>(), *part);
            }
        }
    }

    #[test]
    fn split_is_balanced_within_the_stated_bound() {
        let s = big();
        let sets = build_sets(&s);
        let total: f64 = sets.iter().map(|s| s.cost).sum();
        let largest = sets.iter().map(|s| s.cost).fold(0.0, f64::max);
        for count in [2, 3, 4, 8, 16] {
            let parts = assign(&sets, count);
            let loads: Vec<f64> = parts
                .iter()
                .map(|p| {
                    sets.iter()
                        .filter(|s| p.contains(&s.id))
                        .map(|s| s.cost)
                        .sum()
                })
                .collect();
            let max = loads.iter().copied().fold(0.0, f64::max);
            let mean = total / count as f64;
            // The stated bound: mean plus the largest single build set.
            assert!(max <= mean + largest, "count {count}: {loads:?}");
            // And here, with many sets per shard, within 10 % of the mean.
            if sets.len() >= 8 * count {
                assert!(max <= 1.10 * mean, "count {count}: {loads:?}");
            }
        }
        // Equal costs spread evenly: 9 sets on 3 shards, 3 each.
        let even: Vec<BuildSet> = sets.iter().take(9).cloned().collect();
        let even: Vec<BuildSet> = even
            .into_iter()
            .map(|mut b| {
                b.cost = 1.0;
                b
            })
            .collect();
        assert!(assign(&even, 3).iter().all(|p| p.len() == 3));
    }

    #[test]
    fn more_shards_than_work_leaves_some_empty() {
        let s = sweep(
            r#"{"datasets": ["a"], "scales": [100], "algorithms": [{"name": "omendb-flat"}]}"#,
        );
        let parts = assign(&build_sets(&s), 4);
        assert_eq!(parts.iter().filter(|p| !p.is_empty()).count(), 1);
        assert_eq!(parts[0].len(), 1);
    }

    #[test]
    fn repeated_small_scales_are_decided_from_the_scale_list() {
        // digits has 1,797 vectors: 10k and 1M both give 1,797.
        let scales = [1000, 10_000, 1_000_000];
        assert!(!earlier_scale_gives(&scales, 0, 1000));
        assert!(!earlier_scale_gives(&scales, 1, 1797));
        assert!(earlier_scale_gives(&scales, 2, 1797));
    }

    #[test]
    fn markers_round_trip_and_only_matching_ones_count() {
        let dir = tempfile::tempdir().unwrap();
        let m = |i| DoneMarker {
            shard: Shard::new(i, 4).unwrap(),
            results: 3,
            errors: 0,
            build_sets: 1,
            seconds: 1.0,
            host: host_name(),
            finished: "2026-11-29T00:00:00Z".into(),
        };
        write_marker(dir.path(), &m(1)).unwrap();
        write_marker(dir.path(), &m(3)).unwrap();
        assert_eq!(done_shards(dir.path(), 4), BTreeSet::from([1, 3]));
        // A marker of another split does not count.
        assert!(done_shards(dir.path(), 8).is_empty());
        let default_id = default_sweep_id(&big());
        assert_eq!(default_id, default_sweep_id(&big()));
        assert!(default_id.starts_with("sharded-"));
    }
}
