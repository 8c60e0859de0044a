//! Conflict rules: may a transaction that read version `v` commit after other writers
//! committed versions `v+1..`?
//!
//! A commit is a put-if-absent of the next version; when another writer got there first, the
//! losing transaction reads the winning commits and asks [`check_conflict`] whether its own
//! actions are still valid on top of them. If so it retries at the next version unchanged
//! (rebase); if not, it fails naming the winning version and the reason. The rules are Spark's
//! `ConflictChecker`'s (PROTOCOL.md leaves isolation to writers), at the transaction's
//! [`IsolationLevel`]:
//!
//! - a change of protocol or metadata by the winner conflicts with everything;
//! - a transaction that changes metadata or protocol conflicts with any concurrent data change;
//! - files the winner added with `dataChange = true` that the transaction's read predicate may
//!   match conflict (the transaction would have seen them: a delete must not miss rows written
//!   under it) — except, at [`IsolationLevel::WriteSerializable`], files a blind append added
//!   (the result is then the serial order "this transaction, then the append"), and at
//!   [`IsolationLevel::SnapshotIsolation`] any added file;
//! - a file the transaction read that the winner removed conflicts, whatever `dataChange` says
//!   (a compaction replaced it; the transaction's rewrite of it would resurrect or duplicate
//!   rows), and a transaction that read the whole table conflicts with any remove;
//! - a file removed by both conflicts, whatever `dataChange` says;
//! - the same `txn` application id or the same metadata domain written by both conflicts.
//!
//! The rules must never let two transactions both succeed where no serial execution gives
//! the result. They may be conservative (a spurious conflict costs a retry by the caller),
//! never lenient. `model_test/` checks that over generated tables and operations planned as
//! tarn's engine plans them (appends, deletes with and without deletion vectors, updates,
//! overwrites, restores, compactions by tarn and by another engine).

use std::collections::BTreeSet;

use crate::actions::{Action, Add, Remove};
use crate::log_path::Version;
use crate::row_tracking::ROW_TRACKING_DOMAIN;

#[cfg(test)]
mod model_test;

/// What a transaction read, as far as conflicts go. Implemented by the engine, which knows
/// how to evaluate its predicate on a file's partition values and statistics.
pub trait ReadPredicate {
    /// Whether rows of `add` (a file another writer added) could be among the rows the
    /// transaction read. `true` when unsure.
    fn may_match_added(&self, add: &Add) -> bool;
}

/// A read predicate that matches every file: the transaction read the whole table.
#[derive(Debug, Clone, Copy, Default)]
pub struct WholeTable;

impl ReadPredicate for WholeTable {
    fn may_match_added(&self, _: &Add) -> bool {
        true
    }
}

/// How strictly a transaction is isolated from concurrent ones (Delta's
/// `delta.isolationLevel`; recorded in `commitInfo.isolationLevel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IsolationLevel {
    /// The result equals some serial order of all transactions, reads included: a blind
    /// append of rows a delete's predicate matches makes the delete fail.
    Serializable,
    /// The result equals some serial order of the writes: a delete may commit past a blind
    /// append of rows its predicate matches (the append ordered after it). Delta's default.
    #[default]
    WriteSerializable,
    /// Only the files a transaction read and removed matter; files added meanwhile never
    /// conflict. For transactions that change no data (compaction), as Spark records them.
    SnapshotIsolation,
}

impl IsolationLevel {
    /// The name Delta uses: `Serializable`, `WriteSerializable`, `SnapshotIsolation`.
    pub fn as_str(self) -> &'static str {
        match self {
            IsolationLevel::Serializable => "Serializable",
            IsolationLevel::WriteSerializable => "WriteSerializable",
            IsolationLevel::SnapshotIsolation => "SnapshotIsolation",
        }
    }

    /// The table's level, from `delta.isolationLevel` (`Serializable` or `WriteSerializable`;
    /// absent means `WriteSerializable`). Any other value is an error naming it.
    pub fn from_table_property(value: Option<&str>) -> Result<Self, crate::ProtocolError> {
        match value {
            None => Ok(IsolationLevel::WriteSerializable),
            Some(v) if v.eq_ignore_ascii_case("WriteSerializable") => {
                Ok(IsolationLevel::WriteSerializable)
            }
            Some(v) if v.eq_ignore_ascii_case("Serializable") => Ok(IsolationLevel::Serializable),
            Some(other) => Err(crate::ProtocolError::InvalidTableProperty {
                property: ISOLATION_LEVEL_KEY.to_owned(),
                value: other.to_owned(),
                reason: "expected Serializable or WriteSerializable".to_owned(),
            }),
        }
    }
}

impl std::fmt::Display for IsolationLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Table property: the isolation level of data-changing transactions.
pub const ISOLATION_LEVEL_KEY: &str = "delta.isolationLevel";

/// What data a transaction depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadScope {
    /// Read nothing: a blind append.
    Nothing,
    /// Read exactly the files in [`TransactionFootprint::read_files`] and nothing else
    /// (compaction reads its inputs): files added meanwhile are none of its business.
    Files,
    /// Read the rows its [`ReadPredicate`] describes, found in
    /// [`TransactionFootprint::read_files`].
    Predicate,
    /// Read every row.
    WholeTable,
}

