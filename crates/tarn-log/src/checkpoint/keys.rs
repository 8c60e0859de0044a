//! The logical files a checkpoint's log replay has seen, newest first, and whether each one's
//! newest action was an `add` (the file is active) or a `remove` (a tombstone).
//!
//! This is the replay's seen-set (`FileReplay` in `tarn_protocol`) laid out for a table of
//! millions of files whose replay streams into a checkpoint: keys are stored exactly (never as
//! hashes, whose collisions would silently drop a file), but packed into large shared chunks
//! with a flat open-addressing table of 4-byte entry numbers, so a million keys take about
//! 100 MB in a handful of allocations instead of a million small ones. It never reads the log;
//! callers feed it commits newest first and each commit's file actions in reverse line order.

use std::hash::{BuildHasher, RandomState};

/// Separates the path from the deletion vector id inside a stored key; `0xFF` never occurs in
/// UTF-8, so the encoding is injective.
const DV_SEPARATOR: u8 = 0xFF;
/// Bytes per chunk of key storage.
const CHUNK_BYTES: usize = 4 << 20;
/// An empty slot of the table.
const EMPTY: u32 = u32::MAX;

/// Where one key's bytes are.
#[derive(Clone, Copy)]
struct Entry {
    chunk: u32,
    start: u32,
    len: u32,
    /// The low bits of the key's hash, to skip most byte comparisons and to rehash.
    hash: u32,
}

/// The seen-set of logical files, with the kind of each one's newest action.
pub(super) struct FileKeys {
    chunks: Vec<Vec<u8>>,
    entries: Vec<Entry>,
    /// Per entry: whether its newest action was an `add`.
    added: Vec<u64>,
    slots: Vec<u32>,
    hasher: RandomState,
    /// The encoded key being looked up (reused).
    probe: Vec<u8>,
}

impl Default for FileKeys {
    fn default() -> Self {
        Self::new()
    }
}

impl FileKeys {
    /// An empty set.
    pub(super) fn new() -> Self {
        Self {
            chunks: Vec::new(),
            entries: Vec::new(),
            added: Vec::new(),
            slots: vec![EMPTY; 1024],
            hasher: RandomState::new(),
            probe: Vec::new(),
        }
    }

