//! The index kinds the binding can hold, behind one enum: every kind is
//! searched through the engine's `Index` trait; removal, update and the
//! disk operations are dispatched here.

use std::path::Path;

use omendb::{DiskIndex, FlatIndex, HnswIndex, HnswPqIndex, Index, Result};

/// One engine index of any kind.
pub enum Engine {
    /// Exact search.
    Flat(FlatIndex),
    /// HNSW in RAM.
    Hnsw(HnswIndex),
    /// HNSW over PQ codes in RAM.
    HnswPq(HnswPqIndex),
    /// HNSW (plain or PQ-navigated) in a directory (boxed: much the
    /// largest variant).
    Disk(Box<DiskIndex>),
}

impl Engine {
    /// The engine as the common trait.
    pub fn index(&self) -> &dyn Index {
        match self {
            Engine::Flat(i) => i,
            Engine::Hnsw(i) => i,
            Engine::HnswPq(i) => i,
            Engine::Disk(i) => i.as_ref(),
        }
    }

    /// The kind's name as `omendb.Index(kind=…)` spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Engine::Flat(_) => "flat",
            Engine::Hnsw(_) => "hnsw",
            Engine::HnswPq(_) => "hnsw-pq",
            Engine::Disk(d) if d.pq().is_some() => "hnsw-pq",
            Engine::Disk(_) => "hnsw",
        }
    }

    /// The directory of a disk index.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Engine::Disk(d) => Some(d.path()),
            _ => None,
        }
    }

    /// Whether the index refuses writes.
    pub fn is_read_only(&self) -> bool {
        matches!(self, Engine::Disk(d) if d.is_read_only())
    }

    /// Whether `id` is live, where the kind can tell.
    pub fn contains(&self, id: u64) -> Option<bool> {
        match self {
            Engine::Flat(i) => Some(i.contains(id)),
            Engine::Hnsw(i) => Some(i.contains(id)),
            Engine::HnswPq(i) => Some(i.hnsw().contains(id)),
            Engine::Disk(i) => Some(i.contains(id)),
        }
    }

    /// Marks `id` deleted (every kind can; `Option` for kinds to come
    /// that cannot).
    pub fn remove(&self, id: u64) -> Option<Result<()>> {
        Some(self.index().remove(id))
    }

    /// Replaces (or adds) the vector of `id`.
    pub fn update(&self, id: u64, vector: &[f32]) -> Option<Result<()>> {
        Some(self.index().update(id, vector))
    }
}
