//! # OmenDB
//!
//! A vector search engine: exact ([`FlatIndex`]) and graph ([`HnswIndex`])
//! indexes behind one [`Index`] trait, with SIMD distance kernels chosen at
//! run time. See `ARCHITECTURE.md` at the repository root for the data flow.

pub mod distance;
pub mod error;
pub mod flat;
pub mod hnsw;
pub mod hnsw_pq;
pub mod id_map;
pub mod index;
pub mod metric;
pub mod pq;
pub mod storage;
pub mod topk;
mod validate;

pub use distance::Kernels;
pub use error::{Error, Result};
pub use flat::FlatIndex;
pub use hnsw::{HnswIndex, HnswParams};
pub use hnsw_pq::{HnswPqIndex, HnswPqParams};
pub use index::{Index, MemoryUsage, Neighbor, SearchParams};
pub use metric::Metric;
pub use pq::{AdcTable, PqParams, ProductQuantizer};
pub use storage::{DiskHnswIndex, Durability, OpenOptions, RecoveryReport};
