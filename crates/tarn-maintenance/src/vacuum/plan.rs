//! What a vacuum deletes: the pure half of `vacuum`.
//!
//! The rules (spec/maintenance.md, "Vacuum"):
//!
//! - A file is **referenced** when the latest version names it (an active file or its
//!   deletion vector) or a tombstone inside the retention window does (a removed file time
//!   travel to a retained version still reads, or its deletion vector). Referenced files are
//!   never deleted.
//! - A file an **expired tombstone** names (removed before the cutoff, now minus the
//!   retention) is deleted once its own modification time is before the cutoff too.
//! - Any other file under the table's root was never committed, or was committed so long ago
//!   that the log no longer says so: an **orphan**. It is deleted only once older than the
//!   retention *and* older than [`MIN_ORPHAN_AGE_MS`], whatever the retention: a writer's file
//!   that is uploaded but not yet committed looks exactly like an orphan, and must survive.
//! - Hidden paths are never touched: a segment starting with `_` or `.` (the log, change data,
//!   checkpoints' sidecars, other tools' files), unless it is a partition directory of the
//!   table (`_col=value`).
//!
//! `full` mode lists the table's files and applies all of the above; `lite` mode lists
//! nothing and deletes only the files expired tombstones name, read from the commits since
//! the last vacuum. Both report the version up to which every tombstone has been dealt with
//! (`vacuumed_through`), which is where the next lite vacuum starts reading.

use std::collections::{BTreeMap, HashSet};

use object_store::path::Path;
use serde::Serialize;
use tarn::Version;

/// Files no version names are deleted only once at least this old (one hour), whatever the
/// retention: long enough for any write to commit the files it uploaded.
pub const MIN_ORPHAN_AGE_MS: i64 = 3600 * 1000;

/// How a vacuum finds what to delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VacuumMode {
    /// List the table's files: deletes expired files and orphans.
    Full,
    /// Read only the log since the last vacuum: deletes the files expired tombstones name.
    Lite,
}

impl std::fmt::Display for VacuumMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            VacuumMode::Full => "full",
            VacuumMode::Lite => "lite",
        })
    }
}

/// Why a file is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeletionReason {
    /// An expired tombstone names it.
    Expired,
    /// No version names it, and it is older than the orphan cutoff.
    Orphan,
}

/// A file a vacuum deletes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedDeletion {
    /// The file's path relative to the table's root, as the store names it.
    pub path: String,
    /// Its object path in the table's store.
    #[serde(skip)]
    pub object: Path,
    /// Its size in bytes, when known (listed, or recorded in its tombstone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Why it goes.
    pub reason: DeletionReason,
}

/// A file found by listing the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    /// Its object path in the table's store.
    pub path: Path,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, milliseconds since the epoch.
    pub modified_ms: i64,
}

/// A `remove` read from a commit: which file, when, and at which version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedRemove {
    /// The version whose commit holds it.
    pub version: Version,
    /// The removed file's object path in the table's store (files outside the table are
    /// left out before planning).
    pub path: Path,
    /// Its `deletionTimestamp` (`None` counts as the epoch).
    pub deletion_timestamp: Option<i64>,
    /// Its `size`, if recorded.
    pub size: Option<u64>,
}

/// The cutoffs a vacuum decides with, from `now` and the retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cutoffs {
    /// Tombstones removed at or before this time (ms) have expired, and so have files
    /// modified before it.
    pub expired_ms: i64,
    /// Orphans modified before this time (ms) go: the earlier of `expired_ms` and `now` minus
    /// [`MIN_ORPHAN_AGE_MS`].
    pub orphan_ms: i64,
}

impl Cutoffs {
    /// The cutoffs at `now_ms` for a retention of `retention_ms`.
    pub fn new(now_ms: i64, retention_ms: i64) -> Self {
        let expired_ms = now_ms.saturating_sub(retention_ms.max(0));
        Self {
            expired_ms,
            orphan_ms: expired_ms.min(now_ms.saturating_sub(MIN_ORPHAN_AGE_MS)),
        }
    }

    fn expired(&self, deletion_timestamp: Option<i64>) -> bool {
        deletion_timestamp.unwrap_or(0) <= self.expired_ms
    }
}

/// Whether a path under the table's root (its segments relative to the root) is hidden: a
/// segment starting with `_` or `.` that is not a partition directory of one of
/// `partition_columns` (physical names).
pub fn is_hidden(relative: &[&str], partition_columns: &[String]) -> bool {
    let directories = relative.len().saturating_sub(1);
    relative.iter().enumerate().any(|(index, segment)| {
        if !(segment.starts_with('_') || segment.starts_with('.')) {
            return false;
        }
        let partition_directory = index < directories
            && segment
                .split_once('=')
                .is_some_and(|(column, _)| partition_columns.iter().any(|c| c == column));
        !partition_directory
    })
}

