"""omenbench scenario worker: filtered search and streaming runbooks for the
Python engines (hnswlib, faiss HNSW).

Run as ``python scenario.py request.json``; writes ``reply.json`` and the
ids it found (raw little-endian int32, n_queries x k, -1 for none) into the
request's ``out`` folder. The protocol is documented in
harness/src/sweep/scenario/worker.rs; the harness computes recall.

- filtered: one build, then for every query set and label ``repeats``
  passes of one batch call on one thread (the library's native speed).
  hnswlib filters with a Python callable (``knn_query(filter=...)``, as its
  README shows); faiss with ``SearchParametersHNSW(sel=IDSelectorBitmap)``.
- streaming (hnswlib): the expanded runbook; inserts with ``add_items`` on
  ``threads`` threads, deletes with ``mark_deleted``, searches one query per
  call (latency per call, the binding's overhead included); an
  ``insert_while_searching`` step inserts on one thread (``num_threads=1``)
  while this one searches (hnswlib releases the GIL inside both calls).
"""

import json
import os
import sys
import threading
import time

import numpy as np

# This folder holds hnswlib.py (the sweep's worker): it must not shadow the
# hnswlib package.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]

SPACES = {"euclidean": "l2", "angular": "cosine", "ip": "ip"}


def load(req):
    n, d, nq = req["n"], req["dims"], req["nq"]
    train = np.fromfile(req["train"], dtype="<f4").reshape(n, d)
    test = np.fromfile(req["test"], dtype="<f4").reshape(nq, d)
    return train, test


def write_ids(req, name, ids):
    k = req["k"]
    out = np.full((len(ids), k), -1, dtype="<i4")
    for i, row in enumerate(ids):
        row = [int(x) for x in row if x >= 0][:k]
        out[i, : len(row)] = row
    out.tofile(os.path.join(req["out"], name))
    return name


class Hnswlib:
    def __init__(self, req, capacity):
        import hnswlib
        from importlib.metadata import version

        self.library = f"hnswlib {version('hnswlib')}"
        p = req["build_params"]
        self.index = hnswlib.Index(space=SPACES[req["metric"]], dim=req["dims"])
        self.index.init_index(max_elements=capacity, M=p["m"], ef_construction=p["ef_construction"], random_seed=100)
        self.threads = req["threads"]
        self.short = 0

    def insert(self, rows, ids, threads=None):
        self.index.add_items(rows, ids, num_threads=threads or self.threads)

    def delete(self, i):
        self.index.mark_deleted(int(i))

    def set_ef(self, ef):
        self.index.set_ef(ef)

    def filtered_batch(self, test, k, allowed, bitmap):
        def allow(i):
            return bitmap[i]

        try:
            labels, _ = self.index.knn_query(test, k=k, num_threads=1, filter=allow)
            return labels, None
        except RuntimeError:
            # Fewer than k found for some query: hnswlib refuses the 2-D
            # array, so ask one query at a time, with k cut where needed.
            rows = []
            for q in test:
                kk = min(k, len(allowed))
                while kk > 0:
                    try:
                        l, _ = self.index.knn_query(q, k=kk, num_threads=1, filter=allow)
                        rows.append(list(l[0]))
                        break
                    except RuntimeError:
                        kk -= 1
                else:
                    rows.append([])
            return rows, "hnswlib returned fewer than k for some queries: this pass was one call per query"

    def one(self, q, k):
        """Ids of one query; fewer than k (counted in ``short``) when hnswlib
        cannot find k, which it reports as an error."""
        kk = k
        while kk > 0:
            try:
                labels, _ = self.index.knn_query(q, k=kk, num_threads=1)
                if kk < k:
                    self.short += 1
                return labels[0]
            except RuntimeError:
                kk -= 1
        self.short += 1
        return []


class FaissHnsw:
    def __init__(self, req, capacity):
        import faiss

        self.faiss = faiss
        self.library = f"faiss-cpu {faiss.__version__}"
        metric = req["metric"]
        self.normalize = metric == "angular"
        kind = faiss.METRIC_L2 if metric in ("euclidean", "angular") else faiss.METRIC_INNER_PRODUCT
        p = req["build_params"]
        self.index = faiss.IndexHNSWFlat(req["dims"], p["m"], kind)
        self.index.hnsw.efConstruction = p["ef_construction"]
        self.threads = req["threads"]
        self.ef = 64

    def prep(self, x):
        if self.normalize:
            x = x.copy()
            self.faiss.normalize_L2(x)
        return x

    def insert(self, rows, ids, threads=None):
        self.faiss.omp_set_num_threads(threads or self.threads)
        self.index.add(self.prep(rows))

    def set_ef(self, ef):
        self.ef = ef

    def filtered_batch(self, test, k, allowed, bitmap):
        self.faiss.omp_set_num_threads(1)
        sel = self.faiss.IDSelectorBitmap(np.packbits(bitmap, bitorder="little"))
        params = self.faiss.SearchParametersHNSW(sel=sel, efSearch=self.ef)
        _, labels = self.index.search(self.prep(test), k, params=params)
        return labels, None


