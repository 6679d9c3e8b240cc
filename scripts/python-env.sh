#!/usr/bin/env bash
# Creates the Python environment the out-of-process benchmark adapters use
# (hnswlib, faiss-hnsw, faiss-ivfpq, omendb-python, and the engines brought in
# from a config: the example worker script and ann-benchmarks module under
# harness/examples/, which drive faiss and Annoy) and the Python package's
# tests run in: a virtual environment in the git-ignored `.venv/` at the
# repository root, with exactly pinned versions (maturin builds the omendb
# wheel, pytest runs python/tests; scripts/python-wheel.sh installs the wheel).
#
# The harness runs this automatically the first time such an adapter is
# used; the Rust-only sweep never needs it. Run it by hand to (re)create the
# environment: `scripts/python-env.sh` (idempotent: it does nothing when the
# pinned packages are already installed). `PYTHON=python3.11` picks the
# interpreter the venv is made from.
#
# hnswlib 0.8.0 and annoy 1.17.3 are published as source only: pip compiles
# their C++ extensions (g++ needed), fetching numpy and pybind11 into an
# isolated build env.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${OMENBENCH_VENV:-$root/.venv}"
python="${PYTHON:-python3}"

# Exact pins. Change them together and re-run; results record the versions
# the worker reports.
pins=(
  "numpy==2.4.6"
  "h5py==3.16.0"
  "hnswlib==0.8.0"
  "faiss-cpu==1.15.1"
  "maturin==1.16.0"
  "pytest==9.2.0"
  "annoy==1.17.3"
)

stamp="$venv/.omenbench-pins"
want="$(printf '%s\n' "${pins[@]}")"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "python-env: $venv is ready (${pins[*]})"
  exit 0
fi

echo "python-env: creating $venv with ${pins[*]} (hnswlib compiles from source; a few minutes)" >&2
if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip==23.2.1" "setuptools" "wheel" >&2 || true
# numpy and pybind11 first: an old pip without build isolation needs them
# present to compile hnswlib.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "numpy==2.4.6" "pybind11==3.0.1" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}" >&2
"$venv/bin/python" - <<'PY' >&2
import numpy, h5py, hnswlib, faiss, pytest, annoy
from importlib.metadata import version
print("python-env: numpy", numpy.__version__, "h5py", h5py.__version__,
      "hnswlib", getattr(hnswlib, "__version__", "0.8.0"), "faiss", faiss.__version__,
      "maturin", version("maturin"), "pytest", pytest.__version__, "annoy", version("annoy"))
PY
printf '%s\n' "$want" > "$stamp"
echo "python-env: $venv is ready" >&2