/// The segments of `path` below `root`, or `None` if it is not strictly under it.
pub fn relative_segments<'a>(root: &Path, path: &'a Path) -> Option<Vec<&'a str>> {
    let mut parts = path.parts();
    for expected in root.parts() {
        if parts.next()? != expected {
            return None;
        }
    }
    let rest: Vec<&'a str> = path
        .as_ref()
        .split('/')
        .skip(root.parts().count())
        .collect();
    (!rest.is_empty() && rest.iter().all(|s| !s.is_empty())).then_some(rest)
}

/// Full mode: the listed files to delete. See the [module docs](self).
pub fn plan_full(
    root: &Path,
    listed: Vec<ListedFile>,
    referenced: &HashSet<Path>,
    removes: &[CommittedRemove],
    partition_columns: &[String],
    cutoffs: Cutoffs,
) -> Vec<PlannedDeletion> {
    // Named by a tombstone: expired only when every tombstone naming it has.
    let mut tombstoned: BTreeMap<&Path, bool> = BTreeMap::new();
    for remove in removes {
        let expired = cutoffs.expired(remove.deletion_timestamp);
        tombstoned
            .entry(&remove.path)
            .and_modify(|all| *all &= expired)
            .or_insert(expired);
    }
    let mut deletions = Vec::new();
    for file in listed {
        let Some(relative) = relative_segments(root, &file.path) else {
            continue;
        };
        if is_hidden(&relative, partition_columns) || referenced.contains(&file.path) {
            continue;
        }
        let (reason, cutoff) = match tombstoned.get(&file.path) {
            Some(true) => (DeletionReason::Expired, cutoffs.expired_ms),
            // Removed within the window, yet not among the retained tombstones: a newer
            // commit re-added and removed it again; keep it until its tombstones expire.
            Some(false) => continue,
            None => (DeletionReason::Orphan, cutoffs.orphan_ms),
        };
        if file.modified_ms >= cutoff {
            continue;
        }
        deletions.push(PlannedDeletion {
            path: relative.join("/"),
            object: file.path,
            size: Some(file.size),
            reason,
        });
    }
    deletions.sort_by(|a, b| a.path.cmp(&b.path));
    deletions
}

/// Lite mode: the files expired tombstones name that nothing references. See the
/// [module docs](self).
pub fn plan_lite(
    root: &Path,
    removes: &[CommittedRemove],
    referenced: &HashSet<Path>,
    partition_columns: &[String],
    cutoffs: Cutoffs,
) -> Vec<PlannedDeletion> {
    let mut candidates: BTreeMap<&Path, (bool, Option<u64>)> = BTreeMap::new();
    for remove in removes {
        let expired = cutoffs.expired(remove.deletion_timestamp);
        let entry = candidates.entry(&remove.path).or_insert((true, None));
        entry.0 &= expired;
        entry.1 = entry.1.or(remove.size);
    }
    let mut deletions = Vec::new();
    for (path, (expired, size)) in candidates {
        if !expired || referenced.contains(path) {
            continue;
        }
        let Some(relative) = relative_segments(root, path) else {
            continue;
        };
        if is_hidden(&relative, partition_columns) {
            continue;
        }
        deletions.push(PlannedDeletion {
            path: relative.join("/"),
            object: path.clone(),
            size,
            reason: DeletionReason::Expired,
        });
    }
    deletions
}

