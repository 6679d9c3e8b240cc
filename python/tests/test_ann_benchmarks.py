"""The ann-benchmarks adapter (python/ann_benchmarks/omendb), driven the way
ann-benchmarks' runner drives an algorithm: constructor from config.yml's
arguments, fit, then per query-argument group set_query_arguments and
batch_query / get_batch_results (and single queries), memory from
get_memory_usage, name from __str__."""

import importlib.util
import itertools
import pathlib

import numpy as np
import pytest

from conftest import brute_force, clustered, recall

HERE = pathlib.Path(__file__).resolve().parent
ADAPTER = HERE.parent / "ann_benchmarks" / "omendb"


def load_module():
    spec = importlib.util.spec_from_file_location("omendb_ann_module", ADAPTER / "module.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def config_groups():
    """(constructor, arg_group, query_args) from config.yml, read with a
    small parser for its fixed shape (PyYAML is not a dependency)."""
    text = (ADAPTER / "config.yml").read_text()
    groups, constructor = [], None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("constructor:"):
            constructor = line.split(":", 1)[1].strip()
        elif line.startswith("arg_groups:"):
            body = line.split("[{", 1)[1].split("}]", 1)[0]
            args = {k.strip(): int(v) for k, v in (kv.split(":") for kv in body.split(","))}
        elif line.startswith("query_args:"):
            lists = line.split(":", 1)[1].strip()[2:-2].split("], [")
            query = [[int(x) for x in part.split(",")] for part in lists]
            groups.append((constructor, args, query))
    return groups


def test_config_names_every_constructor():
    module = load_module()
    groups = config_groups()
    assert {c for c, _, _ in groups} == {"OmenDB", "OmenDBPQ"}
    for constructor, args, query in groups:
        assert hasattr(module, constructor)
        assert all(len(q) > 0 for q in query)


@pytest.mark.parametrize("constructor", ["OmenDB", "OmenDBPQ"])
def test_runner_flow(constructor):
    module = load_module()
    train, test = clustered(5000, 32, seed=41), clustered(100, 32, seed=42)
    truth, _ = brute_force(train, test, 10)
    args, query_grid = next((a, q) for c, a, q in config_groups() if c == constructor)

    algo = getattr(module, constructor)("euclidean", args)
    memory_before = algo.get_memory_usage()
    algo.fit(train)
    index_size_kb = algo.get_memory_usage() - memory_before
    assert index_size_kb >= train.nbytes / 1024

    recalls = {}
    for query_args in itertools.product(*query_grid):
        algo.set_query_arguments(*query_args)
        assert str(query_args[0]) in str(algo)
        algo.batch_query(test, 10)
        results = algo.get_batch_results()
        assert len(results) == len(test)
        found = np.array([list(r) for r in results])
        recalls[query_args] = recall(found, truth)
        single = algo.query(test[0], 10)
        assert list(single) == list(results[0])
    best = max(recalls.values())
    assert best >= 0.95, recalls
    algo.done()


def test_angular_metric_and_refusals():
    module = load_module()
    train = clustered(1000, 16, seed=43)
    algo = module.OmenDB("angular", {"M": 8, "efConstruction": 100})
    algo.fit(train.astype(np.float64))  # ann-benchmarks hands float32 or float64
    algo.set_query_arguments(40)
    ids = algo.query(train[5], 3)
    assert ids[0] == 5
    with pytest.raises(ValueError, match="hamming"):
        module.OmenDB("hamming", {"M": 8, "efConstruction": 100})
