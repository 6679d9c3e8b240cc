//! Asymmetric distance computation (ADC): a query against PQ codes.
//!
//! [`AdcTable`] is built once per query: row `j` holds the query's partial
//! distance to each of the 256 centroids of sub-space `j`. Scoring a code is
//! then `m` table look-ups and adds, with no access to the codebooks or the
//! original vectors; a graph search can build one table per query and call
//! [`AdcTable::distance`] on each visited node's code.

use super::quantizer::KS;
use crate::distance::Kernels;
use crate::error::{Error, Result};
use crate::metric::Metric;

/// A per-query lookup table (`m × 256` f32) that scores PQ codes in the
/// convention of [`Metric::distance`]: the distance between the prepared
/// query and the decoded vector, i.e. squared L2, `1 − q·x̂` for cosine
/// (normalised query) or `−q·x̂` for inner product.
#[derive(Debug, Clone)]
pub struct AdcTable {
    /// One row of 256 partial distances per sub-space. Rows are fixed-size
    /// arrays, so indexing one with a `u8` needs no bounds check.
    rows: Vec<[f32; KS]>,
    /// Constant added to every distance (1 for cosine, 0 otherwise).
    bias: f32,
}

impl AdcTable {
    /// The table for the prepared, zero-padded query `q` against the
    /// codebooks in transposed layout (`m` blocks of `sub_dims × KS`).
    pub(crate) fn build(
        q: &[f32],
        transposed: &[f32],
        sub_dims: usize,
        metric: Metric,
        kernels: &Kernels,
    ) -> Self {
        let rows = q
            .chunks_exact(sub_dims)
            .zip(transposed.chunks_exact(KS * sub_dims))
            .map(|(qj, book)| {
                let mut row = [0.0f32; KS];
                match metric {
                    Metric::L2 => kernels.l2_sq_to_all(qj, book, &mut row),
                    Metric::Cosine | Metric::InnerProduct => {
                        kernels.dot_to_all(qj, book, &mut row);
                        row.iter_mut().for_each(|x| *x = -*x);
                    }
                }
                row
            })
            .collect();
        let bias = match metric {
            Metric::Cosine => 1.0,
            Metric::L2 | Metric::InnerProduct => 0.0,
        };
        AdcTable { rows, bias }
    }

    /// Number of sub-spaces, i.e. the code length this table scores.
    pub fn m(&self) -> usize {
        self.rows.len()
    }

    /// Bytes the table holds.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.rows.capacity() * KS * 4
    }

    /// The distance from the query to the vector `code` encodes.
    ///
    /// `code` must be [`m`](Self::m) bytes, as produced by the quantizer that
    /// built this table; that is the caller's invariant (checked by a debug
    /// assertion). A release build never panics on a wrong length: it scores
    /// only the sub-spaces both have.
    #[inline]
    pub fn distance(&self, code: &[u8]) -> f32 {
        debug_assert_eq!(code.len(), self.rows.len(), "code length != m");
        // Four independent sums hide the latency of the dependent adds.
        let mut acc = [0.0f32; 4];
        let mut codes = code.chunks_exact(4);
        let mut rows = self.rows.chunks_exact(4);
        for (c, r) in codes.by_ref().zip(rows.by_ref()) {
            acc[0] += r[0][c[0] as usize];
            acc[1] += r[1][c[1] as usize];
            acc[2] += r[2][c[2] as usize];
            acc[3] += r[3][c[3] as usize];
        }
        for (&c, r) in codes.remainder().iter().zip(rows.remainder()) {
            acc[0] += r[c as usize];
        }
        self.bias + ((acc[0] + acc[1]) + (acc[2] + acc[3]))
    }

    /// Scores a contiguous array of codes (`out.len()` codes of `m` bytes,
    /// row-major) into `out`. Errors when the lengths disagree.
    pub fn distances(&self, codes: &[u8], out: &mut [f32]) -> Result<()> {
        let m = self.rows.len();
        if codes.len() != out.len() * m {
            return Err(Error::invalid(
                "codes",
                format!(
                    "{} bytes do not hold {} codes of {m} bytes",
                    codes.len(),
                    out.len()
                ),
            ));
        }
        for (o, code) in out.iter_mut().zip(codes.chunks_exact(m)) {
            *o = self.distance(code);
        }
        Ok(())
    }
}
