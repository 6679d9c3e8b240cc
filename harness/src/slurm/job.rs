//! A Slurm sweep's directory: what was asked (`job.json`), the config the
//! shards run (`config.json`), the job ids each submission got (`jobs.txt`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// Everything the job scripts need, saved as `DIR/job.json` so `status` and
/// `resume` act on the same split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    /// The job directory (absolute).
    pub dir: PathBuf,
    /// Shards the sweep is split into.
    pub shards: usize,
    /// The sweep id every shard writes under (`DIR/results/<sweep_id>/`).
    pub sweep_id: String,
    /// `--partition`, when given.
    pub partition: Option<String>,
    /// CPUs per shard task (`--cpus-per-task`; also the run's `--threads`).
    pub cpus_per_task: usize,
    /// `--time` of the prepare and shard jobs, when given.
    pub time: Option<String>,
    /// `--mem` of the prepare and shard jobs, when given.
    pub mem: Option<String>,
    /// The prepared dataset cache every shard reads.
    pub cache_dir: PathBuf,
    /// The `omenbench` binary the jobs run (on a path every node sees).
    pub omenbench: PathBuf,
    /// The repository root the jobs run in (`OMENBENCH_ROOT`).
    pub root: PathBuf,
}

impl JobSpec {
    /// `DIR/config.json`: the config every job reads.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    /// `DIR/results`: the `--out` of every shard.
    pub fn results_root(&self) -> PathBuf {
        self.dir.join("results")
    }

    /// `DIR/results/<sweep_id>`: the merged sweep directory.
    pub fn sweep_dir(&self) -> PathBuf {
        self.results_root().join(&self.sweep_id)
    }

    /// `DIR/report`: where the report job writes `index.html`.
    pub fn report_dir(&self) -> PathBuf {
        self.dir.join("report")
    }

    /// `DIR/logs`: every job's standard output and error.
    pub fn logs_dir(&self) -> PathBuf {
        self.dir.join("logs")
    }

    /// `DIR/job.json`.
    pub fn spec_path(dir: &Path) -> PathBuf {
        dir.join("job.json")
    }

    /// Writes `DIR/job.json`.
    pub fn save(&self) -> anyhow::Result<()> {
        let path = Self::spec_path(&self.dir);
        std::fs::write(&path, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Reads `DIR/job.json`, saying what `DIR` should be when it is missing.
    pub fn load(dir: &Path) -> anyhow::Result<JobSpec> {
        let path = Self::spec_path(dir);
        if !path.is_file() {
            bail!(
                "{} is not an `omenbench slurm` directory (no job.json): pass the --out of `omenbench slurm`",
                dir.display()
            );
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
    }
}

/// One line of `DIR/jobs.txt`, appended by a submit script: the job kind
/// (`prepare`, `array`, `report`), its Slurm job id, and for an array the
/// shard list it ran (`0-3`, `1,3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// `prepare`, `array` or `report`.
    pub kind: String,
    /// The Slurm job id (`sbatch --parsable`, cluster name dropped).
    pub id: String,
    /// The array's task list, for arrays.
    pub tasks: Option<String>,
}

/// `DIR/jobs.txt`.
pub fn jobs_path(dir: &Path) -> PathBuf {
    dir.join("jobs.txt")
}

/// Every job submitted for `dir`, oldest first (none when nothing was
/// submitted yet).
pub fn read_jobs(dir: &Path) -> Vec<JobRecord> {
    std::fs::read_to_string(jobs_path(dir))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let kind = parts.next()?.to_string();
            let id = parts.next()?.split(';').next()?.to_string();
            Some(JobRecord {
                kind,
                id,
                tasks: parts.next().map(str::to_string),
            })
        })
        .collect()
}

/// Compresses shard numbers into a Slurm `--array` list: `0-3`, `1,3,5-7`.
pub fn array_list(shards: &[usize]) -> String {
    let mut v = shards.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        parts.push(if j > i {
            format!("{}-{}", v[i], v[j])
        } else {
            v[i].to_string()
        });
        i = j + 1;
    }
    parts.join(",")
}

/// Expands a Slurm `--array` list (`0-3`, `1,3,5-7`, a `%limit` ignored).
pub fn parse_array_list(s: &str) -> anyhow::Result<Vec<usize>> {
    let body = s.split('%').next().unwrap_or(s);
    let mut out = Vec::new();
    for part in body.split(',').filter(|p| !p.is_empty()) {
        let num = |t: &str| {
            t.parse::<usize>()
                .with_context(|| format!("array list `{s}`: `{t}` is not a task number"))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if b < a {
                    bail!("array list `{s}`: range {a}-{b} runs backwards");
                }
                out.extend(a..=b);
            }
            None => out.push(num(part)?),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_lists_compress_and_expand() {
        assert_eq!(array_list(&[0, 1, 2, 3]), "0-3");
        assert_eq!(array_list(&[7, 1, 3, 5, 6]), "1,3,5-7");
        assert_eq!(array_list(&[2]), "2");
        for l in ["0-3", "1,3,5-7", "2"] {
            assert_eq!(array_list(&parse_array_list(l).unwrap()), l);
        }
        assert_eq!(parse_array_list("0-2%1").unwrap(), vec![0, 1, 2]);
        assert!(parse_array_list("3-1").is_err());
        assert!(parse_array_list("a").is_err());
    }

    #[test]
    fn job_log_lines_parse() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            jobs_path(dir.path()),
            "prepare 11\narray 12;cluster 0-3\nreport 13\n\n",
        )
        .unwrap();
        let jobs = read_jobs(dir.path());
        assert_eq!(jobs.len(), 3);
        assert_eq!(jobs[1].id, "12");
        assert_eq!(jobs[1].tasks.as_deref(), Some("0-3"));
        assert!(JobSpec::load(dir.path()).is_err());
    }
}