/// The version up to which every tombstone is dealt with after a vacuum of `latest` that
/// read the removes of the commits up to it: the version before the first commit holding a
/// tombstone that has not expired yet, else `latest`.
pub fn vacuumed_through(latest: Version, removes: &[CommittedRemove], cutoffs: Cutoffs) -> Version {
    removes
        .iter()
        .filter(|remove| !cutoffs.expired(remove.deletion_timestamp))
        .map(|remove| remove.version)
        .min()
        .map_or(latest, |first| first.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600 * 1000;
    const DAY: i64 = 24 * HOUR;
    const NOW: i64 = 100 * DAY;

    fn root() -> Path {
        Path::from("data/t")
    }

    fn at(relative: &str) -> Path {
        Path::from(format!("data/t/{relative}"))
    }

    fn listed(relative: &str, age_ms: i64) -> ListedFile {
        ListedFile {
            path: at(relative),
            size: 10,
            modified_ms: NOW - age_ms,
        }
    }

    fn removed(version: Version, relative: &str, age_ms: i64) -> CommittedRemove {
        CommittedRemove {
            version,
            path: at(relative),
            deletion_timestamp: Some(NOW - age_ms),
            size: Some(10),
        }
    }

    fn paths(deletions: &[PlannedDeletion]) -> Vec<(&str, DeletionReason)> {
        deletions
            .iter()
            .map(|d| (d.path.as_str(), d.reason))
            .collect()
    }

    #[test]
    fn cutoffs_never_let_an_orphan_go_younger_than_an_hour() {
        let week = Cutoffs::new(NOW, 7 * DAY);
        assert_eq!(week.expired_ms, NOW - 7 * DAY);
        assert_eq!(week.orphan_ms, NOW - 7 * DAY);
        let zero = Cutoffs::new(NOW, 0);
        assert_eq!(zero.expired_ms, NOW);
        assert_eq!(zero.orphan_ms, NOW - HOUR);
    }

    #[test]
    fn full_keeps_referenced_young_and_hidden_files() {
        let cutoffs = Cutoffs::new(NOW, 7 * DAY);
        let referenced: HashSet<Path> = [at("live.parquet"), at("p=1/dv.bin")].into();
        let removes = [
            removed(3, "old.parquet", 8 * DAY),
            removed(9, "recent.parquet", DAY),
        ];
        let files = vec![
            listed("live.parquet", 30 * DAY),
            listed("p=1/dv.bin", 30 * DAY),
            listed("old.parquet", 30 * DAY),
            listed("recent.parquet", 30 * DAY),
            listed("orphan.parquet", 30 * DAY),
            listed("young-orphan.parquet", 2 * DAY),
            listed("_delta_log/00000000000000000000.json", 30 * DAY),
            listed(".hidden/x.parquet", 30 * DAY),
            listed("p=1/_tmp.parquet", 30 * DAY),
            listed("_p=1/x.parquet", 30 * DAY),
        ];
        let deletions = plan_full(
            &root(),
            files,
            &referenced,
            &removes,
            &["_p".to_owned()],
            cutoffs,
        );
        assert_eq!(
            paths(&deletions),
            [
                ("_p=1/x.parquet", DeletionReason::Orphan),
                ("old.parquet", DeletionReason::Expired),
                ("orphan.parquet", DeletionReason::Orphan),
            ]
        );
    }

    #[test]
    fn with_no_retention_tombstones_go_at_once_but_a_young_orphan_stays() {
        let cutoffs = Cutoffs::new(NOW, 0);
        let removes = [removed(2, "compacted.parquet", 1)];
        let files = vec![
            listed("compacted.parquet", 5 * 60 * 1000),
            listed("uploading.parquet", 5 * 60 * 1000),
            listed("abandoned.parquet", 2 * HOUR),
        ];
        let deletions = plan_full(&root(), files, &HashSet::new(), &removes, &[], cutoffs);
        assert_eq!(
            paths(&deletions),
            [
                ("abandoned.parquet", DeletionReason::Orphan),
                ("compacted.parquet", DeletionReason::Expired),
            ]
        );
    }

    #[test]
    fn a_file_removed_again_within_the_window_stays() {
        // Removed long ago, re-added, removed yesterday: its newest tombstone is retained.
        let cutoffs = Cutoffs::new(NOW, 7 * DAY);
        let removes = [
            removed(1, "x.parquet", 20 * DAY),
            removed(8, "x.parquet", DAY),
        ];
        let files = vec![listed("x.parquet", 30 * DAY)];
        assert!(plan_full(&root(), files, &HashSet::new(), &removes, &[], cutoffs).is_empty());
        assert!(plan_lite(&root(), &removes, &HashSet::new(), &[], cutoffs).is_empty());
    }

    #[test]
    fn lite_deletes_what_expired_tombstones_name_and_nothing_else() {
        let cutoffs = Cutoffs::new(NOW, 7 * DAY);
        let referenced: HashSet<Path> = [at("readded.parquet")].into();
        let removes = [
            removed(1, "gone.parquet", 9 * DAY),
            removed(2, "readded.parquet", 9 * DAY),
            removed(3, "recent.parquet", DAY),
            removed(4, "gone.parquet", 8 * DAY),
        ];
        let deletions = plan_lite(&root(), &removes, &referenced, &[], cutoffs);
        assert_eq!(
            paths(&deletions),
            [("gone.parquet", DeletionReason::Expired)]
        );
        assert_eq!(deletions[0].size, Some(10));
    }

    #[test]
    fn nothing_outside_the_root_is_ever_planned() {
        let cutoffs = Cutoffs::new(NOW, 0);
        let outside = CommittedRemove {
            version: 1,
            path: Path::from("data/other/x.parquet"),
            deletion_timestamp: Some(0),
            size: None,
        };
        let sibling = ListedFile {
            path: Path::from("data/t2/x.parquet"),
            size: 1,
            modified_ms: 0,
        };
        assert!(
            plan_lite(
                &root(),
                std::slice::from_ref(&outside),
                &HashSet::new(),
                &[],
                cutoffs
            )
            .is_empty()
        );
        assert!(
            plan_full(
                &root(),
                vec![sibling],
                &HashSet::new(),
                &[outside],
                &[],
                cutoffs
            )
            .is_empty()
        );
        // The root itself is not a file of the table.
        assert_eq!(relative_segments(&root(), &root()), None);
    }

    #[test]
    fn vacuumed_through_stops_before_the_first_unexpired_tombstone() {
        let cutoffs = Cutoffs::new(NOW, 7 * DAY);
        assert_eq!(vacuumed_through(12, &[], cutoffs), 12);
        let removes = [
            removed(3, "a", 9 * DAY),
            removed(7, "b", DAY),
            removed(9, "c", 8 * DAY),
        ];
        assert_eq!(vacuumed_through(12, &removes, cutoffs), 6);
        assert_eq!(vacuumed_through(12, &removes[..1], cutoffs), 12);
    }
}
