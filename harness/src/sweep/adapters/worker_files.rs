//! The dataset as files a worker process reads: an ann-benchmarks HDF5 file
//! (and, for workers that ask, raw f32 copies), written once into a cache
//! folder under names keyed by a hash of the vectors.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use xxhash_rust::xxh3::Xxh3;

use crate::data::{self, Dataset};

/// The files a worker reads the dataset from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetFiles {
    /// ann-benchmarks HDF5 file (train, test, neighbors, distances).
    pub hdf5: PathBuf,
    /// Raw f32 copies of train and test, when asked for.
    pub raw: Option<(PathBuf, PathBuf)>,
}

fn hash_f32(h: &mut Xxh3, v: &[f32]) {
    let mut buf = Vec::with_capacity(1 << 16);
    for chunk in v.chunks(1 << 14) {
        buf.clear();
        for x in chunk {
            buf.extend_from_slice(&x.to_le_bytes());
        }
        h.update(&buf);
    }
}

/// A temporary name beside `path` that no other process or thread uses:
/// shards of one sweep (Slurm tasks on one node, say) write the same
/// dataset's files at once, and a shared temporary name lets one rename
/// away the file the other is about to rename.
fn unique_tmp(path: &Path) -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{}-{n}.tmp", std::process::id()));
    name.into()
}

fn write_f32(path: &Path, v: &[f32]) -> anyhow::Result<()> {
    let tmp = unique_tmp(path);
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
    );
    for x in v {
        f.write_all(&x.to_le_bytes())?;
    }
    f.flush()?;
    drop(f);
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
}

/// Writes `data` for workers into `dir` (once: files named by a hash of the
/// vectors are reused).
pub fn dataset_files(dir: &Path, data: &Dataset, raw: bool) -> anyhow::Result<DatasetFiles> {
    let mut h = Xxh3::new();
    h.update(data.name.as_bytes());
    h.update(data.metric.ann_name().as_bytes());
    h.update(&(data.dims as u64).to_le_bytes());
    hash_f32(&mut h, &data.train);
    hash_f32(&mut h, &data.test);
    let key = format!("{:016x}", h.digest());
    let stem: String = data
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = format!("{stem}-{}x{}-{key}", data.n_train(), data.n_test());
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let hdf5 = dir.join(format!("{stem}.hdf5"));
    if !hdf5.exists() {
        let tmp = unique_tmp(&hdf5).with_extension("tmp.hdf5");
        data::write_hdf5(&tmp, data)?;
        std::fs::rename(&tmp, &hdf5).with_context(|| format!("renaming to {}", hdf5.display()))?;
    }
    let raw = if raw {
        let train = dir.join(format!("{stem}.train.f32"));
        let test = dir.join(format!("{stem}.test.f32"));
        if !train.exists() {
            write_f32(&train, &data.train)?;
        }
        if !test.exists() {
            write_f32(&test, &data.test)?;
        }
        Some((train, test))
    } else {
        None
    };
    Ok(DatasetFiles { hdf5, raw })
}

#[cfg(test)]
mod tests {
    use super::*;
    use omendb::Metric;

    /// Shards of one sweep write the same dataset's worker files at once;
    /// with a shared temporary name one renamed away the other's file (a
    /// local Slurm run failed so: "renaming to …train.f32: No such file").
    #[test]
    fn writers_of_the_same_files_at_once_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let data = Dataset {
            name: "race-4-euclidean".into(),
            metric: Metric::L2,
            dims: 4,
            train: (0..4 * 400_000).map(|i| i as f32).collect(),
            test: (0..4 * 10).map(|i| i as f32).collect(),
            neighbors: vec![vec![0]; 10],
            distances: vec![vec![0.0]; 10],
        };
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| dataset_files(dir.path(), &data, true)))
                .collect();
            for h in handles {
                let files = h.join().unwrap().unwrap();
                let (train, _) = files.raw.unwrap();
                assert_eq!(std::fs::metadata(train).unwrap().len(), 4 * 4 * 400_000);
            }
        });
    }
}
