//! Model test: the newest-first reducer against a naive forward replay written the obvious way.
//!
//! Logs are random commits over a small pool of paths and deletion vectors, so keys collide
//! often, including within one commit (illegal in a valid log; the documented behaviour is that
//! the later line wins, which is exactly what the forward reference does).

use std::collections::{BTreeMap, HashMap, HashSet};

use proptest::prelude::*;

use super::{ReplayResult, ReplayedState, replay};
use crate::actions::{
    Action, Add, AddCdcFile, CommitInfo, DeletionVectorDescriptor, DomainMetadata, Metadata,
    Protocol, Remove, Txn,
};

/// A logical file key as the reference sees it.
type Key = (String, Option<String>);

#[derive(Debug, Clone)]
enum Op {
    Add {
        path: u8,
        dv: Option<u8>,
    },
    Remove {
        path: u8,
        dv: Option<u8>,
    },
    Protocol(u8),
    Metadata(u8),
    Txn {
        app: u8,
        version: i64,
    },
    Domain {
        domain: u8,
        config: u8,
        removed: bool,
    },
    CommitInfo,
    Cdc {
        path: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let path = 0u8..4;
    let dv = proptest::option::of(0u8..3);
    prop_oneof![
        8 => (path.clone(), dv.clone()).prop_map(|(path, dv)| Op::Add { path, dv }),
        5 => (path.clone(), dv).prop_map(|(path, dv)| Op::Remove { path, dv }),
        1 => (0u8..3).prop_map(Op::Protocol),
        1 => (0u8..3).prop_map(Op::Metadata),
        2 => (0u8..3, -2i64..5).prop_map(|(app, version)| Op::Txn { app, version }),
        2 => (0u8..3, 0u8..3, proptest::bool::weighted(0.35))
            .prop_map(|(domain, config, removed)| Op::Domain { domain, config, removed }),
        1 => Just(Op::CommitInfo),
        1 => path.prop_map(|path| Op::Cdc { path }),
    ]
}

/// Commits oldest first.
fn log() -> impl Strategy<Value = Vec<Vec<Op>>> {
    proptest::collection::vec(proptest::collection::vec(op(), 0..7), 1..12)
}

fn dv(id: u8) -> DeletionVectorDescriptor {
    // Every other id carries an offset, so `uniqueId` is exercised with and without `@offset`.
    DeletionVectorDescriptor {
        storage_type: "u".to_owned(),
        path_or_inline_dv: format!("dv{id}"),
        offset: (id % 2 == 1).then_some(1),
        size_in_bytes: 36,
        cardinality: 1,
    }
}

/// Turns generated ops into actions. Every file action gets a unique `size` or
/// `deletionTimestamp`, so comparing whole actions shows *which* reference won.
fn materialize(log: &[Vec<Op>]) -> Vec<Vec<Action>> {
    let mut serial = 0i64;
    let mut next = || {
        serial += 1;
        serial
    };
    log.iter()
        .map(|commit| {
            commit
                .iter()
                .map(|op| match *op {
                    Op::Add { path, dv: dv_id } => Action::Add(Add {
                        path: format!("part-{path}.parquet"),
                        partition_values: Default::default(),
                        size: next(),
                        modification_time: 0,
                        data_change: true,
                        stats: None,
                        tags: None,
                        deletion_vector: dv_id.map(dv),
                        base_row_id: None,
                        default_row_commit_version: None,
                        clustering_provider: None,
                    }),
                    Op::Remove { path, dv: dv_id } => Action::Remove(Remove {
                        path: format!("part-{path}.parquet"),
                        deletion_timestamp: Some(next()),
                        data_change: true,
                        extended_file_metadata: None,
                        partition_values: None,
                        size: None,
                        stats: None,
                        tags: None,
                        deletion_vector: dv_id.map(dv),
                        base_row_id: None,
                        default_row_commit_version: None,
                    }),
                    Op::Protocol(variant) => Action::Protocol(Protocol {
                        min_reader_version: 1,
                        min_writer_version: 2 + i32::from(variant),
                        reader_features: None,
                        writer_features: None,
                    }),
                    Op::Metadata(variant) => Action::Metadata(Metadata {
                        id: "table".to_owned(),
                        name: Some(format!("name {variant} #{}", next())),
                        description: None,
                        format: Default::default(),
                        schema_string: "{\"type\":\"struct\",\"fields\":[]}".to_owned(),
                        partition_columns: Vec::new(),
                        created_time: None,
                        configuration: Default::default(),
                    }),
                    Op::Txn { app, version } => Action::Txn(Txn {
                        app_id: format!("app-{app}"),
                        version,
                        last_updated: Some(next()),
                    }),
                    Op::Domain {
                        domain,
                        config,
                        removed,
                    } => Action::DomainMetadata(DomainMetadata {
                        domain: format!("domain-{domain}"),
                        configuration: format!("config {config} #{}", next()),
                        removed,
                    }),
                    Op::CommitInfo => Action::CommitInfo(CommitInfo {
                        timestamp: Some(next()),
                        ..Default::default()
                    }),
                    Op::Cdc { path } => Action::Cdc(AddCdcFile {
                        path: format!("part-{path}.parquet"),
                        partition_values: Default::default(),
                        size: next(),
                        data_change: false,
                        tags: None,
                    }),
                })
                .collect()
        })
        .collect()
}

fn key(path: &str, dv: Option<&DeletionVectorDescriptor>) -> Key {
    (path.to_owned(), dv.map(DeletionVectorDescriptor::unique_id))
}

/// The naive forward replay: oldest to newest, each commit in line order.
#[derive(Debug, Default, Clone)]
struct Reference {
    protocol: Option<Protocol>,
    metadata: Option<Metadata>,
    txns: BTreeMap<String, Txn>,
    domains: BTreeMap<String, DomainMetadata>,
    adds: HashMap<Key, Add>,
    removes: HashMap<Key, Remove>,
}

impl Reference {
    fn apply(&mut self, action: &Action) {
        match action {
            Action::Protocol(p) => self.protocol = Some(p.clone()),
            Action::Metadata(m) => self.metadata = Some(m.clone()),
            Action::Txn(t) => {
                self.txns.insert(t.app_id.clone(), t.clone());
            }
            Action::DomainMetadata(d) => {
                if d.removed {
                    self.domains.remove(&d.domain);
                } else {
                    self.domains.insert(d.domain.clone(), d.clone());
                }
            }
            Action::Add(a) => {
                let k = key(&a.path, a.deletion_vector.as_ref());
                self.removes.remove(&k);
                self.adds.insert(k, a.clone());
            }
            Action::Remove(r) => {
                let k = key(&r.path, r.deletion_vector.as_ref());
                self.adds.remove(&k);
                self.removes.insert(k, r.clone());
            }
            Action::Cdc(_)
            | Action::CommitInfo(_)
            | Action::Sidecar(_)
            | Action::CheckpointMetadata(_) => {}
        }
    }

