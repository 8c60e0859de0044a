//! Conflict rules: may a transaction that read version `v` commit after other writers
//! committed versions `v+1..`?
//!
//! A commit is a put-if-absent of the next version; when another writer got there first, the
//! losing transaction reads the winning commits and asks [`check_conflict`] whether its own
//! actions are still valid on top of them. If so it retries at the next version unchanged
//! (rebase); if not, it fails naming the winning version and the reason. The rules follow
//! Delta's write-serializable isolation (PROTOCOL.md leaves isolation to writers; this is what
//! Spark and delta-rs enforce):
//!
//! - a change of protocol or metadata by the winner conflicts with everything;
//! - a transaction that changes metadata conflicts with any concurrent data change;
//! - blind appends (transactions that read nothing) never conflict with data changes;
//! - files the winner added that the transaction's read predicate may match conflict (the
//!   transaction would have seen them: a delete must not miss rows appended under it);
//! - files the winner removed with `dataChange = true` that the transaction read conflict;
//! - a file removed by both conflicts, whatever `dataChange` says (compaction included);
//! - the same `txn` application id or the same metadata domain written by both conflicts.
//!
//! The rules must never let two transactions both succeed where serial execution would
//! lose or duplicate a row. They may be conservative (a spurious conflict costs a retry by
//! the caller), never lenient.

use std::collections::BTreeSet;

use crate::actions::{Action, Add, Remove};
use crate::log_path::Version;

/// What a transaction read, as far as conflicts go. Implemented by the engine, which knows
/// how to evaluate its predicate on a file's partition values and statistics.
pub trait ReadPredicate {
    /// Whether rows of `add` (a file another writer added) could be among the rows the
    /// transaction read. `true` when unsure.
    fn may_match_added(&self, add: &Add) -> bool;

    /// Whether rows of the file `remove` removed could be among the rows the transaction read.
    /// `true` when unsure.
    fn may_match_removed(&self, remove: &Remove) -> bool;
}

/// A read predicate that matches every file: the transaction read the whole table.
#[derive(Debug, Clone, Copy, Default)]
pub struct WholeTable;

impl ReadPredicate for WholeTable {
    fn may_match_added(&self, _: &Add) -> bool {
        true
    }

    fn may_match_removed(&self, _: &Remove) -> bool {
        true
    }
}

/// What data a transaction depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadScope {
    /// Read nothing: a blind append.
    Nothing,
    /// Read the rows its [`ReadPredicate`] describes.
    Predicate,
}

/// The parts of a transaction that conflicts depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionFootprint {
    /// The version the transaction read.
    pub read_version: Version,
    /// Whether it read table data (and so depends on which files exist).
    pub read_scope: ReadScope,
    /// Paths of the files it removes.
    pub removed_paths: BTreeSet<String>,
    /// Whether it changes the table's metadata.
    pub changes_metadata: bool,
    /// Whether it changes the table's protocol.
    pub changes_protocol: bool,
    /// Application ids of the `txn` actions it writes.
    pub txn_app_ids: BTreeSet<String>,
    /// Metadata domains it writes.
    pub domains: BTreeSet<String>,
}

impl TransactionFootprint {
    /// The footprint of a blind append at `read_version` (no reads, no removes).
    pub fn blind_append(read_version: Version) -> Self {
        Self {
            read_version,
            read_scope: ReadScope::Nothing,
            removed_paths: BTreeSet::new(),
            changes_metadata: false,
            changes_protocol: false,
            txn_app_ids: BTreeSet::new(),
            domains: BTreeSet::new(),
        }
    }
}

