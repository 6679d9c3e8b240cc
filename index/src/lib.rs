//! # OmenDB
//!
//! A vector search engine: exact ([`FlatIndex`]) and graph ([`HnswIndex`],
//! [`HnswPqIndex`], [`HnswSq8Index`]) indexes behind one [`Index`] trait, with SIMD distance
//! kernels chosen at run time, and any graph kind persisted in a directory
//! ([`DiskIndex`]). See `ARCHITECTURE.md` at the repository root for the
//! layers and the data flow.
//!
//! Layers, each importing only from those above it in this list:
//! basics (`error`, `metric`, `distance`, `index`, `validate`, `topk`,
//! `id_map`, `rng`, `recall`) → `store` (file format, section registry,
//! vector stores, mapped files, directory, lock) → `pq`, `sq8`, `rabitq`, `hnsw` →
//! `hnsw_pq`, `hnsw_sq8` → `sector` (codes in RAM, graph and vectors in disk sectors) → `engine` (the kinds a directory can hold, behind one trait) →
//! `storage` (the logged, checkpointed directory index).

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod distance;
mod engine;
pub mod error;
pub mod filter;
pub mod flat;
pub mod hnsw;
pub mod hnsw_pq;
pub mod hnsw_sq8;
mod id_map;
pub mod index;
pub mod metric;
pub mod pq;
pub mod rabitq;
pub mod recall;
pub mod rng;
pub mod sector;
pub mod sq8;
pub mod storage;
mod store;
#[doc(hidden)]
pub mod test_support;
mod topk;
mod validate;

pub use distance::Kernels;
pub use engine::DiskKind;
pub use error::{Error, Result};
pub use filter::Filter;
pub use flat::FlatIndex;
pub use hnsw::{HnswIndex, HnswParams};
pub use hnsw_pq::{HnswPqIndex, HnswPqParams};
pub use hnsw_sq8::{HnswSq8Index, HnswSq8Params};
pub use index::{Index, MemoryUsage, Neighbor, SearchParams};
pub use metric::Metric;
pub use pq::{AdcTable, PqParams, ProductQuantizer};
pub use rabitq::{RabitQuantizer, RabitqQuery};
pub use sector::{SectorIndex, SectorOptions};
pub use sq8::{Sq8Params, Sq8Quantizer};
pub use storage::{
    CheckpointStats, DiskIndex, DiskUsage, Durability, LostSyncedTail, OpenOptions, PageCache,
    RecoveryReport, TornTail,
};
