//! `omenbench datasets prepare`: every dataset subset a sweep loads, with its
//! exact ground truth, made once into a cache directory that every shard of
//! the sweep reads (a shared filesystem path), and the shard side: a check
//! before the first build and a loader that never makes anything.
//!
//! ```text
//!  prepare ──► Resolver::make per dataset × scale ──► <cache>/<subset>-<key>.hdf5
//!                                                 └─► <cache>/prepared-<hash>.json (manifest)
//!  shard   ──► manifest ──► check: every subset it needs is there, with the
//!                           content key this node computes from its sources
//!          ──► load: Resolver::cached (no recompute, a clear error otherwise)
//! ```
//!
//! The manifest also records the scales a dataset is too small for (after a
//! smaller scale of it loaded), which the sweep skips, as an unsharded sweep
//! does.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use super::resolve::Resolver;
use super::Dataset;

/// Bumped when the manifest's meaning changes.
pub const MANIFEST_VERSION: u32 = 1;

/// What a sweep loads: every dataset at every scale, with a query cap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataPlan {
    /// Dataset specs, in sweep order.
    pub datasets: Vec<String>,
    /// Train sizes, in sweep order.
    pub scales: Vec<usize>,
    /// Query cap (`None`: the dataset's own count).
    pub queries: Option<usize>,
}

/// One dataset × scale in a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// The dataset spec.
    pub dataset: String,
    /// The scale asked.
    pub scale: usize,
    /// The file holding the subset (`None` when unavailable).
    pub file: Option<PathBuf>,
    /// Train vectors in it.
    pub n_train: Option<usize>,
    /// Why the subset could not be made (the dataset is smaller than the
    /// scale; a smaller scale of it loaded, so the sweep skips this one).
    pub unavailable: Option<String>,
}

/// What `prepare` made, for whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_VERSION`].
    pub version: u32,
    /// The plan it was made for.
    pub plan: DataPlan,
    /// One entry per dataset × scale, in plan order.
    pub entries: Vec<ManifestEntry>,
}

impl DataPlan {
    /// The manifest file of this plan in `cache`: `prepared-<hash>.json`
    /// (one cache directory may serve several sweeps).
    pub fn manifest_path(&self, cache: &Path) -> PathBuf {
        let text = serde_json::to_string(self).unwrap_or_default();
        cache.join(format!("prepared-{:016x}.json", xxh3_64(text.as_bytes())))
    }
}

impl Manifest {
    /// The entry of dataset `spec` at `scale`.
    pub fn entry(&self, spec: &str, scale: usize) -> Option<&ManifestEntry> {
        self.entries
            .iter()
            .find(|e| e.dataset == spec && e.scale == scale)
    }
}

/// Makes every subset of `plan` into `resolver.cache` (what is already there
/// is read, not remade) and writes the manifest; returns it. Fails when a
/// dataset cannot be loaded at its first scale.
pub fn prepare(resolver: &Resolver, plan: &DataPlan, progress: bool) -> Result<Manifest> {
    std::fs::create_dir_all(&resolver.cache)
        .with_context(|| format!("creating {}", resolver.cache.display()))?;
    let mut entries = Vec::new();
    for spec in &plan.datasets {
        let mut loaded_one = false;
        for &scale in &plan.scales {
            let t0 = Instant::now();
            match resolver.make(spec, Some(scale), plan.queries, progress) {
                Ok((d, file)) => {
                    eprintln!(
                        "prepare: {spec} at {scale}: {} train × {}-d, {} queries, k = {} in {} ({:.1} s)",
                        d.n_train(),
                        d.dims,
                        d.n_test(),
                        d.k(),
                        file.display(),
                        t0.elapsed().as_secs_f64()
                    );
                    loaded_one = true;
                    entries.push(ManifestEntry {
                        dataset: spec.clone(),
                        scale,
                        file: Some(file),
                        n_train: Some(d.n_train()),
                        unavailable: None,
                    });
                }
                Err(e) if loaded_one => {
                    eprintln!("prepare: {spec} at {scale}: not made ({e:#}); the sweep skips it");
                    entries.push(ManifestEntry {
                        dataset: spec.clone(),
                        scale,
                        file: None,
                        n_train: None,
                        unavailable: Some(format!("{e:#}")),
                    });
                }
                Err(e) => return Err(e.context(format!("preparing {spec} at {scale}"))),
            }
        }
    }
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        plan: plan.clone(),
        entries,
    };
    let path = plan.manifest_path(&resolver.cache);
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&manifest)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(manifest)
}

