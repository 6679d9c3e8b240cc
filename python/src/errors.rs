//! The engine's errors as Python exceptions.
//!
//! | engine error | Python exception |
//! |---|---|
//! | bad input: dimension, NaN/inf, duplicate or unknown id, `k`, empty batch or index, parameters, metric | `ValueError` |
//! | `Io` with an OS error number | `OSError(errno, …)`, which Python turns into its subclass (`FileNotFoundError`, `PermissionError`, …) |
//! | `Io` without one | `omendb.StorageError` (an `OSError`) |
//! | `Corrupt` | `omendb.CorruptIndexError` (an `OSError`) |
//! | `Incompatible` | `omendb.IncompatibleIndexError` (an `OSError`) |
//! | `Locked` | `omendb.IndexLockedError` (an `OSError`) |
//! | `ReadOnly` | `omendb.ReadOnlyError` (an `OSError`) |
//!
//! The message is always the engine's own (`Display`).

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;

pyo3::create_exception!(
    omendb,
    StorageError,
    PyOSError,
    "An I/O failure in an index directory that carries no OS error number."
);
pyo3::create_exception!(
    omendb,
    CorruptIndexError,
    PyOSError,
    "A file of an index directory does not hold what it should (bad checksum, truncated, malformed)."
);
pyo3::create_exception!(
    omendb,
    IncompatibleIndexError,
    PyOSError,
    "An index file of a format version or kind this build cannot read."
);
pyo3::create_exception!(
    omendb,
    IndexLockedError,
    PyOSError,
    "The index directory is already open for writing (its lock is held)."
);
pyo3::create_exception!(
    omendb,
    ReadOnlyError,
    PyOSError,
    "A write was attempted on an index opened read-only."
);

/// Converts an engine error into the Python exception documented above.
pub fn to_py(err: omendb::Error) -> PyErr {
    use omendb::Error as E;
    let msg = err.to_string();
    match err {
        E::DimensionMismatch { .. }
        | E::BatchShape { .. }
        | E::NonFinite { .. }
        | E::TooLarge { .. }
        | E::DuplicateId(_)
        | E::DuplicateInBatch(_)
        | E::UnknownId(_)
        | E::ZeroK
        | E::KTooLarge { .. }
        | E::EmptyBatch(_)
        | E::EmptyIndex
        | E::InvalidParameter { .. }
        | E::UnknownMetric(_) => PyValueError::new_err(msg),
        E::Io { path, source } => match source.raw_os_error() {
            Some(errno) => PyOSError::new_err((errno, msg, path.display().to_string())),
            None => StorageError::new_err(msg),
        },
        E::Corrupt { .. } => CorruptIndexError::new_err(msg),
        E::Incompatible { .. } => IncompatibleIndexError::new_err(msg),
        E::Locked(_) => IndexLockedError::new_err(msg),
        E::ReadOnly => ReadOnlyError::new_err(msg),
        E::WritesRefused(_) => StorageError::new_err(msg),
    }
}

/// `ValueError` for input the binding itself refuses before the engine.
pub fn value_error(msg: impl Into<String>) -> PyErr {
    PyValueError::new_err(msg.into())
}

/// Registers the exception classes on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("StorageError", py.get_type::<StorageError>())?;
    m.add("CorruptIndexError", py.get_type::<CorruptIndexError>())?;
    m.add(
        "IncompatibleIndexError",
        py.get_type::<IncompatibleIndexError>(),
    )?;
    m.add("IndexLockedError", py.get_type::<IndexLockedError>())?;
    m.add("ReadOnlyError", py.get_type::<ReadOnlyError>())?;
    Ok(())
}
