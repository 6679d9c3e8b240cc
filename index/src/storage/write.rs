//! The write path of a [`DiskIndex`]: check, log, store in log order under
//! the writer mutex, many writers' writes at once (`commit.rs`); link
//! outside it; checkpoint when one is due, and renumber after a batch
//! that built most of the index (`reorder.rs`).
//!
//! A batch larger than one log record (`MAX_RECORD_BYTES`) is logged as
//! several records, all appended before any is applied: if any append
//! fails, every record of the batch is taken back and nothing is applied,
//! as for the in-RAM `add_batch`. (A crash in the middle of appending them
//! is another matter: the batch was never acknowledged, and replay may
//! apply a prefix of its whole records.)

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use parking_lot::Mutex;

use super::commit::{shared, Outcome, Request, Stored};
use super::disk_index::Writer;
use super::durable::LogPoint;
use super::{DiskIndex, Durability};
use crate::engine::WriteOp;
use crate::error::{Error, Result};
use crate::store::io as store_io;
use crate::validate;

impl DiskIndex {
    /// `Index::add`, durably.
    pub(super) fn add_one(&self, id: u64, vector: &[f32]) -> Result<()> {
        validate::vector(vector, self.inner.index().dims(), 0)?;
        self.write(Request::Add {
            id,
            vector: vector.to_vec(),
        })
    }

    /// `Index::add_batch`, durably and all or nothing.
    pub(super) fn add_many(&self, ids: &[u64], vectors: &[f32]) -> Result<()> {
        let d = self.inner.index().dims();
        validate::batch(ids, vectors, d)?;
        self.write(Request::Batch {
            ids: ids.to_vec(),
            vectors: vectors.to_vec(),
            rows_per_record: (self.record_bytes / (8 + 4 * d)).max(1),
        })
    }

    /// `Index::remove`: marks `id` deleted, durably.
    pub(super) fn remove_one(&self, id: u64) -> Result<()> {
        self.write(Request::Remove { id })
    }

    /// `Index::update`: replaces (or adds) the vector of `id`, durably.
    pub(super) fn update_one(&self, id: u64, vector: &[f32]) -> Result<()> {
        validate::vector(vector, self.inner.index().dims(), 0)?;
        self.write(Request::Update {
            id,
            vector: vector.to_vec(),
        })
    }

    /// Logs and applies one write: through the group commit (this thread
    /// or another logs and stores it with the writes queued beside it),
    /// then links its nodes here, outside the writer mutex, while the next
    /// group is logged; under `EveryOp`, then waits until a sync covers it
    /// (the syncer thread started it when the group was logged:
    /// `durable.rs`).
    fn write(&self, request: Request) -> Result<()> {
        if self.opts.read_only {
            return Err(Error::ReadOnly);
        }
        let batch = matches!(request, Request::Batch { .. });
        let stored = self
            .commits
            .submit(request, |group| self.commit_group(group))?;
        if let Some(at) = stored.durable_at {
            self.syncs.request(at);
        }
        self.inner.link(&stored.nodes);
        self.links.end();
        if let Some(at) = stored.durable_at {
            self.syncs.wait(at)?;
        }
        if batch && self.inner.graph().builds_most_of(stored.nodes.len()) {
            // A bulk build: renumber for locality (`reorder.rs`). Its
            // failure, like a checkpoint's, refuses the next write.
            let mut w = self.writer.lock();
            let _ = self.checkpoint_as(&mut w, true);
            self.checkpoint_wanted
                .store(self.checkpoint_due(&w), Ordering::Relaxed);
        } else if self.checkpoint_wanted.load(Ordering::Relaxed) {
            let mut w = self.writer.lock();
            if self.checkpoint_due(&w) {
                // The write is already durable (in the log, and in the new
                // graph file if the rename happened): a failed checkpoint
                // does not fail it, but refuses the next write
                // (`checkpoint_error` says why).
                let _ = self.checkpoint_locked(&mut w);
            }
            self.checkpoint_wanted
                .store(self.checkpoint_due(&w), Ordering::Relaxed);
        }
        Ok(())
    }

