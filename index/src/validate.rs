//! Input checks shared by every index kind.

use crate::error::{Error, Result};

/// Largest squared norm a vector may have: then `|a − b|² ≤ 4·max(|a|², |b|²)`
/// and every distance between accepted vectors is finite in f32.
pub const MAX_NORM_SQ: f64 = f32::MAX as f64 / 4.0;

/// Checks one vector's length, that every component is finite, and that
/// its squared norm is at most [`MAX_NORM_SQ`].
pub fn vector(v: &[f32], dims: usize, row: usize) -> Result<()> {
    if v.len() != dims {
        return Err(Error::DimensionMismatch {
            expected: dims,
            got: v.len(),
        });
    }
    if let Some((component, &value)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
        return Err(Error::NonFinite {
            row,
            component,
            value,
        });
    }
    let norm_sq: f64 = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    if norm_sq > MAX_NORM_SQ {
        return Err(Error::TooLarge {
            row,
            norm_sq,
            limit: MAX_NORM_SQ,
        });
    }
    Ok(())
}

/// Checks a row-major batch against its ids; returns the number of rows.
pub fn batch(ids: &[u64], vectors: &[f32], dims: usize) -> Result<usize> {
    if ids.is_empty() {
        return Err(Error::EmptyBatch("no ids"));
    }
    if Some(vectors.len()) != ids.len().checked_mul(dims) {
        if vectors.len().is_multiple_of(ids.len()) {
            // Every row has the same, wrong, length.
            return Err(Error::DimensionMismatch {
                expected: dims,
                got: vectors.len() / ids.len(),
            });
        }
        return Err(Error::BatchShape {
            values: vectors.len(),
            rows: ids.len(),
            dims,
            detail: format!(" (one per id: {} ids)", ids.len()),
        });
    }
    for (row, v) in vectors.chunks_exact(dims).enumerate() {
        vector(v, dims, row)?;
    }
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    for &id in ids {
        if !seen.insert(id) {
            return Err(Error::DuplicateInBatch(id));
        }
    }
    Ok(ids.len())
}

/// Checks a query and `k` against an index of `len` vectors.
pub fn query(q: &[f32], dims: usize, k: usize, len: usize) -> Result<()> {
    if k == 0 {
        return Err(Error::ZeroK);
    }
    if len == 0 {
        return Err(Error::EmptyIndex);
    }
    if k > len {
        return Err(Error::KTooLarge { k, len });
    }
    vector(q, dims, 0)
}

/// Checks the shape of a row-major query batch; returns the number of rows.
pub fn query_batch(queries: &[f32], dims: usize) -> Result<usize> {
    if queries.is_empty() {
        return Err(Error::EmptyBatch("no queries"));
    }
    if !queries.len().is_multiple_of(dims) {
        return Err(Error::BatchShape {
            values: queries.len(),
            rows: queries.len() / dims,
            dims,
            detail: format!(" ({} values left over)", queries.len() % dims),
        });
    }
    Ok(queries.len() / dims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ragged_batches_name_the_real_numbers() {
        // Rows of one wrong length: that length.
        assert!(matches!(
            batch(&[1, 2], &[0.0; 6], 4),
            Err(Error::DimensionMismatch {
                expected: 4,
                got: 3
            })
        ));
        let e = batch(&[1, 2, 3], &[0.0; 10], 4).unwrap_err();
        assert!(
            matches!(
                e,
                Error::BatchShape {
                    values: 10,
                    rows: 3,
                    dims: 4,
                    ..
                }
            ),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains("10 values") && msg.contains("3 rows") && msg.contains("4 dimensions"),
            "{msg}"
        );
        let e = query_batch(&[0.0; 10], 4).unwrap_err();
        assert!(
            matches!(
                e,
                Error::BatchShape {
                    values: 10,
                    rows: 2,
                    dims: 4,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("2 values left over"), "{e}");
    }
}
