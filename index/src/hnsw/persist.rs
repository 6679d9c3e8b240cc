//! Snapshot and restore hooks for the storage layer (`crate::storage`): the
//! graph written as tagged sections of a graph file, read back and checked,
//! and access to the vector store for mapping and checksumming.
//!
//! | section | payload |
//! |---|---|
//! | [`SEC_META`] | node count (u64), entry point (u64: `level << 32 \| node`, or all ones), `2M` (u32), `M` (u32) |
//! | [`SEC_IDS`] | external id of each node (u64 each) |
//! | [`SEC_LEVELS`] | level of each node (u8 each) |
//! | [`SEC_DELETED`] | deletion marks, one bit per node, LSB first |
//! | [`SEC_LAYER0`] | layer-0 slots, `1 + 2M` u32 each: count, then links |
//! | [`SEC_UPPER`] | upper-layer slots, `1 + M` u32 each, node by node, layer by layer |
//!
//! Upper-layer offsets are not stored: they follow from the levels.

use std::io::{Seek, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::graph::{Graph, NodeId, NO_ENTRY};
use super::params::MAX_LEVEL;
use super::rng::LevelRng;
use super::vectors::VectorStore;
use super::words::Words;
use super::{HnswIndex, HnswParams};
use crate::error::Result;
use crate::id_map::IdMap;
use crate::metric::Metric;
use crate::storage::format::{corrupt, u32_at, u64_at, Section, SectionWriter, FLAG_REQUIRED};
use crate::storage::mapped_graph::MappedGraphFile;

/// Graph shape: node count, entry point, link widths.
pub(crate) const SEC_META: u32 = 0x10;
/// External ids.
pub(crate) const SEC_IDS: u32 = 0x11;
/// Node levels.
pub(crate) const SEC_LEVELS: u32 = 0x12;
/// Deletion bitset.
pub(crate) const SEC_DELETED: u32 = 0x13;
/// Layer-0 slots.
pub(crate) const SEC_LAYER0: u32 = 0x14;
/// Upper-layer slot pool.
pub(crate) const SEC_UPPER: u32 = 0x15;
/// Every section kind this file writes and reads.
pub(crate) const GRAPH_SECTIONS: [u32; 6] = [
    SEC_META,
    SEC_IDS,
    SEC_LEVELS,
    SEC_DELETED,
    SEC_LAYER0,
    SEC_UPPER,
];

fn write_u32s<W: Write + Seek>(
    w: &mut SectionWriter<W>,
    words: &[AtomicU32],
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(64 << 10);
    for chunk in words.chunks(16 << 10) {
        buf.clear();
        for x in chunk {
            buf.extend_from_slice(&x.load(Ordering::Relaxed).to_le_bytes());
        }
        w.write(&buf)?;
    }
    Ok(())
}

impl HnswIndex {
    /// An empty index whose vectors live in `vectors` (which must be empty).
    pub(crate) fn with_vector_store(
        dims: usize,
        metric: Metric,
        params: HnswParams,
        vectors: VectorStore,
    ) -> Result<Self> {
        let mut index = HnswIndex::new(dims, metric, params)?;
        index.graph.get_mut().vectors = vectors;
        Ok(index)
    }

    /// Writes the graph's sections; returns the node count written. The
    /// caller keeps writers out (a snapshot taken during an insert would
    /// hold half-linked nodes).
    pub(crate) fn write_graph_sections<W: Write + Seek>(
        &self,
        w: &mut SectionWriter<W>,
    ) -> std::io::Result<usize> {
        let g = self.graph.read();
        let n = g.node_count();
        let mut meta = Vec::with_capacity(24);
        meta.extend_from_slice(&(n as u64).to_le_bytes());
        meta.extend_from_slice(&g.entry.load(Ordering::Acquire).to_le_bytes());
        meta.extend_from_slice(&(g.max0 as u32).to_le_bytes());
        meta.extend_from_slice(&(g.max_upper as u32).to_le_bytes());
        w.section(SEC_META, FLAG_REQUIRED, &meta)?;
        w.begin(SEC_IDS, FLAG_REQUIRED)?;
        for chunk in g.ids.chunks(8 << 10) {
            let bytes: Vec<u8> = chunk.iter().flat_map(|id| id.to_le_bytes()).collect();
            w.write(&bytes)?;
        }
        w.end()?;
        w.section(SEC_LEVELS, FLAG_REQUIRED, &g.levels)?;
        let mut bits = vec![0u8; n.div_ceil(8)];
        for (i, d) in g.deleted.iter().enumerate() {
            if d.load(Ordering::Relaxed) {
                bits[i / 8] |= 1 << (i % 8);
            }
        }
        w.section(SEC_DELETED, FLAG_REQUIRED, &bits)?;
        w.begin(SEC_LAYER0, FLAG_REQUIRED)?;
        write_u32s(w, &g.layer0)?;
        w.end()?;
        w.begin(SEC_UPPER, FLAG_REQUIRED)?;
        write_u32s(w, &g.upper)?;
        w.end()?;
        Ok(n)
    }

    /// Rebuilds an index from graph sections (already checksummed) and a
    /// vector store holding exactly the graph's rows. Every structural fact
    /// is checked; anything off is [`Corrupt`](crate::Error::Corrupt) in `file`.
    pub(crate) fn from_graph_sections(
        dims: usize,
        metric: Metric,
        params: HnswParams,
        sections: &[Section<'_>],
        vectors: VectorStore,
        file: &Path,
        mapped: Option<&Arc<MappedGraphFile>>,
    ) -> Result<Self> {
        let find = |kind: u32| {
            sections
                .iter()
                .find(|s| s.kind == kind)
                .ok_or_else(|| corrupt(file, 64, format!("missing graph section {kind:#x}")))
        };
        let meta = find(SEC_META)?;
        if meta.payload.len() != 24 {
            return Err(corrupt(
                file,
                meta.offset,
                "graph meta section is not 24 bytes",
            ));
        }
        let n64 = u64_at(meta.payload, 0);
        let entry = u64_at(meta.payload, 8);
        let (max0, max_upper) = (
            u32_at(meta.payload, 16) as usize,
            u32_at(meta.payload, 20) as usize,
        );
        if max0 != params.max_links0() || max_upper != params.m {
            return Err(corrupt(
                file,
                meta.offset + 16,
                format!(
                    "link widths {max0}/{max_upper} do not match M = {}",
                    params.m
                ),
            ));
        }
        let sized = |kind: u32, want: u128| -> Result<&[u8]> {
            let s = find(kind)?;
            if s.payload.len() as u128 != want {
                return Err(corrupt(
                    file,
                    s.offset,
                    format!(
                        "section {kind:#x} holds {} bytes; {n64} nodes need {want}",
                        s.payload.len()
                    ),
                ));
            }
            Ok(s.payload)
        };
        let ids_b = sized(SEC_IDS, n64 as u128 * 8)?;
        let n = n64 as usize;
        if n > u32::MAX as usize {
            return Err(corrupt(file, meta.offset, "more nodes than node numbers"));
        }
        let levels = sized(SEC_LEVELS, n as u128)?.to_vec();
        if let Some(i) = levels.iter().position(|&l| l as usize > MAX_LEVEL) {
            return Err(corrupt(
                file,
                find(SEC_LEVELS)?.offset + i as u64,
                "node level above the maximum",
            ));
        }
        let del_b = sized(SEC_DELETED, n.div_ceil(8) as u128)?;
        let l0 = sized(SEC_LAYER0, n as u128 * (1 + max0 as u128) * 4)?;
        let upper_words: u128 =
            levels.iter().map(|&l| l as u128).sum::<u128>() * (1 + max_upper as u128);
        let up = sized(SEC_UPPER, upper_words * 4)?;
        if vectors.len() != n {
            return Err(corrupt(
                file,
                meta.offset,
                format!("{n} nodes but {} vector rows", vectors.len()),
            ));
        }

        // Link sections are used in place when the file is mapped (they
        // are 8-byte aligned), copied otherwise.
        let words = |kind: u32, b: &[u8]| -> Result<Words> {
            if let Some(m) = mapped {
                let s = find(kind)?;
                return Words::mapped(Arc::clone(m), s.offset as usize, b.len() / 4)
                    .ok_or_else(|| corrupt(file, s.offset, "link section not word aligned"));
            }
            Ok(Words::Owned(
                b.chunks_exact(4)
                    .map(|c| AtomicU32::new(u32_at(c, 0)))
                    .collect(),
            ))
        };
        let mut g = Graph::new(dims, params.m);
        g.vectors = vectors;
        g.ids = ids_b.chunks_exact(8).map(|c| u64_at(c, 0)).collect();
        g.layer0 = words(SEC_LAYER0, l0)?;
        g.upper = words(SEC_UPPER, up)?;
        let mut off = 0u32;
        g.upper_offset = levels
            .iter()
            .map(|&l| {
                let o = off;
                off += l as u32 * (1 + max_upper as u32);
                o
            })
            .collect();
        g.levels = levels;
        g.locks = (0..n).map(|_| Mutex::new(())).collect();
        g.deleted = (0..n)
            .map(|i| AtomicBool::new(del_b[i / 8] >> (i % 8) & 1 == 1))
            .collect();
        g.deleted_count = g
            .deleted
            .iter()
            .filter(|d| d.load(Ordering::Relaxed))
            .count();
        let mut slots = IdMap::with_capacity(n - g.deleted_count);
        for (node, &id) in g.ids.iter().enumerate() {
            if !g.deleted[node].load(Ordering::Relaxed)
                && slots.insert(node as NodeId, &g.ids).is_some()
            {
                return Err(corrupt(
                    file,
                    find(SEC_IDS)?.offset + 8 * node as u64,
                    format!("id {id} is live twice"),
                ));
            }
        }
        g.slots = slots;
        g.entry = AtomicU64::new(entry);
        check_graph(&g).map_err(|reason| corrupt(file, meta.offset, reason))?;

        let mut index = HnswIndex::new(dims, metric, params)?;
        *index.graph.get_mut() = g;
        // Levels drawn after a restore continue from a seed derived from the
        // node count: reproducible, though not the sequence an unbroken
        // build would have drawn.
        *index.rng.get_mut() =
            LevelRng::new(params.seed ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        Ok(index)
    }

    /// Runs `f` on the vector store under the read lock.
    pub(crate) fn with_vectors<R>(&self, f: impl FnOnce(&VectorStore) -> R) -> R {
        f(&self.graph.read().vectors)
    }

    /// Runs `f` on the vector store under the write lock.
    pub(crate) fn with_vectors_mut<R>(&self, f: impl FnOnce(&mut VectorStore) -> R) -> R {
        f(&mut self.graph.write().vectors)
    }

    /// A copy of the stored vector of live `id` (as prepared for the
    /// metric: normalised for cosine), or `None` if `id` is not live.
    pub fn vector_of(&self, id: u64) -> Option<Vec<f32>> {
        let g = self.graph.read();
        g.slots.get(id, &g.ids).map(|node| g.vector(node).to_vec())
    }

    /// Bytes of links viewed in place in a mapped graph file rather than
    /// held in the heap.
    pub(crate) fn mapped_graph_bytes(&self) -> usize {
        self.graph.read().mapped_bytes()
    }

    /// Nodes in the graph, deleted ones included.
    pub(crate) fn node_count(&self) -> usize {
        self.graph.read().node_count()
    }

    /// Checks the graph's structural invariants: every link names an
    /// existing node, no list exceeds its width, the entry point exists at
    /// its level, and the id map points at live nodes carrying those ids.
    /// Returns what is wrong, for tests and after a restore.
    pub fn check_invariants(&self) -> std::result::Result<(), String> {
        check_graph(&self.graph.read())
    }
}

fn check_graph(g: &Graph) -> std::result::Result<(), String> {
    let n = g.node_count();
    let check_slot =
        |words: &[AtomicU32], max: usize, what: &str| -> std::result::Result<(), String> {
            let count = words[0].load(Ordering::Relaxed) as usize;
            if count > max {
                return Err(format!("{what}: {count} links, at most {max}"));
            }
            if let Some(l) = words[1..=count]
                .iter()
                .map(|w| w.load(Ordering::Relaxed))
                .find(|&l| l as usize >= n)
            {
                return Err(format!("{what}: link to node {l}, only {n} nodes"));
            }
            Ok(())
        };
    for node in 0..n {
        let w0 = 1 + g.max0;
        check_slot(
            &g.layer0[node * w0..(node + 1) * w0],
            g.max0,
            &format!("node {node} layer 0"),
        )?;
        let wu = 1 + g.max_upper;
        for layer in 1..=g.levels[node] as usize {
            let start = g.upper_offset[node] as usize + (layer - 1) * wu;
            let slot = g
                .upper
                .get(start..start + wu)
                .ok_or_else(|| format!("node {node} layer {layer}: slot past the pool"))?;
            check_slot(slot, g.max_upper, &format!("node {node} layer {layer}"))?;
        }
    }
    let e = g.entry.load(Ordering::Acquire);
    match (n, e) {
        (0, NO_ENTRY) => {}
        (0, _) => return Err("an entry point in an empty graph".into()),
        (_, NO_ENTRY) => return Err("no entry point in a non-empty graph".into()),
        _ => {
            let (node, level) = ((e & 0xFFFF_FFFF) as usize, (e >> 32) as usize);
            if node >= n || g.levels[node] as usize != level {
                return Err(format!(
                    "entry point {node} at level {level} does not exist"
                ));
            }
        }
    }
    for node in g.slots.rows() {
        let node = node as usize;
        if node >= n || g.deleted[node].load(Ordering::Relaxed) {
            return Err(format!("the id map names node {node}, which is not live"));
        }
        let id = g.ids[node];
        if g.slots.get(id, &g.ids) != Some(node as NodeId) {
            return Err(format!("id {id} of node {node} does not map back to it"));
        }
    }
    if g.slots.len() != n - g.deleted_count {
        return Err(format!(
            "{} live ids, {} live nodes",
            g.slots.len(),
            n - g.deleted_count
        ));
    }
    if g.vectors.len() != n {
        return Err(format!("{n} nodes but {} vector rows", g.vectors.len()));
    }
    Ok(())
}
