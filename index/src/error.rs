//! The engine's typed error and its `Result` alias.

use std::path::PathBuf;

/// Everything the engine can refuse or fail at. User input never panics: it
/// comes back as one of these.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A vector or query had a different length than the index's dimension.
    #[error("dimension mismatch: index has {expected} dimensions, got {got}")]
    DimensionMismatch {
        /// The index's dimension.
        expected: usize,
        /// The length that was passed.
        got: usize,
    },
    /// A row-major batch whose length is not a whole number of rows of the
    /// index's dimension (or not one row per id).
    #[error("batch of {values} values is not {rows} rows of {dims} dimensions{detail}")]
    BatchShape {
        /// Values (floats) passed.
        values: usize,
        /// Rows expected (one per id), or the whole rows the values hold.
        rows: usize,
        /// The index's dimension.
        dims: usize,
        /// What else is wrong, e.g. the ids the rows should match.
        detail: String,
    },
    /// A vector held NaN or an infinity.
    #[error("non-finite value {value} at component {component} of vector {row}")]
    NonFinite {
        /// Which row of the input (0 for a single vector).
        row: usize,
        /// Which component.
        component: usize,
        /// The offending value.
        value: f32,
    },
    /// The same id appears twice in one batch.
    #[error("duplicate id {0} within the batch")]
    DuplicateInBatch(u64),
    /// A vector so large that distances to it overflow f32.
    #[error("vector {row} is too large: its squared norm {norm_sq:e} exceeds {limit:e}, so distances to it would overflow f32")]
    TooLarge {
        /// Which row of the input (0 for a single vector).
        row: usize,
        /// Its squared norm, computed in f64.
        norm_sq: f64,
        /// The largest squared norm accepted (`f32::MAX / 4`).
        limit: f64,
    },
    /// The id is already in the index.
    #[error("duplicate id {0}: it is already in the index (remove it first to replace it)")]
    DuplicateId(u64),
    /// The id is not in the index.
    #[error("unknown id {0}")]
    UnknownId(u64),
    /// k was 0.
    #[error("k must be at least 1")]
    ZeroK,
    /// k exceeded the number of vectors in the index.
    #[error("k = {k} exceeds the {len} vectors in the index")]
    KTooLarge {
        /// The k asked for.
        k: usize,
        /// Vectors in the index.
        len: usize,
    },
    /// A batch of queries or vectors was empty, or its ids did not match its rows.
    #[error("empty batch: {0}")]
    EmptyBatch(&'static str),
    /// The index has no vectors to search.
    #[error("the index is empty")]
    EmptyIndex,
    /// A parameter was outside its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name as in the docs.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A metric name that is none of `euclidean`, `angular`, `ip`.
    #[error("unknown metric `{0}` (expected euclidean / l2, angular / cosine, or ip / dot)")]
    UnknownMetric(String),
    /// An I/O error, with the path it happened on.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file whose bytes do not hold what they should.
    #[error("corrupt data in {file} at offset {offset}: {reason}")]
    Corrupt {
        /// The file.
        file: PathBuf,
        /// The byte offset where the problem was found.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A file of a format version or kind this build cannot read.
    #[error("incompatible file {file}: {reason}")]
    Incompatible {
        /// The file.
        file: PathBuf,
        /// What differs.
        reason: String,
    },
    /// The index directory is locked by another open instance.
    #[error("index directory {0} is already open (lock file present and held)")]
    Locked(PathBuf),
    /// A write was attempted on a read-only index.
    #[error("the index is open read-only")]
    ReadOnly,
    /// A checkpoint or a log sync failed, so the state on disk may not hold
    /// what a further write would build on: writes are refused (searches go
    /// on) until a checkpoint succeeds.
    #[error("writes refused until a checkpoint succeeds: {0}")]
    WritesRefused(String),
}

/// The engine's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Shorthand for [`Error::InvalidParameter`].
    pub fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name,
            reason: reason.into(),
        }
    }

    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
