//! Log replay: reconciling the actions of a log, newest first, into the state of one version.
//!
//! This module decides which actions make up a snapshot (PROTOCOL.md, "Action Reconciliation",
//! "Add File and Remove File", "Transaction Identifiers", "Domain Metadata", "Checkpoints"):
//!
//! - each logical file, keyed by `(path, deletionVector.uniqueId)`, is decided by its *newest*
//!   reference: an `add` makes it live, a `remove` makes it a tombstone ([`FileReplay`]);
//! - the newest `protocol` and `metaData` win, the newest `txn` per `appId` wins, and the newest
//!   `domainMetadata` per domain wins, tombstones (`removed = true`) hiding older ones and being
//!   left out of the result ([`StateReplay`]).
//!
//! Replay runs newest to oldest so that the I/O layer can stream the log and keep only a
//! seen-set: it feeds commits newest first and, within a commit, actions in *reverse line order*,
//! then the rows of the checkpoint (which is already reconciled, so it is only checked against
//! the seen-set, never added to it). Reverse line order makes the later line of a commit win,
//! as Spark's in-order replay does, if a malformed commit mentions one key twice.
//!
//! It must never drop a live `add` (the newest reference to a logical file, if it is an `add`,
//! is always kept) and never resurrect a removed file (an `add` older than a `remove` of the same
//! key is never kept). For that the seen-set stores keys exactly, never hashes of them.
//!
//! It does not: expire tombstones (every tombstone is returned, expired or not; retention is the
//! VACUUM and checkpoint writer's decision), normalise paths (keys are compared as written), check
//! that a commit is legal (a log that adds one path with two deletion vectors and no remove
//! keeps both, as other Delta readers do), or pick the `commitInfo`, which comes from the commit
//! at the snapshot version alone. Everything here is pure; [`replay`] is the whole algorithm over
//! owned actions for small callers and tests.

mod files;
mod state;

#[cfg(test)]
mod model_test;

pub use files::FileReplay;
pub use state::{ReplayedState, StateReplay};

use crate::actions::{Action, Add, Remove};
use crate::log_path::Version;

/// The state of one version: reconciled non-file state, live files and live tombstones.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayResult {
    /// Protocol, metadata, transactions and domain metadata.
    pub state: ReplayedState,
    /// The `add` actions of the logical files in the table, newest reference first (commits
    /// newest first, each in reverse line order, then the checkpoint in row order).
    pub adds: Vec<Add>,
    /// The `remove` actions of logical files no longer in the table (tombstones, for VACUUM), in
    /// the same order as `adds`.
    pub removes: Vec<Remove>,
}

