#!/usr/bin/env bash
# The README's test command: installs what a fresh machine lacks, then runs
# every test in the workspace (the test profile is optimised; see Cargo.toml),
# then the Python package's: the wheel is built with maturin into the
# project's venv (scripts/python-wheel.sh, incremental in target/python/)
# and python/tests run under pytest.
# Benches are compiled by clippy --all-targets in .ci/run, not run here.
# Last, a sharded sweep on a one-node Slurm cluster started on this machine
# (ci/slurm-local.sh; skipped, loudly, only where Slurm cannot be installed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The Python workers' pinned venv (.venv/, numpy, h5py, hnswlib, faiss, annoy):
# the worker-script and ann-benchmarks tests run in it, and fail without it
# under CI=true. Returns at once when the pins are installed.
bash scripts/python-env.sh
cargo test --workspace --lib --bins --tests "$@"
cargo test --workspace --doc
bash scripts/python-wheel.sh
.venv/bin/python -m pytest -q -p no:cacheprovider python/tests
bash ci/slurm-local.sh