    /// Under the writer mutex: checks each write of `group` (against the
    /// index as the writes before it leave it), logs those that pass as one
    /// append (one sync), and stores them in log order (= node order). A
    /// stored write has a link in flight (`links`) until its writer ends it.
    fn commit_group(&self, group: &[(u64, Request)]) -> Vec<Outcome> {
        let mut w = self.writer.lock();
        let mut outcomes: Vec<Outcome> = Vec::with_capacity(group.len());
        let mut overlay = HashMap::new();
        let mut passed = Vec::new();
        let ops: Vec<Vec<WriteOp<'_>>> = group.iter().map(|(_, req)| req.ops()).collect();
        let rows_of = |i: usize| ops[i].iter().map(WriteOp::rows).sum::<usize>();
        for (i, (_, req)) in group.iter().enumerate() {
            let checked = match &w.refusal {
                Some(why) => Err(Error::WritesRefused(why.clone())),
                None => req
                    .check(&mut overlay, |id| self.inner.graph().contains(id))
                    .and_then(|()| match rows_of(i) {
                        0 => Ok(()),
                        rows => self.inner.check_write_rows(rows),
                    }),
            };
            if checked.is_ok() {
                passed.push(i);
            }
            outcomes.push(checked.map(|()| Stored::default()));
        }
        let rows: usize = passed.iter().map(|&i| rows_of(i)).sum();
        // Make room for the rows before logging (growing a full vector
        // file), so a disk that cannot take them fails the write rather
        // than its replay. Growing waits for the links in flight; it
        // happens rarely (the room grows by an eighth of the index).
        let reserved = match rows {
            0 => Ok(()),
            rows => self.inner.graph().reserve(rows),
        };
        let all: Vec<WriteOp<'_>> = passed
            .iter()
            .flat_map(|&i| ops[i].iter().copied())
            .collect();
        let writes = passed.len() as u32;
        // Under `EveryOp`, the point a sync must reach: each writer waits
        // for it after linking.
        let durable_at = match reserved.and_then(|()| self.append(&mut w, &all, writes)) {
            Ok(point) => point,
            Err(e) => {
                for &i in &passed {
                    outcomes[i] = Err(shared(&e));
                }
                if let Some(&first) = passed.first() {
                    outcomes[first] = Err(e);
                }
                return outcomes;
            }
        };
        // Validated above, so storing should not fail. If a group of one
        // write fails with nothing stored, it is taken back out of the log
        // (the log never holds a refused write: only a first PQ record can
        // be refused, and then nothing of the batch was stored); any other
        // failure refuses further writes, since the log now holds a write
        // that was not applied.
        for &i in &passed {
            let mut nodes = Vec::new();
            let mut failed = None;
            for op in &ops[i] {
                match self.inner.store(op) {
                    Ok(stored) => nodes.extend(stored),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            match failed {
                None => {
                    self.links.begin();
                    outcomes[i] = Ok(Stored { nodes, durable_at });
                }
                Some(e) if nodes.is_empty() && passed.len() == 1 => {
                    let undone = w.wal.as_mut().map_or(Ok(()), |wal| wal.undo_last());
                    outcomes[i] = Err(undone.err().unwrap_or(e));
                }
                Some(e) => {
                    w.refusal
                        .get_or_insert_with(|| format!("a logged write failed to apply: {e}"));
                    outcomes[i] = Err(e);
                }
            }
        }
        w.ops_since_checkpoint += all.len() as u64;
        if self.checkpoint_due(&w) {
            self.checkpoint_wanted.store(true, Ordering::Relaxed);
        }
        outcomes
    }

    /// Starts the log's syncer thread (`durable.rs`), for a writable
    /// index under `EveryOp`.
    pub(super) fn start_syncer(&mut self) -> Result<()> {
        if self.opts.read_only || self.opts.durability != Durability::EveryOp {
            return Ok(());
        }
        let (writer, syncs) = (self.writer.clone(), self.syncs.clone());
        let wal = self.dir.wal();
        let syncer = store_io::spawn("omendb-log-sync", move || syncs.run(|| sync_log(&writer)))
            .map_err(|e| Error::io(&wal, e))?;
        self.syncer = Some(syncer);
        Ok(())
    }

    /// Appends `ops` to the log as one write, with one sync as the
    /// durability asks, except under `EveryOp`: then none, and it returns
    /// the point a sync must reach before the writes are acknowledged (see
    /// [`sync_log`]). A failed sync is fatal for the log (what it
    /// holds is not known to be durable, and retrying can report success
    /// for lost pages): no further write goes into it.
    fn append(&self, w: &mut Writer, ops: &[WriteOp<'_>], writes: u32) -> Result<Option<LogPoint>> {
        if ops.is_empty() {
            return Ok(None);
        }
        let generation = w.generation;
        let wal = w.wal.as_mut().ok_or(Error::ReadOnly)?;
        let appended = match self.opts.durability {
            Durability::EveryOp => wal.append_unsynced(ops, writes).map(|()| {
                Some(LogPoint {
                    generation,
                    bytes: wal.bytes(),
                })
            }),
            _ => wal.append_writes(ops, writes).map(|()| None),
        };
        if appended.is_err() {
            if let Some(why) = wal.failure() {
                w.refusal = Some(why.to_string());
            }
        }
        appended
    }
}

/// Syncs the log as it stands, outside the writer mutex (appends go on
/// meanwhile), and returns the point it covered. A failed sync is fatal
/// for the log: it is cut back to what was synced, writes are refused,
/// and so are checkpoints (the writes it held were applied).
fn sync_log(writer: &Mutex<Writer>) -> Result<LogPoint> {
    let (sync, generation) = {
        let w = writer.lock();
        let wal = w.wal.as_ref().ok_or(Error::ReadOnly)?;
        (wal.sync_handle()?, w.generation)
    };
    let at = LogPoint {
        generation,
        bytes: sync.upto,
    };
    let result = sync.run();
    let mut w = writer.lock();
    if w.generation != generation {
        // A checkpoint switched logs meanwhile: it synced this one and
        // made all of it durable.
        return Ok(at);
    }
    let w = &mut *w;
    let Some(wal) = w.wal.as_mut() else {
        return result.map(|()| at);
    };
    if let Some(why) = wal.failure() {
        // Another sync of this log failed meanwhile (a checkpoint's):
        // this one's success is not to be trusted (a write-back error
        // is reported once), and the log was cut back.
        return Err(Error::WritesRefused(why.to_string()));
    }
    match result {
        Ok(()) => {
            wal.synced_to(at.bytes);
            Ok(at)
        }
        Err(e) => {
            wal.sync_failed(&e);
            if let Some(why) = wal.failure() {
                w.refusal.get_or_insert_with(|| why.to_string());
            }
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{DiskIndex, Error, HnswParams, Index, Metric, OpenOptions};

    #[test]
    fn a_batch_over_several_log_records_is_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let d = 4;
        let mut index = DiskIndex::create(
            dir.path(),
            d,
            Metric::L2,
            HnswParams::new(8, 32),
            OpenOptions::default(),
        )
        .unwrap();
        // Ten rows per record: 35 rows are four records.
        index.record_bytes = 10 * (8 + 4 * d);
        let ids: Vec<u64> = (0..35).collect();
        let rows: Vec<f32> = (0..35 * d).map(|i| i as f32).collect();
        // The disk fills after two records' worth.
        let record = 12 + 1 + 4 + 10 * (8 + 4 * d) as u64;
        {
            let mut w = index.writer.lock();
            let wal = w.wal.as_mut().unwrap();
            wal.fail_beyond = Some(wal.bytes() + 2 * record);
        }
        let err = index.add_batch(&ids, &rows).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
        assert_eq!(index.len(), 0, "no part of a failed batch is applied");
        assert!(!index.contains(0));
        index.writer.lock().wal.as_mut().unwrap().fail_beyond = None;
        index.add_batch(&ids[..5], &rows[..5 * d]).unwrap();
        index.close().unwrap();
        let index = DiskIndex::open(dir.path(), OpenOptions::default()).unwrap();
        assert_eq!(index.len(), 5, "the log held nothing of the failed batch");
        assert!(!index.contains(10));
    }
}
