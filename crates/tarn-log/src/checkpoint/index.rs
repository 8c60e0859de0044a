//! The active files of a snapshot by logical-file key, for a checkpoint that streams their
//! statistics from the log (see `stream`): which `add` of the log defines each active file.
//!
//! An open-addressing table of 4-byte file ordinals (two to four slots a file) over the
//! snapshot's own path and deletion vector columns, plus a bit a file for "handed out": 8 to
//! 16 bytes a file, no key copied. It never reads the log.

use std::hash::{BuildHasher, RandomState};

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, StringArray, StructArray};
use tarn_protocol::actions::dv_unique_id;

use crate::files::ActiveFiles;

/// An empty slot of the index.
const EMPTY: u32 = u32::MAX;

/// The key columns of one batch of the snapshot's files.
struct Keys {
    path: StringArray,
    /// The deletion vector struct, only for batches where some file has one.
    dv: Option<StructArray>,
}

impl Keys {
    fn dv_id(&self, row: usize) -> Option<String> {
        let dv = self.dv.as_ref().filter(|dv| dv.is_valid(row))?;
        let offsets = dv.column(2).as_primitive::<Int32Type>();
        Some(dv_unique_id(
            dv.column(0).as_string::<i32>().value(row),
            dv.column(1).as_string::<i32>().value(row),
            offsets.is_valid(row).then(|| offsets.value(row)),
        ))
    }
}

/// The snapshot's active files by logical-file key (path and deletion vector id): an
/// open-addressing table of file ordinals, and which files were already handed out.
pub(super) struct LiveIndex {
    keys: Vec<Keys>,
    /// The ordinal of each batch's first file.
    starts: Vec<usize>,
    slots: Vec<u32>,
    claimed: Vec<u64>,
    unclaimed: usize,
    hasher: RandomState,
}

impl LiveIndex {
    /// Indexes the files. Fails only for more files than a `u32` counts.
    pub(super) fn new(files: &ActiveFiles) -> Result<Self, String> {
        let len = files.len();
        if u32::try_from(len).map_or(true, |n| n == EMPTY) {
            return Err(format!(
                "{len} active files are more than a checkpoint index holds"
            ));
        }
        let mut keys = Vec::new();
        let mut starts = Vec::new();
        let mut start = 0;
        for batch in files.batches() {
            let column = |name: &str| {
                batch
                    .column_by_name(name)
                    .cloned()
                    .ok_or_else(|| format!("the snapshot's files have no `{name}` column"))
            };
            let path = column("path")?.as_string::<i32>().clone();
            let dv = column("deletionVector")?.as_struct().clone();
            let dv = (dv.null_count() < dv.len()).then_some(dv);
            starts.push(start);
            start += batch.num_rows();
            keys.push(Keys { path, dv });
        }
        let capacity = (len.max(8) * 2).next_power_of_two();
        let mut index = Self {
            keys,
            starts,
            slots: vec![EMPTY; capacity],
            claimed: vec![0; len.div_ceil(64)],
            unclaimed: len,
            hasher: RandomState::new(),
        };
        let mask = capacity - 1;
        for (batch, keys) in index.keys.iter().enumerate() {
            for row in 0..keys.path.len() {
                let ordinal = index.starts[batch] + row;
                let mut slot = (index.hasher.hash_one(keys.path.value(row)) as usize) & mask;
                while index.slots[slot] != EMPTY {
                    slot = (slot + 1) & mask;
                }
                // Fits: checked against u32 above.
                index.slots[slot] = ordinal as u32;
            }
        }
        Ok(index)
    }

    /// Active files not handed out yet.
    pub(super) fn unclaimed(&self) -> usize {
        self.unclaimed
    }

    /// Whether `(path, dv_id)` is an active file not handed out yet; hands it out if so.
    pub(super) fn claim(&mut self, path: &str, dv_id: Option<&str>) -> bool {
        let mask = self.slots.len() - 1;
        let mut slot = (self.hasher.hash_one(path) as usize) & mask;
        loop {
            let ordinal = self.slots[slot];
            if ordinal == EMPTY {
                return false;
            }
            let ordinal = ordinal as usize;
            let batch = self.starts.partition_point(|start| *start <= ordinal) - 1;
            let row = ordinal - self.starts[batch];
            let keys = &self.keys[batch];
            if keys.path.value(row) == path && keys.dv_id(row).as_deref() == dv_id {
                let (word, bit) = (ordinal / 64, 1_u64 << (ordinal % 64));
                if self.claimed[word] & bit != 0 {
                    return false;
                }
                self.claimed[word] |= bit;
                self.unclaimed -= 1;
                return true;
            }
            slot = (slot + 1) & mask;
        }
    }
}
