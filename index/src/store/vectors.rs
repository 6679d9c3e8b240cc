//! Where the graph's full-precision vectors live: in RAM, or in a
//! memory-mapped file ([`MmapVectors`]). The graph code sees only
//! [`VectorStore::get`]; both backends hand out plain `&[f32]` rows.

use super::mmap_vectors::MmapVectors;

/// Vectors stored contiguously, row `i` at `i·d .. (i+1)·d`.
#[derive(Debug)]
pub enum VectorStore {
    /// Rows in a `Vec<f32>`.
    Ram {
        /// Row length.
        dims: usize,
        /// Row-major data.
        data: Vec<f32>,
    },
    /// Rows in a memory-mapped file.
    Mapped(MmapVectors),
}

impl VectorStore {
    /// An empty in-RAM store of `dims`-dimensional rows.
    pub fn new(dims: usize) -> Self {
        VectorStore::Ram {
            dims,
            data: Vec::new(),
        }
    }

    /// Reserves room for `rows` more rows, reporting a file that cannot grow.
    pub fn try_reserve(&mut self, rows: usize) -> crate::Result<()> {
        match self {
            VectorStore::Ram { dims, data } => {
                data.reserve(rows * *dims);
                Ok(())
            }
            VectorStore::Mapped(m) => m.reserve(rows),
        }
    }

    /// Whether `rows` more rows fit without growing (a mapped file); in RAM
    /// growing cannot fail, so there is always room.
    pub fn has_room(&self, rows: usize) -> bool {
        match self {
            VectorStore::Ram { .. } => true,
            VectorStore::Mapped(m) => m.len() + rows <= m.capacity(),
        }
    }

    /// Appends one row; a mapped file that cannot grow is an error.
    pub fn push(&mut self, v: &[f32]) -> crate::Result<()> {
        match self {
            VectorStore::Ram { dims, data } => {
                debug_assert_eq!(v.len(), *dims);
                data.extend_from_slice(v);
                Ok(())
            }
            VectorStore::Mapped(m) => m.push(v),
        }
    }

    /// Row `i`.
    #[inline(always)]
    pub fn get(&self, i: usize) -> &[f32] {
        match self {
            VectorStore::Ram { dims, data } => &data[i * *dims..(i + 1) * *dims],
            VectorStore::Mapped(m) => m.get(i),
        }
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        match self {
            VectorStore::Ram { dims, data } => data.len() / *dims,
            VectorStore::Mapped(m) => m.len(),
        }
    }

    /// Bytes held in RAM (a mapped store's rows are on disk: see
    /// [`disk_bytes`](Self::disk_bytes)).
    pub fn bytes(&self) -> usize {
        match self {
            VectorStore::Ram { data, .. } => data.capacity() * 4,
            VectorStore::Mapped(_) => 0,
        }
    }

    /// Bytes of the backing file (0 in RAM).
    pub fn disk_bytes(&self) -> usize {
        match self {
            VectorStore::Ram { .. } => 0,
            VectorStore::Mapped(m) => m.disk_bytes().0 as usize,
        }
    }

    /// The mapped backend, if that is where the rows live.
    pub fn mapped(&self) -> Option<&MmapVectors> {
        match self {
            VectorStore::Mapped(m) => Some(m),
            VectorStore::Ram { .. } => None,
        }
    }

    /// The mapped backend, mutably.
    pub fn mapped_mut(&mut self) -> Option<&mut MmapVectors> {
        match self {
            VectorStore::Mapped(m) => Some(m),
            VectorStore::Ram { .. } => None,
        }
    }
}
