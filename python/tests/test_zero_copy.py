"""The add path reads a C-contiguous float32 array in place: the engine is
handed the array's own buffer (pointer check through the debug hook), and
no copy of it is allocated (allocation check with tracemalloc, which sees
NumPy's buffers). Other dtypes and layouts are converted exactly once."""

import tracemalloc

import numpy as np

import omendb
from conftest import clustered


def peak_allocated_during(fn):
    """Peak bytes NumPy / Python allocated while `fn` ran (not the engine's
    own Rust allocations, which tracemalloc does not see)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base


def test_contiguous_float32_is_read_in_place():
    data = clustered(5000, 64, seed=3)
    assert data.flags.c_contiguous and data.dtype == np.float32
    index = omendb.Index(64, kind="flat")
    index.add(data)
    assert index._last_add_address == data.ctypes.data


def test_row_slice_is_read_in_place():
    data = clustered(1000, 32, seed=4)
    rows = data[100:200]  # a contiguous view, offset into the buffer
    index = omendb.Index(32, kind="hnsw")
    index.add(rows)
    assert index._last_add_address == rows.ctypes.data


def test_large_add_allocates_no_copy():
    data = clustered(50_000, 128, seed=5)  # 25.6 MB
    index = omendb.Index(128, kind="flat")
    peak = peak_allocated_during(lambda: index.add(data, np.arange(len(data))))
    # The ids (8 bytes a row) are allocated; a copy of the vectors would
    # add 25.6 MB on top.
    assert peak < data.nbytes / 4, f"add allocated {peak} bytes for a {data.nbytes}-byte array"


def test_float64_is_converted_once():
    data64 = clustered(50_000, 128, seed=6).astype(np.float64)
    index = omendb.Index(128, kind="flat")
    peak = peak_allocated_during(lambda: index.add(data64, np.arange(len(data64))))
    f32_bytes = data64.size * 4
    assert f32_bytes <= peak < 2 * f32_bytes, f"expected one float32 copy, peak {peak}"
    assert index._last_add_address != data64.ctypes.data
    ids, dist = index.search(data64[:3], k=1)
    assert np.array_equal(ids[:, 0], [0, 1, 2]) and np.allclose(dist, 0, atol=1e-4)


def test_fortran_and_strided_inputs_are_converted():
    data = clustered(500, 16, seed=7)
    index = omendb.Index(16, kind="flat")
    fortran = np.asfortranarray(data)
    index.add(fortran)
    assert index._last_add_address != fortran.ctypes.data
    wide = clustered(500, 32, seed=8)
    strided = wide[:, ::2]  # every other column: not contiguous
    index.add(strided, np.arange(500, 1000))
    ids, _ = index.search(np.ascontiguousarray(strided[:5]), k=1)
    assert np.array_equal(ids[:, 0], np.arange(500, 505))
    ids, _ = index.search(data[:5].tolist(), k=1)  # a list of lists
    assert np.array_equal(ids[:, 0], np.arange(5))


def test_search_results_are_fresh_arrays():
    data = clustered(200, 8, seed=9)
    index = omendb.Index(8, kind="flat")
    index.add(data)
    ids, dist = index.search(data[:4], k=3)
    assert ids.flags.c_contiguous and ids.flags.owndata is not None
    ids[:] = -5  # writable, and not shared with the index
    again, _ = index.search(data[:4], k=3)
    assert (again >= 0).all()
