"""omenbench's `omendb-python` worker (harness/adapters/omendb_python.py)
speaks the harness's JSON-lines protocol over this wheel: build from an
ann-benchmarks HDF5 file, query with timings and ids, quit. (The harness
side of the protocol is tested in harness/tests/sweep_python.rs; a real
`omenbench run` of this worker is in reports/python-bindings-100k.)"""

import json
import time
import pathlib
import subprocess
import sys

import h5py
import numpy as np
import pytest

from conftest import brute_force, clustered, recall

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKER = ROOT / "harness" / "adapters" / "omendb_python.py"


def talk(proc, request):
    proc.stdin.write(json.dumps(request) + "\n")
    proc.stdin.flush()
    while True:
        line = proc.stdout.readline()
        assert line, "worker exited"
        try:
            reply = json.loads(line)
        except json.JSONDecodeError:
            continue  # non-JSON lines are ignored, as the harness does
        if isinstance(reply, dict):
            return reply


def test_worker_builds_and_queries(tmp_path):
    train, test = clustered(2000, 16, seed=51), clustered(50, 16, seed=52)
    path = tmp_path / "tiny.hdf5"
    with h5py.File(path, "w") as f:
        f["train"], f["test"] = train, test
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), "--allow-checked-build"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        built = talk(proc, {
            "op": "build", "dataset": str(path), "name": "tiny", "n": 2000, "n_queries": 50,
            "dims": 16, "metric": "euclidean", "k": 10, "threads": 2,
            "build_params": {"m": 16, "ef_construction": 100, "seed": 42},
        })
        assert built["op"] == "built", built
        assert built["library"].startswith("omendb-python ")
        assert built["build_seconds"] > 0
        result = talk(proc, {
            "op": "query", "query_params": {"ef": 64}, "k": 10, "repeats": 2, "threads": 2, "ids_file": None,
        })
        assert result["op"] == "result", result
        for key in ("batch_single_thread_seconds", "per_call_seconds", "batch_all_threads_seconds"):
            assert len(result[key]) == 2 and all(s > 0 for s in result[key])
        assert len(result["per_call_latency_ms"]) == 2 * 50
        truth, _ = brute_force(train, test, 10)
        assert recall(np.array(result["ids"]), truth) >= 0.95
        # A warm-up runs untimed queries for the time asked before the passes.
        t0 = time.perf_counter()
        warmed = talk(proc, {
            "op": "query", "query_params": {"ef": 64}, "k": 10, "repeats": 1, "threads": 1,
            "ids_file": None, "warmup_seconds": 0.3,
        })
        assert warmed["op"] == "result", warmed
        assert time.perf_counter() - t0 >= 0.3
        assert recall(np.array(warmed["ids"]), truth) >= 0.95
        bad = talk(proc, {"op": "query", "query_params": {"ef": 0}, "k": 10, "repeats": 1, "threads": 1})
        assert bad["op"] == "error" and "ef must be at least 1" in bad["message"]
        proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
        proc.stdin.flush()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_worker_refuses_a_checked_build_for_figures(tmp_path):
    import omendb

    if omendb.BUILD == "release":
        pytest.skip("the installed wheel is a release build (scripts/test.sh installs a checked one)")
    proc = subprocess.run(
        [sys.executable, str(WORKER)],
        input=json.dumps({"op": "build", "dataset": str(tmp_path / "none.hdf5")}) + "\n",
        capture_output=True, text=True, timeout=60,
    )
    reply = json.loads(proc.stdout.strip().splitlines()[-1])
    assert reply["op"] == "error" and "python-wheel.sh --release" in reply["message"]
