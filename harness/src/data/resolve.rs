//! From a dataset spec (a registry name, an HDF5 path, or
//! `base.fvecs:query.fvecs`) to vectors with exact ground truth, through the
//! content-keyed cache.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, ensure, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use omendb::Metric;

use super::cache::{self, KeyBuilder};
use super::groundtruth::{self, GT_K};
use super::registry::{Entry, Registry, SourceDef, SYNTHETIC_DEFAULT_N, SYNTHETIC_DEFAULT_QUERIES};
use super::synthetic::{SyntheticSpec, GENERATOR_VERSION};
use super::{format_scale, hdf5, idx, npy, paths, texmex, Dataset};

/// Resolves dataset specs against a repository's registry, cache and shared
/// folder. [`Resolver::from_env`] gives the usual locations; tests point one
/// at temporary folders.
#[derive(Debug, Clone)]
pub struct Resolver {
    /// The repository root (registry at `datasets/datasets.json`, fetch
    /// script at `scripts/fetch-dataset.sh`).
    pub root: PathBuf,
    /// Where made files are cached.
    pub cache: PathBuf,
    /// The shared folder (`${shared}` in the registry).
    pub shared: PathBuf,
    /// Whether a missing package source is fetched automatically (off when
    /// `OMENBENCH_NO_FETCH` is set).
    pub fetch: bool,
}

/// Where a dataset's vectors come from: a whole file used as it is, or a
/// subset kept in the cache.
enum Planned {
    /// An HDF5 file with its own ground truth, used whole.
    Whole { path: PathBuf, name: String },
    /// A subset made from a source, cached under a content key.
    Subset(Subset),
}

/// A subset of a source and the cache file that holds it.
struct Subset {
    source: Source,
    metric: Metric,
    n: Option<usize>,
    queries: Option<usize>,
    /// Ground-truth depth.
    k: usize,
    file: PathBuf,
    /// `<name>@<scale>`.
    full_name: String,
}

/// Reads a whole HDF5 file, naming the dataset `name`.
fn read_named(path: &Path, name: String) -> Result<(Dataset, PathBuf)> {
    let mut d = hdf5::read(path)?;
    d.name = name;
    Ok((d, path.to_path_buf()))
}

/// A source, located.
enum Source {
    Synthetic(SyntheticSpec),
    Hdf5(PathBuf),
    Texmex {
        base: PathBuf,
        query: PathBuf,
        metric: Metric,
    },
    Idx {
        train: PathBuf,
        test: PathBuf,
        metric: Metric,
    },
    Wheel {
        wheel: PathBuf,
        member: String,
        test_every: usize,
        metric: Metric,
    },
}

impl Resolver {
    /// The repository's usual folders: see [`paths::repo_root`],
    /// [`paths::cache_dir`], [`paths::shared_dir`].
    pub fn from_env() -> Self {
        let root = paths::repo_root();
        Resolver {
            cache: root.join("datasets").join("cache"),
            shared: paths::shared_dir(),
            root,
            fetch: std::env::var_os("OMENBENCH_NO_FETCH").is_none(),
        }
    }

    /// The dataset registry.
    pub fn registry(&self) -> Result<Registry> {
        Registry::load(&self.root, &self.cache, &self.shared)
    }

    /// The dataset `spec` (first `n` train vectors, first `queries` test
    /// vectors; defaults per dataset) with exact ground truth at k = 100
    /// (or `n` when smaller).
    pub fn resolve(
        &self,
        spec: &str,
        n: Option<usize>,
        queries: Option<usize>,
        progress: bool,
    ) -> Result<Dataset> {
        self.make(spec, n, queries, progress).map(|(d, _)| d)
    }

