//! [`PackedLinks`]: layer-0 neighbour lists bit-packed for a graph at rest.
//!
//! A node's list in the writable layout is a slot of `1 + 2M` words (a
//! count, then node numbers): 132 bytes at `M = 16`, whatever the graph's
//! size. Packed, each node number takes only the bits the largest one
//! needs (20 at a million nodes) and the count one byte, so a slot is
//! `⌈(8 + 2M·bits) / 8⌉` bytes: 81 at `M = 16` and a million nodes.
//! Slots keep a fixed width, so a node's list is found by multiplication,
//! as before, and a search decodes a list with one unaligned 8-byte load
//! and a shift per neighbour.
//!
//! Packed links are read-only: the graph unpacks them before its first
//! structural change (`Graph::grow`, `reorder`), and a kind that wants the
//! compact form packs again when writes have settled.

use std::sync::atomic::{AtomicU32, Ordering};

use super::graph::NodeId;
use super::HnswIndex;

impl HnswIndex {
    /// Packs the layer-0 lists (see the module doc): for a graph at rest,
    /// after a bulk build. Returns whether they are packed now: skipped
    /// while a write is between its store and its link, for a graph over
    /// mapped vectors (an index in a directory, which writes through its
    /// own path: it packs at open, see [`Self::pack_links_at_open`]), and
    /// when lists are longer than a packed slot holds (`M` > 127). The next
    /// write unpacks them again.
    pub fn pack_links(&self) -> bool {
        let mut g = self.graph.write();
        if g.vectors.mapped().is_some() || self.writes_in_flight.load(Ordering::SeqCst) > 0 {
            return g.links_packed();
        }
        g.pack_links()
    }

    /// Packs the layer-0 lists of an index being opened, before anything
    /// else can reach it (so no write is in flight).
    pub(crate) fn pack_links_at_open(&self) -> bool {
        self.graph.write().pack_links()
    }

    /// Unpacks the layer-0 lists into their writable slots now (a write
    /// does it anyway).
    pub fn unpack_links(&self) {
        self.graph.write().unpack_links();
    }

    /// Whether the layer-0 lists are packed.
    pub fn links_packed(&self) -> bool {
        self.graph.read().links_packed()
    }
}

/// The longest list a packed slot holds (its count is one byte).
pub(crate) const MAX_PACKED_LINKS: usize = u8::MAX as usize;

/// Bytes read past a slot's last bit when decoding its last neighbour:
/// the array is padded by this much so every load stays in bounds.
const PAD: usize = 8;

/// Fixed-width, bit-packed layer-0 lists of `n` nodes.
#[derive(Debug, Clone)]
pub(crate) struct PackedLinks {
    /// Bits per node number.
    bits: u32,
    /// Bytes per slot.
    slot_bytes: usize,
    /// Most links per slot.
    max: usize,
    /// `n` slots, then [`PAD`] zero bytes.
    data: Vec<u8>,
}

impl PackedLinks {
    /// Packs the first `n` slots of `words` (slots of `1 + max` words: a
    /// count, then links; every link below `n`; `max` at most
    /// [`MAX_PACKED_LINKS`]). Counts over `max` are cut, as a reader of the
    /// words would.
    pub(crate) fn pack(words: &[AtomicU32], n: usize, max: usize) -> Self {
        assert!(
            max <= MAX_PACKED_LINKS,
            "{max} links do not fit a packed slot"
        );
        let bits = bits_for(n);
        let slot_bytes = (8 + max * bits as usize).div_ceil(8);
        let mut data = vec![0u8; n * slot_bytes + PAD];
        let w = 1 + max;
        for node in 0..n {
            let slot = &words[node * w..(node + 1) * w];
            let count = (slot[0].load(Ordering::Relaxed) as usize).min(max);
            let base = node * slot_bytes * 8;
            put(&mut data, base, 8, count as u64);
            for (i, link) in slot[1..=count].iter().enumerate() {
                let at = base + 8 + i * bits as usize;
                put(&mut data, at, bits, link.load(Ordering::Relaxed) as u64);
            }
        }
        PackedLinks {
            bits,
            slot_bytes,
            max,
            data,
        }
    }

    /// Nodes held.
    pub(crate) fn len(&self) -> usize {
        (self.data.len() - PAD) / self.slot_bytes
    }

    /// Calls `f` on each neighbour of `node`, in list order.
    #[inline(always)]
    pub(crate) fn for_each(&self, node: NodeId, mut f: impl FnMut(NodeId)) {
        let base = node as usize * self.slot_bytes;
        let count = (self.data[base] as usize).min(self.max);
        let mask = (1u64 << self.bits) - 1;
        let mut bit = 8;
        for _ in 0..count {
            let byte = base + bit / 8;
            let word = u64::from_le_bytes(
                self.data[byte..byte + 8]
                    .try_into()
                    .expect("eight bytes, padded"),
            );
            f(((word >> (bit % 8)) & mask) as NodeId);
            bit += self.bits as usize;
        }
    }

