#!/usr/bin/env bash
# The README's test command: installs what a fresh machine lacks, then runs
# every test in the workspace (the test profile is optimised; see Cargo.toml).
# Benches are compiled by clippy --all-targets in .ci/run, not run here.
# Last, a sharded sweep on a one-node Slurm cluster started on this machine
# (ci/slurm-local.sh; skipped, loudly, only where Slurm cannot be installed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --workspace --lib --bins --tests "$@"
cargo test --workspace --doc
bash ci/slurm-local.sh