/// Replays a checkpoint (its actions in any order; empty when there is none) and the commits
/// after it, given newest first with each commit's actions in line order, into the state of the
/// newest commit (or of the checkpoint, when there are no commits).
///
/// The versions are the caller's: they must be strictly decreasing and newer than the
/// checkpoint, and the reducer does not look at them.
pub fn replay(
    checkpoint: &[Action],
    commits_newest_first: &[(Version, Vec<Action>)],
) -> ReplayResult {
    let mut files = FileReplay::new();
    let mut state = StateReplay::new();
    let mut adds = Vec::new();
    let mut removes = Vec::new();

    for (_version, actions) in commits_newest_first {
        for action in actions.iter().rev() {
            match action {
                Action::Add(add) => {
                    let dv = add.deletion_vector.as_ref().map(|dv| dv.unique_id());
                    if files.record(&add.path, dv.as_deref()) {
                        adds.push(add.clone());
                    }
                }
                Action::Remove(remove) => {
                    let dv = remove.deletion_vector.as_ref().map(|dv| dv.unique_id());
                    if files.record(&remove.path, dv.as_deref()) {
                        removes.push(remove.clone());
                    }
                }
                other => {
                    state.observe(other);
                }
            }
        }
    }

    for action in checkpoint {
        match action {
            Action::Add(add) => {
                let dv = add.deletion_vector.as_ref().map(|dv| dv.unique_id());
                if files.is_unseen(&add.path, dv.as_deref()) {
                    adds.push(add.clone());
                }
            }
            Action::Remove(remove) => {
                let dv = remove.deletion_vector.as_ref().map(|dv| dv.unique_id());
                if files.is_unseen(&remove.path, dv.as_deref()) {
                    removes.push(remove.clone());
                }
            }
            other => {
                state.observe(other);
            }
        }
    }

    ReplayResult {
        state: state.finish(),
        adds,
        removes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{DeletionVectorDescriptor, DomainMetadata, Metadata, Protocol, Txn};

    fn dv(id: &str) -> DeletionVectorDescriptor {
        DeletionVectorDescriptor {
            storage_type: "u".to_owned(),
            path_or_inline_dv: id.to_owned(),
            offset: Some(1),
            size_in_bytes: 36,
            cardinality: 2,
        }
    }

    fn add(path: &str, dv_id: Option<&str>, size: i64) -> Add {
        Add {
            path: path.to_owned(),
            partition_values: Default::default(),
            size,
            modification_time: 1,
            data_change: true,
            stats: None,
            tags: None,
            deletion_vector: dv_id.map(dv),
            base_row_id: None,
            default_row_commit_version: None,
            clustering_provider: None,
        }
    }

    fn remove(path: &str, dv_id: Option<&str>) -> Remove {
        Remove {
            path: path.to_owned(),
            deletion_timestamp: Some(2),
            data_change: true,
            extended_file_metadata: None,
            partition_values: None,
            size: None,
            stats: None,
            tags: None,
            deletion_vector: dv_id.map(dv),
            base_row_id: None,
            default_row_commit_version: None,
        }
    }

    fn txn(app: &str, version: i64) -> Action {
        Action::Txn(Txn {
            app_id: app.to_owned(),
            version,
            last_updated: None,
        })
    }

    fn domain(name: &str, configuration: &str, removed: bool) -> Action {
        Action::DomainMetadata(DomainMetadata {
            domain: name.to_owned(),
            configuration: configuration.to_owned(),
            removed,
        })
    }

    fn protocol() -> Action {
        Action::Protocol(Protocol {
            min_reader_version: 1,
            min_writer_version: 2,
            reader_features: None,
            writer_features: None,
        })
    }

    fn metadata(id: &str) -> Action {
        Action::Metadata(Metadata {
            id: id.to_owned(),
            name: None,
            description: None,
            format: Default::default(),
            schema_string: "{\"type\":\"struct\",\"fields\":[]}".to_owned(),
            partition_columns: Vec::new(),
            created_time: None,
            configuration: Default::default(),
        })
    }

    /// Commits given oldest first, as written; replay wants them newest first.
    fn commits(oldest_first: Vec<Vec<Action>>) -> Vec<(u64, Vec<Action>)> {
        let mut numbered: Vec<(u64, Vec<Action>)> = (0u64..).zip(oldest_first).collect();
        numbered.reverse();
        numbered
    }

    #[test]
    fn deletion_vector_added_to_existing_file() {
        let log = commits(vec![
            vec![protocol(), metadata("t"), Action::Add(add("p", None, 10))],
            vec![
                Action::Remove(remove("p", None)),
                Action::Add(add("p", Some("dv1"), 10)),
            ],
        ]);
        let result = replay(&[], &log);
        assert_eq!(result.adds, vec![add("p", Some("dv1"), 10)]);
        assert_eq!(result.removes, vec![remove("p", None)]);
    }

    #[test]
    fn deletion_vector_replaced_keeps_both_tombstones() {
        let log = commits(vec![
            vec![Action::Add(add("p", None, 10))],
            vec![
                Action::Remove(remove("p", None)),
                Action::Add(add("p", Some("dv1"), 10)),
            ],
            vec![
                Action::Remove(remove("p", Some("dv1"))),
                Action::Add(add("p", Some("dv2"), 10)),
            ],
        ]);
        let result = replay(&[], &log);
        assert_eq!(result.adds, vec![add("p", Some("dv2"), 10)]);
        assert_eq!(
            result.removes,
            vec![remove("p", Some("dv1")), remove("p", None)]
        );
    }

    #[test]
    fn file_re_added_after_removal() {
        let log = commits(vec![
            vec![Action::Add(add("p", None, 10))],
            vec![Action::Remove(remove("p", None))],
            vec![Action::Add(add("p", None, 20))],
        ]);
        let result = replay(&[], &log);
        assert_eq!(result.adds, vec![add("p", None, 20)]);
        assert!(result.removes.is_empty());

        // And removed again: the tombstone is back, the add is not resurrected.
        let mut log = log;
        log.insert(0, (3, vec![Action::Remove(remove("p", None))]));
        let result = replay(&[], &log);
        assert!(result.adds.is_empty());
        assert_eq!(result.removes, vec![remove("p", None)]);
    }

    #[test]
    fn txn_version_overwritten() {
        let log = commits(vec![
            vec![txn("stream", 5), txn("other", 1)],
            vec![txn("stream", 3)],
        ]);
        let result = replay(&[], &log);
        assert_eq!(result.state.txns.len(), 2);
        assert_eq!(result.state.txns["stream"].version, 3);
        assert_eq!(result.state.txns["other"].version, 1);
    }

    #[test]
    fn domain_removed_then_re_added() {
        let mut oldest_first = vec![
            vec![domain("d", "a", false), domain("e", "x", false)],
            vec![domain("d", "a", true)],
        ];
        let result = replay(&[], &commits(oldest_first.clone()));
        assert!(!result.state.domain_metadata.contains_key("d"));
        assert_eq!(result.state.domain_metadata["e"].configuration, "x");

        oldest_first.push(vec![domain("d", "b", false)]);
        let result = replay(&[], &commits(oldest_first));
        assert_eq!(result.state.domain_metadata["d"].configuration, "b");
        assert!(!result.state.domain_metadata["d"].removed);
    }

    #[test]
    fn newest_protocol_and_metadata_win_over_checkpoint() {
        let checkpoint = vec![
            protocol(),
            metadata("old"),
            Action::Add(add("a", None, 1)),
            Action::Add(add("b", None, 1)),
            Action::Remove(remove("c", None)),
            txn("app", 1),
            domain("d", "cp", false),
        ];
        let log = vec![(
            5,
            vec![
                metadata("new"),
                Action::Remove(remove("a", None)),
                Action::Add(add("c", None, 2)),
                txn("app", 2),
            ],
        )];
        let result = replay(&checkpoint, &log);
        let Some(Action::Protocol(expected_protocol)) = checkpoint.first() else {
            panic!("fixture starts with a protocol");
        };
        assert_eq!(result.state.protocol.as_ref(), Some(expected_protocol));
        assert_eq!(result.state.metadata.map(|m| m.id).as_deref(), Some("new"));
        assert_eq!(result.state.txns["app"].version, 2);
        assert_eq!(result.state.domain_metadata["d"].configuration, "cp");
        assert_eq!(result.adds, vec![add("c", None, 2), add("b", None, 1)]);
        assert_eq!(result.removes, vec![remove("a", None)]);
    }

    #[test]
    fn later_line_wins_within_a_malformed_commit() {
        let log = commits(vec![vec![
            Action::Add(add("p", None, 1)),
            Action::Add(add("p", None, 2)),
            Action::Remove(remove("q", None)),
            Action::Add(add("q", None, 3)),
            Action::Add(add("r", None, 4)),
            Action::Remove(remove("r", None)),
        ]]);
        let result = replay(&[], &log);
        assert_eq!(result.adds, vec![add("q", None, 3), add("p", None, 2)]);
        assert_eq!(result.removes, vec![remove("r", None)]);
    }

    #[test]
    fn cdc_and_commit_info_take_no_part() {
        let log = commits(vec![vec![
            Action::CommitInfo(Default::default()),
            Action::Cdc(crate::actions::AddCdcFile {
                path: "p".to_owned(),
                partition_values: Default::default(),
                size: 1,
                data_change: false,
                tags: None,
            }),
            Action::Add(add("p", None, 1)),
        ]]);
        let result = replay(&[], &log);
        assert_eq!(result.adds, vec![add("p", None, 1)]);
        assert_eq!(result.state, ReplayedState::default());
    }
}