/// Loads a sweep's datasets from a prepared cache only.
#[derive(Debug, Clone)]
pub struct CachedLoader {
    resolver: Resolver,
    manifest: Manifest,
}

impl CachedLoader {
    /// Reads the manifest of `plan` in `resolver.cache`; fails, saying what
    /// to run, when `prepare` has not been run for this plan.
    pub fn open(resolver: Resolver, plan: &DataPlan) -> Result<CachedLoader> {
        let path = plan.manifest_path(&resolver.cache);
        if !path.is_file() {
            bail!(
                "no prepared datasets for this sweep in {} (expected {}): run `omenbench datasets prepare --config <the same config> --cache-dir {}` first; shards never make datasets themselves",
                resolver.cache.display(),
                path.display(),
                resolver.cache.display()
            );
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .with_context(|| format!("parsing {}", path.display()))?;
        if manifest.version != MANIFEST_VERSION || manifest.plan != *plan {
            bail!(
                "{} was written for another plan or version: run `omenbench datasets prepare` again",
                path.display()
            );
        }
        Ok(CachedLoader { resolver, manifest })
    }

    /// Checks, before anything runs, that every (dataset, scale) in `needed`
    /// is in the cache and was made from the source files this node sees (its
    /// content key matches); lists every problem at once.
    pub fn check(&self, needed: &[(String, usize)]) -> Result<()> {
        let mut problems = Vec::new();
        for (spec, scale) in needed {
            let Some(entry) = self.manifest.entry(spec, *scale) else {
                problems.push(format!("{spec} at {scale}: not in the manifest"));
                continue;
            };
            let Some(file) = &entry.file else { continue };
            match self
                .resolver
                .subset_file(spec, Some(*scale), self.manifest.plan.queries)
            {
                Ok(expected) if expected != *file => problems.push(format!(
                    "{spec} at {scale}: mismatched cache entry: prepared as {} but this node's sources give {} (the source files or the harness changed since prepare)",
                    file.display(),
                    expected.display()
                )),
                Ok(_) if !file.is_file() => problems.push(format!(
                    "{spec} at {scale}: cache entry {} is missing",
                    file.display()
                )),
                Ok(_) => {}
                Err(e) => problems.push(format!("{spec} at {scale}: {e:#}")),
            }
        }
        if !problems.is_empty() {
            bail!(
                "the prepared cache in {} cannot serve this run; run `omenbench datasets prepare --config <config> --cache-dir {}` again:\n  {}",
                self.resolver.cache.display(),
                self.resolver.cache.display(),
                problems.join("\n  ")
            );
        }
        Ok(())
    }

    /// The dataset `spec` at `scale`, from the cache only; the reason when
    /// `prepare` found the dataset too small for the scale.
    pub fn load(&self, spec: &str, scale: usize, queries: Option<usize>) -> Result<Dataset> {
        if let Some(why) = self
            .manifest
            .entry(spec, scale)
            .and_then(|e| e.unavailable.as_deref())
        {
            bail!("{why}");
        }
        self.resolver
            .cached(spec, Some(scale), queries)
            .map(|(d, _)| d)
    }
}

/// Why a cache entry is missing: never made, or made from other source
/// files or settings (an entry of the same subset with another key).
pub(crate) fn missing_entry(cache: &Path, spec: &str, file: &Path) -> String {
    let name = file.file_name().and_then(|f| f.to_str()).unwrap_or("");
    let stem = name.rsplit_once('-').map_or(name, |(a, _)| a);
    let others: Vec<String> = std::fs::read_dir(cache)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|f| f != name && f.starts_with(&format!("{stem}-")))
                .collect()
        })
        .unwrap_or_default();
    if others.is_empty() {
        format!(
            "{spec}: no cache entry {} in {}: run `omenbench datasets prepare --config <config> --cache-dir {}` first (a shard never makes data itself)",
            name,
            cache.display(),
            cache.display()
        )
    } else {
        format!(
            "{spec}: the cache in {} holds {} for this subset, made from other source files or settings (this node expects {name}): run `omenbench datasets prepare --config <config> --cache-dir {}` again with the same sources",
            cache.display(),
            others.join(", "),
            cache.display()
        )
    }
}
