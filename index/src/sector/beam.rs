//! The sector index's search on layer 0: DiskANN's beam search.
//!
//! A pool of at most `ef` candidates, ranked by their ADC distance, starts
//! at the upper layers' entry point. Each step takes the `beam_width` best
//! candidates not yet expanded, reads the blocks it does not hold yet at
//! once (a block read for one node serves its block mates' expansions
//! later without another read); every record
//! of a block read for the first time is scored exactly from its vector (a
//! result if live and allowed: the expanded node and its block mates, which
//! the build's renumbering made its graph neighbourhood), and the expanded
//! node's neighbours not met before are ranked by their codes into the
//! pool. The search ends when every candidate in the pool has been
//! expanded; the results are the `k` best nodes read.

use super::SectorIndex;
use crate::error::Result;
use crate::filter::Filter;
use crate::index::Neighbor;
use crate::pq::AdcTable;
use crate::store::format::{corrupt, u32_at};
use crate::store::sector_file::{BlockBufs, SectorFile};
use crate::topk::TopK;

#[derive(Clone, Copy)]
struct Candidate {
    distance: f32,
    node: u32,
    expanded: bool,
}

/// A bitset cleared in time proportional to what was set.
struct Marks {
    words: Vec<u64>,
    /// Words set, to clear them afterwards.
    touched: Vec<u32>,
}

impl Marks {
    fn new(bits: usize) -> Self {
        Marks {
            words: vec![0; bits.div_ceil(64)],
            touched: Vec::new(),
        }
    }

    /// Sets bit `i`; false if it was set already.
    #[inline]
    fn insert(&mut self, i: u64) -> bool {
        let (w, bit) = ((i / 64) as usize, 1u64 << (i % 64));
        let word = &mut self.words[w];
        if *word & bit != 0 {
            return false;
        }
        if *word == 0 {
            self.touched.push(w as u32);
        }
        *word |= bit;
        true
    }

    fn clear(&mut self) {
        for &w in &self.touched {
            self.words[w as usize] = 0;
        }
        self.touched.clear();
    }

    fn memory_bytes(&self) -> usize {
        8 * self.words.len() + 4 * self.touched.capacity()
    }
}

/// One search's working memory, pooled.
pub(super) struct Scratch {
    /// Nodes met in this search.
    visited: Marks,
    pool: Vec<Candidate>,
    batch: Vec<u32>,
    /// Blocks read by the current step (not held before it).
    blocks: Vec<u64>,
    bufs: BlockBufs,
    /// Every block this search read, by block number: where it sits in
    /// `arena`. A node whose block was read for a block mate is expanded
    /// from here, without a second read.
    held: std::collections::HashMap<u64, usize>,
    arena: Vec<u8>,
    vector: Vec<f32>,
}

impl Scratch {
    pub(super) fn new(nodes: usize, beam_width: usize, file: &SectorFile) -> Self {
        Scratch {
            visited: Marks::new(nodes),
            pool: Vec::new(),
            batch: Vec::new(),
            blocks: Vec::new(),
            bufs: BlockBufs::new(beam_width, file.layout().block_bytes),
            held: Default::default(),
            arena: Vec::new(),
            vector: Vec::new(),
        }
    }

    fn clear(&mut self) {
        self.visited.clear();
        self.pool.clear();
        self.held.clear();
        self.arena.clear();
    }

    pub(super) fn memory_bytes(&self) -> usize {
        self.visited.memory_bytes()
            + 12 * self.pool.capacity()
            + self.bufs.bytes()
            + self.arena.capacity()
            + 16 * self.held.capacity()
    }
}

/// The f32s of a record's little-endian vector bytes, into `out`.
fn decode_vector(bytes: &[u8], out: &mut Vec<f32>) {
    out.clear();
    out.extend(
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
    );
}

impl SectorIndex {
    /// Beam search (see the module docs); returns the results and the
    /// blocks read.
    pub(super) fn beam(
        &self,
        q: &[f32],
        table: &AdcTable,
        k: usize,
        ef: usize,
        filter: Option<&Filter>,
        s: &mut Scratch,
    ) -> Result<(Vec<Neighbor>, u64)> {
        let start = self
            .upper
            .descend(self.entry, self.top, |n| table.distance(self.code(n)));
        s.clear();
        s.visited.insert(start as u64);
        s.pool.push(Candidate {
            distance: table.distance(self.code(start)),
            node: start,
            expanded: false,
        });
        let mut top = TopK::new(k);
        let mut reads = 0u64;
        let result = loop {
            s.batch.clear();
            for c in s.pool.iter_mut().filter(|c| !c.expanded) {
                c.expanded = true;
                s.batch.push(c.node);
                if s.batch.len() == self.beam_width {
                    break;
                }
            }
            if s.batch.is_empty() {
                break Ok(());
            }
            if let Err(e) = self.read_batch(s) {
                break Err(e);
            }
            reads += s.blocks.len() as u64;
            if let Err(e) = self.expand_batch(q, table, ef, filter, s, &mut top) {
                break Err(e);
            }
        };
        s.clear();
        result.map(|()| (top.into_neighbors(), reads))
    }

