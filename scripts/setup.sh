#!/usr/bin/env bash
# Installs the one system package set OmenDB's harness needs (the HDF5 C library
# for the `hdf5-metno` crate, plus pkg-config to find it). Idempotent and quiet
# when everything is already present; called by the README's commands and .ci/run.
set -euo pipefail

need=()
pkg-config --exists hdf5 2>/dev/null || need+=(libhdf5-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} (needed by the HDF5 reader/writer)" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "setup: not root and no sudo; please run: apt-get install -y ${need[*]}" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq "${need[@]}" pkg-config >/dev/null
fi
