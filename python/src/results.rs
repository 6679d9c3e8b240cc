//! Search results as NumPy arrays, handed over without a copy.

use ndarray::{Array1, Array2};
use numpy::{PyArray1, PyArray2};
use omendb::Neighbor;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors::value_error;

/// Id reported where fewer than `k` neighbours were found.
pub const NO_ID: i64 = -1;

/// Flattens per-query neighbour lists into `k` ids and distances per row,
/// padding short lists with `NO_ID` and `inf`.
pub fn flatten(lists: &[Vec<Neighbor>], k: usize) -> (Vec<i64>, Vec<f32>) {
    let mut ids = Vec::with_capacity(lists.len() * k);
    let mut dists = Vec::with_capacity(lists.len() * k);
    for list in lists {
        for n in list.iter().take(k) {
            // Ids were checked to be at most i64::MAX when added.
            ids.push(i64::try_from(n.id).unwrap_or(NO_ID));
            dists.push(n.distance);
        }
        for _ in list.len().min(k)..k {
            ids.push(NO_ID);
            dists.push(f32::INFINITY);
        }
    }
    (ids, dists)
}

/// The tuple `(ids int64[rows, k], distances float32[rows, k])`.
pub fn matrix<'py>(
    py: Python<'py>,
    rows: usize,
    k: usize,
    ids: Vec<i64>,
    dists: Vec<f32>,
) -> PyResult<Bound<'py, PyTuple>> {
    let shape_err = |e: ndarray::ShapeError| value_error(format!("result shape: {e}"));
    let ids = Array2::from_shape_vec((rows, k), ids).map_err(shape_err)?;
    let dists = Array2::from_shape_vec((rows, k), dists).map_err(shape_err)?;
    PyTuple::new(
        py,
        [
            PyArray2::from_owned_array(py, ids).into_any(),
            PyArray2::from_owned_array(py, dists).into_any(),
        ],
    )
}

/// The tuple `(ids int64[k], distances float32[k])` for a single query.
pub fn vector<'py>(
    py: Python<'py>,
    ids: Vec<i64>,
    dists: Vec<f32>,
) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(
        py,
        [
            PyArray1::from_owned_array(py, Array1::from(ids)).into_any(),
            PyArray1::from_owned_array(py, Array1::from(dists)).into_any(),
        ],
    )
}
