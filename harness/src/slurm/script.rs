//! The submit script: three `sbatch` calls, each reading its batch script
//! from a here-document, chained by `--dependency`:
//!
//! 1. a **prepare** job: `omenbench datasets prepare` into the shared cache;
//! 2. a **job array** of the shards, `--dependency=afterok:<prepare>`, task
//!    `i` running `omenbench run --shard i/N --threads $SLURM_CPUS_PER_TASK`;
//! 3. a **report** job, `--dependency=afterany:<array>` (it runs even when a
//!    shard failed, reports what is there and lists what is missing).
//!
//! Each job id is appended to `DIR/jobs.txt`, which `slurm status` reads.

use std::fmt::Write as _;
use std::path::Path;

use super::job::{array_list, jobs_path, JobSpec};

/// Quotes `s` for a POSIX shell (single quotes; a `'` written `'\''`).
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn q(p: &Path) -> String {
    sh_quote(&p.display().to_string())
}

/// `#SBATCH` lines shared by the prepare and shard jobs.
fn resources(spec: &JobSpec, cpus: usize, out: &mut String) {
    if let Some(p) = &spec.partition {
        let _ = writeln!(out, "#SBATCH --partition={}", sh_quote(p));
    }
    let _ = writeln!(out, "#SBATCH --cpus-per-task={cpus}");
    if let Some(t) = &spec.time {
        let _ = writeln!(out, "#SBATCH --time={}", sh_quote(t));
    }
    if let Some(m) = &spec.mem {
        let _ = writeln!(out, "#SBATCH --mem={}", sh_quote(m));
    }
}

/// One `var=$(sbatch --parsable [dependency] <<'EOF' … EOF)` block, then the
/// job id appended to `jobs.txt`.
fn sbatch_block(
    var: &str,
    dependency: Option<&str>,
    headers: &str,
    body: &str,
    record: &str,
    jobs: &str,
) -> String {
    let dep = dependency.map_or(String::new(), |d| format!(" --dependency={d}"));
    format!(
        "{var}=$(sbatch --parsable{dep} <<'OMENBENCH_JOB'\n#!/usr/bin/env bash\n{headers}set -euo pipefail\n{body}OMENBENCH_JOB\n)\n{var}=${{{var}%%;*}}\necho \"{record}\" >> {jobs}\necho \"omenbench slurm: {var} job ${var}\"\n\n"
    )
}

