#!/usr/bin/env bash
# The local Slurm test (issue 20): a real one-node Slurm cluster on this
# machine runs a 4-shard sweep submitted by `omenbench slurm`, and the merged
# results must equal the same sweep run unsharded.
#
#  1. installs Debian's slurm-wlm and munge when missing (apt, quiet, as
#     scripts/setup.sh installs libhdf5); SKIPS, loudly, only when they
#     cannot be installed;
#  2. writes a munge key and a one-node slurm.conf for this machine into a
#     temporary directory (nothing under /etc is touched), and starts munged,
#     slurmctld and slurmd on localhost directly (no systemd; cgroup-free
#     plugins: proctrack/linuxproc, task/none);
#  3. `omenbench slurm --config ci/slurm-sweep.json --shards 4`, cancels the
#     last shard's task while it waits, waits for the jobs, checks that
#     `omenbench slurm status` lists that shard alone and `slurm resume`
#     re-runs only it, and waits again;
#  4. runs the same sweep unsharded, then the check
#     (harness/tests/slurm_merge.rs, slurm_results_equal_the_unsharded_run):
#     same run keys, identical recall, shard in every result, every shard's
#     marker, the report written;
#  5. stops the daemons it started (also on failure).
#
# Called by scripts/test.sh after the cargo tests (their build of the
# omenbench binary, test profile, is reused). Prints its wall time.
# OMENBENCH_SLURM_CONFIG runs another config, OMENBENCH_BIN another binary;
# OMENBENCH_SLURM_KEEP=DIR keeps both result sets, the merged report, the
# submit script and the job logs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
START=$(date +%s)
SHARDS=4
CONFIG=${OMENBENCH_SLURM_CONFIG:-ci/slurm-sweep.json}   # seeded engines only: recall must match

skip() {
  echo "############################################################" >&2
  echo "## SKIPPED: the local Slurm test did not run: $*" >&2
  echo "############################################################" >&2
  exit 0
}

need=()
command -v munged >/dev/null 2>&1 || need+=(munge)
for b in slurmctld slurmd sbatch; do
  command -v "$b" >/dev/null 2>&1 || { need+=(slurm-wlm); break; }
