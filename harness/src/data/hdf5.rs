//! ann-benchmarks HDF5 files: read and write the layout ann-benchmarks
//! publishes (`train`, `test`, `neighbors`, `distances` datasets and a string
//! attribute `distance` naming the metric).
//!
//! Reading tolerates what published files contain in the wild: f32 or f64
//! vectors and distances, i32/i64 (or unsigned) neighbour ids, and a
//! variable- or fixed-length, ASCII or UTF-8 `distance` attribute. Writing
//! always produces f32 `train`/`test`/`distances`, i32 `neighbors` and a
//! variable-length UTF-8 `distance` attribute, which h5py reads as `str`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, ensure, Context, Result};
use h5::types::{FixedAscii, FixedUnicode, TypeDescriptor, VarLenAscii, VarLenUnicode};
use hdf5_metno as h5;
use ndarray::{s, ArrayView2};
use omendb::Metric;

use super::Dataset;

/// What an HDF5 file holds, without reading the vectors (for `datasets info`
/// and for checking a file before loading it).
#[derive(Debug, Clone)]
pub struct Hdf5Info {
    /// The file.
    pub path: PathBuf,
    /// The `distance` attribute, parsed.
    pub metric: Metric,
    /// Shape of `train` (rows, dims).
    pub train: (usize, usize),
    /// Shape of `test` (rows, dims).
    pub test: (usize, usize),
    /// Shape of `neighbors` (rows, k), when present.
    pub neighbors: Option<(usize, usize)>,
    /// Element type of each dataset present, as HDF5 describes it.
    pub dtypes: Vec<(String, String)>,
}

impl Hdf5Info {
    /// Vector dimension.
    pub fn dims(&self) -> usize {
        self.train.1
    }

    /// Ground-truth depth `k`, 0 when the file holds none.
    pub fn k(&self) -> usize {
        self.neighbors.map_or(0, |(_, k)| k)
    }
}

/// Options for opening or creating a file without an HDF5 file lock: files
/// are written under a temporary name and renamed into place, so no reader
/// sees a partial one, and the C library opens without close-on-exec, so a
/// lock taken while another thread starts a worker lives on in that worker
/// and makes every later open of the file fail with EAGAIN.
fn unlocked() -> h5::FileBuilder {
    let mut b = h5::File::with_options();
    b.with_fapl(|p| p.file_locking(false));
    b
}

fn open(path: &Path) -> Result<h5::File> {
    ensure!(path.exists(), "{}: no such file", path.display());
    unlocked()
        .open(path)
        .map_err(|e| anyhow!("{}: not a readable HDF5 file: {e}", path.display()))
}

/// Shape of a dataset that must be two-dimensional.
fn shape_2d(path: &Path, ds: &h5::Dataset, name: &str) -> Result<(usize, usize)> {
    let shape = ds.shape();
    ensure!(
        shape.len() == 2,
        "{}: dataset `{name}` has shape {shape:?}; expected 2 dimensions (rows × columns)",
        path.display()
    );
    Ok((shape[0], shape[1]))
}

fn dataset(path: &Path, file: &h5::File, name: &str) -> Result<h5::Dataset> {
    if !file.link_exists(name) {
        let members = file.member_names().unwrap_or_default();
        bail!(
            "{}: missing dataset `{name}` (an ann-benchmarks file has train, test, neighbors, distances; this one has {members:?})",
            path.display()
        );
    }
    file.dataset(name)
        .map_err(|e| anyhow!("{}: cannot open dataset `{name}`: {e}", path.display()))
}

fn descriptor(path: &Path, ds: &h5::Dataset, name: &str) -> Result<TypeDescriptor> {
    ds.dtype().and_then(|t| t.to_descriptor()).map_err(|e| {
        anyhow!(
            "{}: dataset `{name}` has an unreadable type: {e}",
            path.display()
        )
    })
}

fn require_float(path: &Path, ds: &h5::Dataset, name: &str) -> Result<()> {
    match descriptor(path, ds, name)? {
        TypeDescriptor::Float(_) => Ok(()),
        other => bail!(
            "{}: dataset `{name}` has element type {other}; expected a float (f32 or f64)",
            path.display()
        ),
    }
}

fn require_int(path: &Path, ds: &h5::Dataset, name: &str) -> Result<()> {
    match descriptor(path, ds, name)? {
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => Ok(()),
        other => bail!(
            "{}: dataset `{name}` has element type {other}; expected integers (i32 or i64)",
            path.display()
        ),
    }
}

/// Reads the first `rows` rows of a 2-D float dataset as f32, row-major.
fn read_f32_rows(path: &Path, ds: &h5::Dataset, name: &str, rows: usize) -> Result<Vec<f32>> {
    require_float(path, ds, name)?;
    let arr = ds
        .as_reader()
        .conversion(h5::Conversion::Hard)
        .read_slice_2d::<f32, _>(s![0..rows, ..])
        .map_err(|e| anyhow!("{}: reading dataset `{name}`: {e}", path.display()))?;
    Ok(into_row_major(arr))
}

