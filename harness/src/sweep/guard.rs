//! Runs one step (a build, a query pass) on its own thread with a timeout,
//! catching panics, so one bad configuration cannot hang or end a sweep.
//!
//! A thread cannot be killed: a timed-out step keeps running in the
//! background until it finishes on its own. The runner records that, stops
//! using the adapter involved, and notes that later timings may be disturbed.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// How a guarded step ended.
#[derive(Debug)]
pub enum Outcome<T> {
    /// It returned a value.
    Done(T),
    /// It returned an error (message with its causes).
    Failed(String),
    /// It panicked (the panic message).
    Panicked(String),
    /// It ran past the timeout and was abandoned, still running.
    TimedOut(Duration),
}

impl<T> Outcome<T> {
    /// The error text of anything but `Done`.
    pub fn error_text(&self, what: &str) -> Option<String> {
        match self {
            Outcome::Done(_) => None,
            Outcome::Failed(e) => Some(format!("{what} failed: {e}")),
            Outcome::Panicked(m) => Some(format!("{what} panicked: {m}")),
            Outcome::TimedOut(t) => Some(format!(
                "{what} timed out after {:.1} s (abandoned; its thread may still be running)",
                t.as_secs_f64()
            )),
        }
    }
}

/// The message of a panic payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// Runs `f` on a new thread and waits at most `timeout` for it.
pub fn run_guarded<T, F>(name: &str, timeout: Duration, f: F) -> Outcome<T>
where
    T: Send + 'static,
    F: FnOnce() -> anyhow::Result<T> + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name(format!("omenbench-{name}"))
        .spawn(move || {
            let out = match catch_unwind(AssertUnwindSafe(f)) {
                Ok(Ok(v)) => Outcome::Done(v),
                Ok(Err(e)) => Outcome::Failed(format!("{e:#}")),
                Err(p) => Outcome::Panicked(panic_message(p.as_ref())),
            };
            // The receiver is gone after a timeout; nothing to tell then.
            let _ = tx.send(out);
        });
    if let Err(e) = spawned {
        return Outcome::Failed(format!("could not start a thread: {e}"));
    }
    match rx.recv_timeout(timeout) {
        Ok(out) => out,
        Err(mpsc::RecvTimeoutError::Timeout) => Outcome::TimedOut(timeout),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Outcome::Panicked("worker thread ended without a result".to_string())
        }
    }
}

/// Counts guarded steps still running, abandoned ones included, so a result
/// measured while an abandoned step still runs can say so.
#[derive(Debug, Clone, Default)]
pub struct LiveSteps(Arc<AtomicUsize>);

/// Decrements the live-step count when a guarded step ends, however it ends.
struct LiveGuard(Arc<AtomicUsize>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl LiveSteps {
    /// [`run_guarded`], counting the step as live until it ends.
    pub fn run<T, F>(&self, name: &str, timeout_s: f64, f: F) -> Outcome<T>
    where
        T: Send + 'static,
        F: FnOnce() -> anyhow::Result<T> + Send + 'static,
    {
        self.0.fetch_add(1, Ordering::SeqCst);
        let guard = LiveGuard(self.0.clone());
        run_guarded(name, Duration::from_secs_f64(timeout_s), move || {
            let _guard = guard;
            f()
        })
    }

    /// A note for results measured while abandoned steps still run.
    pub fn busy_note(&self) -> Option<String> {
        let live = self.0.load(Ordering::SeqCst);
        (live > 0).then(|| {
            format!("{live} abandoned (timed-out) step(s) were still running in the background: timings may be low")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_told_apart() {
        let t = Duration::from_secs(10);
        assert!(matches!(run_guarded("ok", t, || Ok(7)), Outcome::Done(7)));
        let failed = run_guarded::<(), _>("err", t, || anyhow::bail!("nope"));
        assert!(matches!(&failed, Outcome::Failed(m) if m.contains("nope")));
        let panicked = run_guarded::<(), _>("panic", t, || panic!("boom {}", 1));
        assert!(matches!(&panicked, Outcome::Panicked(m) if m == "boom 1"));
        let slow = run_guarded("slow", Duration::from_millis(20), || {
            std::thread::sleep(Duration::from_millis(500));
            Ok(())
        });
        assert!(matches!(slow, Outcome::TimedOut(_)));
        assert!(slow.error_text("build").unwrap().contains("timed out"));
    }
}