/// The submit script running `shards` (all N, or the missing ones on a
/// resume) of `spec`'s sweep; `title` heads it as a comment.
pub fn submit_script(spec: &JobSpec, shards: &[usize], title: &str) -> String {
    let n = spec.shards;
    let bin = q(&spec.omenbench);
    let dir = q(&spec.dir);
    let logs = spec.logs_dir();
    let env = format!(
        "export OMENBENCH_ROOT={root}\ncd {root}\n",
        root = q(&spec.root)
    );
    let jobs = q(&jobs_path(&spec.dir));
    let list = array_list(shards);
    let mut s = format!(
        "#!/usr/bin/env bash\n# {title}\n# Written by `omenbench slurm`; run it on a login node (`bash {script}`) to submit:\n\
         # a prepare job, then an array of {count} shard task(s) of {n} (afterok), then a report job (afterany).\n\
         # Follow it with `{bin} slurm status {dir}`; re-submit failed shards with `{bin} slurm resume {dir}`.\n\
         set -euo pipefail\nmkdir -p {logsq}\n\n",
        script = dir.clone() + "/submit.sh",
        count = shards.len(),
        logsq = q(&logs),
    );

    let mut h = String::from("#SBATCH --job-name=omenbench-prepare\n");
    let _ = writeln!(h, "#SBATCH --output={}", q(&logs.join("prepare-%j.out")));
    resources(spec, spec.cpus_per_task, &mut h);
    let body = format!(
        "{env}{bin} datasets prepare --config {cfg} --cache-dir {cache} --quiet\n",
        cfg = q(&spec.config_path()),
        cache = q(&spec.cache_dir)
    );
    s.push_str(&sbatch_block(
        "prepare",
        None,
        &h,
        &body,
        "prepare $prepare",
        &jobs,
    ));

    let mut h = String::from("#SBATCH --job-name=omenbench-shard\n");
    let _ = writeln!(h, "#SBATCH --array={list}");
    // A failed prepare cancels the array instead of leaving it pending.
    h.push_str("#SBATCH --kill-on-invalid-dep=yes\n");
    let _ = writeln!(h, "#SBATCH --output={}", q(&logs.join("shard-%A_%a.out")));
    resources(spec, spec.cpus_per_task, &mut h);
    let body = format!(
        "{env}exec {bin} run --config {cfg} --shard \"$SLURM_ARRAY_TASK_ID/{n}\" --threads \"${{SLURM_CPUS_PER_TASK:-{c}}}\" \\\n  --cache-dir {cache} --out {out} --sweep-id {id} --quiet\n",
        cfg = q(&spec.config_path()),
        c = spec.cpus_per_task,
        cache = q(&spec.cache_dir),
        out = q(&spec.results_root()),
        id = sh_quote(&spec.sweep_id),
    );
    s.push_str(&sbatch_block(
        "array",
        Some("afterok:$prepare"),
        &h,
        &body,
        &format!("array $array {list}"),
        &jobs,
    ));

    let mut h = String::from("#SBATCH --job-name=omenbench-report\n");
    let _ = writeln!(h, "#SBATCH --output={}", q(&logs.join("report-%j.out")));
    if let Some(p) = &spec.partition {
        let _ = writeln!(h, "#SBATCH --partition={}", sh_quote(p));
    }
    h.push_str("#SBATCH --cpus-per-task=1\n#SBATCH --kill-on-invalid-dep=yes\n");
    let body = format!(
        "{env}{bin} report {sweep} --out {report}\n# Fails (exit 1) when a shard is missing, so this job's state says so.\nexec {bin} slurm status {dir}\n",
        sweep = q(&spec.sweep_dir()),
        report = q(&spec.report_dir()),
    );
    s.push_str(&sbatch_block(
        "report",
        Some("afterany:$array"),
        &h,
        &body,
        "report $report",
        &jobs,
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    pub(crate) fn spec() -> JobSpec {
        JobSpec {
            dir: PathBuf::from("/scratch/sweep 1"),
            shards: 4,
            sweep_id: "slurm-20261129T100000Z".into(),
            partition: Some("cpu".into()),
            cpus_per_task: 8,
            time: Some("02:00:00".into()),
            mem: Some("32G".into()),
            cache_dir: PathBuf::from("/scratch/cache"),
            omenbench: PathBuf::from("/opt/omenbench"),
            root: PathBuf::from("/src/omendb"),
        }
    }

    #[test]
    fn quoting_is_safe() {
        assert_eq!(sh_quote("/a/b-c.json"), "/a/b-c.json");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("$HOME"), "'$HOME'");
    }

    #[test]
    fn script_chains_prepare_array_and_report() {
        let s = submit_script(&spec(), &[0, 1, 2, 3], "test");
        let prep = s.find("job-name=omenbench-prepare").unwrap();
        let array = s.find("job-name=omenbench-shard").unwrap();
        let report = s.find("job-name=omenbench-report").unwrap();
        assert!(prep < array && array < report);
        assert!(s.contains("--dependency=afterok:$prepare"), "{s}");
        assert!(s.contains("--dependency=afterany:$array"), "{s}");
        assert!(s.contains("#SBATCH --array=0-3\n"), "{s}");
        assert_eq!(s.matches("#SBATCH --kill-on-invalid-dep=yes").count(), 2);
        assert!(s.contains("--shard \"$SLURM_ARRAY_TASK_ID/4\""), "{s}");
        assert!(s.contains("--threads \"${SLURM_CPUS_PER_TASK:-8}\""), "{s}");
        assert!(s.contains("datasets prepare --config '/scratch/sweep 1/config.json' --cache-dir /scratch/cache"), "{s}");
        assert!(s.contains("--sweep-id slurm-20261129T100000Z"), "{s}");
        assert!(s.contains("#SBATCH --partition=cpu"), "{s}");
        assert!(s.contains("#SBATCH --time=02:00:00"), "{s}");
        assert!(s.contains("#SBATCH --mem=32G"), "{s}");
        assert!(
            s.contains("echo \"array $array 0-3\" >> '/scratch/sweep 1/jobs.txt'"),
            "{s}"
        );
        // The here-documents are quoted: $SLURM_* reach the job unexpanded.
        assert_eq!(s.matches("<<'OMENBENCH_JOB'").count(), 3);
    }

    #[test]
    fn a_resume_script_runs_only_the_shards_given() {
        let s = submit_script(&spec(), &[1, 3], "resume");
        assert!(s.contains("#SBATCH --array=1,3\n"), "{s}");
        // Still shard i of the same N.
        assert!(s.contains("--shard \"$SLURM_ARRAY_TASK_ID/4\""), "{s}");
    }
}
