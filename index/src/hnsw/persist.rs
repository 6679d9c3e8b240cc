//! Snapshot and restore for the storage layer (`crate::storage`): the graph
//! written as tagged sections of a graph file (kinds in `store/sections.rs`),
//! read back and checked.
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

use parking_lot::{Mutex, RwLock};

use super::graph::{Graph, NodeId};
use super::inspect::check_graph;
use super::params::MAX_LEVEL;
use super::rng::LevelRng;
use super::words::Words;
use super::{HnswIndex, HnswParams};
use crate::error::Result;
use crate::id_map::IdMap;
use crate::metric::Metric;
use crate::store::format::{corrupt, u32_at, u64_at, Section, SectionWriter, FLAG_REQUIRED};
use crate::store::mapped_graph::MappedGraphFile;
use crate::store::sections::{
    GRAPH_DELETED as SEC_DELETED, GRAPH_IDS as SEC_IDS, GRAPH_LAYER0 as SEC_LAYER0,
    GRAPH_LEVELS as SEC_LEVELS, GRAPH_META as SEC_META, GRAPH_UPPER as SEC_UPPER,
};
use crate::store::{AppendVec, VectorStore};

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

    /// Makes this (empty) graph keep a code of `code_bytes` bytes per node,
    /// for the kinds that navigate on codes.
    pub(crate) fn set_code_bytes(&mut self, code_bytes: usize) {
        self.graph.get_mut().code_bytes = code_bytes;
    }

    /// Restores the codes of every node (`code_bytes` each, node-major)
    /// after [`from_graph_sections`](Self::from_graph_sections).
    pub(crate) fn restore_codes(&mut self, code_bytes: usize, codes: Vec<u8>) {
        let g = self.graph.get_mut();
        debug_assert_eq!(codes.len(), g.node_count() * code_bytes);
        g.code_bytes = code_bytes;
        g.codes = AppendVec::from_vec(codes);
    }

    /// Runs `f` on the codes of the first `n` nodes, under the read lock
    /// (for writing them out).
    pub(crate) fn with_codes<R>(&self, n: usize, f: impl FnOnce(&[u8]) -> R) -> R {
        let g = self.graph.read();
        f(&g.codes[..n * g.code_bytes])
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
        // Only the first `n` nodes' rows: the columns hold room past them.
        let upper_words = match n {
            0 => 0,
            n => g.upper_offset[n - 1] as usize + g.level(n as NodeId - 1) * (1 + g.max_upper),
        };
        let mut meta = Vec::with_capacity(24);
        meta.extend_from_slice(&(n as u64).to_le_bytes());
        meta.extend_from_slice(&g.entry.load(Ordering::Acquire).to_le_bytes());
        meta.extend_from_slice(&(g.max0 as u32).to_le_bytes());
        meta.extend_from_slice(&(g.max_upper as u32).to_le_bytes());
        w.section(SEC_META, FLAG_REQUIRED, &meta)?;
        w.begin(SEC_IDS, FLAG_REQUIRED)?;
        for chunk in g.ids[..n].chunks(8 << 10) {
            let bytes: Vec<u8> = chunk.iter().flat_map(|id| id.to_le_bytes()).collect();
            w.write(&bytes)?;
        }
        w.end()?;
        w.section(SEC_LEVELS, FLAG_REQUIRED, &g.levels[..n])?;
        let mut bits = vec![0u8; n.div_ceil(8)];
        for (i, d) in g.deleted[..n].iter().enumerate() {
            if d.load(Ordering::Relaxed) {
                bits[i / 8] |= 1 << (i % 8);
            }
        }
        w.section(SEC_DELETED, FLAG_REQUIRED, &bits)?;
        w.begin(SEC_LAYER0, FLAG_REQUIRED)?;
        for from in (0..n).step_by(1 << 14) {
            g.with_layer0_words(from..(from + (1 << 14)).min(n), |s| write_u32s(w, s))?;
        }
        w.end()?;
        w.begin(SEC_UPPER, FLAG_REQUIRED)?;
        write_u32s(w, &g.upper[..upper_words])?;
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
                return Words::mapped(m, s.offset as usize, b.len() / 4)
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
        g.ids = AppendVec::from_vec(ids_b.chunks_exact(8).map(|c| u64_at(c, 0)).collect());
        g.layer0 = words(SEC_LAYER0, l0)?;
        g.upper = words(SEC_UPPER, up)?;
        let mut off = 0u32;
        g.upper_offset = AppendVec::from_vec(
            levels
                .iter()
                .map(|&l| {
                    let o = off;
                    off += l as u32 * (1 + max_upper as u32);
                    o
                })
                .collect(),
        );
        *g.upper_used.get_mut() = off as usize;
        g.levels = AppendVec::from_vec(levels);
        g.locks = (0..n).map(|_| Mutex::new(())).collect();
        g.deleted = (0..n)
            .map(|i| AtomicBool::new(del_b[i / 8] >> (i % 8) & 1 == 1))
            .collect();
        let deleted = g
            .deleted
            .iter()
            .filter(|d| d.load(Ordering::Relaxed))
            .count();
        *g.deleted_count.get_mut() = deleted;
        let mut by_id = IdMap::with_capacity(n - deleted);
        for (node, &id) in g.ids.iter().enumerate() {
            if !g.deleted[node].load(Ordering::Relaxed)
                && by_id.insert(node as NodeId, &g.ids).is_some()
            {
                return Err(corrupt(
                    file,
                    find(SEC_IDS)?.offset + 8 * node as u64,
                    format!("id {id} is live twice"),
                ));
            }
        }
        g.by_id = RwLock::new(by_id);
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
}
