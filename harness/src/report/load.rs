//! Reading a results directory: every result document under it, recursively,
//! grouped by dataset and scale.
//!
//! A results directory normally holds one sub-directory per sweep
//! (`results/<sweep_id>/*.json`, plus `neighbors/`), but any tree of result
//! documents will do. When the same run (dataset, scale, algorithm, build
//! and query parameters) appears in several sweeps, the newest document wins,
//! so `omenbench report results/` shows the latest figure for each run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::sweep::results::{read_result, RunResult};

/// One result document and where it was read from.
#[derive(Debug, Clone)]
pub struct LoadedRun {
    /// The document's path.
    pub path: PathBuf,
    /// Its contents.
    pub result: RunResult,
}

/// Every run read from one results directory.
#[derive(Debug, Clone)]
pub struct ResultSet {
    /// The directory given.
    pub root: PathBuf,
    /// Runs kept, sorted by (dataset, n, algorithm, parameters).
    pub runs: Vec<LoadedRun>,
    /// JSON files that are not readable result documents, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
    /// Older documents of a run that a newer one replaced.
    pub superseded: usize,
}

/// The runs of one dataset at one train size.
#[derive(Debug, Clone)]
pub struct ScaleGroup<'a> {
    /// Train vectors indexed.
    pub n: usize,
    /// Its runs.
    pub runs: Vec<&'a RunResult>,
}

/// The runs of one dataset, by scale.
#[derive(Debug, Clone)]
pub struct DatasetGroup<'a> {
    /// Dataset name, without a subset's `@<scale>`.
    pub name: String,
    /// Vector dimension (of the first run; a dataset has one).
    pub dims: usize,
    /// Metric name.
    pub metric: String,
    /// Every run of the dataset.
    pub runs: Vec<&'a RunResult>,
    /// The same runs by train size, smallest first.
    pub scales: Vec<ScaleGroup<'a>>,
}

/// The dataset a run's dataset name belongs to: the loader names a subset
/// `<name>@<scale>` (`clustered-128-euclidean@10k`); runs of every subset of
/// one dataset are shown together, told apart by `n`.
pub fn dataset_base(name: &str) -> &str {
    name.split('@').next().unwrap_or(name)
}

/// A run's identity: two documents with the same key measure the same thing
/// (a dataset too small for its asked scale gives the same `n` twice).
/// Scenario runs add what they ran: the scenario and the filter's label.
fn run_key(r: &RunResult) -> String {
    format!(
        "{}\u{1}{}\u{1}{}\u{1}{:?}\u{1}{:?}\u{1}{:?}\u{1}{:?}",
        dataset_base(&r.dataset),
        r.n,
        r.algorithm,
        r.build_params,
        r.query_params,
        r.scenario.scenario,
        r.scenario.filter.as_ref().map(|f| &f.label)
    )
}

/// Collects `*.json` files under `dir`, skipping `neighbors/` directories
/// (id lists, not result documents), in a stable order.
fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("listing {}", dir.display()))?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "neighbors") {
                continue;
            }
            collect_json(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

impl ResultSet {
    /// Reads every result document under `dir` (recursively).
    ///
    /// Files that do not parse as result documents are listed in
    /// [`skipped`](ResultSet::skipped) rather than failing the whole set; it
    /// is an error when `dir` is missing or holds no readable result.
    pub fn load(dir: &Path) -> anyhow::Result<ResultSet> {
        if !dir.is_dir() {
            bail!(
                "results directory {} does not exist (run `omenbench run` first, or pass a directory)",
                dir.display()
            );
        }
        let mut files = Vec::new();
        collect_json(dir, &mut files)?;
        let mut skipped = Vec::new();
        let mut by_key: BTreeMap<String, LoadedRun> = BTreeMap::new();
        let mut superseded = 0;
        for path in files {
            match read_result(&path) {
                Ok(result) => {
                    let key = run_key(&result);
                    let run = LoadedRun { path, result };
                    match by_key.get(&key) {
                        Some(old) if old.result.timestamp > run.result.timestamp => {
                            superseded += 1;
                        }
                        Some(_) => {
                            superseded += 1;
                            by_key.insert(key, run);
                        }
                        None => {
                            by_key.insert(key, run);
                        }
                    }
                }
                Err(e) => skipped.push((path, format!("{e:#}"))),
            }
        }
        if by_key.is_empty() {
            let mut msg = format!("no result documents under {}", dir.display());
            if let Some((p, why)) = skipped.first() {
                msg.push_str(&format!(
                    " ({} JSON file(s) unreadable, e.g. {}: {why})",
                    skipped.len(),
                    p.display()
                ));
            }
            bail!(msg);
        }
        let mut runs: Vec<LoadedRun> = by_key.into_values().collect();
        runs.sort_by(|a, b| {
            let (x, y) = (&a.result, &b.result);
            (
                dataset_base(&x.dataset),
                x.n,
                &x.algorithm,
                &x.build_params,
                &x.query_params,
            )
                .cmp(&(
                    dataset_base(&y.dataset),
                    y.n,
                    &y.algorithm,
                    &y.build_params,
                    &y.query_params,
                ))
        });
        Ok(ResultSet {
            root: dir.to_path_buf(),
            runs,
            skipped,
            superseded,
        })
    }

    /// The results, in order.
    pub fn results(&self) -> impl Iterator<Item = &RunResult> {
        self.runs.iter().map(|r| &r.result)
    }

    /// The runs grouped by dataset (name order), then by train size.
    pub fn datasets(&self) -> Vec<DatasetGroup<'_>> {
        group(self.results())
    }
}

/// Groups runs by dataset (name order, see [`dataset_base`]), then by train
/// size.
pub fn group<'a>(runs: impl Iterator<Item = &'a RunResult>) -> Vec<DatasetGroup<'a>> {
    let mut by_ds: BTreeMap<&str, Vec<&RunResult>> = BTreeMap::new();
    for r in runs {
        by_ds.entry(dataset_base(&r.dataset)).or_default().push(r);
    }
    by_ds
        .into_iter()
        .map(|(name, runs)| {
            let mut by_n: BTreeMap<usize, Vec<&RunResult>> = BTreeMap::new();
            for r in &runs {
                by_n.entry(r.n).or_default().push(r);
            }
            // Runs that failed before loading the data carry no dims/metric.
            let described = runs.iter().find(|r| r.dims > 0).unwrap_or(&runs[0]);
            DatasetGroup {
                name: name.to_string(),
                dims: described.dims,
                metric: described.metric.clone(),
                scales: by_n
                    .into_iter()
                    .map(|(n, runs)| ScaleGroup { n, runs })
                    .collect(),
                runs,
            }
        })
        .collect()
}
