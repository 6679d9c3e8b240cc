//! `omenbench datasets …` subcommands.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use sha2::{Digest, Sha256};

use super::registry::SourceDef;
use super::resolve::{bar, Resolver};
use super::{format_scale, groundtruth, hdf5, parse_scale};

/// The `datasets` subcommands.
#[derive(Subcommand, Debug)]
pub enum DatasetsCommand {
    /// List the datasets known by name (datasets/datasets.json).
    List,
    /// Make a dataset (generate or convert it, with exact ground truth) and
    /// print the path of its HDF5 file as the last line.
    Make {
        /// A registry name, an ann-benchmarks .hdf5 file, or base.fvecs:query.fvecs.
        name: String,
        /// Use the first N train vectors (100, 1k, 10k, 100k, 1M, …).
        #[arg(long, value_parser = parse_scale)]
        n: Option<usize>,
        /// Use the first Q test vectors.
        #[arg(long, value_parser = parse_scale)]
        queries: Option<usize>,
        /// No progress bars.
        #[arg(long)]
        quiet: bool,
    },
    /// Make every dataset subset a sweep config loads (each scale, with
    /// exact ground truth) into a cache directory that every shard of the
    /// sweep reads, plus a manifest; shards refuse to start without it.
    Prepare {
        /// The sweep config (as given to `omenbench run --config`).
        #[arg(long)]
        config: PathBuf,
        /// The cache directory (a path every node sees); default
        /// `datasets/cache` of the repository.
        #[arg(long)]
        cache_dir: Option<PathBuf>,
        /// No progress bars.
        #[arg(long)]
        quiet: bool,
    },
    /// Describe an ann-benchmarks HDF5 file: metric, shapes, element types.
    Info {
        /// The file.
        file: PathBuf,
        /// Also print the sha256 of the train and test arrays (raw
        /// little-endian f32, row-major).
        #[arg(long)]
        sha256: bool,
    },
    /// Recompute a file's exact ground truth and write it into the file (or,
    /// with --check, compare it with the file's own).
    Groundtruth {
        /// The file.
        file: PathBuf,
        /// Neighbours per test vector.
        #[arg(long, default_value_t = groundtruth::GT_K)]
        k: usize,
        /// Only compare with the stored ground truth (by distance, so ties
        /// are not mismatches); fail if any row differs.
        #[arg(long)]
        check: bool,
        /// No progress bars.
        #[arg(long)]
        quiet: bool,
    },
}

/// Runs a `datasets` subcommand.
pub fn execute(cmd: DatasetsCommand) -> Result<()> {
    let resolver = Resolver::from_env();
    match cmd {
        DatasetsCommand::List => list(&resolver),
        DatasetsCommand::Make {
            name,
            n,
            queries,
            quiet,
        } => {
            let start = std::time::Instant::now();
            let (d, path) = resolver.make(&name, n, queries, !quiet)?;
            eprintln!(
                "{}: {} train + {} test, {}-d, {}, k={} ({:.1} s)",
                d.name,
                d.n_train(),
                d.n_test(),
                d.dims,
                d.metric,
                d.k(),
                start.elapsed().as_secs_f64()
            );
            println!("{}", path.display());
            Ok(())
        }
        DatasetsCommand::Prepare {
            config,
            cache_dir,
            quiet,
        } => {
            let start = std::time::Instant::now();
            let cfg = crate::sweep::SweepConfig::load(&config)?;
            let sweep = cfg.validate(&crate::sweep::Registry::builtin())?;
            let plan = crate::sweep::source::data_plan(&sweep);
            let resolver = Resolver {
                cache: cache_dir.unwrap_or(resolver.cache),
                ..resolver
            };
            let manifest = super::prepare::prepare(&resolver, &plan, !quiet)?;
            eprintln!(
                "prepare: {} subset(s) ready in {} ({:.1} s)",
                manifest.entries.iter().filter(|e| e.file.is_some()).count(),
                resolver.cache.display(),
                start.elapsed().as_secs_f64()
            );
            println!("{}", plan.manifest_path(&resolver.cache).display());
            Ok(())
        }
        DatasetsCommand::Info { file, sha256 } => info(&file, sha256),
        DatasetsCommand::Groundtruth {
            file,
            k,
            check,
            quiet,
        } => ground_truth(&file, k, check, !quiet),
    }
}

