//! Where the graph's full-precision vectors live.

/// Vectors stored contiguously, row `i` at `i·d .. (i+1)·d`.
#[derive(Debug, Clone)]
pub struct VectorStore {
    dims: usize,
    data: Vec<f32>,
}

impl VectorStore {
    /// An empty store of `dims`-dimensional rows.
    pub fn new(dims: usize) -> Self {
        VectorStore {
            dims,
            data: Vec::new(),
        }
    }

    /// Reserves room for `rows` more rows.
    pub fn reserve(&mut self, rows: usize) {
        self.data.reserve(rows * self.dims);
    }

    /// Appends one row.
    pub fn push(&mut self, v: &[f32]) {
        debug_assert_eq!(v.len(), self.dims);
        self.data.extend_from_slice(v);
    }

    /// Row `i`.
    #[inline(always)]
    pub fn get(&self, i: usize) -> &[f32] {
        &self.data[i * self.dims..(i + 1) * self.dims]
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.data.capacity() * 4
    }
}
