#!/usr/bin/env bash
# The README's test command: installs what a fresh machine lacks (system
# packages; the pinned venv and the omendb wheel, built with maturin into it
# by scripts/python-wheel.sh, incremental in target/python/; the two packaged
# real datasets), then runs every test in the workspace (the test profile is
# optimised; see Cargo.toml; the harness's Python-worker tests use the venv),
# then the Python package's tests (python/tests) under pytest.
# Benches are compiled by clippy --all-targets in .ci/run, not run here.
# Last, a sharded sweep on a one-node Slurm cluster started on this machine
# (ci/slurm-local.sh; skipped, loudly, only where Slurm cannot be installed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The pinned venv (.venv/: numpy, h5py, hnswlib, faiss, annoy, maturin,
# pytest) and the omendb wheel built into it: the harness's worker-script and
# ann-benchmarks tests and python/tests run in it, and fail without it under
# CI=true. Both return at once when nothing changed.
bash scripts/python-wheel.sh
bash scripts/fetch-dataset.sh fashion-mnist-784-euclidean
bash scripts/fetch-dataset.sh glove-50-angular
cargo test --workspace --lib --bins --tests "$@"
cargo test --workspace --doc
.venv/bin/python -m pytest -q -p no:cacheprovider python/tests
bash ci/slurm-local.sh
