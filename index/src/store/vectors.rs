//! Where the graph's full-precision vectors live: in RAM, or in a
//! memory-mapped file ([`MmapVectors`]). The graph code sees only
//! [`VectorStore::get`]; both backends hand out plain `&[f32]` rows, and
//! both take new rows beside their readers ([`VectorStore::append`]) into
//! room made beforehand ([`VectorStore::try_reserve`]).

use super::append::AppendVec;
use super::mmap_vectors::MmapVectors;

/// Vectors stored contiguously, row `i` at `i·d .. (i+1)·d`.
#[derive(Debug)]
pub enum VectorStore {
    /// Rows in RAM.
    Ram {
        /// Row length.
        dims: usize,
        /// Row-major data.
        data: AppendVec<f32>,
    },
    /// Rows in a memory-mapped file.
    Mapped(MmapVectors),
}

impl VectorStore {
    /// An empty in-RAM store of `dims`-dimensional rows.
    pub fn new(dims: usize) -> Self {
        VectorStore::Ram {
            dims,
            data: AppendVec::default(),
        }
    }

    /// Reserves room for `rows` more rows, reporting a file that cannot grow.
    pub fn try_reserve(&mut self, rows: usize) -> crate::Result<()> {
        match self {
            VectorStore::Ram { dims, data } => {
                data.reserve_total(data.len() + rows * *dims);
                Ok(())
            }
            VectorStore::Mapped(m) => m.reserve(rows),
        }
    }

    /// Whether `rows` more rows fit without growing.
    pub fn has_room(&self, rows: usize) -> bool {
        match self {
            VectorStore::Ram { dims, data } => data.has_room(rows * *dims),
            VectorStore::Mapped(m) => m.len() + rows <= m.capacity(),
        }
    }

    /// Appends one row beside readers, if there is room (see
    /// [`try_reserve`](Self::try_reserve)); returns `false`, appending
    /// nothing, when there is not.
    pub fn append(&self, v: &[f32]) -> bool {
        match self {
            VectorStore::Ram { dims, data } => {
                assert_eq!(v.len(), *dims, "row length");
                data.extend_from_slice(v)
            }
            VectorStore::Mapped(m) => m.append(v),
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

    /// Every published row, row-major (a snapshot: rows appended later
    /// are past its end).
    #[inline(always)]
    pub fn rows(&self) -> &[f32] {
        match self {
            VectorStore::Ram { data, .. } => data.as_slice(),
            VectorStore::Mapped(m) => m.rows(),
        }
    }

    /// Every row, mutably, when they live in RAM (a mapped file's rows
    /// are only ever appended).
    pub fn ram_rows_mut(&mut self) -> Option<&mut [f32]> {
        match self {
            VectorStore::Ram { data, .. } => Some(data.as_mut_slice()),
            VectorStore::Mapped(_) => None,
        }
    }

    /// Row length.
    pub fn dims(&self) -> usize {
        match self {
            VectorStore::Ram { dims, .. } => *dims,
            VectorStore::Mapped(m) => m.dims(),
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
            VectorStore::Ram { data, .. } => data.bytes(),
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
