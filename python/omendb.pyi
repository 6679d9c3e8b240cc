"""OmenDB: a vector search engine (exact, HNSW and PQ-compressed HNSW
indexes, in RAM or on disk) with NumPy in and out.

Vectors are passed as NumPy arrays. A C-contiguous, aligned ``float32``
array (1-D for one vector, 2-D for rows) is read in place, without a copy;
anything else (``float64``, Fortran order, strided views, lists) is
converted once to a contiguous ``float32`` copy, which is then read in
place. Do not write to an array from another thread while a call reads it.

Ids are non-negative integers up to 2**63 - 1; searches return them as
``int64``, with -1 (and distance ``inf``) where fewer than ``k`` were found.

Distances are those the engine ranks by: squared L2 for ``"l2"``,
``1 - cos`` for ``"cosine"``, ``-dot`` for ``"ip"``.

Errors: bad input (wrong dimension, NaN or infinity, duplicate or unknown
id, ``k`` out of range, bad parameters) raises ``ValueError`` with the
engine's message; storage failures raise ``OSError`` or one of its
subclasses below; an operation a kind lacks raises ``NotImplementedError``.
Every call that works on vectors releases the GIL, so threads search at
once.
"""

from os import PathLike
from types import TracebackType
from typing import Any, Dict, Literal, Optional, Sequence, Tuple, Type, Union

import numpy as np
import numpy.typing as npt

__version__: str
KINDS: list[str]
#: "release" for a release-profile wheel, "checked" for the test build (debug assertions on).
BUILD: str

_Metric = Literal["l2", "euclidean", "cosine", "angular", "ip", "dot"]
_Kind = Literal["flat", "hnsw", "hnsw-pq"]
_Durability = Union[Literal["every-op", "never"], int]
_Ids = Union[int, Sequence[int], npt.NDArray[np.integer]]

class StorageError(OSError):
    """An I/O failure in an index directory that carries no OS error number
    (those with one raise ``OSError`` itself, as ``FileNotFoundError``,
    ``PermissionError``, ...)."""

class CorruptIndexError(OSError):
    """A file of an index directory does not hold what it should (bad
    checksum, truncated, malformed)."""

class IncompatibleIndexError(OSError):
    """An index file of a format version or kind this build cannot read."""

class IndexLockedError(OSError):
    """The index directory is already open for writing elsewhere."""

class ReadOnlyError(OSError):
    """A write was attempted on an index opened read-only."""

