#!/usr/bin/env python3
"""Checks that an HDF5 file written by `omenbench datasets make` reads in h5py
exactly as ann-benchmarks expects, and that its ground truth is exact.

    python3 -m venv /tmp/h5venv && /tmp/h5venv/bin/pip install h5py numpy
    /tmp/h5venv/bin/python ci/check_h5py.py "$(omenbench datasets make clustered-128-euclidean --n 10k)"

Recomputes the neighbours of every test vector with numpy (float64) and
compares them with the file's `neighbors` and `distances`: ids must match
exactly except where two train vectors are at the same distance (ties), and
distances must agree to 1e-4 relative. Exits non-zero on any mismatch.
"""
import sys

import h5py
import numpy as np


def main(path: str) -> int:
    with h5py.File(path, "r") as f:
        metric = f.attrs["distance"]
        assert isinstance(metric, str), f"attribute distance is {type(metric)}, not str"
        train, test = f["train"][:], f["test"][:]
        nb, dist = f["neighbors"][:], f["distances"][:]
    print(f"{path}: distance={metric} train={train.shape} {train.dtype} test={test.shape} "
          f"neighbors={nb.shape} {nb.dtype} distances={dist.shape} {dist.dtype}")
    assert train.dtype == np.float32 and test.dtype == np.float32 and dist.dtype == np.float32
    assert nb.dtype == np.int32 and nb.shape == dist.shape and nb.shape[0] == test.shape[0]
    k = nb.shape[1]
    tr, te = train.astype(np.float64), test.astype(np.float64)
    if metric == "angular":
        tr /= np.maximum(np.linalg.norm(tr, axis=1, keepdims=True), 1e-30)
        te /= np.maximum(np.linalg.norm(te, axis=1, keepdims=True), 1e-30)
    bad_ids = bad_dist = 0
    for start in range(0, len(te), 256):
        q = te[start:start + 256]
        if metric == "euclidean":
            d = np.sqrt(np.maximum(
                (q * q).sum(1)[:, None] - 2 * q @ tr.T + (tr * tr).sum(1)[None, :], 0))
        elif metric == "angular":
            d = 1 - q @ tr.T
        else:
            d = -(q @ tr.T)
        order = np.argsort(d, axis=1, kind="stable")[:, :k]
        want = np.take_along_axis(d, order, axis=1)
        got = dist[start:start + len(q)]
        bad_dist += int((np.abs(want - got) > 1e-4 * np.maximum(np.abs(want), 1)).any(axis=1).sum())
        for i in range(len(q)):
            ids = nb[start + i]
            if not np.array_equal(ids, order[i]):
                # Accept a different id only at a tied distance.
                if not np.allclose(d[i, ids], want[i], rtol=1e-4, atol=1e-5):
                    bad_ids += 1
    print(f"rows with wrong ids: {bad_ids}, rows with wrong distances: {bad_dist}, "
          f"of {len(te)} (k={k})")
    return 1 if bad_ids or bad_dist else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
