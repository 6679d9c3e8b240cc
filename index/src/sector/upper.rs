//! The HNSW's upper layers, kept in RAM by the sector index: only the nodes
//! of level ≥ 1 (about one in `M`) and their lists, so a search descends to
//! a good layer-0 entry point without a read.
//!
//! ```text
//! SECTOR_UPPER payload (little-endian u32s)
//! u      nodes with level ≥ 1
//! m      list width (the graph's M)
//! u ×    node numbers, ascending
//! u ×    levels
//! u + 1  offsets (in words) of each node's lists in `words`
//! …      words: per node, per layer 1..=level, a count then m node numbers
//! ```

use crate::error::Result;
use crate::hnsw::Graph;
use crate::store::format::{corrupt, u32_at};

/// Upper-layer lists of the nodes of level ≥ 1.
#[derive(Debug, Default)]
pub(super) struct UpperLayers {
    nodes: Vec<u32>,
    levels: Vec<u8>,
    offsets: Vec<u32>,
    words: Vec<u32>,
    m: usize,
}

impl UpperLayers {
    /// The upper layers of `g` (`m` = its M).
    pub(super) fn of(g: &Graph, m: usize) -> Self {
        let mut up = UpperLayers {
            m,
            offsets: vec![0],
            ..Default::default()
        };
        let mut list = Vec::new();
        for node in 0..g.node_count() as u32 {
            let level = g.level(node);
            if level == 0 {
                continue;
            }
            up.nodes.push(node);
            up.levels.push(level as u8);
            for layer in 1..=level {
                g.neighbors_into(node, layer, &mut list);
                list.truncate(m);
                up.words.push(list.len() as u32);
                up.words.extend_from_slice(&list);
                up.words.resize(up.words.len() + m - list.len(), 0);
            }
            up.offsets.push(up.words.len() as u32);
        }
        up
    }

    /// The neighbours of `node` on `layer` (≥ 1); empty when it has none
    /// there.
    fn list(&self, node: u32, layer: usize) -> &[u32] {
        let Ok(i) = self.nodes.binary_search(&node) else {
            return &[];
        };
        if layer == 0 || layer > self.levels[i] as usize {
            return &[];
        }
        let at = self.offsets[i] as usize + (layer - 1) * (self.m + 1);
        let count = (self.words[at] as usize).min(self.m);
        &self.words[at + 1..at + 1 + count]
    }

    /// Greedy descent from `entry` at `top` down to layer 1 by `score`
    /// (lower is closer): the layer-0 entry point.
    pub(super) fn descend(&self, entry: u32, top: usize, score: impl Fn(u32) -> f32) -> u32 {
        let (mut at, mut best) = (entry, score(entry));
        for layer in (1..=top).rev() {
            loop {
                let mut moved = false;
                for &n in self.list(at, layer) {
                    let d = score(n);
                    if d < best {
                        (at, best, moved) = (n, d, true);
                    }
                }
                if !moved {
                    break;
                }
            }
        }
        at
    }

    /// Bytes held.
    pub(super) fn memory_bytes(&self) -> usize {
        4 * (self.nodes.len() + self.offsets.len() + self.words.len()) + self.levels.len()
    }

    /// The payload of its section.
    pub(super) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.memory_bytes() + 8);
        let mut put = |x: u32| out.extend_from_slice(&x.to_le_bytes());
        put(self.nodes.len() as u32);
        put(self.m as u32);
        self.nodes.iter().for_each(|&x| put(x));
        self.levels.iter().for_each(|&x| put(x as u32));
        self.offsets.iter().for_each(|&x| put(x));
        self.words.iter().for_each(|&x| put(x));
        out
    }

    /// Parses a payload written by [`Self::to_bytes`] for a graph of
    /// `nodes` nodes, checking every node number and offset; `file` and
    /// `at` locate it in errors.
    pub(super) fn from_bytes(
        b: &[u8],
        nodes: usize,
        file: &std::path::Path,
        at: u64,
    ) -> Result<Self> {
        let bad = |why: &str| corrupt(file, at, format!("upper layers: {why}"));
        if !b.len().is_multiple_of(4) || b.len() < 8 {
            return Err(bad("not a whole number of words"));
        }
        let words: Vec<u32> = (0..b.len() / 4).map(|i| u32_at(b, 4 * i)).collect();
        let (u, m) = (words[0] as usize, words[1] as usize);
        let head = 2 + 3 * u + 1;
        if m == 0 || words.len() < head {
            return Err(bad("shorter than its node table"));
        }
        let up_nodes = words[2..2 + u].to_vec();
        let levels: Vec<u8> = words[2 + u..2 + 2 * u].iter().map(|&l| l as u8).collect();
        let offsets = words[2 + 2 * u..head].to_vec();
        let lists = words[head..].to_vec();
        if up_nodes.windows(2).any(|w| w[0] >= w[1])
            || up_nodes.iter().any(|&n| n as usize >= nodes)
        {
            return Err(bad("node numbers out of order or range"));
        }
        if words[2 + u..2 + 2 * u].iter().any(|&l| l == 0 || l > 255) || offsets[0] != 0 {
            return Err(bad("bad level or first offset"));
        }
        for i in 0..u {
            if offsets[i + 1] as usize != offsets[i] as usize + levels[i] as usize * (m + 1) {
                return Err(bad("offsets disagree with levels"));
            }
        }
        if offsets[u] as usize != lists.len() {
            return Err(bad("lists longer or shorter than the offsets say"));
        }
        for i in 0..u {
            for layer in 0..levels[i] as usize {
                let at = offsets[i] as usize + layer * (m + 1);
                let count = lists[at] as usize;
                if count > m
                    || lists[at + 1..at + 1 + count]
                        .iter()
                        .any(|&n| n as usize >= nodes)
                {
                    return Err(bad("a list names a node out of range"));
                }
            }
        }
        Ok(UpperLayers {
            nodes: up_nodes,
            levels,
            offsets,
            words: lists,
            m,
        })
    }
}
