"""omenbench_worker: the Python half of an omenbench worker.

A worker is a script the harness starts and speaks to in JSON lines (the
protocol is documented in harness/src/sweep/adapters/python.rs). This module
holds everything but the engine: the request loop, loading the dataset file,
and the three timed query passes. The harness puts this folder on PYTHONPATH
for every worker it starts, so any script can ``import omenbench_worker``.

A worker script defines a class with

    library()                          -> "name version" (recorded in results)
    build(train, metric, params, threads)
    set_query_params(params)
    batch(queries, k, threads)         -> ids, shape (n_queries, k); -1 = none
    one(query, k)                      -> ids of one query, shape (k,)
    info()                             -> optional: any JSON value, recorded
                                          with each query set's result
    configure(request)                 -> optional: called with the whole build
                                          request (n, dims, k, metric, ...)
                                          before build
    close()                            -> optional: called when the worker quits

and ends with ``omenbench_worker.serve(TheClass)``. ``train`` and ``queries``
are float32 NumPy arrays (row number = id); ``metric`` is an ann-benchmarks
name (``euclidean``, ``angular``) or ``ip``; ``params`` are the config's
build / query parameters for this run exactly as written there (a dict; any
JSON values), and are echoed back so results record what the worker got.
Import the engine's package inside the class (``__init__`` or ``build``), so
that a missing package becomes that run's error, not a crashed worker.

Minimal example (exact search with NumPy)::

    import numpy as np
    import omenbench_worker

    class Exact:
        def library(self):
            return f"numpy {np.__version__}"
        def build(self, train, metric, params, threads):
            self.x = train
        def set_query_params(self, params):
            pass
        def batch(self, queries, k, threads):
            d = ((queries[:, None, :] - self.x[None, :, :]) ** 2).sum(-1)
            return np.argsort(d, axis=1)[:, :k]
        def one(self, query, k):
            return self.batch(query[None, :], k, 1)[0]

    if __name__ == "__main__":
        omenbench_worker.serve(Exact)
"""

import json
import os
import sys
import time
import traceback


def _status_bytes(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _status():
    """VmRSS, VmHWM and RssAnon of this process, bytes (None where absent),
    under the names the harness reads (``vm_rss``, ``vm_hwm``, ``rss_anon``)."""
    return {
        "vm_rss": _status_bytes("VmRSS"),
        "vm_hwm": _status_bytes("VmHWM"),
        "rss_anon": _status_bytes("RssAnon"),
    }


def _reset_peak():
    """Resets the kernel's peak-RSS mark (VmHWM) to the current RSS."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _protocol_stream():
    # Keep the protocol on the original stdout; anything the libraries print
    # to fd 1 goes to stderr instead.
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return out


def load(request):
    """Train and test rows as float32 arrays from the request's HDF5 file."""
    import h5py
    import numpy as np

    with h5py.File(request["dataset"], "r") as f:
        train = np.ascontiguousarray(f["train"][:], dtype=np.float32)
        test = np.ascontiguousarray(f["test"][:], dtype=np.float32)
    if train.shape != (request["n"], request["dims"]):
        raise ValueError(f"train is {train.shape}, expected ({request['n']}, {request['dims']})")
    if test.shape[0] != request["n_queries"]:
        raise ValueError(f"test has {test.shape[0]} rows, expected {request['n_queries']}")
    return train, test


def _warm_up(lib, test, k, seconds):
    """Untimed one-thread batches of the queries (64 at a time, cycling)
    for `seconds`: the first pass after another engine ran is otherwise
    measured on cold caches and an idle core."""
    end = time.perf_counter() + seconds
    start = 0
    while time.perf_counter() < end:
        lib.batch(test[start : start + 64], k, 1)
        start = start + 64 if start + 64 < len(test) else 0


def _query(lib, test, request):
    import numpy as np

    k = request["k"]
    repeats = max(1, int(request.get("repeats", 1)))
    threads = max(1, int(request.get("threads", 1)))
    lib.set_query_params(request["query_params"])
    reply = {
        "op": "result",
        "batch_single_thread_seconds": [],
        "per_call_seconds": [],
        "batch_all_threads_seconds": [],
        "per_call_latency_ms": [],
    }
    _warm_up(lib, test, k, float(request.get("warmup_seconds", 0.0)))
    first = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        ids = lib.batch(test, k, 1)
        reply["batch_single_thread_seconds"].append(time.perf_counter() - t0)
        if first is None:
            first = np.asarray(ids, dtype=np.int64).reshape(len(test), k)
    for _ in range(repeats):
        lat = []
        t0 = time.perf_counter()
        for q in test:
            t = time.perf_counter()
            lib.one(q, k)
            lat.append((time.perf_counter() - t) * 1e3)
        reply["per_call_seconds"].append(time.perf_counter() - t0)
        reply["per_call_latency_ms"].extend(lat)
    for _ in range(repeats):
        t0 = time.perf_counter()
        lib.batch(test, k, threads)
        reply["batch_all_threads_seconds"].append(time.perf_counter() - t0)
    path = request.get("ids_file")
    if path:
        first.astype("<i4").tofile(path)
    else:
        reply["ids"] = first.tolist()
    reply["params"] = request["query_params"]
    if hasattr(lib, "info"):
        reply["info"] = lib.info()
    return reply


def serve(make):
    """Answers the harness's requests on stdin until it says quit (or closes
    stdin). ``make()`` creates the engine object on the build request."""
    out = _protocol_stream()
    state = {"lib": None}
    try:
        _loop(make, out, state)
    finally:
        lib = state["lib"]
        if lib is not None and hasattr(lib, "close"):
            lib.close()


def _loop(make, out, state):
    test = None
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            op = request.get("op")
            if op == "quit":
                break
            if op == "build":
                try:
                    lib = state["lib"] = make()
                except ImportError as e:
                    raise RuntimeError(
                        f"missing package ({e}): install it for {sys.executable} "
                        "(the built-in workers' packages: scripts/python-env.sh)"
                    ) from e
                if hasattr(lib, "configure"):
                    lib.configure(request)
                train, test = load(request)
                # Memory as every worker measures it (the Rust engines' too):
                # peak mark reset, then /proc/self/status around the build.
                peak_reset = _reset_peak()
                before = _status()
                t0 = time.perf_counter()
                lib.build(train, request["metric"], request["build_params"], request["threads"])
                seconds = time.perf_counter() - t0
                after = _status()
                del train
                growth = None
                if before["rss_anon"] is not None and after["rss_anon"] is not None:
                    growth = after["rss_anon"] - before["rss_anon"]
                reply = {
                    "op": "built",
                    "build_seconds": seconds,
                    "rss_growth_bytes": growth,
                    "library": lib.library(),
                    "params": request["build_params"],
                    "pid": os.getpid(),
                    "memory": {"peak_reset": peak_reset, "before": before, "after": after},
                }
            elif op == "query":
                if state["lib"] is None:
                    raise RuntimeError("query before build")
                reply = _query(state["lib"], test, request)
            else:
                raise ValueError(f"unknown op {op!r}")
        except Exception as e:  # reported to the harness, which records it
            traceback.print_exc(file=sys.stderr)
            reply = {"op": "error", "message": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