fn into_row_major<T: Clone>(arr: ndarray::Array2<T>) -> Vec<T> {
    if arr.is_standard_layout() {
        let (v, off) = arr.into_raw_vec_and_offset();
        debug_assert!(off.unwrap_or(0) == 0);
        v
    } else {
        arr.iter().cloned().collect()
    }
}

fn read_metric(path: &Path, file: &h5::File) -> Result<Metric> {
    let attr = file.attr("distance").map_err(|_| {
        anyhow!(
            "{}: missing string attribute `distance` (euclidean, angular or ip)",
            path.display()
        )
    })?;
    let desc = attr
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(|e| anyhow!("{}: attribute `distance` unreadable: {e}", path.display()))?;
    let reader = attr.as_reader();
    let value: String = match desc {
        TypeDescriptor::VarLenUnicode => {
            reader.read_scalar::<VarLenUnicode>().map(|s| s.to_string())
        }
        TypeDescriptor::VarLenAscii => reader.read_scalar::<VarLenAscii>().map(|s| s.to_string()),
        TypeDescriptor::FixedAscii(_) => reader
            .conversion(h5::Conversion::Soft)
            .read_scalar::<FixedAscii<64>>()
            .map(|s| s.to_string()),
        TypeDescriptor::FixedUnicode(_) => reader
            .conversion(h5::Conversion::Soft)
            .read_scalar::<FixedUnicode<64>>()
            .map(|s| s.to_string()),
        other => bail!(
            "{}: attribute `distance` has type {other}; expected a string",
            path.display()
        ),
    }
    .map_err(|e| anyhow!("{}: reading attribute `distance`: {e}", path.display()))?;
    let value = value.trim_end_matches('\0').trim();
    value.parse::<Metric>().map_err(|_| {
        anyhow!(
            "{}: attribute `distance` is {value:?}; expected euclidean, angular or ip",
            path.display()
        )
    })
}

/// Describes an HDF5 file: metric, shapes and element types, checking the
/// layout (train/test present and 2-D with equal dimensions; neighbours and
/// distances, when present, one row per test vector and the same shape).
pub fn info(path: &Path) -> Result<Hdf5Info> {
    let file = open(path)?;
    let metric = read_metric(path, &file)?;
    let train_ds = dataset(path, &file, "train")?;
    let test_ds = dataset(path, &file, "test")?;
    let train = shape_2d(path, &train_ds, "train")?;
    let test = shape_2d(path, &test_ds, "test")?;
    require_float(path, &train_ds, "train")?;
    require_float(path, &test_ds, "test")?;
    ensure!(
        train.1 > 0 && train.0 > 0,
        "{}: dataset `train` is empty (shape {train:?})",
        path.display()
    );
    ensure!(
        train.1 == test.1,
        "{}: dimension mismatch: train vectors have {} dimensions but test vectors have {}",
        path.display(),
        train.1,
        test.1
    );
    let mut dtypes = Vec::new();
    for name in ["train", "test", "neighbors", "distances"] {
        if file.link_exists(name) {
            let ds = dataset(path, &file, name)?;
            dtypes.push((name.to_string(), descriptor(path, &ds, name)?.to_string()));
        }
    }
    let neighbors = match (file.link_exists("neighbors"), file.link_exists("distances")) {
        (false, false) => None,
        (true, has_dist) => {
            let nds = dataset(path, &file, "neighbors")?;
            let shape = shape_2d(path, &nds, "neighbors")?;
            require_int(path, &nds, "neighbors")?;
            ensure!(
                shape.0 == test.0,
                "{}: dataset `neighbors` has {} rows but `test` has {}",
                path.display(),
                shape.0,
                test.0
            );
            ensure!(
                has_dist,
                "{}: missing dataset `distances` (present: neighbors)",
                path.display()
            );
            let dds = dataset(path, &file, "distances")?;
            let dshape = shape_2d(path, &dds, "distances")?;
            require_float(path, &dds, "distances")?;
            ensure!(
                dshape == shape,
                "{}: dataset `distances` has shape {dshape:?} but `neighbors` has {shape:?}",
                path.display()
            );
            Some(shape)
        }
        (false, true) => bail!(
            "{}: missing dataset `neighbors` (present: distances)",
            path.display()
        ),
    };
    Ok(Hdf5Info {
        path: path.to_path_buf(),
        metric,
        train,
        test,
        neighbors,
        dtypes,
    })
}

/// Reads an ann-benchmarks HDF5 file whole. All four datasets must be there.
pub fn read(path: &Path) -> Result<Dataset> {
    let d = read_subset(path, None, None)?;
    ensure!(
        !d.neighbors.is_empty(),
        "{}: missing datasets `neighbors` and `distances` (no ground truth)",
        path.display()
    );
    Ok(d)
}