    fn apply_commits<'a>(mut self, commits: impl IntoIterator<Item = &'a Vec<Action>>) -> Self {
        for commit in commits {
            for action in commit {
                self.apply(action);
            }
        }
        self
    }

    /// The rows of a checkpoint of this state, leaving out the tombstones `expired` picks (a
    /// checkpoint writer may drop expired tombstones).
    fn checkpoint(&self, mut expired: impl FnMut(&Key) -> bool) -> Vec<Action> {
        let mut rows = Vec::new();
        rows.extend(self.protocol.clone().map(Action::Protocol));
        rows.extend(self.metadata.clone().map(Action::Metadata));
        rows.extend(self.txns.values().cloned().map(Action::Txn));
        rows.extend(self.domains.values().cloned().map(Action::DomainMetadata));
        rows.extend(self.adds.values().cloned().map(Action::Add));
        rows.extend(
            self.removes
                .iter()
                .filter(|(k, _)| !expired(k))
                .map(|(_, r)| Action::Remove(r.clone())),
        );
        rows
    }

    fn expected(&self) -> Normalized {
        let mut adds: Vec<(Key, Add)> = self.adds.clone().into_iter().collect();
        adds.sort_by(|a, b| a.0.cmp(&b.0));
        let mut removes: Vec<(Key, Remove)> = self.removes.clone().into_iter().collect();
        removes.sort_by(|a, b| a.0.cmp(&b.0));
        Normalized {
            state: ReplayedState {
                protocol: self.protocol.clone(),
                metadata: self.metadata.clone(),
                txns: self.txns.clone(),
                domain_metadata: self.domains.clone(),
            },
            adds: adds.into_iter().map(|(_, a)| a).collect(),
            removes: removes.into_iter().map(|(_, r)| r).collect(),
        }
    }
}