    /// Logical files seen.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    fn encode(&mut self, path: &str, dv_id: Option<&str>) -> u64 {
        self.probe.clear();
        self.probe.extend_from_slice(path.as_bytes());
        if let Some(dv) = dv_id {
            self.probe.push(DV_SEPARATOR);
            self.probe.extend_from_slice(dv.as_bytes());
        }
        self.hasher.hash_one(&self.probe)
    }

    fn bytes(&self, entry: Entry) -> &[u8] {
        let start = entry.start as usize;
        &self.chunks[entry.chunk as usize][start..start + entry.len as usize]
    }

    /// The slot holding the probe's entry, or the empty slot where it would go.
    fn find(&self, hash: u64) -> (usize, Option<usize>) {
        let mask = self.slots.len() - 1;
        let mut slot = (hash as usize) & mask;
        loop {
            let index = self.slots[slot];
            if index == EMPTY {
                return (slot, None);
            }
            let entry = self.entries[index as usize];
            if entry.hash == hash as u32 && self.bytes(entry) == self.probe.as_slice() {
                return (slot, Some(index as usize));
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Records a file action from a commit; `true` when it is the newest action of its logical
    /// file (an `add` is then active, a `remove` a tombstone), `false` when a newer action
    /// already referenced the file.
    pub(super) fn record(&mut self, path: &str, dv_id: Option<&str>, is_add: bool) -> bool {
        let hash = self.encode(path, dv_id);
        let (slot, found) = self.find(hash);
        if found.is_some() {
            return false;
        }
        let Ok(index) = u32::try_from(self.entries.len()) else {
            // More logical files than a u32 counts: the table cannot grow; treat the file as
            // new (it is, as far as this set can tell).
            return true;
        };
        let len = self.probe.len();
        if self
            .chunks
            .last()
            .is_none_or(|c| c.capacity() - c.len() < len)
        {
            self.chunks.push(Vec::with_capacity(CHUNK_BYTES.max(len)));
        }
        let chunk = self.chunks.len() - 1;
        let current = &mut self.chunks[chunk];
        let start = current.len();
        current.extend_from_slice(&self.probe);
        self.entries.push(Entry {
            chunk: chunk as u32,
            start: start as u32,
            len: len as u32,
            hash: hash as u32,
        });
        let word = index as usize / 64;
        if word >= self.added.len() {
            self.added.push(0);
        }
        if is_add {
            self.added[word] |= 1 << (index % 64);
        }
        self.slots[slot] = index;
        if self.entries.len() * 2 > self.slots.len() {
            self.grow();
        }
        true
    }

    /// Whether no recorded action referenced this logical file (for the rows of a checkpoint,
    /// already reconciled: nothing is recorded).
    pub(super) fn is_unseen(&mut self, path: &str, dv_id: Option<&str>) -> bool {
        let hash = self.encode(path, dv_id);
        self.find(hash).1.is_none()
    }

    /// Whether the logical file's newest recorded action was an `add`.
    pub(super) fn is_added(&mut self, path: &str, dv_id: Option<&str>) -> bool {
        let hash = self.encode(path, dv_id);
        self.find(hash)
            .1
            .is_some_and(|index| self.added[index / 64] & (1 << (index % 64)) != 0)
    }

    /// Doubles the table. The stored hash bits are the low 32 bits of the full hash, enough
    /// for any table of `u32` entries.
    fn grow(&mut self) {
        let capacity = self.slots.len() * 2;
        let mask = capacity - 1;
        let mut slots = vec![EMPTY; capacity];
        for (index, entry) in self.entries.iter().enumerate() {
            let mut slot = (entry.hash as usize) & mask;
            while slots[slot] != EMPTY {
                slot = (slot + 1) & mask;
            }
            slots[slot] = index as u32;
        }
        self.slots = slots;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_action_of_each_file_decides() {
        let mut keys = FileKeys::new();
        assert!(keys.record("a", None, true));
        assert!(
            !keys.record("a", None, false),
            "an older remove of an active file"
        );
        assert!(keys.record("b", None, false));
        assert!(
            !keys.record("b", None, true),
            "an older add of a removed file"
        );
        // The same path with a deletion vector is another logical file.
        assert!(keys.record("a", Some("dv1"), false));
        assert!(keys.record("a", Some("dv2"), true));
        assert_eq!(keys.len(), 4);
        assert!(keys.is_added("a", None));
        assert!(!keys.is_added("b", None));
        assert!(!keys.is_added("a", Some("dv1")));
        assert!(keys.is_added("a", Some("dv2")));
        assert!(!keys.is_added("c", None));
        assert!(keys.is_unseen("c", None));
        assert!(!keys.is_unseen("b", None));
        // No confusion between a path with a separator-like suffix and a path with a dv.
        assert!(keys.record("a\u{7f}dv1", None, true));
        assert!(keys.is_added("a\u{7f}dv1", None));
    }

    #[test]
    fn many_keys_grow_the_table_and_span_chunks() {
        let mut keys = FileKeys::new();
        let long = "x".repeat(1000);
        for i in 0..50_000 {
            let path = format!("part-{i:06}-{long}.parquet");
            assert!(keys.record(&path, None, i % 3 != 0));
        }
        assert!(keys.chunks.len() > 1, "50 MB of keys span several chunks");
        for i in (0..50_000).rev() {
            let path = format!("part-{i:06}-{long}.parquet");
            assert!(!keys.record(&path, None, true));
            assert_eq!(keys.is_added(&path, None), i % 3 != 0, "{i}");
        }
        assert_eq!(keys.len(), 50_000);
    }
}
