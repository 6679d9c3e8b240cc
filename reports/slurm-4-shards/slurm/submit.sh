#!/usr/bin/env bash
# harness/configs/sharded-4.json split into 4 shard(s) (16 build sets), written 2026-11-29T10:24:28Z
# Written by `omenbench slurm`; run it on a login node (`bash /tmp/omenbench-slurm.ovJUOH/job/submit.sh`) to submit:
# a prepare job, then an array of 4 shard task(s) of 4 (afterok), then a report job (afterany).
# Follow it with `/work/wt-slurm/target/release/omenbench slurm status /tmp/omenbench-slurm.ovJUOH/job`; re-submit failed shards with `/work/wt-slurm/target/release/omenbench slurm resume /tmp/omenbench-slurm.ovJUOH/job`.
set -euo pipefail
mkdir -p /tmp/omenbench-slurm.ovJUOH/job/logs

prepare=$(sbatch --parsable <<'OMENBENCH_JOB'
#!/usr/bin/env bash
#SBATCH --job-name=omenbench-prepare
#SBATCH --output=/tmp/omenbench-slurm.ovJUOH/job/logs/prepare-%j.out
#SBATCH --cpus-per-task=1
#SBATCH --time=00:30:00
set -euo pipefail
export OMENBENCH_ROOT=/work/wt-slurm
cd /work/wt-slurm
/work/wt-slurm/target/release/omenbench datasets prepare --config /tmp/omenbench-slurm.ovJUOH/job/config.json --cache-dir /tmp/omenbench-slurm.ovJUOH/job/cache --quiet
OMENBENCH_JOB
)
prepare=${prepare%%;*}
echo "prepare $prepare" >> /tmp/omenbench-slurm.ovJUOH/job/jobs.txt
echo "omenbench slurm: prepare job $prepare"

array=$(sbatch --parsable --dependency=afterok:$prepare <<'OMENBENCH_JOB'
#!/usr/bin/env bash
#SBATCH --job-name=omenbench-shard
#SBATCH --array=0-3
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --output=/tmp/omenbench-slurm.ovJUOH/job/logs/shard-%A_%a.out
#SBATCH --cpus-per-task=1
#SBATCH --time=00:30:00
set -euo pipefail
export OMENBENCH_ROOT=/work/wt-slurm
cd /work/wt-slurm
exec /work/wt-slurm/target/release/omenbench run --config /tmp/omenbench-slurm.ovJUOH/job/config.json --shard "$SLURM_ARRAY_TASK_ID/4" --threads "${SLURM_CPUS_PER_TASK:-1}" \
  --cache-dir /tmp/omenbench-slurm.ovJUOH/job/cache --out /tmp/omenbench-slurm.ovJUOH/job/results --sweep-id slurm-20261129T102428Z --quiet
OMENBENCH_JOB
)
array=${array%%;*}
echo "array $array 0-3" >> /tmp/omenbench-slurm.ovJUOH/job/jobs.txt
echo "omenbench slurm: array job $array"

report=$(sbatch --parsable --dependency=afterany:$array <<'OMENBENCH_JOB'
#!/usr/bin/env bash
#SBATCH --job-name=omenbench-report
#SBATCH --output=/tmp/omenbench-slurm.ovJUOH/job/logs/report-%j.out
#SBATCH --cpus-per-task=1
#SBATCH --kill-on-invalid-dep=yes
set -euo pipefail
export OMENBENCH_ROOT=/work/wt-slurm
cd /work/wt-slurm
/work/wt-slurm/target/release/omenbench report /tmp/omenbench-slurm.ovJUOH/job/results/slurm-20261129T102428Z --out /tmp/omenbench-slurm.ovJUOH/job/report
# Fails (exit 1) when a shard is missing, so this job's state says so.
exec /work/wt-slurm/target/release/omenbench slurm status /tmp/omenbench-slurm.ovJUOH/job
OMENBENCH_JOB
)
report=${report%%;*}
echo "report $report" >> /tmp/omenbench-slurm.ovJUOH/job/jobs.txt
echo "omenbench slurm: report job $report"

