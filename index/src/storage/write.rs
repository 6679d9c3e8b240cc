//! The write path of a [`DiskIndex`]: check, log, store in log order under
//! the writer mutex; link outside it; checkpoint when one is due.
//!
//! A batch larger than one log record (`MAX_RECORD_BYTES`) is logged as
//! several records, all appended before any is applied: if any append
//! fails, every record of the batch is taken back and nothing is applied,
//! as for the in-RAM `add_batch`. (A crash in the middle of appending them
//! is another matter: the batch was never acknowledged, and replay may
//! apply a prefix of its whole records.)

use super::DiskIndex;
use crate::engine::{DurableEngine, WriteOp};
use crate::error::{Error, Result};
use crate::validate;

impl DiskIndex {
    /// `Index::add`, durably.
    pub(super) fn add_one(&self, id: u64, vector: &[f32]) -> Result<()> {
        validate::vector(vector, self.inner.index().dims(), 0)?;
        self.write(|inner| {
            if inner.graph().contains(id) {
                return Err(Error::DuplicateId(id));
            }
            Ok(vec![WriteOp::Add { id, vector }])
        })
    }

    /// `Index::add_batch`, durably and all or nothing.
    pub(super) fn add_many(&self, ids: &[u64], vectors: &[f32]) -> Result<()> {
        let d = self.inner.index().dims();
        validate::batch(ids, vectors, d)?;
        let rows = (self.record_bytes / (8 + 4 * d)).max(1);
        self.write(|inner| {
            if let Some(&id) = ids.iter().find(|&&id| inner.graph().contains(id)) {
                return Err(Error::DuplicateId(id));
            }
            Ok(ids
                .chunks(rows)
                .zip(vectors.chunks(rows * d))
                .map(|(ids, vectors)| WriteOp::Batch { ids, vectors })
                .collect())
        })
    }

    /// `Index::remove`: marks `id` deleted, durably.
    pub(super) fn remove_one(&self, id: u64) -> Result<()> {
        self.write(|inner| {
            if !inner.graph().contains(id) {
                return Err(Error::UnknownId(id));
            }
            Ok(vec![WriteOp::Remove { id }])
        })
    }

    /// `Index::update`: replaces (or adds) the vector of `id`, durably.
    pub(super) fn update_one(&self, id: u64, vector: &[f32]) -> Result<()> {
        validate::vector(vector, self.inner.index().dims(), 0)?;
        self.write(|_| Ok(vec![WriteOp::Update { id, vector }]))
    }

    /// Logs and applies one write (one or more records). `check` runs under
    /// the writer lock and returns the records to log.
    fn write<'a>(
        &self,
        check: impl FnOnce(&dyn DurableEngine) -> Result<Vec<WriteOp<'a>>>,
    ) -> Result<()> {
        if self.opts.read_only {
            return Err(Error::ReadOnly);
        }
        // Under the writer lock: check, log, store (log order = node order).
        let (nodes, linking) = {
            let mut w = self.writer.lock();
            if let Some(why) = &w.refusal {
                return Err(Error::WritesRefused(why.clone()));
            }
            let ops = check(self.inner.as_ref())?;
            let rows: usize = ops.iter().map(WriteOp::rows).sum();
            if rows > 0 {
                self.inner.check_write_rows(rows)?;
                self.inner
                    .graph()
                    .with_vectors_mut(|v| v.try_reserve(rows))?;
            }
            let wal = w.wal.as_mut().ok_or(Error::ReadOnly)?;
            if let Err(e) = wal.append_all(&ops) {
                // A failed sync is fatal for the log (what it holds is not
                // known to be durable, and retrying can report success for
                // lost pages): no further write goes into it.
                if let Some(why) = wal.failure() {
                    w.refusal = Some(why.to_string());
                }
                return Err(e);
            }
            let wal = w.wal.as_mut().ok_or(Error::ReadOnly)?;
            // Validated above, so storing should not fail; if it does, the
            // records are taken back so the log never holds a refused write.
            // (Only a first PQ record can be refused, and then nothing of
            // the batch was stored.)
            let mut nodes = Vec::new();
            for op in &ops {
                match self.inner.store(op) {
                    Ok(stored) => nodes.extend(stored),
                    Err(e) if nodes.is_empty() => {
                        wal.undo_last()?;
                        return Err(e);
                    }
                    Err(e) => return Err(e),
                }
            }
            w.ops_since_checkpoint += ops.len() as u64;
            (nodes, self.linking.read())
        };
        // Outside it: linking, while the next write is checked and logged
        // (its store waits only for the node each linking thread has in
        // hand). A checkpoint waits for every link in flight (the `linking`
        // lock).
        self.inner.link(&nodes);
        drop(linking);
        let mut w = self.writer.lock();
        if self.checkpoint_due(&w) {
            // The write is already durable (in the log, and in the new graph
            // file if the rename happened): a failed checkpoint does not fail
            // it, but refuses the next write (`checkpoint_error` says why).
            let _ = self.checkpoint_locked(&mut w);
        }
        Ok(())
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