ENGINES = {"hnswlib": Hnswlib, "faiss-hnsw": FaissHnsw}


def filtered(req):
    train, test = load(req)
    n, k = req["n"], req["k"]
    engine = ENGINES[req["engine"]](req, n)
    t0 = time.perf_counter()
    engine.insert(train, np.arange(n))
    build_seconds = time.perf_counter() - t0
    labels = []
    for path in req["labels"]:
        allowed = np.fromfile(path, dtype="<u4").astype(np.int64)
        bitmap = np.zeros(n, dtype=bool)
        bitmap[allowed] = True
        labels.append((allowed, bitmap))
    passes = []
    for qi, qp in enumerate(req["query_sets"]):
        engine.set_ef(qp["ef"])
        row = []
        for li, (allowed, bitmap) in enumerate(labels):
            try:
                seconds, ids, notes = [], None, []
                for _ in range(max(1, req["repeats"])):
                    t = time.perf_counter()
                    found, note = engine.filtered_batch(test, k, allowed, bitmap)
                    seconds.append(time.perf_counter() - t)
                    if note and note not in notes:
                        notes.append(note)
                    if ids is None:
                        ids = found
                name = write_ids(req, f"ids-{qi}-{li}.i32", ids)
                row.append({"seconds": seconds, "ids_file": name, "notes": notes})
            except Exception as e:  # recorded for this pass; the others go on
                row.append({"error": f"{type(e).__name__}: {e}"})
        passes.append(row)
    return {"library": engine.library, "build_seconds": build_seconds, "passes": passes}


def streaming(req):
    if req["engine"] != "hnswlib":
        raise ValueError(f"{req['engine']} cannot delete: no streaming runbook")
    train, test = load(req)
    k, batch = req["k"], req["batch"]
    engine = Hnswlib(req, req["capacity"])
    engine.set_ef(req["ef"])

    def insert(start, end, threads=None):
        t = time.perf_counter()
        for s in range(start, end, batch):
            e = min(s + batch, end)
            engine.insert(train[s:e], np.arange(s, e), threads)
        return time.perf_counter() - t

    steps = []
    for i, op in enumerate(req["ops"]):
        kind = op["op"]
        if kind == "insert":
            steps.append({"seconds": insert(op["start"], op["end"])})
        elif kind == "delete":
            t = time.perf_counter()
            for x in op["ids"]:
                engine.delete(x)
            steps.append({"seconds": time.perf_counter() - t})
        elif kind == "search":
            lat, ids = [], []
            t = time.perf_counter()
            for q in test:
                tq = time.perf_counter()
                ids.append(engine.one(q, k))
                lat.append((time.perf_counter() - tq) * 1e3)
            seconds = time.perf_counter() - t
            steps.append({"seconds": seconds, "latency_ms": lat, "ids_file": write_ids(req, f"step-{i}.i32", ids)})
        elif kind == "insert_while_searching":
            done = threading.Event()
            box = {}

            def writer():
                try:
                    box["seconds"] = insert(op["start"], op["end"], 1)
                except Exception as e:
                    box["error"] = e
                finally:
                    done.set()

            th = threading.Thread(target=writer)
            th.start()
            lat, qi = [], 0
            while not lat or not done.is_set():
                tq = time.perf_counter()
                engine.one(test[qi % len(test)], k)
                lat.append((time.perf_counter() - tq) * 1e3)
                qi += 1
            th.join()
            if "error" in box:
                raise box["error"]
            steps.append({"seconds": box["seconds"], "latency_ms": lat})
        else:
            raise ValueError(f"unknown op {kind!r}")
    notes = []
    if engine.short:
        notes.append(
            f"hnswlib found fewer than k neighbours for {engine.short} searches "
            "(knn_query raised; retried with a smaller k)"
        )
    return {"library": engine.library, "steps": steps, "notes": notes}


def main():
    with open(sys.argv[1]) as f:
        req = json.load(f)
    if req["engine"] not in ENGINES:
        raise ValueError(f"engine {req['engine']!r} is not one of {sorted(ENGINES)}")
    reply = filtered(req) if req["mode"] == "filtered" else streaming(req)
    with open(os.path.join(req["out"], "reply.json"), "w") as f:
        json.dump(reply, f)


if __name__ == "__main__":
    main()