    /// Reads the blocks of `s.batch` this search does not hold yet (each
    /// once, all at once), checks them and holds them; `s.blocks` lists
    /// them.
    fn read_batch(&self, s: &mut Scratch) -> Result<()> {
        let layout = self.file.layout();
        s.blocks.clear();
        for &n in &s.batch {
            let b = layout.block_of(n);
            if !s.held.contains_key(&b) && !s.blocks.contains(&b) {
                s.blocks.push(b);
            }
        }
        if s.blocks.is_empty() {
            return Ok(());
        }
        self.file.read_blocks(&s.blocks, &mut s.bufs)?;
        for (i, &b) in s.blocks.iter().enumerate() {
            let block = s.bufs.block(i);
            let (stored, actual) = (self.crcs[b as usize], crc32c::crc32c(block));
            if stored != actual {
                return Err(corrupt(
                    self.file.path(),
                    (b + 1) * layout.block_bytes as u64,
                    format!("block {b} checksum mismatch (stored {stored:#010x}, computed {actual:#010x})"),
                ));
            }
            s.held.insert(b, s.arena.len());
            s.arena.extend_from_slice(block);
        }
        Ok(())
    }

    /// Scores each node of `s.batch` exactly and ranks its neighbours into
    /// the pool.
    fn expand_batch(
        &self,
        q: &[f32],
        table: &AdcTable,
        ef: usize,
        filter: Option<&Filter>,
        s: &mut Scratch,
        top: &mut TopK<u64>,
    ) -> Result<()> {
        let layout = self.file.layout();
        let n = self.node_count();
        let bb = layout.block_bytes;
        let Scratch {
            visited,
            pool,
            batch,
            blocks,
            held,
            arena,
            vector,
            ..
        } = s;
        let block_at = |b: u64| {
            let at = held[&b];
            &arena[at..at + bb]
        };
        // Every record of a block read for the first time (`blocks` holds
        // only those: `read_batch` skips the held ones) is scored exactly:
        // after the build's breadth-first renumbering, a node's block
        // mates are its graph neighbourhood, found at no extra read.
        for &b in blocks.iter() {
            let first = b as usize * layout.per_block;
            for node in first..(first + layout.per_block).min(n) {
                let id = self.ids[node];
                if self.is_deleted(node as u32) || filter.is_some_and(|f| !f.allows(id)) {
                    continue;
                }
                let at = layout.offset_in_block(node as u32);
                decode_vector(&block_at(b)[at..at + 4 * self.dims], vector);
                top.push(self.metric.distance(&self.kernels, q, vector), id);
            }
        }
        for &node in batch.iter() {
            let block = block_at(layout.block_of(node));
            let at = layout.offset_in_block(node);
            let record = &block[at..at + layout.node_bytes];
            let links = &record[4 * self.dims..];
            let count = u32_at(links, 0) as usize;
            if count > self.max0 {
                return Err(self.bad_record(node, "more links than a list holds"));
            }
            for j in 0..count {
                let nb = u32_at(links, 4 + 4 * j);
                if nb as usize >= n {
                    return Err(self.bad_record(node, "a link past the last node"));
                }
                if !visited.insert(nb as u64) {
                    continue;
                }
                let d = table.distance(self.code(nb));
                if pool.len() >= ef && d >= pool[pool.len() - 1].distance {
                    continue;
                }
                let pos = pool.partition_point(|c| c.distance <= d);
                pool.insert(
                    pos,
                    Candidate {
                        distance: d,
                        node: nb,
                        expanded: false,
                    },
                );
                pool.truncate(ef);
            }
        }
        Ok(())
    }

    fn bad_record(&self, node: u32, why: &str) -> crate::error::Error {
        let layout = self.file.layout();
        corrupt(
            self.file.path(),
            (layout.block_of(node) + 1) * layout.block_bytes as u64
                + layout.offset_in_block(node) as u64,
            format!("node {node}: {why}"),
        )
    }

    /// A small allow-set's search: its live ids ranked by their codes, the
    /// best `ef` read and scored exactly (so its recall is that of the codes
    /// at re-rank depth `ef`, not an exact scan's). Finding the ids' nodes
    /// walks the id table, O(n log s) (the index keeps no id → node map in
    /// RAM).
    pub(super) fn scan_filtered(
        &self,
        q: &[f32],
        table: &AdcTable,
        k: usize,
        ef: usize,
        filter: &Filter,
        s: &mut Scratch,
    ) -> Result<(Vec<Neighbor>, u64)> {
        let mut ranked = TopK::new(ef);
        for (node, &id) in self.ids.iter().enumerate() {
            if !self.is_deleted(node as u32) && filter.allows(id) {
                ranked.push(table.distance(self.code(node as u32)), node as u32);
            }
        }
        let nodes: Vec<u32> = ranked.into_sorted().into_iter().map(|c| c.item).collect();
        let mut top = TopK::new(k);
        let mut reads = 0u64;
        s.clear();
        let layout = self.file.layout();
        let mut result = Ok(());
        for chunk in nodes.chunks(self.beam_width) {
            s.batch.clear();
            s.batch.extend_from_slice(chunk);
            result = self.read_batch(s);
            if result.is_err() {
                break;
            }
            reads += s.blocks.len() as u64;
            for &node in chunk {
                let at = s.held[&layout.block_of(node)] + layout.offset_in_block(node);
                decode_vector(&s.arena[at..at + 4 * self.dims], &mut s.vector);
                top.push(
                    self.metric.distance(&self.kernels, q, &s.vector),
                    self.ids[node as usize],
                );
            }
        }
        s.clear();
        result.map(|()| (top.into_neighbors(), reads))
    }
}
