//! Where each shard of a Slurm sweep stands: done (it left its marker),
//! queued or running (`squeue`), or missing — failed, timed out, cancelled
//! or never started (`sacct` says which when accounting is on; the task's
//! log's last line says why).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::sweep::shard::{self, DoneMarker, Shard};

use super::job::{parse_array_list, read_jobs, JobRecord, JobSpec};

/// One shard's state.
#[derive(Debug, Clone, PartialEq)]
pub enum ShardState {
    /// It ran every build set (its marker).
    Done(DoneMarker),
    /// Waiting in the queue (`squeue` state, e.g. `PENDING`).
    Queued(String),
    /// Running (`squeue` state, e.g. `RUNNING`, `COMPLETING`).
    Running(String),
    /// Ran or was cancelled without finishing: the scheduler's state when
    /// known (`FAILED`, `TIMEOUT`, `CANCELLED`, `OUT_OF_MEMORY`), and the
    /// last line of its log.
    Missing {
        /// `sacct` state, when accounting is on.
        state: Option<String>,
        /// What the log says, or that there is none.
        detail: String,
    },
}

impl ShardState {
    /// Whether `resume` should submit this shard again.
    pub fn needs_rerun(&self) -> bool {
        matches!(self, ShardState::Missing { .. })
    }
}

/// A shard and its state.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardStatus {
    /// Shard number.
    pub index: usize,
    /// Its state.
    pub state: ShardState,
}

/// What the scheduler knows about an array job's tasks.
pub trait Scheduler {
    /// Queued or running tasks of array job `job`: task → state.
    fn queued(&self, job: &str) -> BTreeMap<usize, String>;
    /// Finished tasks' states (accounting), task → state; empty when
    /// accounting is off.
    fn accounted(&self, job: &str) -> BTreeMap<usize, String>;
}

/// Asks the real `squeue` and `sacct`; a missing command or a failure
/// (accounting disabled) gives no information rather than an error.
pub struct SlurmCommands;

