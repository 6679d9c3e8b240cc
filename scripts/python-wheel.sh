#!/usr/bin/env bash
# Builds the `omendb` Python wheel (python/, PyO3 + maturin) and installs it
# into the project's venv (`.venv/`, made by scripts/python-env.sh, which
# this runs first). Incremental: cargo's build directory is
# target/python/, so a rebuild after a small change takes seconds.
#
#   scripts/python-wheel.sh            # profile `pytest`: optimised, debug
#                                      # assertions on, no LTO (what
#                                      # scripts/test.sh builds for pytest)
#   scripts/python-wheel.sh --release  # the release profile (thin LTO, one
#                                      # codegen unit): what users get from
#                                      # `pip install ./python`; benchmark this
#
# The wheel is left in target/python/wheels/ (its size is printed).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${OMENBENCH_VENV:-$root/.venv}"
profile="pytest"
case "${1:-}" in
  "") ;;
  --release) profile="release" ;;
  *) echo "usage: scripts/python-wheel.sh [--release]" >&2; exit 2 ;;
esac

bash "$root/scripts/python-env.sh" >&2
export CARGO_TARGET_DIR="$root/target/python"
out="$CARGO_TARGET_DIR/wheels/$profile"
rm -rf "$out"
start=$SECONDS
"$venv/bin/maturin" build --quiet --manifest-path "$root/python/Cargo.toml" \
  --profile "$profile" --interpreter "$venv/bin/python" --out "$out" >&2
wheel="$(ls "$out"/omendb-*.whl)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  --force-reinstall --no-deps "$wheel" >&2
echo "python-wheel: installed $(basename "$wheel") ($profile, $(du -k "$wheel" | cut -f1) KiB, built in $((SECONDS - start)) s)" >&2
