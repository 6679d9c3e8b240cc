//! A worker process spoken to in JSON lines: requests on its stdin, replies
//! on its stdout, every wait bounded by a deadline.
//!
//! Lines on stdout that are not JSON objects (a library printing its own
//! messages) are skipped; stderr is drained on a thread and its last lines
//! are quoted in errors. A worker that exits, or does not answer in time, is
//! reported as an error (and killed); nothing here panics on what a worker
//! does.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use serde_json::Value;

/// Lines of the worker's stderr kept for error messages.
const STDERR_TAIL_LINES: usize = 20;

/// A running worker process.
#[derive(Debug)]
pub struct Worker {
    label: String,
    child: Child,
    stdin: Option<ChildStdin>,
    // In a Mutex only so the worker is `Sync` (adapters are shared).
    lines: Mutex<Receiver<String>>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
}

impl Worker {
    /// Starts `program args…` with piped stdin/stdout/stderr; `label` names
    /// it in errors.
    pub fn spawn(label: &str, program: &Path, args: &[OsString]) -> anyhow::Result<Self> {
        Self::spawn_with_env(label, program, args, &[])
    }

    /// As [`spawn`](Self::spawn), with `env` added to (or replacing in) the
    /// inherited environment.
    pub fn spawn_with_env(
        label: &str,
        program: &Path,
        args: &[OsString],
        env: &[(&str, OsString)],
    ) -> anyhow::Result<Self> {
        let mut command = Command::new(program);
        // Workers only read dataset files, which are complete once they
        // have their names; an HDF5 lock would only let a lock some other
        // process inherited by accident fail the open.
        if std::env::var_os("HDF5_USE_FILE_LOCKING").is_none() {
            command.env("HDF5_USE_FILE_LOCKING", "FALSE");
        }
        // A process group of its own: Ctrl-C in the terminal reaches only the
        // harness, which finishes the current step and then quits its
        // workers (a worker whose harness is gone sees its stdin close).
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("{label}: starting {}", program.display()))?;
        let stdout = child.stdout.take().context("worker stdout not piped")?;
        let stderr = child.stderr.take().context("worker stderr not piped")?;
        let (tx, lines) = mpsc::channel();
        std::thread::Builder::new()
            .name("omenbench-worker-out".into())
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })
            .context("starting the worker's stdout reader")?;
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let tail = stderr_tail.clone();
        std::thread::Builder::new()
            .name("omenbench-worker-err".into())
            .spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Ok(mut t) = tail.lock() {
                        if t.len() == STDERR_TAIL_LINES {
                            t.pop_front();
                        }
                        t.push_back(line);
                    }
                }
            })
            .context("starting the worker's stderr reader")?;
        Ok(Worker {
            label: label.to_string(),
            stdin: child.stdin.take(),
            child,
            lines: Mutex::new(lines),
            stderr_tail,
        })
    }

    /// The last lines the worker wrote on stderr, joined.
    pub fn stderr_tail(&self) -> String {
        self.stderr_tail
            .lock()
            .map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }

    /// Writes one request line.
    pub fn send(&mut self, request: &Value) -> anyhow::Result<()> {
        let label = self.label.clone();
        let mut line = serde_json::to_string(request)?;
        line.push('\n');
        let written = match self.stdin.as_mut() {
            Some(stdin) => stdin
                .write_all(line.as_bytes())
                .and_then(|()| stdin.flush()),
            None => bail!("{label}: worker stdin already closed"),
        };
        if let Err(e) = written {
            let why = self.exit_description();
            bail!("{label}: writing to the worker failed ({e}); {why}");
        }
        Ok(())
    }

    /// Waits at most `timeout` for the next JSON object line. A reply with
    /// `"op": "error"` becomes an error carrying its `message`; the worker
    /// exiting first, or the time running out (the worker is then killed),
    /// too.
    pub fn receive(&mut self, timeout: Duration) -> anyhow::Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let next = match self.lines.get_mut() {
                Ok(lines) => lines.recv_timeout(left),
                Err(poisoned) => poisoned.into_inner().recv_timeout(left),
            };
            match next {
                Ok(line) => {
                    let Ok(value) = serde_json::from_str::<Value>(line.trim()) else {
                        continue;
                    };
                    if !value.is_object() {
                        continue;
                    }
                    if value.get("op").and_then(Value::as_str) == Some("error") {
                        let msg = value
                            .get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("(no message)");
                        bail!("{}: worker reported an error: {msg}", self.label);
                    }
                    return Ok(value);
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.kill();
                    bail!(
                        "{}: worker did not answer within {:.1} s; killed{}",
                        self.label,
                        timeout.as_secs_f64(),
                        self.quoted_stderr()
                    );
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let why = self.exit_description();
                    bail!(
                        "{}: worker closed its output; {why}{}",
                        self.label,
                        self.quoted_stderr()
                    );
                }
            }
        }
    }

    /// Sends `request` and waits for the reply whose `op` is `expect`.
    pub fn request(
        &mut self,
        request: &Value,
        expect: &str,
        timeout: Duration,
    ) -> anyhow::Result<Value> {
        self.send(request)?;
        let reply = self.receive(timeout)?;
        match reply.get("op").and_then(Value::as_str) {
            Some(op) if op == expect => Ok(reply),
            other => Err(anyhow!(
                "{}: expected a `{expect}` reply, got op {:?}",
                self.label,
                other
            )),
        }
    }

    fn quoted_stderr(&self) -> String {
        let tail = self.stderr_tail();
        if tail.trim().is_empty() {
            String::new()
        } else {
            format!("; its stderr ended with:\n{tail}")
        }
    }

    /// How the process ended (waiting briefly for it), for messages.
    fn exit_description(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return format!("it exited with {status}"),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) => return "it is still running".to_string(),
                Err(e) => return format!("its status could not be read ({e})"),
            }
        }
    }

    /// Kills the process (if still running) and reaps it.
    pub fn kill(&mut self) {
        self.stdin = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks the worker to quit, waits up to `grace` for it, then kills it.
    pub fn finish(&mut self, grace: Duration) {
        if self.stdin.is_some() {
            let _ = self.send(&serde_json::json!({ "op": "quit" }));
        }
        self.stdin = None;
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        self.kill();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.finish(Duration::from_secs(2));
    }
}
