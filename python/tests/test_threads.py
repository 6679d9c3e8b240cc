"""Searches from several Python threads at once (the GIL is released while
the engine works) give the same answers as one thread, including while
another thread adds."""

import threading

import numpy as np

import omendb
from conftest import clustered


def run_threads(n, target):
    errors = []

    def wrapped(i):
        try:
            target(i)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_concurrent_searches_match_single_thread():
    data, queries = clustered(5000, 32, seed=31), clustered(400, 32, seed=32)
    index = omendb.Index(32, kind="hnsw", seed=1)
    index.add(data)
    expected, _ = index.search(queries, k=10, ef=64)
    got = {}

    def worker(i):
        rows = slice(i * 50, (i + 1) * 50)
        batch, _ = index.search(queries[rows], k=10, ef=64)
        single = np.stack([index.search(q, k=10, ef=64)[0] for q in queries[rows]])
        got[i] = (rows, batch, single)

    run_threads(8, worker)
    for rows, batch, single in got.values():
        assert np.array_equal(batch, expected[rows])
        assert np.array_equal(single, expected[rows])


def test_search_while_adding():
    data = clustered(6000, 16, seed=33)
    index = omendb.Index(16, kind="hnsw", seed=1)
    index.add(data[:1000])
    stop = threading.Event()
    counts = []

    def searcher(_):
        n = 0
        while not stop.is_set() or n == 0:
            ids, _ = index.search(data[:20], k=5)
            assert ids.shape == (20, 5) and (ids >= 0).all()
            n += 1
        counts.append(n)

    def adder():
        for start in range(1000, 6000, 500):
            index.add(data[start : start + 500])
        stop.set()

    t = threading.Thread(target=adder)
    t.start()
    run_threads(3, searcher)
    t.join()
    assert len(index) == 6000 and len(counts) == 3
    ids, _ = index.search(data[5990:6000], k=1)
    assert np.array_equal(ids[:, 0], np.arange(5990, 6000))


def test_close_while_searching_never_crashes(tmp_path):
    data = clustered(2000, 16, seed=34)
    index = omendb.Index.create(tmp_path / "idx", 16)
    index.add(data)
    outcomes = []

    def searcher(_):
        for _ in range(200):
            try:
                index.search(data[:10], k=3)
            except ValueError as e:  # once closed
                assert "closed" in str(e)
                outcomes.append("closed")
                return
        outcomes.append("done")

    closer = threading.Thread(target=index.close)
    ts = [threading.Thread(target=searcher, args=(i,)) for i in range(3)]
    for th in ts:
        th.start()
    closer.start()
    for th in ts + [closer]:
        th.join()
    assert len(outcomes) == 3 and index.closed