fn list(resolver: &Resolver) -> Result<()> {
    let reg = resolver.registry()?;
    if let Some(p) = &reg.path {
        println!("# {}", p.display());
    }
    println!("{:<30} {:<10} {:<10} source", "name", "metric", "default n");
    for e in &reg.entries {
        let metric = e.metric().map_or("?".to_string(), |m| m.to_string());
        let n = e.n.map_or("all".to_string(), format_scale);
        let source = match &e.source {
            SourceDef::Synthetic(s) => {
                format!("generated ({}, seed {})", s.generator.name(), s.seed)
            }
            SourceDef::Hdf5 { path } => {
                let p = reg.expand(path);
                format!(
                    "{}{}",
                    p.display(),
                    if p.is_file() { "" } else { " (missing)" }
                )
            }
            SourceDef::Idx { .. } | SourceDef::NpyWheel { .. } => {
                format!("package: {}", e.fetch.as_deref().unwrap_or("?"))
            }
        };
        println!("{:<30} {:<10} {:<10} {source}", e.name, metric, n);
    }
    println!("# any clustered-D-<metric> / uniform-D-<metric> name works; scales: --n 100, 1k, 10k, 100k, 1M");
    Ok(())
}

fn info(file: &std::path::Path, sha256: bool) -> Result<()> {
    let i = hdf5::info(file)?;
    println!("file      {}", file.display());
    println!("distance  {}", i.metric);
    println!("train     {} × {}", i.train.0, i.train.1);
    println!("test      {} × {}", i.test.0, i.test.1);
    match i.neighbors {
        Some((r, k)) => println!("neighbors {r} × {k}"),
        None => println!("neighbors (none)"),
    }
    for (name, t) in &i.dtypes {
        println!("dtype     {name}: {t}");
    }
    if sha256 {
        let d = hdf5::read_subset(file, None, None)?;
        println!("sha256    train {}", sha256_f32(&d.train));
        println!("sha256    test  {}", sha256_f32(&d.test));
    }
    Ok(())
}

/// sha256 (hex) of f32 values as raw little-endian bytes.
pub fn sha256_f32(v: &[f32]) -> String {
    let mut h = Sha256::new();
    for chunk in v.chunks(1 << 16) {
        let bytes: Vec<u8> = chunk.iter().flat_map(|x| x.to_le_bytes()).collect();
        h.update(&bytes);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn ground_truth(file: &std::path::Path, k: usize, check: bool, progress: bool) -> Result<()> {
    let mut d = hdf5::read_subset(file, None, None)?;
    let stored = std::mem::take(&mut d.distances);
    d.neighbors.clear();
    let b = bar(progress, d.n_test() as u64, format!("ground truth (k={k})"));
    groundtruth::fill(&mut d, k, b.as_ref()).with_context(|| file.display().to_string())?;
    if let Some(b) = b {
        b.finish_and_clear();
    }
    if check {
        anyhow::ensure!(
            !stored.is_empty(),
            "{}: no stored ground truth to check",
            file.display()
        );
        let kk = d.k().min(stored[0].len());
        let a: Vec<Vec<f32>> = stored.iter().map(|r| r[..kk].to_vec()).collect();
        let b: Vec<Vec<f32>> = d.distances.iter().map(|r| r[..kk].to_vec()).collect();
        let ok = groundtruth::rows_agreeing(&a, &b, 1e-4);
        println!(
            "{}: {ok} of {} rows agree at k={kk} (by distance)",
            file.display(),
            d.n_test()
        );
        anyhow::ensure!(ok == d.n_test(), "{}: ground truth differs", file.display());
    } else {
        hdf5::write(file, &d)?;
        eprintln!("wrote k={} ground truth", d.k());
        println!("{}", file.display());
    }
    Ok(())
}