    /// Checks that `spec` names a dataset and that its files are there and
    /// readable, without loading it: a registry name is located (fetched
    /// once if allowed), an `.hdf5` file's header is read, `.fvecs` files
    /// must exist. A sweep calls this for every dataset before its first
    /// build, so a typo or a broken file stops it at once.
    pub fn check(&self, spec: &str) -> Result<()> {
        let registry = self.registry()?;
        let source = match registry.get(spec) {
            Some(entry) => self.locate(&registry, &entry)?,
            None => self.parse_path_spec(spec, &registry)?.1,
        };
        match &source {
            Source::Hdf5(path) => {
                hdf5::info(path).with_context(|| format!("{spec}: reading {}", path.display()))?;
            }
            Source::Texmex { base, query, .. } => {
                for p in [base, query] {
                    ensure!(p.is_file(), "{spec}: file {} does not exist", p.display());
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Like [`Resolver::resolve`], also returning the ann-benchmarks HDF5
    /// file that holds exactly the returned dataset (a cache file, or the
    /// source itself when it is used whole with its shipped ground truth).
    pub fn make(
        &self,
        spec: &str,
        n: Option<usize>,
        queries: Option<usize>,
        progress: bool,
    ) -> Result<(Dataset, PathBuf)> {
        let sub = match self.plan(spec, n, queries)? {
            Planned::Whole { path, name } => return read_named(&path, name),
            Planned::Subset(sub) => sub,
        };
        if sub.file.is_file() {
            match hdf5::read(&sub.file) {
                Ok(mut d) => {
                    d.name = sub.full_name;
                    return Ok((d, sub.file));
                }
                Err(e) => eprintln!("warning: ignoring unreadable cache file ({e:#}); remaking it"),
            }
        }
        let Subset {
            source,
            metric,
            n,
            queries,
            k,
            file,
            full_name,
        } = sub;
        let mut data = self.load(&source, &full_name, metric, n, queries, progress)?;
        let bar = bar(
            progress,
            data.n_test() as u64,
            format!("ground truth {full_name} (k={k})"),
        );
        groundtruth::fill(&mut data, k, bar.as_ref())?;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        hdf5::write(&file, &data)?;
        Ok((data, file))
    }

    /// Like [`Resolver::make`], but makes nothing: the subset must already
    /// be in the cache, made from the same source files and settings (its
    /// content key matches), or this fails saying what to run. Sharded
    /// sweeps load through this, so no node recomputes ground truth.
    pub fn cached(
        &self,
        spec: &str,
        n: Option<usize>,
        queries: Option<usize>,
    ) -> Result<(Dataset, PathBuf)> {
        let sub = match self.plan(spec, n, queries)? {
            Planned::Whole { path, name } => return read_named(&path, name),
            Planned::Subset(sub) => sub,
        };
        if !sub.file.is_file() {
            bail!(
                "{}",
                super::prepare::missing_entry(&self.cache, spec, &sub.file)
            );
        }
        let mut d = hdf5::read(&sub.file).with_context(|| {
            format!(
                "{spec}: cache entry {} is unreadable; run `omenbench datasets prepare` again",
                sub.file.display()
            )
        })?;
        d.name = sub.full_name;
        Ok((d, sub.file))
    }

    /// The file [`Resolver::make`] reads or writes for this subset (the
    /// source itself when it is used whole), without loading anything.
    pub fn subset_file(
        &self,
        spec: &str,
        n: Option<usize>,
        queries: Option<usize>,
    ) -> Result<PathBuf> {
        Ok(match self.plan(spec, n, queries)? {
            Planned::Whole { path, .. } => path,
            Planned::Subset(sub) => sub.file,
        })
    }

    /// Locates `spec`'s source and names the file its subset lives in.
    fn plan(&self, spec: &str, n: Option<usize>, queries: Option<usize>) -> Result<Planned> {
        ensure!(n != Some(0), "{spec}: n must be at least 1");
        ensure!(queries != Some(0), "{spec}: queries must be at least 1");
        let registry = self.registry()?;
        let (name, source, entry) = match registry.get(spec) {
            Some(entry) => (
                entry.name.clone(),
                self.locate(&registry, &entry)?,
                Some(entry),
            ),
            None => {
                let (name, source) = self.parse_path_spec(spec, &registry)?;
                (name, source, None)
            }
        };
        let (n, queries) = match &source {
            Source::Synthetic(_) => (
                Some(
                    n.or(entry.as_ref().and_then(|e| e.n))
                        .unwrap_or(SYNTHETIC_DEFAULT_N),
                ),
                Some(
                    queries
                        .or(entry.as_ref().and_then(|e| e.queries))
                        .unwrap_or(SYNTHETIC_DEFAULT_QUERIES),
                ),
            ),
            _ => (
                n.or(entry.as_ref().and_then(|e| e.n)),
                queries.or(entry.as_ref().and_then(|e| e.queries)),
            ),
        };

        // A whole HDF5 file with its own ground truth is used as it is.
        if let Source::Hdf5(path) = &source {
            let info = hdf5::info(path)?;
            let whole =
                n.is_none_or(|n| n == info.train.0) && queries.is_none_or(|q| q == info.test.0);
            if info.k() > 0 && whole {
                return Ok(Planned::Whole {
                    path: path.clone(),
                    name,
                });
            }
        }

        let k = n.map_or(GT_K, |n| n.min(GT_K));
        let metric = source.metric(&name)?;
        let mut key = KeyBuilder::new();
        source.identify(&mut key)?;
        key.text(&format!(
            "n={n:?} queries={queries:?} k={k} metric={}",
            metric.ann_name()
        ));
        let scale = n.map_or("all".to_string(), format_scale);
        let qlabel = queries.map_or("all".to_string(), |q| q.to_string());
        let file = cache::file_for(&self.cache, &name, &scale, &qlabel, key.finish());
        let full_name = match n {
            Some(_) => format!("{name}@{scale}"),
            None => name.clone(),
        };
        Ok(Planned::Subset(Subset {
            source,
            metric,
            n,
            queries,
            k,
            file,
            full_name,
        }))
    }

    /// Finds the files of a registry entry, fetching them once if allowed.
    fn locate(&self, registry: &Registry, entry: &Entry) -> Result<Source> {
        match &entry.source {
            SourceDef::Synthetic(s) => Ok(Source::Synthetic(s.clone())),
            SourceDef::Hdf5 { path } => {
                let p = registry.expand(path);
                ensure!(
                    p.is_file(),
                    "{}: source file {} not found (set OMENBENCH_SHARED to the folder holding datasets/)",
                    entry.name,
                    p.display()
                );
                Ok(Source::Hdf5(p))
            }
            SourceDef::Idx { .. } | SourceDef::NpyWheel { .. } => {
                if let Some(s) = self.find_package_source(registry, entry)? {
                    return Ok(s);
                }
                let how = entry.fetch.clone().unwrap_or_default();
                if self.fetch {
                    if let Err(e) = super::fetch::run(&self.root, &entry.name) {
                        eprintln!("warning: {e:#}");
                    }
                    if let Some(s) = self.find_package_source(registry, entry)? {
                        return Ok(s);
                    }
                }
                bail!(
                    "{}: source not found. Run:\n    {}\n(which runs: {how})",
                    entry.name,
                    super::fetch::command_for(&entry.name)
                )
            }
        }
    }

    fn find_package_source(&self, registry: &Registry, entry: &Entry) -> Result<Option<Source>> {
        Ok(match &entry.source {
            SourceDef::Idx {
                dirs,
                train,
                test,
                metric,
            } => dirs.iter().map(|d| registry.expand(d)).find_map(|d| {
                let (tr, te) = (d.join(train), d.join(test));
                (tr.is_file() && te.is_file()).then_some(Source::Idx {
                    train: tr,
                    test: te,
                    metric: *metric,
                })
            }),
            SourceDef::NpyWheel {
                dir,
                wheel_prefix,
                member,
                test_every,
                metric,
            } => {
                ensure!(
                    *test_every >= 2,
                    "{}: test_every must be at least 2",
                    entry.name
                );
                let dir = registry.expand(dir);
                let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
                    .map(|rd| {
                        rd.filter_map(|e| e.ok().map(|e| e.path()))
                            .filter(|p| {
                                p.file_name().and_then(|f| f.to_str()).is_some_and(|f| {
                                    f.starts_with(wheel_prefix.as_str()) && f.ends_with(".whl")
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                found.sort();
                found.pop().map(|wheel| Source::Wheel {
                    wheel,
                    member: member.clone(),
                    test_every: *test_every,
                    metric: *metric,
                })
            }
            _ => None,
        })
    }

    /// A spec that is not a registry name: an HDF5 file, or
    /// `base.fvecs:query.fvecs[:metric]`.
    fn parse_path_spec(&self, spec: &str, registry: &Registry) -> Result<(String, Source)> {
        let parts: Vec<&str> = spec.split(':').collect();
        let is_vecs = |s: &str| texmex::VecsKind::from_path(Path::new(s)).is_some();
        if parts.len() >= 2 && is_vecs(parts[0]) && is_vecs(parts[1]) {
            let metric = match parts.get(2) {
                Some(m) => m.parse().map_err(|_| {
                    anyhow!("{spec}: unknown metric {m:?} (euclidean, angular, ip)")
                })?,
                None => Metric::L2,
            };
            ensure!(
                parts.len() <= 3,
                "{spec}: expected base.fvecs:query.fvecs[:metric]"
            );
            let base = PathBuf::from(parts[0]);
            let name = base
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "vecs".into());
            return Ok((
                name,
                Source::Texmex {
                    base,
                    query: PathBuf::from(parts[1]),
                    metric,
                },
            ));
        }
        let path = PathBuf::from(spec);
        let hdf5_ext = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "hdf5" | "h5"));
        if path.is_file() || hdf5_ext {
            ensure!(path.is_file(), "{spec}: no such file");
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "dataset".into());
            return Ok((name, Source::Hdf5(path)));
        }
        let known: Vec<&str> = registry.entries.iter().map(|e| e.name.as_str()).collect();
        bail!(
            "unknown dataset {spec:?}: not a name in the registry ({}), not an ann-benchmarks .hdf5 file, not base.fvecs:query.fvecs; names of the form clustered-D-euclidean, clustered-D-angular, uniform-D-euclidean also work",
            known.join(", ")
        )
    }

    /// Loads (or generates) the vectors of a subset, without ground truth.
    fn load(
        &self,
        source: &Source,
        name: &str,
        metric: Metric,
        n: Option<usize>,
        queries: Option<usize>,
        progress: bool,
    ) -> Result<Dataset> {
        let (dims, mut train, mut test) = match source {
            Source::Synthetic(spec) => {
                let n = n.unwrap_or(SYNTHETIC_DEFAULT_N);
                let b = bar(progress, n as u64, format!("generating {name}"));
                let train = spec.train(n, b.as_ref());
                if let Some(b) = b {
                    b.finish_and_clear();
                }
                let test = spec.test(queries.unwrap_or(SYNTHETIC_DEFAULT_QUERIES));
                (spec.dims, train, test)
            }
            Source::Hdf5(path) => {
                let d = hdf5::read_subset(path, n, queries)?;
                (d.dims, d.train, d.test)
            }
            Source::Texmex { base, query, .. } => {
                let b = texmex::read_vectors(base, n)?;
                let q = texmex::read_vectors(query, queries)?;
                ensure!(
                    b.dims == q.dims,
                    "dimension mismatch: {} has {}-dimensional vectors but {} has {}",
                    base.display(),
                    b.dims,
                    query.display(),
                    q.dims
                );
                (b.dims, b.data, q.data)
            }
            Source::Idx { train, test, .. } => {
                let tr = idx::read_images(train)?;
                let te = idx::read_images(test)?;
                ensure!(
                    tr.dims == te.dims,
                    "dimension mismatch: {} has {} pixels per image but {} has {}",
                    train.display(),
                    tr.dims,
                    test.display(),
                    te.dims
                );
                (tr.dims, tr.data, te.data)
            }
            Source::Wheel {
                wheel,
                member,
                test_every,
                ..
            } => {
                let m = npy::read_from_zip(wheel, member)?;
                let (train, test) = split_every(&m.data, m.cols, *test_every);
                (m.cols, train, test)
            }
        };
        for (what, v, want) in [("train", &mut train, n), ("test", &mut test, queries)] {
            let have = v.len() / dims;
            if let Some(want) = want {
                ensure!(
                    want <= have,
                    "{name}: asked for {want} {what} vectors but the source has {have}"
                );
                v.truncate(want * dims);
            }
            ensure!(!v.is_empty(), "{name}: no {what} vectors");
        }
        Ok(Dataset {
            name: name.to_string(),
            metric,
            dims,
            train,
            test,
            neighbors: Vec::new(),
            distances: Vec::new(),
        })
    }
}

impl Source {
    fn metric(&self, name: &str) -> Result<Metric> {
        Ok(match self {
            Source::Synthetic(s) => s.metric,
            Source::Hdf5(p) => hdf5::info(p).with_context(|| name.to_string())?.metric,
            Source::Texmex { metric, .. }
            | Source::Idx { metric, .. }
            | Source::Wheel { metric, .. } => *metric,
        })
    }

    /// Feeds everything the source's vectors depend on into a cache key.
    fn identify(&self, key: &mut KeyBuilder) -> Result<()> {
        match self {
            Source::Synthetic(s) => {
                key.text(&format!("synthetic v{GENERATOR_VERSION}"));
                key.text(&serde_json::to_string(s)?);
            }
            Source::Hdf5(p) => {
                key.text("hdf5").file(p)?;
            }
            Source::Texmex { base, query, .. } => {
                key.text("texmex").file(base)?.file(query)?;
                key.text(&format!("{:?}", (base.extension(), query.extension())));
            }
            Source::Idx { train, test, .. } => {
                key.text("idx").file(train)?.file(test)?;
            }
            Source::Wheel {
                wheel,
                member,
                test_every,
                ..
            } => {
                key.text(&format!("wheel {member} every {test_every}"))
                    .file(wheel)?;
            }
        }
        Ok(())
    }
}

/// Splits row-major rows: every `every`-th row (index 0, every, 2·every, …)
/// to the test set, the rest, in order, to the train set.
pub fn split_every(data: &[f32], dims: usize, every: usize) -> (Vec<f32>, Vec<f32>) {
    let rows = data.len() / dims;
    let n_test = rows.div_ceil(every);
    let mut train = Vec::with_capacity((rows - n_test) * dims);
    let mut test = Vec::with_capacity(n_test * dims);
    for (i, row) in data.chunks_exact(dims).enumerate() {
        if i % every == 0 {
            test.extend_from_slice(row);
        } else {
            train.extend_from_slice(row);
        }
    }
    (train, test)
}

/// A progress bar on stderr when `progress` is set.
pub(crate) fn bar(progress: bool, len: u64, msg: String) -> Option<ProgressBar> {
    if !progress {
        return None;
    }
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template(
            "{msg:40} [{bar:30}] {human_pos}/{human_len} {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    b.set_message(msg);
    Some(b)
}
