#!/usr/bin/env bash
# The README's benchmark command: installs what a fresh machine lacks, then
# runs omenbench's default sweep end to end (data, ground truth, indexes, report).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo run --release -p omenbench -- run "$@"
