//! NumPy input: vectors read in place when they can be, ids checked.
//!
//! A C-contiguous, aligned `float32` array (1-D or 2-D) is read where it
//! lies: the engine gets a slice of the array's own buffer. Anything else
//! (`float64`, Fortran order, strided views, lists) goes through
//! `numpy.require(x, float32, "CA")` once, which makes one contiguous
//! `float32` copy, and that copy is read in place.

use numpy::{PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;

use crate::errors::{to_py, value_error};

/// Rows of `dims` floats borrowed from a NumPy array.
pub struct Rows<'py> {
    array: PyReadonlyArrayDyn<'py, f32>,
    /// Number of rows.
    pub rows: usize,
    /// Whether the input was a single 1-D vector.
    pub single: bool,
}

impl Rows<'_> {
    /// The rows, row-major, in the array's own buffer.
    pub fn as_slice(&self) -> PyResult<&[f32]> {
        self.array
            .as_slice()
            .map_err(|e| value_error(format!("array is not contiguous: {e}")))
    }
}

fn readable(array: &Bound<'_, PyArrayDyn<f32>>) -> bool {
    array.is_c_contiguous() && (array.data() as usize).is_multiple_of(std::mem::align_of::<f32>())
}

/// Borrows `obj` as rows of `dims` floats; `what` names it in errors.
pub fn rows<'py>(obj: &Bound<'py, PyAny>, dims: usize, what: &str) -> PyResult<Rows<'py>> {
    let array = match obj.cast::<PyArrayDyn<f32>>() {
        Ok(a) if readable(a) => a.clone(),
        _ => {
            let np = obj.py().import("numpy")?;
            let float32 = np.getattr("float32")?;
            let a = np.call_method1("require", (obj, float32, "CA"))?;
            let a = a.cast_into::<PyArrayDyn<f32>>().map_err(|_| {
                value_error(format!("{what}: could not convert to a float32 array"))
            })?;
            a
        }
    };
    let (rows, cols, single) = match array.shape() {
        [d] => (1, *d, true),
        [n, d] => (*n, *d, false),
        shape => {
            return Err(value_error(format!(
                "{what} must be a 1-D vector or a 2-D array of rows, got shape {shape:?}"
            )))
        }
    };
    if cols != dims {
        return Err(to_py(omendb::Error::DimensionMismatch {
            expected: dims,
            got: cols,
        }));
    }
    let array = array
        .try_readonly()
        .map_err(|e| value_error(format!("{what}: {e}")))?;
    Ok(Rows {
        array,
        rows,
        single,
    })
}

/// Largest id accepted: ids come back from `search` as `int64`.
pub const MAX_ID: u64 = i64::MAX as u64;

/// Reads `n` ids from `obj` (an integer, or a sequence / array of integers),
/// refusing negatives and non-integers.
pub fn ids(obj: &Bound<'_, PyAny>, n: usize) -> PyResult<Vec<u64>> {
    id_list(obj, Some(n))
}

/// Ids of any number (`n: None`) or exactly `n`, checked as [`ids`] does.
pub fn id_list(obj: &Bound<'_, PyAny>, n: Option<usize>) -> PyResult<Vec<u64>> {
    let np = obj.py().import("numpy")?;
    let a = np.call_method1("asarray", (obj,))?;
    let size: usize = a.getattr("size")?.extract()?;
    let kind: String = a.getattr("dtype")?.getattr("kind")?.extract()?;
    if size > 0 && kind != "i" && kind != "u" {
        let dtype = a.getattr("dtype")?.str()?.to_string();
        return Err(value_error(format!(
            "ids must be integers, got dtype {dtype}"
        )));
    }
    let ndim: usize = a.getattr("ndim")?.extract()?;
    if ndim > 1 {
        return Err(value_error(format!(
            "ids must be an integer or a 1-D sequence, got {ndim} dimensions"
        )));
    }
    if let Some(n) = n.filter(|&n| n != size) {
        return Err(value_error(format!("got {size} ids for {n} vectors")));
    }
    if kind == "u" {
        // Values above i64::MAX would wrap negative in the cast below.
        let too_big = a.call_method1("__gt__", (MAX_ID,))?.call_method0("any")?;
        if too_big.is_truthy()? {
            return Err(value_error(format!("ids must be at most {MAX_ID}")));
        }
    }
    let a = a
        .call_method1("astype", (np.getattr("int64")?,))?
        .call_method1("reshape", (-1,))?;
    let a = a
        .cast_into::<numpy::PyArray1<i64>>()
        .map_err(|_| value_error("ids: could not convert to int64"))?;
    let a = a
        .try_readonly()
        .map_err(|e| value_error(format!("ids: {e}")))?;
    a.as_array()
        .iter()
        .map(|&id| {
            u64::try_from(id)
                .map_err(|_| value_error(format!("ids must be non-negative, got {id}")))
        })
        .collect()
}
