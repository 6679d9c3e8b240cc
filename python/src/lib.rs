//! The `omendb` Python module: OmenDB's indexes with NumPy in and out.
//!
//! | file | role |
//! |---|---|
//! | `index.rs` | the `omendb.Index` class: construction, add / search / remove / update, disk life cycle |
//! | `engine.rs` | the index kinds behind one enum |
//! | `arrays.rs` | NumPy input read in place (or converted once); ids checked |
//! | `results.rs` | search results as NumPy arrays, without a copy |
//! | `options.rs` | keyword arguments as engine parameters |
//! | `pool.rs` | thread pools for calls that name a thread count |
//! | `errors.rs` | engine errors as Python exceptions |
//!
//! The Python-facing documentation (signatures, defaults, exceptions) is in
//! `python/omendb.pyi`, shipped in the wheel as the type stubs.

mod arrays;
mod engine;
mod errors;
mod index;
mod options;
mod pool;
mod results;

use std::path::PathBuf;

use pyo3::prelude::*;

/// Opens the index directory at `path`.
#[pyfunction]
#[pyo3(signature = (path, read_only = false, durability = None, verify_vectors = true, strict = false))]
fn open(
    py: Python<'_>,
    path: PathBuf,
    read_only: bool,
    durability: Option<&Bound<'_, PyAny>>,
    verify_vectors: bool,
    strict: bool,
) -> PyResult<index::Index> {
    let durability = match durability {
        Some(d) => options::durability(d)?,
        None => omendb::Durability::default(),
    };
    let opts = omendb::OpenOptions {
        strict,
        ..options::open_options(read_only, durability, verify_vectors)
    };
    index::open_dir(py, path, opts)
}

/// The `omendb` module.
#[pymodule]
#[pyo3(name = "omendb")]
fn omendb_python(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<index::Index>()?;
    m.add_function(wrap_pyfunction!(open, m)?)?;
    errors::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("KINDS", options::KINDS.to_vec())?;
    // "release" for wheels built without debug assertions (the release
    // profile); "checked" for the test build (scripts/python-wheel.sh).
    let build = if cfg!(debug_assertions) {
        "checked"
    } else {
        "release"
    };
    m.add("BUILD", build)?;
    Ok(())
}