class Index:
    """A vector index of one kind: ``"flat"`` (exact), ``"hnsw"`` or
    ``"hnsw-pq"`` (HNSW navigated by product-quantized codes, re-ranked
    with exact distances).

    ``Index(...)`` makes an empty index in RAM; ``Index.create(path, ...)``
    makes one on disk and ``omendb.open(path)`` opens it again. An index is
    a context manager: leaving the ``with`` block closes it.
    """

    def __init__(
        self,
        dims: int,
        metric: _Metric = "l2",
        kind: _Kind = "hnsw",
        m: int = 16,
        ef_construction: int = 200,
        seed: Optional[int] = None,
        pq_m: Optional[int] = None,
    ) -> None:
        """An empty index in RAM.

        ``m`` and ``ef_construction`` are HNSW's build parameters (ignored
        by ``"flat"``); ``seed`` fixes the graph's level draws and the
        quantizer's training. ``pq_m`` (``"hnsw-pq"``) is the number of
        sub-spaces, bytes per code: by default the largest divisor of
        ``dims`` up to 16. An ``"hnsw-pq"`` index trains its quantizer on
        its first ``add``, which must hold at least 256 vectors.
        """

    @staticmethod
    def create(
        path: Union[str, PathLike[str]],
        dims: int,
        metric: _Metric = "l2",
        kind: Literal["hnsw", "hnsw-pq"] = "hnsw",
        m: int = 16,
        ef_construction: int = 200,
        seed: Optional[int] = None,
        pq_m: Optional[int] = None,
        durability: Optional[_Durability] = None,
    ) -> "Index":
        """A new, empty index on disk in directory ``path`` (created if
        missing; it must not hold an index already). Vectors live in a
        memory-mapped file, writes go through a write-ahead log.
        ``durability``: ``"every-op"`` syncs the log on every write, an
        integer N every N writes (default 64), ``"never"`` only at
        checkpoints."""

    def add(
        self,
        vectors: npt.ArrayLike,
        ids: Optional[_Ids] = None,
        threads: Optional[int] = None,
    ) -> npt.NDArray[np.int64]:
        """Adds the rows of ``vectors`` (``[n, dims]``, or one ``[dims]``
        vector) under ``ids``, and returns the ids. Without ``ids`` the rows
        are numbered from ``len(self)`` (after removals these can clash;
        a clash raises ``ValueError`` and adds nothing). ``threads`` limits
        the build to that many threads (default: all cores). Nothing is
        added when any row or id is refused."""

    def search(
        self,
        queries: npt.ArrayLike,
        k: int = 10,
        ef: Optional[int] = None,
        rerank: Optional[int] = None,
        threads: Optional[int] = None,
        filter: Optional[_Ids] = None,
    ) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """The ``k`` nearest neighbours of each query, closest first:
        ``(ids int64[nq, k], distances float32[nq, k])`` for ``[nq, dims]``
        queries, ``[k]``-shaped arrays for one ``[dims]`` query. Batches run
        in parallel over queries (on ``threads`` threads, default all
        cores) with the GIL released.

        ``ef`` is the graph search's beam width (default 64, raised to
        ``k``); ``rerank`` (``"hnsw-pq"``) how many candidates to re-score
        exactly (default: all ``max(ef, k)`` the beam kept; 0 returns
        PQ-estimated distances). ``k`` must be between 1 and ``len(self)``.

        ``filter`` (a sequence or array of ids) restricts the answer to those
        ids: they are found during the graph search (filtered-out vectors
        are walked through, never returned), or by an exact scan of the
        allowed vectors when few are allowed. Rows with fewer than ``k``
        allowed ids are padded with id ``-1`` and distance ``inf``.
        """

    def remove(self, ids: _Ids) -> None:
        """Marks ``ids`` deleted: they are never returned again. Every id
        must be present (else ``ValueError`` and nothing is removed)."""

    def update(self, vectors: npt.ArrayLike, ids: _Ids) -> None:
        """Replaces the vectors stored under ``ids`` (adding absent ones)."""

    def checkpoint(self) -> None:
        """Writes a disk index's state to its directory and empties its
        log (``ValueError`` in RAM)."""

    def close(self) -> None:
        """Closes the index: a disk index checkpoints and releases its
        directory. Later calls raise ``ValueError``; closing twice is fine."""

    def memory_usage(self) -> dict[str, int]:
        """Bytes held, by component, as the index accounts them: keys
        ``vectors``, ``graph``, ``codes``, ``ids``, ``other``, ``disk``
        (memory-mapped, not resident) and ``ram_total``."""

    def __enter__(self) -> "Index": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...
    def __len__(self) -> int:
        """Live (not removed) vectors."""
    def __contains__(self, id: int) -> bool: ...
    @property
    def dims(self) -> int:
        """Vector dimension."""
    @property
    def metric(self) -> Literal["l2", "cosine", "ip"]:
        """The metric, by its canonical name."""
    @property
    def kind(self) -> Literal["flat", "hnsw", "hnsw-pq"]:
        """The index kind."""
    @property
    def path(self) -> Optional[str]:
        """The directory of a disk index, ``None`` in RAM or once closed."""
    @property
    def recovery(self) -> Optional[Dict[str, Any]]:
        """What opening a disk index found (``None`` in RAM): ``generation``,
        ``checkpoint_nodes``, ``replayed``, ``torn_tail``,
        ``lost_synced_bytes`` (``None``, or how many synced log bytes were
        missing: acknowledged writes lost; ``open(strict=True)`` refuses
        instead), ``stale_log_discarded``, ``open_seconds``."""
    @property
    def checkpoint_error(self) -> Optional[str]:
        """Why writes are refused (``StorageError``) after a checkpoint or a
        log sync failed; ``None`` otherwise. A checkpoint that succeeds
        clears it."""
    @property
    def read_only(self) -> bool:
        """Whether writes are refused (opened with ``read_only=True``)."""
    @property
    def closed(self) -> bool:
        """Whether ``close()`` has been called."""
    @property
    def _last_add_address(self) -> int:
        """Debug hook: the address of the buffer the last ``add`` handed to
        the engine (equal to the array's own for a contiguous float32
        array: no copy)."""

def open(
    path: Union[str, PathLike[str]],
    read_only: bool = False,
    durability: Optional[_Durability] = None,
    verify_vectors: bool = True,
    strict: bool = False,
) -> Index:
    """Opens the index directory ``path``: checks its checksums, maps its
    vectors and replays its log. ``read_only`` writes nothing and refuses
    writes (``ReadOnlyError``); ``verify_vectors`` checks the vector rows
    against their checksums. A log that ends before the point it was known
    synced (acknowledged writes missing) opens without them and says so in
    ``Index.recovery["lost_synced_bytes"]``; ``strict`` refuses it
    (``CorruptIndexError``) instead. A damaged directory raises
    ``CorruptIndexError``; one open elsewhere for writing,
    ``IndexLockedError``."""