done
if [ ${#need[@]} -gt 0 ]; then
  echo "slurm-local: installing ${need[*]}" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 && SUDO="sudo" || skip "not root and no sudo to install ${need[*]}"
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! command -v apt-get >/dev/null 2>&1; then skip "no apt-get to install ${need[*]}"; fi
  $SUDO apt-get update -qq >/dev/null 2>&1 || skip "apt-get update failed"
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
    || skip "apt-get install ${need[*]} failed"
fi
if [ "$(id -u)" != 0 ]; then
  # slurmd must run as root to start jobs as their user.
  skip "slurmd needs root (SlurmdUser=root); run as root"
fi

# The omenbench binary of the cargo tests (test profile: optimised), or
# $OMENBENCH_BIN (e.g. a release build, for figures).
if [ -n "${OMENBENCH_BIN:-}" ]; then
  BIN=$(realpath "$OMENBENCH_BIN")
else
  cargo build -q --profile test -p omenbench --bin omenbench
  BIN=$ROOT/target/debug/omenbench
fi
[ -x "$BIN" ] || { echo "slurm-local: FAILED: no $BIN" >&2; exit 1; }

W=$(mktemp -d /tmp/omenbench-slurm.XXXXXX)
MUNGE_PID=""
cleanup() {
  local rc=$?
  if [ -f "$W/slurm.conf" ]; then
    SLURM_CONF=$W/slurm.conf scontrol shutdown >/dev/null 2>&1 || true
  fi
  for f in "$W/slurmd.pid" "$W/slurmctld.pid"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null || break
      sleep 0.5
    done
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
  [ -f "$W/munge/munged.pid" ] && kill "$(cat "$W/munge/munged.pid")" 2>/dev/null || true
  # A daemon told to stop may still be writing into $W (munged saves its
  # seed file on the way out): wait for each to be gone before removing it.
  for f in "$W/slurmd.pid" "$W/slurmctld.pid" "$W/munge/munged.pid"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null || break
      sleep 0.5
    done
  done
  if [ $rc -ne 0 ]; then
    echo "slurm-local: FAILED (exit $rc); logs kept in $W:" >&2
    for f in "$W"/log/*.log "$W"/job/logs/*; do
      [ -f "$f" ] && { echo "---- $f" >&2; tail -n 15 "$f" >&2; }
    done
  else
    # A scratch directory left behind must not fail a passing run.
    rm -rf "$W" 2>/dev/null || { sleep 1; rm -rf "$W" || echo "slurm-local: could not remove $W" >&2; }
  fi
}
trap cleanup EXIT

# munge: a fresh key and socket of our own.
mkdir -p "$W/munge" "$W/log" "$W/spool/ctld" "$W/spool/d"
chmod 700 "$W/munge"
head -c 1024 /dev/urandom >"$W/munge/munge.key"
chmod 600 "$W/munge/munge.key"
munged -f -S "$W/munge/socket" --key-file="$W/munge/munge.key" \
  --log-file="$W/log/munged.log" --pid-file="$W/munge/munged.pid" \
  --seed-file="$W/munge/munged.seed"
chmod 755 "$W/munge"

CPUS=$(nproc)
MEM_MB=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)
PORT=$((20000 + $$ % 20000))
cat >"$W/slurm.conf" <<EOF
# One-node cluster for ci/slurm-local.sh (no cgroups, no accounting).
ClusterName=omenbench-local
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$W/munge/socket
StateSaveLocation=$W/spool/ctld
SlurmdSpoolDir=$W/spool/d
SlurmctldPidFile=$W/slurmctld.pid
SlurmdPidFile=$W/slurmd.pid
SlurmctldLogFile=$W/log/slurmctld.log
SlurmdLogFile=$W/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
NodeName=localhost NodeHostname=$(hostname) CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$W/slurm.conf
slurmctld -i
slurmd
for i in $(seq 60); do
  state=$(sinfo -h -o %T 2>/dev/null || true)
  [ "$state" = idle ] && break
  [ "$i" = 60 ] && { echo "slurm-local: FAILED: the node never became idle (state: '$state')" >&2; exit 1; }
  sleep 1
done
echo "slurm-local: one-node cluster up ($CPUS CPUs, ${MEM_MB} MB); submitting $SHARDS shards" >&2

fail() { echo "slurm-local: FAILED: $*" >&2; exit 1; }
phase() { echo "slurm-local: [$(( $(date +%s) - START )) s] $*" >&2; }
wait_queue() {
  for i in $(seq 900); do
    [ -z "$(squeue -h -o %i 2>/dev/null)" ] && return 0
    sleep 1
  done
  squeue >&2
  fail "jobs still queued after 15 minutes"
}

"$BIN" slurm --config "$CONFIG" --shards "$SHARDS" --cpus-per-task 1 --time 00:30:00 --out "$W/job"
# A task lost before it ran: cancel the last shard while it waits for the
# prepare job. `status` must list it, and `resume` re-run only it.
ARRAY=$(awk '$1 == "array" {print $2}' "$W/job/jobs.txt")
LAST=$((SHARDS - 1))
scancel "${ARRAY}_${LAST}"
wait_queue
phase "first submission finished"
if "$BIN" slurm status "$W/job" >"$W/status.txt"; then
  cat "$W/status.txt" >&2
  fail "slurm status says done although shard $LAST was cancelled"
fi
cat "$W/status.txt" >&2
grep -q "1 shard(s) to re-run ($LAST)" "$W/status.txt" || fail "status does not list exactly shard $LAST to re-run"
"$BIN" slurm resume "$W/job"
grep -q "^array [0-9]* $LAST\$" "$W/job/jobs.txt" || fail "resume did not submit an array of shard $LAST alone"
wait_queue
phase "resume finished"
"$BIN" slurm status "$W/job" || fail "shards still missing after resume"
SWEEP=$(ls -d "$W"/job/results/*/)

echo "slurm-local: the same sweep unsharded" >&2
"$BIN" run --config "$CONFIG" --threads 1 --cache-dir "$W/job/cache" --out "$W/local" --quiet >/dev/null
LOCAL=$(ls -d "$W"/local/*/)
phase "unsharded run finished"

OMENBENCH_SHARDED=$SWEEP OMENBENCH_UNSHARDED=$LOCAL OMENBENCH_SHARDS=$SHARDS \
  OMENBENCH_REPORT=$W/job/report \
  cargo test -q -p omenbench --test slurm_merge -- --ignored --exact slurm_results_equal_the_unsharded_run

if [ -n "${OMENBENCH_SLURM_KEEP:-}" ]; then
  rm -rf "$OMENBENCH_SLURM_KEEP"
  mkdir -p "$OMENBENCH_SLURM_KEEP"
  cp -r "$SWEEP" "$OMENBENCH_SLURM_KEEP/sharded"
  cp -r "$LOCAL" "$OMENBENCH_SLURM_KEEP/unsharded"
  cp -r "$W/job/report" "$W/job/submit.sh" "$W/job/logs" "$OMENBENCH_SLURM_KEEP/"
fi
echo "slurm-local: PASSED: $SHARDS Slurm shards equal the unsharded sweep; wall time $(( $(date +%s) - START )) s" >&2