/// Reads the first `n` train and first `queries` test vectors (all when
/// `None`). Ground truth is returned only when the whole train set is read
/// (a subset's shipped ground truth would be wrong) and the file has it;
/// otherwise `neighbors` and `distances` are empty.
pub fn read_subset(path: &Path, n: Option<usize>, queries: Option<usize>) -> Result<Dataset> {
    let info = info(path)?;
    let file = open(path)?;
    let n_train = match n {
        Some(n) if n > info.train.0 => bail!(
            "{}: asked for {n} train vectors but the file has {}",
            path.display(),
            info.train.0
        ),
        Some(n) => n,
        None => info.train.0,
    };
    let n_test = match queries {
        Some(q) if q > info.test.0 => bail!(
            "{}: asked for {q} queries but the file has {} test vectors",
            path.display(),
            info.test.0
        ),
        Some(q) => q,
        None => info.test.0,
    };
    let train = read_f32_rows(path, &dataset(path, &file, "train")?, "train", n_train)?;
    let test = read_f32_rows(path, &dataset(path, &file, "test")?, "test", n_test)?;
    let (mut neighbors, mut distances) = (Vec::new(), Vec::new());
    if let Some((_, k)) = info.neighbors {
        if n_train == info.train.0 {
            let nds = dataset(path, &file, "neighbors")?;
            let ids = nds
                .as_reader()
                .conversion(h5::Conversion::Hard)
                .read_slice_2d::<i64, _>(s![0..n_test, ..])
                .map_err(|e| anyhow!("{}: reading dataset `neighbors`: {e}", path.display()))?;
            let dist = read_f32_rows(
                path,
                &dataset(path, &file, "distances")?,
                "distances",
                n_test,
            )?;
            for (row, r) in ids.outer_iter().enumerate() {
                let mut out = Vec::with_capacity(k);
                for (col, &id) in r.iter().enumerate() {
                    ensure!(
                        (0..n_train as i64).contains(&id),
                        "{}: dataset `neighbors` row {row} column {col} holds id {id}, outside the {n_train} train vectors",
                        path.display()
                    );
                    out.push(id as u32);
                }
                neighbors.push(out);
            }
            distances = dist.chunks_exact(k.max(1)).map(<[f32]>::to_vec).collect();
            distances.truncate(n_test);
        }
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dataset".into());
    Ok(Dataset {
        name,
        metric: info.metric,
        dims: info.dims(),
        train,
        test,
        neighbors,
        distances,
    })
}

/// Writes `data` in the ann-benchmarks layout: f32 `train` and `test`, i32
/// `neighbors`, f32 `distances`, and the `distance` attribute as a
/// variable-length UTF-8 string. Writes to a temporary file beside `path`
/// and renames it into place, so a reader never sees half a file.
pub fn write(path: &Path, data: &Dataset) -> Result<()> {
    data.validate()
        .with_context(|| format!("not writing {}", path.display()))?;
    let tmp = tmp_path(path);
    let result = write_to(&tmp, data);
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.context(format!("writing {}", path.display())));
    }
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|s| s.to_os_string())
        .unwrap_or_default();
    name.push(format!(".tmp{}", std::process::id()));
    path.with_file_name(name)
}

fn write_to(path: &Path, data: &Dataset) -> Result<()> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file = unlocked()
        .create(path)
        .map_err(|e| anyhow!("cannot create: {e}"))?;
    let d = data.dims;
    let write_f32 = |name: &str, rows: usize, cols: usize, v: &[f32]| -> Result<()> {
        let view = ArrayView2::from_shape((rows, cols), v)?;
        file.new_dataset_builder()
            .with_data(&view)
            .create(name)
            .map_err(|e| anyhow!("dataset `{name}`: {e}"))?;
        Ok(())
    };
    write_f32("train", data.n_train(), d, &data.train)?;
    write_f32("test", data.n_test(), d, &data.test)?;
    let k = data.k();
    let ids: Vec<i32> = data
        .neighbors
        .iter()
        .flat_map(|r| r.iter().map(|&id| id as i32))
        .collect();
    let view = ArrayView2::from_shape((data.neighbors.len(), k), &ids)?;
    file.new_dataset_builder()
        .with_data(&view)
        .create("neighbors")
        .map_err(|e| anyhow!("dataset `neighbors`: {e}"))?;
    let dist: Vec<f32> = data.distances.iter().flatten().copied().collect();
    write_f32("distances", data.distances.len(), k, &dist)?;
    let metric: VarLenUnicode = data
        .metric
        .ann_name()
        .parse()
        .map_err(|e| anyhow!("attribute `distance`: {e:?}"))?;
    file.new_attr::<VarLenUnicode>()
        .shape(())
        .create("distance")
        .and_then(|a| a.as_writer().write_scalar(&metric))
        .map_err(|e| anyhow!("attribute `distance`: {e}"))?;
    file.close().map_err(|e| anyhow!("closing: {e}"))?;
    Ok(())
}
