#!/bin/bash
# usage: wr.sh ROUNDS bin...
R=$1; shift
for r in $(seq 1 $R); do for b in "$@"; do
  echo "== round $r $b"
  OMENDB_WRITERS_ROUNDS=1 OMENDB_WRITERS_DIR=/work/main/target/tmp/wb $b --bench 2>&1 | grep -E "writer|p50"
done; done
