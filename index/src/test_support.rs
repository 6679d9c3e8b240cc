//! **Not part of the API.** Internals that the corruption and format tests
//! (`index/tests/`) need to forge and parse files byte by byte. Hidden from
//! the docs; anything here may change without notice.

pub use crate::engine::WriteOp;
pub use crate::storage::manifest::Manifest;
pub use crate::store::format::{read_sections, FileHeader, FileKind, Section};

/// The write-ahead log's record codec.
pub mod wal {
    pub use crate::storage::wal::{decode, encode, scan, LogScan, LoggedOp};
}
