//! Where a sweep's datasets come from: the one seam between the sweep and
//! the dataset module (`crate::data`), so tests can hand in-memory datasets
//! to the runner and the CLI can point at the real loader.

use std::path::Path;

use anyhow::bail;

use crate::data::Dataset;

/// Loads `spec` (a registry name, an ann-benchmarks `.hdf5` path, or
/// `base.fvecs:query.fvecs`) cut to its first `n` train vectors, with exact
/// ground truth; `queries` caps the number of test vectors.
pub type LoadDataset<'a> =
    dyn Fn(&str, usize, Option<usize>, bool) -> anyhow::Result<Dataset> + Sync + 'a;

/// The real loader: [`crate::data::resolve`] for the first `n` vectors.
pub fn load(
    spec: &str,
    n: usize,
    queries: Option<usize>,
    progress: bool,
) -> anyhow::Result<Dataset> {
    crate::data::resolve(spec, Some(n), queries, progress)
}

/// What `sweep` loads (datasets × scales, query cap), as
/// `omenbench datasets prepare` makes it.
pub fn data_plan(sweep: &super::config::Sweep) -> crate::data::prepare::DataPlan {
    crate::data::prepare::DataPlan {
        datasets: sweep.datasets.clone(),
        scales: sweep.scales.clone(),
        queries: sweep.queries,
    }
}

/// Checks, without loading it, that `spec` names a dataset whose files are
/// there and readable ([`crate::data::Resolver::check`]).
pub fn check(spec: &str) -> anyhow::Result<()> {
    crate::data::Resolver::from_env().check(spec)
}

/// Whether `spec` names files rather than a registry entry.
pub fn is_path_spec(spec: &str) -> bool {
    spec.contains('/')
        || spec.contains(':')
        || [".hdf5", ".h5", ".fvecs", ".bvecs"]
            .iter()
            .any(|ext| spec.ends_with(ext))
}

/// Checks that every file a path spec names exists (registry names are
/// checked by the loader).
pub fn check_files(spec: &str) -> anyhow::Result<()> {
    if !is_path_spec(spec) {
        return Ok(());
    }
    for part in spec.split(':') {
        if !Path::new(part).is_file() {
            bail!("file `{part}` does not exist");
        }
    }
    Ok(())
}

/// Parses a scale (`100`, `1k`, `100k`, `1M`, `2.5k`), as
/// [`crate::data::parse_scale`] does.
pub fn parse_scale(s: &str) -> anyhow::Result<usize> {
    crate::data::parse_scale(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_parse_and_reject_junk() {
        assert_eq!(parse_scale("100").unwrap(), 100);
        assert_eq!(parse_scale("1k").unwrap(), 1_000);
        assert_eq!(parse_scale("100K").unwrap(), 100_000);
        assert_eq!(parse_scale("1M").unwrap(), 1_000_000);
        assert_eq!(parse_scale("2.5k").unwrap(), 2_500);
        for bad in ["", "k", "-1", "0", "1.5", "ten"] {
            assert!(parse_scale(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn path_specs_are_checked() {
        assert!(!is_path_spec("clustered-128-euclidean"));
        assert!(is_path_spec("x.hdf5"));
        assert!(check_files("/no/such/file.hdf5").is_err());
        assert!(check_files("clustered-128-euclidean").is_ok());
    }
}