/// Why a transaction cannot commit after a winning commit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConflictReason {
    /// The winner changed the protocol.
    ProtocolChanged,
    /// The winner changed the table metadata (schema, partitioning, properties).
    MetadataChanged,
    /// This transaction changes metadata while the winner changed data.
    MetadataChangeRaced,
    /// The winner added a file this transaction's read may cover.
    ConcurrentAppend {
        /// The added file.
        path: String,
    },
    /// The winner removed (changed) a file this transaction read.
    ConcurrentDeleteRead {
        /// The removed file.
        path: String,
    },
    /// Both removed the same file.
    ConcurrentDeleteDelete {
        /// The file.
        path: String,
    },
    /// Both wrote a `txn` for the same application.
    ConcurrentTransaction {
        /// The application id.
        app_id: String,
    },
    /// Both wrote the same metadata domain.
    ConcurrentDomainUpdate {
        /// The domain.
        domain: String,
    },
}

impl std::fmt::Display for ConflictReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConflictReason::ProtocolChanged => f.write_str("it changed the table protocol"),
            ConflictReason::MetadataChanged => f.write_str("it changed the table metadata"),
            ConflictReason::MetadataChangeRaced => {
                f.write_str("it changed data while this transaction changes the table metadata")
            }
            ConflictReason::ConcurrentAppend { path } => {
                write!(f, "it added {path}, which this transaction's read covers")
            }
            ConflictReason::ConcurrentDeleteRead { path } => {
                write!(f, "it removed {path}, which this transaction read")
            }
            ConflictReason::ConcurrentDeleteDelete { path } => {
                write!(f, "it also removed {path}")
            }
            ConflictReason::ConcurrentTransaction { app_id } => {
                write!(f, "it committed a transaction of application {app_id:?}")
            }
            ConflictReason::ConcurrentDomainUpdate { domain } => {
                write!(f, "it also changed metadata domain {domain:?}")
            }
        }
    }
}

/// The winning commit's actions as conflict checking sees them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WinningCommit {
    /// Its version.
    pub version: Version,
    /// Files it added.
    pub adds: Vec<Add>,
    /// Files it removed.
    pub removes: Vec<Remove>,
    /// Whether it changed metadata.
    pub changed_metadata: bool,
    /// Whether it changed the protocol.
    pub changed_protocol: bool,
    /// Applications it wrote `txn` actions for.
    pub txn_app_ids: BTreeSet<String>,
    /// Domains it wrote.
    pub domains: BTreeSet<String>,
    /// Its `commitInfo.txnId`, to recognise a commit of our own after an ambiguous failure.
    pub txn_id: Option<String>,
}

impl WinningCommit {
    /// Summarises the actions of one commit.
    pub fn from_actions(version: Version, actions: impl IntoIterator<Item = Action>) -> Self {
        let mut commit = WinningCommit {
            version,
            ..WinningCommit::default()
        };
        for action in actions {
            match action {
                Action::Add(add) => commit.adds.push(add),
                Action::Remove(remove) => commit.removes.push(remove),
                Action::Metadata(_) => commit.changed_metadata = true,
                Action::Protocol(_) => commit.changed_protocol = true,
                Action::Txn(txn) => {
                    commit.txn_app_ids.insert(txn.app_id);
                }
                Action::DomainMetadata(domain) => {
                    commit.domains.insert(domain.domain);
                }
                Action::CommitInfo(info) => commit.txn_id = info.txn_id,
                Action::Cdc(_) | Action::Sidecar(_) | Action::CheckpointMetadata(_) => {}
            }
        }
        commit
    }

    /// Whether the commit changed data (added or removed files with `dataChange = true`).
    pub fn changes_data(&self) -> bool {
        self.adds.iter().any(|a| a.data_change) || self.removes.iter().any(|r| r.data_change)
    }
}

