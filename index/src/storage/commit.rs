//! Group commit: writers that arrive while a write is being logged queue
//! their writes, and the next of them to lead logs the whole queue at once:
//! one check pass, one log write and (under `EveryOp`) one sync shared by
//! all, then every write stored in queue order, all under one hold of the
//! writer mutex. Each writer then links its own nodes, side by side.
//!
//! A queued write is owned (copied from the caller's slices): the leader
//! runs on another thread than the writer that asked for it.

use std::collections::HashMap;

use parking_lot::{Condvar, Mutex};

use super::durable::LogPoint;
use crate::engine::WriteOp;
use crate::error::{Error, Result};

/// One caller's write, owned so that a leader on another thread can log it.
pub(super) enum Request {
    /// `add`.
    Add { id: u64, vector: Vec<f32> },
    /// `add_batch`, logged as records of at most `rows_per_record` rows.
    Batch {
        ids: Vec<u64>,
        vectors: Vec<f32>,
        rows_per_record: usize,
    },
    /// `remove`.
    Remove { id: u64 },
    /// `update`.
    Update { id: u64, vector: Vec<f32> },
}

impl Request {
    /// The log records of this write.
    pub(super) fn ops(&self) -> Vec<WriteOp<'_>> {
        match self {
            Request::Add { id, vector } => vec![WriteOp::Add { id: *id, vector }],
            Request::Batch {
                ids,
                vectors,
                rows_per_record,
            } => {
                let d = vectors.len() / ids.len().max(1);
                ids.chunks(*rows_per_record)
                    .zip(vectors.chunks(rows_per_record * d))
                    .map(|(ids, vectors)| WriteOp::Batch { ids, vectors })
                    .collect()
            }
            Request::Remove { id } => vec![WriteOp::Remove { id: *id }],
            Request::Update { id, vector } => vec![WriteOp::Update { id: *id, vector }],
        }
    }

    /// Checks this write against the index as the writes before it in the
    /// group leave it (`present` says whether an id is live), then records
    /// its effect in `overlay`.
    pub(super) fn check(
        &self,
        overlay: &mut HashMap<u64, bool>,
        present: impl Fn(u64) -> bool,
    ) -> Result<()> {
        let live = |id: u64, overlay: &HashMap<u64, bool>| {
            overlay.get(&id).copied().unwrap_or_else(|| present(id))
        };
        match self {
            Request::Add { id, .. } => {
                if live(*id, overlay) {
                    return Err(Error::DuplicateId(*id));
                }
                overlay.insert(*id, true);
            }
            Request::Batch { ids, .. } => {
                if let Some(&id) = ids.iter().find(|&&id| live(id, overlay)) {
                    return Err(Error::DuplicateId(id));
                }
                overlay.extend(ids.iter().map(|&id| (id, true)));
            }
            Request::Remove { id } => {
                if !live(*id, overlay) {
                    return Err(Error::UnknownId(*id));
                }
                overlay.insert(*id, false);
            }
            Request::Update { id, .. } => {
                overlay.insert(*id, true);
            }
        }
        Ok(())
    }
}

/// A write logged and stored: its nodes (for its writer to link) and,
/// under `EveryOp`, the point of the log a sync must reach before the
/// write is acknowledged (`durable.rs`).
#[derive(Debug, Default)]
pub(super) struct Stored {
    pub(super) nodes: Vec<u32>,
    pub(super) durable_at: Option<LogPoint>,
}

/// What became of a queued write: stored, or why not.
pub(super) type Outcome = Result<Stored>;

#[derive(Default)]
struct Queue {
    waiting: Vec<(u64, Request)>,
    next_ticket: u64,
    leading: bool,
    done: HashMap<u64, Outcome>,
}

/// The queue of writes waiting for a leader.
#[derive(Default)]
pub(super) struct Commits {
    queue: Mutex<Queue>,
    changed: Condvar,
}

impl Commits {
    /// Queues `request` and returns its outcome: logged and stored by this
    /// thread, leading the writes queued with it (`commit` logs and stores
    /// a group, returning one outcome per write, in order), or by another.
    pub(super) fn submit(
        &self,
        request: Request,
        commit: impl Fn(&[(u64, Request)]) -> Vec<Outcome>,
    ) -> Outcome {
        let mut q = self.queue.lock();
        let ticket = q.next_ticket;
        q.next_ticket += 1;
        q.waiting.push((ticket, request));
        loop {
            if let Some(outcome) = q.done.remove(&ticket) {
                return outcome;
            }
            if !q.leading {
                q.leading = true;
                let group = std::mem::take(&mut q.waiting);
                drop(q);
                // Hands the lead back even if `commit` panics, so no writer
                // waits forever.
                let mut lead = Lead {
                    commits: self,
                    tickets: group.iter().map(|(t, _)| *t).collect(),
                    armed: true,
                };
                let outcomes = commit(&group);
                lead.armed = false;
                drop(lead);
                // Outcomes published and the lead given up in one step: a
                // writer whose write this group stored must never find the
                // lead free before its outcome, take it, and block on the
                // writer mutex while a checkpoint there waits for its link.
                q = self.queue.lock();
                q.leading = false;
                q.done.extend(group.iter().map(|(t, _)| *t).zip(outcomes));
                self.changed.notify_all();
                continue;
            }
            self.changed.wait(&mut q);
        }
    }
}

