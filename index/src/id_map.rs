//! [`IdMap`]: external id → row (node) number, for the live rows of an index.
//!
//! An index already keeps the external id of every row in an `ids` array, so
//! the map stores only 4-byte row numbers and reads each entry's key back
//! from that array. A bucket costs 5 bytes (row number plus hashbrown's
//! control byte) instead of the 17 of a `HashMap<u64, u32>`: at M = 12 that
//! is 10% of a PQ index's RAM per vector.
//!
//! The hash is a fixed bit mixer (the SplitMix64 finaliser), not a keyed one:
//! ids are chosen by the index's owner, not by remote users.

use hashbrown::hash_table::{Entry, HashTable};

/// Row numbers are dense `u32`s in insertion order.
pub type Row = u32;

/// Live external ids → rows. Every method takes the owner's `ids` array
/// (`ids[row]` is the id of `row`), which must cover every row in the map.
#[derive(Debug, Default, Clone)]
pub struct IdMap {
    table: HashTable<Row>,
}

#[inline]
fn hash(id: u64) -> u64 {
    let mut z = id.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl IdMap {
    /// An empty map with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        IdMap {
            table: HashTable::with_capacity(n),
        }
    }

    /// The row holding `id`, if it is mapped.
    #[inline]
    pub fn get(&self, id: u64, ids: &[u64]) -> Option<Row> {
        self.table
            .find(hash(id), |&r| ids[r as usize] == id)
            .copied()
    }

    /// Whether `id` is mapped.
    #[inline]
    pub fn contains(&self, id: u64, ids: &[u64]) -> bool {
        self.get(id, ids).is_some()
    }

    /// Maps `ids[row]` to `row`, returning the row it replaced, if any.
    pub fn insert(&mut self, row: Row, ids: &[u64]) -> Option<Row> {
        let id = ids[row as usize];
        match self.table.entry(
            hash(id),
            |&r| ids[r as usize] == id,
            |&r| hash(ids[r as usize]),
        ) {
            Entry::Occupied(mut e) => Some(std::mem::replace(e.get_mut(), row)),
            Entry::Vacant(e) => {
                e.insert(row);
                None
            }
        }
    }

    /// Unmaps `id`, returning its row.
    pub fn remove(&mut self, id: u64, ids: &[u64]) -> Option<Row> {
        self.table
            .find_entry(hash(id), |&r| ids[r as usize] == id)
            .ok()
            .map(|e| e.remove().0)
    }

    /// Makes room for `extra` more entries.
    pub fn reserve(&mut self, extra: usize, ids: &[u64]) {
        self.table.reserve(extra, |&r| hash(ids[r as usize]));
    }

    /// Entries mapped.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Every mapped row, in no particular order.
    pub fn rows(&self) -> impl Iterator<Item = Row> + '_ {
        self.table.iter().copied()
    }

    /// Bytes the table holds: a row number and a control byte per bucket
    /// (buckets are a power of two, at most 7/8 full).
    pub fn bytes(&self) -> usize {
        let cap = self.table.capacity();
        if cap == 0 {
            return 0;
        }
        let buckets = if cap < 8 {
            (cap + 1).next_power_of_two()
        } else {
            (cap * 8 / 7).next_power_of_two()
        };
        buckets * (std::mem::size_of::<Row>() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_replace_remove() {
        let mut ids: Vec<u64> = Vec::new();
        let mut map = IdMap::default();
        for id in (0..10_000u64).map(|i| i * 7919 + 3) {
            ids.push(id);
            assert_eq!(map.insert(ids.len() as Row - 1, &ids), None);
        }
        assert_eq!(map.len(), 10_000);
        for (row, &id) in ids.iter().enumerate() {
            assert_eq!(map.get(id, &ids), Some(row as Row));
        }
        assert!(!map.contains(4, &ids));
        // A second row with an existing id replaces the first.
        ids.push(ids[17]);
        assert_eq!(map.insert(10_000, &ids), Some(17));
        assert_eq!(map.get(ids[17], &ids), Some(10_000));
        assert_eq!(map.len(), 10_000);
        assert_eq!(map.remove(ids[17], &ids), Some(10_000));
        assert_eq!(map.remove(ids[17], &ids), None);
        assert_eq!(map.len(), 9_999);
        let mut rows: Vec<Row> = map.rows().collect();
        rows.sort_unstable();
        assert_eq!(rows.len(), 9_999);
        assert!(!rows.contains(&17));
        // 5 bytes a bucket, buckets at most 7/8 full.
        assert!(map.bytes() >= 9_999 * 5 && map.bytes() <= 2 * 16_384 * 5);
    }
}
