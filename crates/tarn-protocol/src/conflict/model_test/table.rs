//! The model table: a store of immutable data files and deletion vectors, a log of commits
//! reconciled by the crate's own [`replay`], and the rows a version holds.
//!
//! Rows are `(partition, id, value)`. A data file lives in one partition and holds its rows in
//! order; its statistics are the min/max of those physical rows (a deletion vector does not
//! change them, as in Delta). A deletion vector is a set of row positions, registered in the
//! store under its `uniqueId` so that the `add` actions carry a realistic descriptor.

use std::collections::{BTreeMap, BTreeSet};

use crate::actions::{Action, Add, CommitInfo, DeletionVectorDescriptor, PartitionValues, Remove};
use crate::log_path::Version;
use crate::replay::replay;

/// A row of the table: `(partition, id, value)`.
pub(super) type Row = (u8, u32, i64);

/// The partition column.
pub(super) const PART: &str = "part";

/// A data file as written: its physical rows `(id, value)` (its partition is in its `add`).
#[derive(Debug, Clone)]
struct DataFile {
    rows: Vec<(u32, i64)>,
}

/// Where data files and deletion vectors are written. Shared by every history of one case,
/// so that paths stay unique across the concurrent and the serial runs.
#[derive(Debug, Default, Clone)]
pub(super) struct Store {
    files: BTreeMap<String, DataFile>,
    /// Deletion vectors by `uniqueId`: the row positions they delete.
    dvs: BTreeMap<String, BTreeSet<usize>>,
    next: u32,
}

impl Store {
    /// Writes a new data file and returns its `add` (with statistics, `dataChange = true`).
    pub(super) fn write_file(&mut self, part: u8, rows: Vec<(u32, i64)>) -> Add {
        self.next += 1;
        let path = format!("{PART}={part}/f{:03}.parquet", self.next);
        let add = Add {
            path: path.clone(),
            partition_values: partition_values(part),
            size: 100 + i64::try_from(rows.len()).unwrap(),
            modification_time: 0,
            data_change: true,
            stats: Some(stats_json(&rows)),
            tags: None,
            deletion_vector: None,
            base_row_id: None,
            default_row_commit_version: None,
            clustering_provider: None,
        };
        self.files.insert(path, DataFile { rows });
        add
    }

    /// Writes a deletion vector deleting `positions`.
    pub(super) fn write_dv(&mut self, positions: BTreeSet<usize>) -> DeletionVectorDescriptor {
        self.next += 1;
        let dv = DeletionVectorDescriptor {
            storage_type: "u".to_owned(),
            path_or_inline_dv: format!("dv{:03}", self.next),
            offset: Some(1),
            size_in_bytes: 34,
            cardinality: i64::try_from(positions.len()).unwrap(),
        };
        self.dvs.insert(dv.unique_id(), positions);
        dv
    }

    /// The row positions a file's deletion vector deletes.
    pub(super) fn deleted(&self, add: &Add) -> BTreeSet<usize> {
        match &add.deletion_vector {
            None => BTreeSet::new(),
            Some(dv) => self.dvs[&dv.unique_id()].clone(),
        }
    }

    /// The live rows of an active file: `(position, id, value)`.
    pub(super) fn live(&self, add: &Add) -> Vec<(usize, u32, i64)> {
        let deleted = self.deleted(add);
        self.files[&add.path]
            .rows
            .iter()
            .enumerate()
            .filter(|(pos, _)| !deleted.contains(pos))
            .map(|(pos, &(id, value))| (pos, id, value))
            .collect()
    }
}

/// `{"part": "<part>"}`.
pub(super) fn partition_values(part: u8) -> PartitionValues {
    BTreeMap::from([(PART.to_owned(), Some(part.to_string()))])
}

/// The partition of a file, when its partition values say.
pub(super) fn partition_of(values: Option<&PartitionValues>) -> Option<u8> {
    values?.get(PART)?.as_deref()?.parse().ok()
}

/// The statistics JSON of a file holding `rows`, as Delta writes it.
fn stats_json(rows: &[(u32, i64)]) -> String {
    let ids = rows.iter().map(|r| r.0);
    let values = rows.iter().map(|r| r.1);
    serde_json::json!({
        "numRecords": rows.len(),
        "minValues": {"id": ids.clone().min(), "value": values.clone().min()},
        "maxValues": {"id": ids.max(), "value": values.max()},
        "nullCount": {"id": 0, "value": 0},
    })
    .to_string()
}