/// Gives up the lead when a leader unwinds, failing the writes it held.
struct Lead<'a> {
    commits: &'a Commits,
    tickets: Vec<u64>,
    armed: bool,
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut q = self.commits.queue.lock();
        q.leading = false;
        for &ticket in &self.tickets {
            q.done.insert(
                ticket,
                Err(Error::WritesRefused("a write of its group panicked".into())),
            );
        }
        self.commits.changed.notify_all();
    }
}

/// Links in flight: stores begin them under the writer mutex, writers end
/// them after linking, and a checkpoint (holding the writer mutex, so no new
/// one begins) waits until none is left.
#[derive(Default)]
pub(super) struct InFlight {
    count: Mutex<usize>,
    idle: Condvar,
}

impl InFlight {
    /// One more write linking.
    pub(super) fn begin(&self) {
        *self.count.lock() += 1;
    }

    /// A write finished linking.
    pub(super) fn end(&self) {
        let mut c = self.count.lock();
        *c -= 1;
        if *c == 0 {
            self.idle.notify_all();
        }
    }

    /// Waits until no write is linking.
    pub(super) fn wait_idle(&self) {
        let mut c = self.count.lock();
        while *c > 0 {
            self.idle.wait(&mut c);
        }
    }
}

/// An error for every other write of a group that failed as one: the same
/// kind and message (an I/O error keeps its kind and path).
pub(super) fn shared(e: &Error) -> Error {
    match e {
        Error::Io { path, source } => {
            Error::io(path, std::io::Error::new(source.kind(), source.to_string()))
        }
        Error::WritesRefused(why) => Error::WritesRefused(why.clone()),
        other => Error::WritesRefused(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_see_the_writes_before_them_in_the_group() {
        let mut overlay = HashMap::new();
        let in_index = |id: u64| id == 7;
        let add = |id| Request::Add {
            id,
            vector: vec![0.0],
        };
        assert!(add(1).check(&mut overlay, in_index).is_ok());
        assert!(matches!(
            add(1).check(&mut overlay, in_index),
            Err(Error::DuplicateId(1))
        ));
        assert!(matches!(
            add(7).check(&mut overlay, in_index),
            Err(Error::DuplicateId(7))
        ));
        assert!(Request::Remove { id: 7 }
            .check(&mut overlay, in_index)
            .is_ok());
        assert!(add(7).check(&mut overlay, in_index).is_ok());
        assert!(matches!(
            Request::Remove { id: 9 }.check(&mut overlay, in_index),
            Err(Error::UnknownId(9))
        ));
        let batch = Request::Batch {
            ids: vec![3, 1],
            vectors: vec![0.0; 2],
            rows_per_record: 1,
        };
        assert!(matches!(
            batch.check(&mut overlay, in_index),
            Err(Error::DuplicateId(1))
        ));
        assert_eq!(batch.ops().len(), 2);
    }

    #[test]
    fn every_writer_gets_its_own_outcome_and_groups_form() {
        let commits = Commits::default();
        let groups = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let (commits, groups) = (&commits, &groups);
                s.spawn(move || {
                    for i in 0..200u64 {
                        let id = t * 1000 + i;
                        let out = commits.submit(Request::Remove { id }, |group| {
                            groups.lock().push(group.len());
                            std::thread::sleep(std::time::Duration::from_micros(50));
                            group
                                .iter()
                                .map(|(_, r)| match r {
                                    Request::Remove { id } => Ok(Stored {
                                        nodes: vec![*id as u32],
                                        durable_at: None,
                                    }),
                                    _ => unreachable!(),
                                })
                                .collect()
                        });
                        assert_eq!(out.unwrap().nodes, vec![id as u32]);
                    }
                });
            }
        });
        let groups = groups.into_inner();
        assert_eq!(groups.iter().sum::<usize>(), 800);
        assert!(
            groups.len() < 800,
            "writers arriving during a commit share the next"
        );
    }
}