/// The parts of a transaction that conflicts depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionFootprint {
    /// The version the transaction read.
    pub read_version: Version,
    /// What it read.
    pub read_scope: ReadScope,
    /// The files it read (log paths): a concurrent remove of one conflicts.
    pub read_files: BTreeSet<String>,
    /// How strictly it is isolated.
    pub isolation_level: IsolationLevel,
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
            read_files: BTreeSet::new(),
            isolation_level: IsolationLevel::WriteSerializable,
            removed_paths: BTreeSet::new(),
            changes_metadata: false,
            changes_protocol: false,
            txn_app_ids: BTreeSet::new(),
            domains: BTreeSet::new(),
        }
    }

    /// A footprint at `read_version` that read `scope` (with `read_files`) at `level`.
    pub fn reading(
        read_version: Version,
        scope: ReadScope,
        read_files: BTreeSet<String>,
        level: IsolationLevel,
    ) -> Self {
        Self {
            read_scope: scope,
            read_files,
            isolation_level: level,
            ..Self::blind_append(read_version)
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
    /// The winner removed (changed or compacted) a file this transaction read.
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
    /// Whether its `commitInfo` says it is a blind append (it read nothing and only added
    /// files). Unknown counts as not blind.
    pub is_blind_append: bool,
    /// The configuration of the `delta.rowTracking` domain it wrote (the row id high water
    /// mark), which a transaction that lost to it assigns its row ids above.
    pub row_tracking_configuration: Option<String>,
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
                    if domain.domain == ROW_TRACKING_DOMAIN && !domain.removed {
                        commit.row_tracking_configuration = Some(domain.configuration);
                    }
                    commit.domains.insert(domain.domain);
                }
                Action::CommitInfo(info) => {
                    commit.is_blind_append = info.is_blind_append == Some(true);
                    commit.txn_id = info.txn_id;
                }
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
/// unchanged. See the module documentation for the rules.
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
    let changes_table = mine.changes_metadata || mine.changes_protocol;
    if changes_table && winner.changes_data() {
        return Err(ConflictReason::MetadataChangeRaced);
    }
    // Files added that the transaction should have read.
    let adds_matter = matches!(
        mine.read_scope,
        ReadScope::Predicate | ReadScope::WholeTable
    );
    let winners_adds_matter = match mine.isolation_level {
        IsolationLevel::Serializable => true,
        IsolationLevel::WriteSerializable => changes_table || !winner.is_blind_append,
        IsolationLevel::SnapshotIsolation => false,
    };
    if adds_matter && winners_adds_matter {
        for add in winner.adds.iter().filter(|a| a.data_change) {
            if mine.read_scope == ReadScope::WholeTable || reads.may_match_added(add) {
                return Err(ConflictReason::ConcurrentAppend {
                    path: add.path.clone(),
                });
            }
        }
    }
    // Files removed that the transaction read or removed itself, whatever `dataChange` says.
    for remove in &winner.removes {
        if mine.removed_paths.contains(&remove.path) {
            return Err(ConflictReason::ConcurrentDeleteDelete {
                path: remove.path.clone(),
            });
        }
        if mine.read_scope == ReadScope::WholeTable || mine.read_files.contains(&remove.path) {
            return Err(ConflictReason::ConcurrentDeleteRead {
                path: remove.path.clone(),
            });
        }
    }
    if let Some(app_id) = mine.txn_app_ids.intersection(&winner.txn_app_ids).next() {
        return Err(ConflictReason::ConcurrentTransaction {
            app_id: app_id.clone(),
        });
    }
    // The row id high water mark is rebased, never a conflict: a commit assigns its ids
    // above whatever mark the commits before it left (`row_tracking::RowIdAssigner`).
    if let Some(domain) = mine
        .domains
        .intersection(&winner.domains)
        .find(|domain| *domain != ROW_TRACKING_DOMAIN)
    {
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
    }

    /// A predicate read at WriteSerializable that read `read` and removes `removed`.
    fn reading_files(
        read_version: Version,
        read: &[&str],
        removed: &[&str],
    ) -> TransactionFootprint {
        TransactionFootprint {
            removed_paths: removed.iter().map(|s| (*s).to_owned()).collect(),
            ..TransactionFootprint::reading(
                read_version,
                ReadScope::Predicate,
                read.iter().map(|s| (*s).to_owned()).collect(),
                IsolationLevel::WriteSerializable,
            )
        }
    }

    fn reading(read_version: Version, removed: &[&str]) -> TransactionFootprint {
        reading_files(read_version, removed, removed)
    }

    fn blind(actions: Vec<Action>) -> WinningCommit {
        WinningCommit {
            is_blind_append: true,
            ..winner(actions)
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
        // The winner's rewrite of d1 added a file the predicate covers (checked first, as
        // Spark does) and removed the file this transaction removes.
        assert_eq!(
            check_conflict(&mine, &Day("d1"), &same),
            Err(ConflictReason::ConcurrentAppend {
                path: "d1-b".into()
            })
        );
    }

    #[test]
    fn removing_a_file_that_was_read_conflicts_even_when_it_was_a_compaction() {
        let update = reading_files(4, &["f"], &[]);
        assert_eq!(
            check_conflict(
                &update,
                &Day("d1"),
                &winner(vec![Action::Remove(remove("f", "d1", true))])
            ),
            Err(ConflictReason::ConcurrentDeleteRead { path: "f".into() })
        );
        // A compaction replaced the file the update read: the update's rewrite of it would
        // bring back rows, or drop the compacted copy's (Spark conflicts here too).
        let compaction = winner(vec![
            Action::Remove(remove("f", "d1", false)),
            Action::Add(add("g", "d1", false)),
        ]);
        assert_eq!(
            check_conflict(&update, &Day("d1"), &compaction),
            Err(ConflictReason::ConcurrentDeleteRead { path: "f".into() })
        );
        // A file it did not read is none of its business.
        let elsewhere = winner(vec![
            Action::Remove(remove("h", "d1", false)),
            Action::Add(add("i", "d1", false)),
        ]);
        assert_eq!(check_conflict(&update, &Day("d1"), &elsewhere), Ok(()));
        // A compaction that removed a file this transaction removes too conflicts.
        let removing = reading(4, &["f"]);
        assert_eq!(
            check_conflict(&removing, &Day("d1"), &compaction),
            Err(ConflictReason::ConcurrentDeleteDelete { path: "f".into() })
        );
    }

    #[test]
    fn a_whole_table_read_conflicts_with_any_remove() {
        // The RESTORE-past-a-type-widening anomaly: a restore read the whole table; a
        // compaction rewrote a file meanwhile (dataChange = false). Committing the restore
        // would re-add the old file next to its compacted copy.
        let restore = TransactionFootprint {
            changes_metadata: true,
            ..TransactionFootprint::reading(
                4,
                ReadScope::WholeTable,
                BTreeSet::new(),
                IsolationLevel::WriteSerializable,
            )
        };
        let compaction = winner(vec![
            Action::Remove(remove("f", "d1", false)),
            Action::Add(add("g", "d1", false)),
        ]);
        assert_eq!(
            check_conflict(&restore, &WholeTable, &compaction),
            Err(ConflictReason::ConcurrentDeleteRead { path: "f".into() })
        );
    }

    #[test]
    fn isolation_levels_decide_which_appends_a_read_conflicts_with() {
        let append = vec![Action::Add(add("new", "d1", true))];
        let mut delete = reading_files(4, &["old"], &["old"]);
        // WriteSerializable: a blind append goes after the delete in the serial order.
        assert_eq!(
            check_conflict(&delete, &Day("d1"), &blind(append.clone())),
            Ok(())
        );
        // ... but rows an update rewrote (not a blind append) were read by no one.
        assert_eq!(
            check_conflict(&delete, &Day("d1"), &winner(append.clone())),
            Err(ConflictReason::ConcurrentAppend { path: "new".into() })
        );
        // Serializable: the delete should have seen the appended rows.
        delete.isolation_level = IsolationLevel::Serializable;
        assert_eq!(
            check_conflict(&delete, &Day("d1"), &blind(append.clone())),
            Err(ConflictReason::ConcurrentAppend { path: "new".into() })
        );
        // SnapshotIsolation (a compaction): appended files never matter.
        delete.isolation_level = IsolationLevel::SnapshotIsolation;
        assert_eq!(check_conflict(&delete, &Day("d1"), &winner(append)), Ok(()));
    }

    #[test]
    fn a_compaction_conflicts_only_when_one_of_its_inputs_goes() {
        let compaction = TransactionFootprint {
            removed_paths: BTreeSet::from(["a".to_owned(), "b".to_owned()]),
            ..TransactionFootprint::reading(
                4,
                ReadScope::Files,
                BTreeSet::from(["a".to_owned(), "b".to_owned()]),
                IsolationLevel::SnapshotIsolation,
            )
        };
        let appends = winner(vec![Action::Add(add("c", "d1", true))]);
        assert_eq!(check_conflict(&compaction, &WholeTable, &appends), Ok(()));
        let other_delete = winner(vec![Action::Remove(remove("x", "d1", true))]);
        assert_eq!(
            check_conflict(&compaction, &WholeTable, &other_delete),
            Ok(())
        );
        let input_deleted = winner(vec![Action::Remove(remove("b", "d1", true))]);
        assert_eq!(
            check_conflict(&compaction, &WholeTable, &input_deleted),
            Err(ConflictReason::ConcurrentDeleteDelete { path: "b".into() })
        );
    }

    #[test]
    fn the_table_isolation_level_is_read_from_its_property() {
        assert_eq!(
            IsolationLevel::from_table_property(None).unwrap(),
            IsolationLevel::WriteSerializable
        );
        assert_eq!(
            IsolationLevel::from_table_property(Some("Serializable")).unwrap(),
            IsolationLevel::Serializable
        );
        assert!(IsolationLevel::from_table_property(Some("SnapshotIsolation")).is_err());
        assert!(IsolationLevel::from_table_property(Some("nonsense")).is_err());
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
