//! How old a file is, for `--older-than`: the time of the commit that added it.
//!
//! A file's `modificationTime` is when its writer wrote it, not when a commit made it part of
//! the table, and writers set it as they please; the age rule goes by the commit. The log
//! answers that question cheaply, newest first, and only as far back as the rule needs:
//!
//! 1. A file with `defaultRowCommitVersion` (tables with row tracking) names the version that
//!    first committed its rows; the timestamp comes from the log's listing alone.
//! 2. Otherwise the commits are read newest first, from the snapshot's version down: the
//!    first `add` of a file's path met is the commit that added it, unless that `add` only
//!    re-adds the file — the same commit removes the same path (a new deletion vector), or the
//!    commit is a `RESTORE` or tarn's `RESTORE ARCHIVE` — in which case the file is older and
//!    the search goes on.
//! 3. Reading stops at the first commit whose timestamp is at or before the cutoff (`now`
//!    minus the age): every file not found yet was added at or before it, so it is old enough
//!    whatever its exact commit. The cost is the commits of the last `--older-than` (or fewer,
//!    once every file is found).
//! 4. A file whose adding commit the log no longer holds (log cleanup after a checkpoint)
//!    was added before the oldest commit kept; its age is then estimated from its
//!    `modificationTime`, capped at that oldest commit's time (a file committed before a
//!    commit cannot be younger than it). The plan says which files were estimated.
//!
//! Commit timestamps are those of history and time travel: in-commit timestamps where
//! enabled, else commit file times made monotonic. The decision ([`AddedAt::is_older_than`])
//! is a pure function of the evidence and the cutoff.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use tarn::protocol::actions::Action;
use tarn::{Snapshot, Table};

use crate::error::Result;

/// When a file was added to the table, as far as the log tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum AddedAt {
    /// Added by the commit of `version`, at `timestamp` (ms since the epoch).
    Commit {
        /// The version that added it.
        version: u64,
        /// Its commit time.
        timestamp: i64,
    },
    /// Added at or before the commit of `version` (reading stopped there, at the cutoff).
    AtOrBefore {
        /// The version.
        version: u64,
        /// Its commit time.
        timestamp: i64,
    },
    /// Added before the oldest commit the log still holds; only the file's
    /// `modificationTime` says more.
    BeforeLog {
        /// The oldest commit still in the log.
        oldest_version: u64,
        /// Its commit time.
        oldest_timestamp: i64,
        /// The file's `modificationTime`.
        modification_time: i64,
    },
}

impl AddedAt {
    /// The time the decision goes by: the commit's, or for a file older than the log, its
    /// `modificationTime` capped at the oldest commit's time.
    pub fn effective_time(&self) -> i64 {
        match *self {
            AddedAt::Commit { timestamp, .. } | AddedAt::AtOrBefore { timestamp, .. } => timestamp,
            AddedAt::BeforeLog {
                oldest_timestamp,
                modification_time,
                ..
            } => modification_time.min(oldest_timestamp),
        }
    }

    /// Whether a file added then is at least as old as `cutoff` says: added at or before it.
    pub fn is_older_than(&self, cutoff: i64) -> bool {
        self.effective_time() <= cutoff
    }
}

/// What the age search needs of a file.
#[derive(Debug, Clone)]
pub(crate) struct AgeQuery<'a> {
    pub(crate) path: &'a str,
    pub(crate) default_row_commit_version: Option<i64>,
    pub(crate) modification_time: i64,
}