/// `(min, max)` of `value` from a file's statistics; `None` when absent or unreadable.
pub(super) fn value_bounds(stats: Option<&str>) -> Option<(i64, i64)> {
    let stats: serde_json::Value = serde_json::from_str(stats?).ok()?;
    let min = stats.get("minValues")?.get("value")?.as_i64()?;
    let max = stats.get("maxValues")?.get("value")?.as_i64()?;
    Some((min, max))
}

/// The `remove` tarn writes for an active file: everything its `add` said
/// (`crates/tarn/src/transaction/mod.rs`, `remove_action`).
pub(super) fn remove_action(add: &Add, data_change: bool) -> Remove {
    Remove {
        path: add.path.clone(),
        deletion_timestamp: Some(1),
        data_change,
        extended_file_metadata: Some(true),
        partition_values: Some(add.partition_values.clone()),
        size: Some(add.size),
        stats: add.stats.clone(),
        tags: add.tags.clone(),
        deletion_vector: add.deletion_vector.clone(),
        base_row_id: add.base_row_id,
        default_row_commit_version: add.default_row_commit_version,
    }
}

/// A logical file's identity in the log: `(path, deletionVector.uniqueId)`.
pub(super) fn file_key(add: &Add) -> (String, Option<String>) {
    (
        add.path.clone(),
        add.deletion_vector.as_ref().map(|dv| dv.unique_id()),
    )
}

/// A table's log: commits oldest first, version `i` at index `i`.
#[derive(Debug, Clone)]
pub(super) struct Log {
    commits: Vec<Vec<Action>>,
}

impl Log {
    /// A table created with these files at version 0.
    pub(super) fn create(adds: Vec<Add>) -> Self {
        let mut first = vec![Action::CommitInfo(CommitInfo {
            operation: Some("CREATE TABLE".to_owned()),
            ..CommitInfo::default()
        })];
        first.extend(adds.into_iter().map(Action::Add));
        Self {
            commits: vec![first],
        }
    }

    /// The newest version.
    pub(super) fn version(&self) -> Version {
        Version::try_from(self.commits.len() - 1).unwrap()
    }

    /// This log with one more commit.
    pub(super) fn committed(&self, actions: Vec<Action>) -> Self {
        let mut next = self.clone();
        next.commits.push(actions);
        next
    }

    /// The active files at `version`, by path, reconciled by the crate's replay.
    pub(super) fn files_at(&self, version: Version) -> Vec<Add> {
        let upto = usize::try_from(version).unwrap();
        let newest_first: Vec<(Version, Vec<Action>)> = self.commits[..=upto]
            .iter()
            .enumerate()
            .rev()
            .map(|(v, actions)| (Version::try_from(v).unwrap(), actions.clone()))
            .collect();
        let mut adds = replay(&[], &newest_first).adds;
        adds.sort_by_key(file_key);
        adds
    }

    /// The active files at the newest version.
    pub(super) fn files(&self) -> Vec<Add> {
        self.files_at(self.version())
    }

    /// The rows at the newest version, sorted (a multiset).
    pub(super) fn rows(&self, store: &Store) -> Vec<Row> {
        rows_of(store, &self.files())
    }

    /// Whether the newest version is a table Delta allows: each path live at most once
    /// (with one deletion vector), every file and deletion vector written.
    pub(super) fn check_valid(&self, store: &Store) -> Result<(), String> {
        let mut paths = BTreeSet::new();
        for add in self.files() {
            if !paths.insert(add.path.clone()) {
                return Err(format!("{} is live twice (two deletion vectors)", add.path));
            }
            if !store.files.contains_key(&add.path) {
                return Err(format!("{} was never written", add.path));
            }
        }
        Ok(())
    }
}

/// The live rows of `adds`, sorted.
pub(super) fn rows_of(store: &Store, adds: &[Add]) -> Vec<Row> {
    let mut rows: Vec<Row> = adds
        .iter()
        .flat_map(|add| {
            let part = partition_of(Some(&add.partition_values)).unwrap();
            store
                .live(add)
                .into_iter()
                .map(move |(_, id, value)| (part, id, value))
        })
        .collect();
    rows.sort_unstable();
    rows
}
