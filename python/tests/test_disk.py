"""Disk kinds: create / add / close / open round trips, checkpoints,
read-only opens, the directory lock, damaged files, context managers."""

import os

import numpy as np
import pytest

import omendb
from conftest import clustered


@pytest.mark.parametrize("kind", ["hnsw", "hnsw-pq"])
def test_create_close_open(tmp_path, kind):
    data = clustered(1000, 16, seed=21)
    path = tmp_path / "idx"
    index = omendb.Index.create(path, 16, metric="l2", kind=kind, seed=3, pq_m=8, durability="never")
    assert index.kind == kind and index.path == str(path)
    index.add(data, np.arange(5000, 6000))
    index.remove([5000])
    before_ids, before_dist = index.search(data[:10], k=5, ef=64)
    index.close()
    assert index.closed and index.path is None
    with pytest.raises(ValueError, match="closed"):
        index.add(data[:1])

    reopened = omendb.open(path)
    assert (reopened.dims, reopened.metric, reopened.kind) == (16, "l2", kind)
    assert len(reopened) == 999 and 5000 not in reopened
    ids, dist = reopened.search(data[:10], k=5, ef=64)
    assert np.array_equal(ids, before_ids) and np.allclose(dist, before_dist)
    reopened.close()


def test_log_replay_and_checkpoint(tmp_path):
    data = clustered(600, 8, seed=22)
    path = str(tmp_path / "idx")
    with omendb.Index.create(path, 8, durability="every-op") as index:
        index.add(data[:300])
        index.checkpoint()
        index.add(data[300:])  # logged after the checkpoint, replayed on open
        index.update(data[:1], [299])
    with omendb.open(path, read_only=True) as index:
        assert index.read_only and len(index) == 600
        ids, _ = index.search(data[0], k=2)
        assert set(ids) == {0, 299}
        with pytest.raises(omendb.ReadOnlyError, match="read-only"):
            index.add(data[:1], [10_000])
        with pytest.raises(omendb.ReadOnlyError):
            index.checkpoint()
        assert isinstance(omendb.ReadOnlyError("x"), OSError)


def test_lock_refuses_a_second_writer(tmp_path):
    path = tmp_path / "idx"
    first = omendb.Index.create(path, 4)
    with pytest.raises(omendb.IndexLockedError, match="already open"):
        omendb.open(path)
    first.close()
    omendb.open(path).close()


def test_missing_directory_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        omendb.open(tmp_path / "nothing-here")
    assert isinstance(err.value, OSError)


def test_create_refuses_existing_index(tmp_path):
    path = tmp_path / "idx"
    omendb.Index.create(path, 4).close()
    with pytest.raises(ValueError, match="already holds an index"):
        omendb.Index.create(path, 4)


def test_flat_cannot_live_on_disk(tmp_path):
    with pytest.raises(ValueError, match="cannot live on disk"):
        omendb.Index.create(tmp_path / "idx", 4, kind="flat")


def test_checkpoint_in_ram_is_refused():
    with pytest.raises(ValueError, match="on disk"):
        omendb.Index(4).checkpoint()


def test_damaged_graph_file_is_corrupt_index_error(tmp_path):
    data = clustered(500, 8, seed=23)
    path = tmp_path / "idx"
    with omendb.Index.create(path, 8) as index:
        index.add(data)
    graph = path / "graph.omg"
    assert graph.is_file(), sorted(os.listdir(path))
    raw = bytearray(graph.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # flip a byte inside a checksummed section
    graph.write_bytes(bytes(raw))
    with pytest.raises(omendb.CorruptIndexError, match="corrupt data in"):
        omendb.open(path)
    assert issubclass(omendb.CorruptIndexError, OSError)


def test_bad_durability(tmp_path):
    with pytest.raises(ValueError, match="durability"):
        omendb.Index.create(tmp_path / "a", 4, durability="sometimes")
    with pytest.raises(ValueError, match="durability"):
        omendb.Index.create(tmp_path / "b", 4, durability=0)


def test_two_indexes_at_once(tmp_path):
    a_data, b_data = clustered(800, 8, seed=24), clustered(800, 12, seed=25)
    a = omendb.Index(8, kind="hnsw", seed=1)
    b = omendb.Index.create(tmp_path / "b", 12, kind="hnsw", seed=2)
    a.add(a_data)
    b.add(b_data, np.arange(10_000, 10_800))
    ids_a, _ = a.search(a_data[:5], k=1)
    ids_b, _ = b.search(b_data[:5], k=1)
    assert np.array_equal(ids_a[:, 0], np.arange(5))
    assert np.array_equal(ids_b[:, 0], np.arange(10_000, 10_005))
    assert len(a) == 800 and len(b) == 800 and a.dims == 8 and b.dims == 12
    b.close()
    assert len(a) == 800, "closing one leaves the other open"


def test_lost_synced_records_are_reported_and_refused_when_strict(tmp_path):
    """A process that dies without closing (os._exit: no checkpoint), then
    a log cut at a record boundary: the last acknowledged add is gone, and
    the open says so (recovery) or refuses (strict)."""
    import subprocess
    import sys

    d, path = 4, tmp_path / "idx"
    script = (
        "import os, numpy as np, omendb\n"
        f"index = omendb.Index.create({str(path)!r}, {d}, durability='every-op')\n"
        f"rows = np.arange(20 * {d}, dtype=np.float32).reshape(20, {d})\n"
        "for i in range(20):\n"
        "    index.add(rows[i : i + 1])\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    wal = path / "wal.log"
    # One add of one row is one log record: framing, op, count, id, floats.
    # After the 64-byte header come the 20 records, then (the process died
    # open, under every-op) zeros laid ahead of them: cut the last record
    # and those.
    record = 12 + 1 + 4 + 8 + 4 * d
    end = 64 + 20 * record
    assert os.path.getsize(wal) >= end
    with open(wal, "r+b") as f:
        f.truncate(end - record)
    with pytest.raises(omendb.CorruptIndexError, match="acknowledged writes are missing"):
        omendb.open(path, strict=True)
    index = omendb.open(path)
    assert index.recovery["lost_synced_bytes"] == record
    assert index.recovery["replayed"] == 19 and len(index) == 19
    assert index.checkpoint_error is None
    index.close()
    with omendb.open(path, strict=True) as again:
        assert again.recovery["lost_synced_bytes"] is None and len(again) == 19
    assert omendb.Index(4).recovery is None