/// Decides whether a transaction with footprint `mine`, reading what `reads` describes, may
/// commit after `winner`. `Ok` means it may retry at the next version with its actions
/// unchanged.
pub fn check_conflict(
    mine: &TransactionFootprint,
    reads: &dyn ReadPredicate,
    winner: &WinningCommit,
) -> Result<(), ConflictReason> {
    if winner.changed_protocol {
        return Err(ConflictReason::ProtocolChanged);
    }
    if winner.changed_metadata {
        return Err(ConflictReason::MetadataChanged);
    }
    if (mine.changes_metadata || mine.changes_protocol) && winner.changes_data() {
        return Err(ConflictReason::MetadataChangeRaced);
    }
    for remove in &winner.removes {
        if mine.removed_paths.contains(&remove.path) {
            return Err(ConflictReason::ConcurrentDeleteDelete {
                path: remove.path.clone(),
            });
        }
    }
    if mine.read_scope == ReadScope::Predicate {
        for add in winner.adds.iter().filter(|a| a.data_change) {
            if reads.may_match_added(add) {
                return Err(ConflictReason::ConcurrentAppend {
                    path: add.path.clone(),
                });
            }
        }
        for remove in winner.removes.iter().filter(|r| r.data_change) {
            if reads.may_match_removed(remove) {
                return Err(ConflictReason::ConcurrentDeleteRead {
                    path: remove.path.clone(),
                });
            }
        }
    }
    if let Some(app_id) = mine.txn_app_ids.intersection(&winner.txn_app_ids).next() {
        return Err(ConflictReason::ConcurrentTransaction {
            app_id: app_id.clone(),
        });
    }
    if let Some(domain) = mine.domains.intersection(&winner.domains).next() {
        return Err(ConflictReason::ConcurrentDomainUpdate {
            domain: domain.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::actions::{Metadata, Protocol, Txn};

    fn add(path: &str, day: &str, data_change: bool) -> Add {
        Add {
            path: path.to_owned(),
            partition_values: BTreeMap::from([("day".to_owned(), Some(day.to_owned()))]),
            size: 1,
            modification_time: 0,
            data_change,
            stats: None,
            tags: None,
            deletion_vector: None,
            base_row_id: None,
            default_row_commit_version: None,
            clustering_provider: None,
        }
    }

    fn remove(path: &str, day: &str, data_change: bool) -> Remove {
        Remove {
            path: path.to_owned(),
            deletion_timestamp: Some(0),
            data_change,
            extended_file_metadata: Some(true),
            partition_values: Some(BTreeMap::from([("day".to_owned(), Some(day.to_owned()))])),
            size: Some(1),
            stats: None,
            tags: None,
            deletion_vector: None,
            base_row_id: None,
            default_row_commit_version: None,
        }
    }

    /// Reads one partition.
    struct Day(&'static str);

    impl ReadPredicate for Day {
        fn may_match_added(&self, add: &Add) -> bool {
            add.partition_values.get("day") == Some(&Some(self.0.to_owned()))
        }
        fn may_match_removed(&self, remove: &Remove) -> bool {
            remove
                .partition_values
                .as_ref()
                .is_none_or(|pv| pv.get("day") == Some(&Some(self.0.to_owned())))
        }
    }

    fn reading(read_version: Version, removed: &[&str]) -> TransactionFootprint {
        TransactionFootprint {
            read_scope: ReadScope::Predicate,
            removed_paths: removed.iter().map(|s| (*s).to_owned()).collect(),
            ..TransactionFootprint::blind_append(read_version)
        }
    }

    fn winner(actions: Vec<Action>) -> WinningCommit {
        WinningCommit::from_actions(5, actions)
    }

    #[test]
    fn blind_appends_never_conflict_with_data_changes() {
        let mine = TransactionFootprint::blind_append(4);
        let w = winner(vec![
            Action::Add(add("a", "d1", true)),
            Action::Remove(remove("b", "d1", true)),
        ]);
        assert_eq!(check_conflict(&mine, &WholeTable, &w), Ok(()));
    }

    #[test]
    fn metadata_and_protocol_changes_conflict_with_everything() {
        let mine = TransactionFootprint::blind_append(4);
        let metadata = Metadata {
            id: "t".into(),
            name: None,
            description: None,
            format: crate::actions::Format::default(),
            schema_string: "{}".into(),
            partition_columns: vec![],
            created_time: None,
            configuration: BTreeMap::new(),
        };
        let protocol = Protocol {
            min_reader_version: 1,
            min_writer_version: 2,
            reader_features: None,
            writer_features: None,
        };
        assert_eq!(
            check_conflict(
                &mine,
                &WholeTable,
                &winner(vec![Action::Metadata(metadata)])
            ),
            Err(ConflictReason::MetadataChanged)
        );
        assert_eq!(
            check_conflict(
                &mine,
                &WholeTable,
                &winner(vec![Action::Protocol(protocol)])
            ),
            Err(ConflictReason::ProtocolChanged)
        );
        let changing = TransactionFootprint {
            changes_metadata: true,
            ..TransactionFootprint::blind_append(4)
        };
        assert_eq!(
            check_conflict(
                &changing,
                &WholeTable,
                &winner(vec![Action::Add(add("a", "d", true))])
            ),
            Err(ConflictReason::MetadataChangeRaced)
        );
        // A compaction changes no data: a schema change may go ahead of it.
        assert_eq!(
            check_conflict(
                &changing,
                &WholeTable,
                &winner(vec![
                    Action::Add(add("c", "d", false)),
                    Action::Remove(remove("a", "d", false))
                ])
            ),
            Ok(())
        );
    }

    #[test]
    fn delete_conflicts_with_appends_it_could_have_seen_only() {
        let delete = reading(4, &["old-d1"]);
        assert_eq!(
            check_conflict(
                &delete,
                &Day("d1"),
                &winner(vec![Action::Add(add("new", "d1", true))])
            ),
            Err(ConflictReason::ConcurrentAppend { path: "new".into() })
        );
        assert_eq!(
            check_conflict(
                &delete,
                &Day("d1"),
                &winner(vec![Action::Add(add("new", "d2", true))])
            ),
            Ok(())
        );
    }

    #[test]
    fn overwrites_of_different_partitions_do_not_conflict() {
        let mine = reading(4, &["d1-a"]);
        let w = winner(vec![
            Action::Remove(remove("d2-a", "d2", true)),
            Action::Add(add("d2-b", "d2", true)),
        ]);
        assert_eq!(check_conflict(&mine, &Day("d1"), &w), Ok(()));
        let same = winner(vec![
            Action::Remove(remove("d1-a", "d1", true)),
            Action::Add(add("d1-b", "d1", true)),
        ]);
        assert_eq!(
            check_conflict(&mine, &Day("d1"), &same),
            Err(ConflictReason::ConcurrentDeleteDelete {
                path: "d1-a".into()
            })
        );
    }

    #[test]
    fn removing_a_file_that_was_read_conflicts_unless_it_was_a_compaction() {
        let update = reading(4, &[]);
        assert_eq!(
            check_conflict(
                &update,
                &Day("d1"),
                &winner(vec![Action::Remove(remove("f", "d1", true))])
            ),
            Err(ConflictReason::ConcurrentDeleteRead { path: "f".into() })
        );
        let compaction = winner(vec![
            Action::Remove(remove("f", "d1", false)),
            Action::Add(add("g", "d1", false)),
        ]);
        assert_eq!(check_conflict(&update, &Day("d1"), &compaction), Ok(()));
        // But a compaction that removed a file this transaction removes too conflicts.
        let removing = reading(4, &["f"]);
        assert_eq!(
            check_conflict(&removing, &Day("d1"), &compaction),
            Err(ConflictReason::ConcurrentDeleteDelete { path: "f".into() })
        );
    }

    #[test]
    fn same_application_transaction_conflicts() {
        let mine = TransactionFootprint {
            txn_app_ids: BTreeSet::from(["stream-1".to_owned()]),
            ..TransactionFootprint::blind_append(4)
        };
        let w = winner(vec![Action::Txn(Txn {
            app_id: "stream-1".into(),
            version: 9,
            last_updated: None,
        })]);
        assert_eq!(
            check_conflict(&mine, &WholeTable, &w),
            Err(ConflictReason::ConcurrentTransaction {
                app_id: "stream-1".into()
            })
        );
        let other = winner(vec![Action::Txn(Txn {
            app_id: "stream-2".into(),
            version: 9,
            last_updated: None,
        })]);
        assert_eq!(check_conflict(&mine, &WholeTable, &other), Ok(()));
    }
}