/// When each of `files` (paths of active files of `snapshot`) was added, searching the log
/// newest first no further back than the first commit at or before `cutoff` (see the module
/// doc).
pub(crate) async fn added_at(
    table: &Table,
    snapshot: &Snapshot,
    files: &[AgeQuery<'_>],
    cutoff: i64,
) -> Result<HashMap<String, AddedAt>> {
    let timeline: Vec<(u64, i64)> = table
        .commit_timestamps()
        .await?
        .into_iter()
        .filter(|(version, _)| *version <= snapshot.version())
        .collect();
    let time_of: HashMap<u64, i64> = timeline.iter().copied().collect();
    let oldest = timeline.first().copied();
    let before_log = |modification_time: i64| match oldest {
        Some((oldest_version, oldest_timestamp)) => AddedAt::BeforeLog {
            oldest_version,
            oldest_timestamp,
            modification_time,
        },
        // No commit file at all (a checkpoint alone): the snapshot's own time bounds it.
        None => AddedAt::BeforeLog {
            oldest_version: snapshot.version(),
            oldest_timestamp: snapshot.timestamp().timestamp_millis(),
            modification_time,
        },
    };
    let mut found: HashMap<String, AddedAt> = HashMap::new();
    let mut open: HashMap<&str, i64> = HashMap::new();
    for file in files {
        match file
            .default_row_commit_version
            .and_then(|v| u64::try_from(v).ok())
        {
            Some(version) => {
                let at = match time_of.get(&version) {
                    Some(&timestamp) => AddedAt::Commit { version, timestamp },
                    None => before_log(file.modification_time),
                };
                found.insert(file.path.to_owned(), at);
            }
            None => {
                open.insert(file.path, file.modification_time);
            }
        }
    }
    for &(version, timestamp) in timeline.iter().rev() {
        if open.is_empty() {
            break;
        }
        if timestamp <= cutoff {
            for path in open.keys() {
                found.insert(
                    (*path).to_owned(),
                    AddedAt::AtOrBefore { version, timestamp },
                );
            }
            open.clear();
            break;
        }
        let Some(actions) = table.commit_actions(version).await? else {
            continue;
        };
        for path in first_adds(&actions) {
            if open.remove(path.as_str()).is_some() {
                found.insert(path, AddedAt::Commit { version, timestamp });
            }
        }
    }
    for (path, modification_time) in open {
        found.insert(path.to_owned(), before_log(modification_time));
    }
    Ok(found)
}

/// The paths a commit adds for the first time: its `add`s, less those it only re-adds (the
/// same commit removes the path: a new deletion vector; or a restore).
pub(crate) fn first_adds(actions: &[Action]) -> Vec<String> {
    let restore = actions.iter().any(|action| {
        matches!(action, Action::CommitInfo(info)
            if matches!(info.operation.as_deref(), Some("RESTORE" | super::RESTORE_OPERATION)))
    });
    if restore {
        return Vec::new();
    }
    let removed: HashSet<&str> = actions
        .iter()
        .filter_map(|action| match action {
            Action::Remove(remove) => Some(remove.path.as_str()),
            _ => None,
        })
        .collect();
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Add(add) if !removed.contains(add.path.as_str()) => Some(add.path.clone()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decision_goes_by_the_commit_or_the_capped_modification_time() {
        let commit = AddedAt::Commit {
            version: 3,
            timestamp: 1_000,
        };
        assert!(commit.is_older_than(1_000));
        assert!(!commit.is_older_than(999));
        let bounded = AddedAt::AtOrBefore {
            version: 2,
            timestamp: 500,
        };
        assert!(bounded.is_older_than(500));
        // Older than the log: the file's time, never later than the oldest commit's.
        let old = AddedAt::BeforeLog {
            oldest_version: 10,
            oldest_timestamp: 5_000,
            modification_time: 100,
        };
        assert_eq!(old.effective_time(), 100);
        assert!(old.is_older_than(100));
        let lying = AddedAt::BeforeLog {
            oldest_version: 10,
            oldest_timestamp: 5_000,
            modification_time: 9_000_000,
        };
        assert_eq!(lying.effective_time(), 5_000);
        assert!(!lying.is_older_than(4_999));
    }

    #[test]
    fn re_adds_are_not_first_adds() {
        use tarn::protocol::actions::{Add, CommitInfo, Remove};
        let add = |path: &str| {
            Action::Add(Add {
                path: path.to_owned(),
                partition_values: Default::default(),
                size: 1,
                modification_time: 1,
                data_change: true,
                stats: None,
                tags: None,
                deletion_vector: None,
                base_row_id: None,
                default_row_commit_version: None,
                clustering_provider: None,
            })
        };
        let remove = |path: &str| {
            Action::Remove(Remove {
                path: path.to_owned(),
                deletion_timestamp: None,
                data_change: true,
                extended_file_metadata: None,
                partition_values: None,
                size: None,
                stats: None,
                tags: None,
                deletion_vector: None,
                base_row_id: None,
                default_row_commit_version: None,
            })
        };
        let info = |operation: &str| {
            Action::CommitInfo(CommitInfo {
                operation: Some(operation.to_owned()),
                ..CommitInfo::default()
            })
        };
        // A delete with a deletion vector re-adds `a`; `b` is new.
        let dv_delete = [info("DELETE"), remove("a"), add("a"), add("b")];
        assert_eq!(first_adds(&dv_delete), ["b"]);
        assert!(first_adds(&[info("RESTORE"), add("a")]).is_empty());
        assert!(first_adds(&[info(super::super::RESTORE_OPERATION), add("a")]).is_empty());
        assert_eq!(first_adds(&[info("WRITE"), add("c")]), ["c"]);
    }
}