    /// The bytes of `node`'s slot (for prefetching).
    #[inline(always)]
    pub(crate) fn slot_bytes_of(&self, node: NodeId) -> &[u8] {
        let base = node as usize * self.slot_bytes;
        &self.data[base..base + self.slot_bytes]
    }

    /// The lists of `nodes` as slots of `1 + max` words.
    pub(crate) fn slots(&self, nodes: std::ops::Range<usize>) -> Vec<AtomicU32> {
        let mut words = Vec::with_capacity(nodes.len() * (1 + self.max));
        self.slots_into(nodes, &mut words);
        words
    }

    /// Appends the lists of `nodes` to `words`, as slots of `1 + max` words.
    fn slots_into(&self, nodes: std::ops::Range<usize>, words: &mut Vec<AtomicU32>) {
        for node in nodes {
            let at = words.len();
            words.push(AtomicU32::new(0));
            self.for_each(node as NodeId, |l| words.push(AtomicU32::new(l)));
            let count = words.len() - at - 1;
            *words[at].get_mut() = count as u32;
            words.extend((count..self.max).map(|_| AtomicU32::new(0)));
        }
    }

    /// The lists as writable slots of `1 + max` words, `capacity` slots
    /// (the rest empty).
    pub(crate) fn unpack(&self, capacity: usize) -> Vec<AtomicU32> {
        let slots = capacity.max(self.len());
        let mut words = Vec::with_capacity(slots * (1 + self.max));
        self.slots_into(0..self.len(), &mut words);
        words.resize_with(slots * (1 + self.max), || AtomicU32::new(0));
        words
    }

    /// Bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.data.capacity()
    }
}

/// Bits that hold every node number below `n` (at least 1).
fn bits_for(n: usize) -> u32 {
    (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1)
}

/// ORs the low `bits` bits (≤ 32) of `value` in at bit `at` of `data`
/// (zero there; [`PAD`] bytes past the last slot keep the store in bounds).
fn put(data: &mut [u8], at: usize, bits: u32, value: u64) {
    let byte = at / 8;
    let bytes: &mut [u8; 8] = (&mut data[byte..byte + 8])
        .try_into()
        .expect("eight bytes, padded");
    let word = u64::from_le_bytes(*bytes) | ((value & ((1u64 << bits) - 1)) << (at % 8));
    *bytes = word.to_le_bytes();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// `n` random slots of `1 + max` words, counts 0..=max.
    fn slots(n: usize, max: usize, seed: u64) -> Vec<AtomicU32> {
        let mut r = SplitMix64::new(seed);
        let mut words = Vec::new();
        for _ in 0..n {
            let count = r.next_u64() as usize % (max + 1);
            words.push(AtomicU32::new(count as u32));
            for i in 0..max {
                let link = if i < count {
                    r.next_u64() % n as u64
                } else {
                    0
                };
                words.push(AtomicU32::new(link as u32));
            }
        }
        words
    }

    fn lists(words: &[AtomicU32], n: usize, max: usize) -> Vec<Vec<u32>> {
        (0..n)
            .map(|node| {
                let s = &words[node * (1 + max)..(node + 1) * (1 + max)];
                let c = s[0].load(Ordering::Relaxed) as usize;
                s[1..=c].iter().map(|w| w.load(Ordering::Relaxed)).collect()
            })
            .collect()
    }

    #[test]
    fn lists_round_trip_at_every_width() {
        for (n, max) in [(1, 4), (2, 8), (3, 32), (1000, 32), (70_000, 10), (5, 255)] {
            let words = slots(n, max, n as u64);
            let packed = PackedLinks::pack(&words, n, max);
            assert_eq!(packed.len(), n);
            let mut got = Vec::new();
            for node in 0..n {
                let mut l = Vec::new();
                packed.for_each(node as u32, |x| l.push(x));
                got.push(l);
            }
            assert_eq!(got, lists(&words, n, max), "n {n}, max {max}");
            let back = packed.unpack(n + 3);
            assert_eq!(back.len(), (n + 3) * (1 + max));
            assert_eq!(lists(&back, n, max), got, "unpacked, n {n}");
            assert!(lists(&back[n * (1 + max)..], 3, max)
                .iter()
                .all(Vec::is_empty));
        }
    }

    #[test]
    fn a_million_nodes_take_20_bits_and_81_bytes_a_slot_at_m16() {
        assert_eq!(bits_for(1_000_000), 20);
        assert_eq!(bits_for(1 << 20), 20);
        assert_eq!(bits_for((1 << 20) + 1), 21);
        assert_eq!(bits_for(1), 1);
        let packed = PackedLinks::pack(&slots(16, 32, 1), 16, 32);
        assert_eq!(packed.slot_bytes, (8 + 32 * 4usize).div_ceil(8));
        assert_eq!((8 + 32 * bits_for(1_000_000) as usize).div_ceil(8), 81);
    }
}