fn run_lines(cmd: &str, args: &[&str]) -> Vec<String> {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Parses `<job>_<task>|<state>` lines (`%i|%T` of squeue -r, or
/// `JobID|State` of sacct -P) into task → state, keeping `job`'s tasks.
fn parse_task_states(job: &str, lines: &[String]) -> BTreeMap<usize, String> {
    let mut out = BTreeMap::new();
    for line in lines {
        let Some((id, state)) = line.split_once('|') else {
            continue;
        };
        let Some((j, task)) = id.trim().split_once('_') else {
            continue;
        };
        if j != job {
            continue;
        }
        // `[1-3]` entries of a pending array not yet split (squeue without -r).
        let tasks = parse_array_list(task.trim_matches(|c| c == '[' || c == ']'));
        let state = state.split_whitespace().next().unwrap_or("").to_uppercase();
        for t in tasks.unwrap_or_default() {
            out.insert(t, state.clone());
        }
    }
    out
}

impl Scheduler for SlurmCommands {
    fn queued(&self, job: &str) -> BTreeMap<usize, String> {
        let lines = run_lines("squeue", &["-h", "-r", "-j", job, "-o", "%i|%T"]);
        parse_task_states(job, &lines)
    }

    fn accounted(&self, job: &str) -> BTreeMap<usize, String> {
        let lines = run_lines("sacct", &["-n", "-P", "-X", "-j", job, "-o", "JobID,State"]);
        parse_task_states(job, &lines)
    }
}

/// The last non-empty line of a file, cut to 200 characters.
fn last_line(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
    Some(line.chars().take(200).collect())
}

/// Every shard's state: markers first, then the newest array job that
/// covered the shard, asked of `sched`.
pub fn shard_statuses(spec: &JobSpec, sched: &dyn Scheduler) -> Vec<ShardStatus> {
    let sweep_dir = spec.sweep_dir();
    let arrays: Vec<(JobRecord, Vec<usize>)> = read_jobs(&spec.dir)
        .into_iter()
        .filter(|j| j.kind == "array")
        .map(|j| {
            let tasks = j
                .tasks
                .as_deref()
                .and_then(|t| parse_array_list(t).ok())
                .unwrap_or_default();
            (j, tasks)
        })
        .collect();
    let mut queued: BTreeMap<String, BTreeMap<usize, String>> = BTreeMap::new();
    let mut accounted: BTreeMap<String, BTreeMap<usize, String>> = BTreeMap::new();
    (0..spec.shards)
        .map(|index| {
            let s = Shard {
                index,
                count: spec.shards,
            };
            let marker = std::fs::read(shard::marker_path(&sweep_dir, s))
                .ok()
                .and_then(|b| serde_json::from_slice::<DoneMarker>(&b).ok())
                .filter(|m| m.shard == s);
            let state = if let Some(m) = marker {
                ShardState::Done(m)
            } else if let Some((job, _)) = arrays.iter().rev().find(|(_, t)| t.contains(&index)) {
                let q = queued
                    .entry(job.id.clone())
                    .or_insert_with(|| sched.queued(&job.id));
                match q.get(&index) {
                    Some(st) if st == "PENDING" || st == "REQUEUED" || st == "SUSPENDED" => {
                        ShardState::Queued(st.clone())
                    }
                    Some(st) => ShardState::Running(st.clone()),
                    None => {
                        let a = accounted
                            .entry(job.id.clone())
                            .or_insert_with(|| sched.accounted(&job.id));
                        let log = spec.logs_dir().join(format!("shard-{}_{index}.out", job.id));
                        ShardState::Missing {
                            state: a.get(&index).cloned(),
                            detail: match last_line(&log) {
                                Some(l) => format!("{}: {l}", log.display()),
                                None => format!(
                                    "no log ({}): it never started (prepare failed, or it was cancelled)",
                                    log.display()
                                ),
                            },
                        }
                    }
                }
            } else {
                ShardState::Missing {
                    state: None,
                    detail: "never submitted".into(),
                }
            };
            ShardStatus { index, state }
        })
        .collect()
}

/// The shards `resume` submits again: neither done nor in the queue.
pub fn to_rerun(statuses: &[ShardStatus]) -> Vec<usize> {
    statuses
        .iter()
        .filter(|s| s.state.needs_rerun())
        .map(|s| s.index)
        .collect()
}

/// A table of the statuses, with a closing line on what to do.
pub fn render(spec: &JobSpec, statuses: &[ShardStatus]) -> String {
    let done = statuses
        .iter()
        .filter(|s| matches!(s.state, ShardState::Done(_)))
        .count();
    let mut out = format!(
        "{}: {} shard(s), {done} done; results in {}\nshard  state      detail\n",
        spec.dir.display(),
        spec.shards,
        spec.sweep_dir().display()
    );
    for s in statuses {
        let (state, detail) = match &s.state {
            ShardState::Done(m) => (
                "done".to_string(),
                format!(
                    "{} result(s), {} with errors, {} build set(s), {:.1} s on {}",
                    m.results,
                    m.errors,
                    m.build_sets,
                    m.seconds,
                    m.host.as_deref().unwrap_or("?")
                ),
            ),
            ShardState::Queued(st) | ShardState::Running(st) => (st.to_lowercase(), String::new()),
            ShardState::Missing { state, detail } => (
                state.as_deref().unwrap_or("missing").to_lowercase(),
                detail.clone(),
            ),
        };
        let _ = writeln!(out, "{:<6} {state:<10} {detail}", s.index);
    }
    let rerun = to_rerun(statuses);
    if !rerun.is_empty() {
        let _ = writeln!(
            out,
            "{} shard(s) to re-run ({}): omenbench slurm resume {}",
            rerun.len(),
            super::job::array_list(&rerun),
            spec.dir.display()
        );
    } else if done == statuses.len() {
        let _ = writeln!(
            out,
            "all shards done; report in {}",
            spec.report_dir().display()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    struct Fake {
        queued: BTreeMap<usize, String>,
        accounted: BTreeMap<usize, String>,
    }

    impl Scheduler for Fake {
        fn queued(&self, _: &str) -> BTreeMap<usize, String> {
            self.queued.clone()
        }
        fn accounted(&self, _: &str) -> BTreeMap<usize, String> {
            self.accounted.clone()
        }
    }

    fn spec(dir: PathBuf) -> JobSpec {
        JobSpec {
            dir: dir.clone(),
            shards: 5,
            sweep_id: "s".into(),
            partition: None,
            cpus_per_task: 1,
            time: None,
            mem: None,
            cache_dir: dir.join("cache"),
            omenbench: PathBuf::from("omenbench"),
            root: dir,
        }
    }

    fn mark(spec: &JobSpec, i: usize) {
        let m = DoneMarker {
            shard: Shard::new(i, spec.shards).unwrap(),
            results: 2,
            errors: 0,
            build_sets: 1,
            seconds: 0.5,
            host: Some("node1".into()),
            finished: "2026-11-29T00:00:00Z".into(),
        };
        shard::write_marker(&spec.sweep_dir(), &m).unwrap();
    }

    #[test]
    fn squeue_and_sacct_lines_parse() {
        let lines: Vec<String> = ["12_0|RUNNING", "12_[2-3]|PENDING", "13_1|FAILED", "junk"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let m = parse_task_states("12", &lines);
        assert_eq!(m.len(), 3);
        assert_eq!(m[&0], "RUNNING");
        assert_eq!(m[&3], "PENDING");
    }

    #[test]
    fn resume_reruns_only_missing_shards() {
        let dir = tempfile::tempdir().unwrap();
        let spec = spec(dir.path().to_path_buf());
        std::fs::create_dir_all(spec.logs_dir()).unwrap();
        // First submission: all five; a resume of 3 and 4 since.
        std::fs::write(
            super::super::job::jobs_path(&spec.dir),
            "prepare 10\narray 11 0-4\nreport 12\nprepare 20\narray 21 3-4\nreport 22\n",
        )
        .unwrap();
        mark(&spec, 0);
        mark(&spec, 2);
        std::fs::write(spec.logs_dir().join("shard-11_1.out"), "x\nerror: boom\n").unwrap();
        let sched = Fake {
            queued: BTreeMap::from([(4, "PENDING".to_string())]),
            accounted: BTreeMap::from([(1, "TIMEOUT".to_string())]),
        };
        let st = shard_statuses(&spec, &sched);
        assert!(matches!(st[0].state, ShardState::Done(_)));
        assert!(matches!(st[2].state, ShardState::Done(_)));
        assert_eq!(st[4].state, ShardState::Queued("PENDING".into()));
        match &st[1].state {
            ShardState::Missing { state, detail } => {
                assert_eq!(state.as_deref(), Some("TIMEOUT"));
                assert!(detail.ends_with("error: boom"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        // Shard 3 was last in job 21, which has no log for it.
        match &st[3].state {
            ShardState::Missing { detail, .. } => {
                assert!(detail.contains("shard-21_3"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(to_rerun(&st), vec![1, 3]);
        let text = render(&spec, &st);
        assert!(text.contains("2 shard(s) to re-run (1,3)"), "{text}");
        assert!(text.contains("timeout"), "{text}");
    }
}