/// A replay result with its files sorted by key, for comparison.
#[derive(Debug, PartialEq)]
struct Normalized {
    state: ReplayedState,
    adds: Vec<Add>,
    removes: Vec<Remove>,
}

fn normalize(result: ReplayResult) -> Result<Normalized, TestCaseError> {
    let add_keys: HashSet<Key> = result
        .adds
        .iter()
        .map(|a| key(&a.path, a.deletion_vector.as_ref()))
        .collect();
    let remove_keys: HashSet<Key> = result
        .removes
        .iter()
        .map(|r| key(&r.path, r.deletion_vector.as_ref()))
        .collect();
    prop_assert_eq!(add_keys.len(), result.adds.len(), "an add key twice");
    prop_assert_eq!(
        remove_keys.len(),
        result.removes.len(),
        "a remove key twice"
    );
    prop_assert!(
        add_keys.is_disjoint(&remove_keys),
        "a logical file is both live and a tombstone"
    );

    let mut adds = result.adds;
    adds.sort_by_key(|a| key(&a.path, a.deletion_vector.as_ref()));
    let mut removes = result.removes;
    removes.sort_by_key(|r| key(&r.path, r.deletion_vector.as_ref()));
    Ok(Normalized {
        state: result.state,
        adds,
        removes,
    })
}

/// `commits[from..=to]`, numbered, newest first.
fn newest_first(commits: &[Vec<Action>], from: usize, to: usize) -> Vec<(u64, Vec<Action>)> {
    (from..=to)
        .rev()
        .map(|v| (v as u64, commits[v].clone()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Without a checkpoint, replay at every version equals the forward reference there.
    #[test]
    fn matches_forward_replay_at_every_version(ops in log()) {
        let commits = materialize(&ops);
        for version in 0..commits.len() {
            let expected = Reference::default()
                .apply_commits(&commits[..=version])
                .expected();
            let actual = normalize(replay(&[], &newest_first(&commits, 0, version)))?;
            prop_assert_eq!(actual, expected, "at version {}", version);
        }
    }

    /// With a checkpoint at a random version (possibly missing some expired tombstones), replay
    /// at every later version equals the forward reference started from that checkpoint, and,
    /// when no tombstone expired, the reference over the whole log.
    #[test]
    fn matches_forward_replay_from_a_checkpoint(
        ops in log(),
        checkpoint_pick in any::<prop::sample::Index>(),
        expire in proptest::collection::vec(any::<bool>(), 4 * 4),
        any_expired in any::<bool>(),
    ) {
        let commits = materialize(&ops);
        let at = checkpoint_pick.index(commits.len());
        let at_checkpoint = Reference::default().apply_commits(&commits[..=at]);
        let expired = |k: &Key| {
            any_expired && {
                let path = usize::from(k.0.as_bytes()[5] - b'0');
                let dv = k.1.as_ref().map_or(0, |id| usize::from(id.as_bytes()[3] - b'0') + 1);
                expire[path * 4 + dv]
            }
        };
        let checkpoint = at_checkpoint.checkpoint(expired);
        let mut from_checkpoint = Reference::default();
        for row in &checkpoint {
            from_checkpoint.apply(row);
        }

        // The checkpoint alone replays to its own contents.
        let actual = normalize(replay(&checkpoint, &[]))?;
        prop_assert_eq!(actual, from_checkpoint.expected());

        for version in at + 1..commits.len() {
            let expected = from_checkpoint
                .clone()
                .apply_commits(&commits[at + 1..=version])
                .expected();
            let actual = normalize(replay(&checkpoint, &newest_first(&commits, at + 1, version)))?;
            prop_assert_eq!(&actual, &expected, "at version {}", version);
            if !any_expired {
                let full = Reference::default()
                    .apply_commits(&commits[..=version])
                    .expected();
                prop_assert_eq!(actual, full, "full log at version {}", version);
            }
        }
    }
}
