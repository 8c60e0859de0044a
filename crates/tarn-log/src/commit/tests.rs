//! Commit tests: sequential and concurrent commits, conflicts and rebases, ambiguous and
//! transient store failures (through a fault-injecting store), giving up.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use tarn_protocol::actions::{
    Action, Add, CommitInfo, Format, Metadata, Protocol, Remove, format_commit, parse_commit,
};
use tarn_protocol::conflict::{ConflictReason, ReadScope, TransactionFootprint, WholeTable};
use tarn_protocol::log_path::Version;
use url::Url;

use super::*;
use crate::snapshot::Snapshot;

const SCHEMA: &str =
    r#"{"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}}]}"#;

fn commit_info(txn_id: &str) -> Action {
    Action::CommitInfo(CommitInfo {
        timestamp: Some(1_700_000_000_000),
        operation: Some("WRITE".to_owned()),
        txn_id: Some(txn_id.to_owned()),
        ..CommitInfo::default()
    })
}

fn add(path: &str) -> Action {
    Action::Add(Add {
        path: path.to_owned(),
        partition_values: BTreeMap::new(),
        size: 10,
        modification_time: 1,
        data_change: true,
        stats: Some(r#"{"numRecords":1}"#.to_owned()),
        tags: None,
        deletion_vector: None,
        base_row_id: None,
        default_row_commit_version: None,
        clustering_provider: None,
    })
}

fn remove(path: &str) -> Action {
    Action::Remove(Remove {
        path: path.to_owned(),
        deletion_timestamp: Some(2),
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
}

fn create_actions(txn_id: &str) -> Vec<Action> {
    vec![
        Action::Protocol(Protocol {
            min_reader_version: 1,
            min_writer_version: 2,
            reader_features: None,
            writer_features: None,
        }),
        Action::Metadata(Metadata {
            id: "00000000-0000-0000-0000-000000000000".to_owned(),
            name: None,
            description: None,
            format: Format::default(),
            schema_string: SCHEMA.to_owned(),
            partition_columns: Vec::new(),
            created_time: Some(1),
            configuration: BTreeMap::new(),
        }),
        // commitInfo last on purpose: the commit writes it first.
        commit_info(txn_id),
    ]
}

fn memory_location(store: Arc<dyn ObjectStore>) -> TableLocation {
    TableLocation::from_store(
        Url::parse("memory://commit-test/table").unwrap(),
        store,
        Path::from("table"),
    )
}

/// Fast retries: tests must not wait on real backoff.
fn fast() -> CommitOptions {
    CommitOptions::new().with_backoff(Duration::from_micros(50), Duration::from_millis(2))
}

async fn create(location: &TableLocation) -> CommitOutcome {
    commit(
        location,
        None,
        create_actions(&new_txn_id()),
        &TransactionFootprint::blind_append(0),
        &WholeTable,
        None,
        &fast(),
    )
    .await
    .unwrap()
}

async fn append(
    location: &TableLocation,
    read_version: Version,
    path: &str,
    txn_id: &str,
    options: &CommitOptions,
) -> LogResult<CommitOutcome> {
    commit(
        location,
        Some(read_version),
        vec![add(path), commit_info(txn_id)],
        &TransactionFootprint::blind_append(read_version),
        &WholeTable,
        None,
        options,
    )
    .await
}

/// Every commit file's version and txnId, ascending.
async fn log_txn_ids(location: &TableLocation) -> Vec<(Version, String)> {
    let mut listed: Vec<ObjectMeta> = location
        .store()
        .list(Some(&location.log_dir()))
        .map(|m| m.unwrap())
        .collect()
        .await;
    listed.sort_by(|a, b| a.location.cmp(&b.location));
    let mut out = Vec::new();
    for meta in listed {
        let name = meta.location.filename().unwrap().to_owned();
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        let version: Version = stem.parse().unwrap();
        let bytes = location
            .store()
            .get(&meta.location)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let actions = parse_commit(std::str::from_utf8(&bytes).unwrap()).unwrap();
        let txn_id = actions
            .iter()
            .find_map(|a| match a {
                Action::CommitInfo(info) => info.txn_id.clone(),
                _ => None,
            })
            .unwrap();
        out.push((version, txn_id));
    }
    out
}

/// A store that injects faults into commit-file writes and reads, delegating to `InMemory`.
#[derive(Debug, Default)]
struct FaultyStore {
    inner: InMemory,
    /// Create-puts that land, then report an error.
    fail_after_put: AtomicU32,
    /// Create-puts that report an error without landing.
    fail_before_put: AtomicU32,
    /// Gets that report an error.
    fail_gets: AtomicU32,
    /// Create-puts preceded by another writer's blind append at the same path.
    race: AtomicU32,
    /// Create-puts refused as unsupported.
    no_conditional_put: std::sync::atomic::AtomicBool,
    /// Create-puts seen.
    create_puts: AtomicU32,
}

impl fmt::Display for FaultyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FaultyStore")
    }
}

/// Takes one unit from a fault counter, if any is left.
fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn injected(what: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: "FaultyStore",
        source: format!("injected {what}").into(),
    }
}

#[async_trait]
impl ObjectStore for FaultyStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if opts.mode != PutMode::Create {
            return self.inner.put_opts(location, payload, opts).await;
        }
        self.create_puts.fetch_add(1, Ordering::SeqCst);
        if self.no_conditional_put.load(Ordering::SeqCst) {
            return Err(object_store::Error::NotImplemented {
                operation: "put_opts with PutMode::Create".to_owned(),
                implementer: "FaultyStore".to_owned(),
            });
        }
        if take(&self.race) {
            let rival = format_commit(&[add("rival.parquet"), commit_info(&new_txn_id())]).unwrap();
            self.inner
                .put_opts(location, rival.into(), PutMode::Create.into())
                .await?;
        }
        if take(&self.fail_before_put) {
            return Err(injected("failure before the put"));
        }
        let result = self.inner.put_opts(location, payload, opts).await?;
        if take(&self.fail_after_put) {
            return Err(injected("timeout after the put landed"));
        }
        Ok(result)
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        if take(&self.fail_gets) {
            return Err(injected("read failure"));
        }
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

async fn faulty_table() -> (Arc<FaultyStore>, TableLocation) {
    let store = Arc::new(FaultyStore::default());
    let location = memory_location(store.clone());
    create(&location).await;
    (store, location)
}

#[tokio::test]
async fn sequential_commits_take_consecutive_versions() {
    let location = memory_location(Arc::new(InMemory::new()));
    let created = create(&location).await;
    assert_eq!(created.version, 0);
    assert_eq!(created.attempts, 1);
    for (read, path) in [(0, "a.parquet"), (1, "b.parquet"), (2, "c.parquet")] {
        let outcome = append(&location, read, path, &new_txn_id(), &fast())
            .await
            .unwrap();
        assert_eq!(outcome.version, read + 1);
        assert_eq!(outcome.attempts, 1);
        assert!(outcome.winners_checked.is_empty());
        assert!(!outcome.recognised_own_commit);
    }
    let snapshot = Snapshot::load(Arc::new(location.clone())).await.unwrap();
    assert_eq!(snapshot.version(), 3);
    assert_eq!(snapshot.files().len(), 3);

    // commitInfo is written first, every line ends in a newline.
    let bytes = location
        .store()
        .get(&location.commit_file(0))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let text = std::str::from_utf8(&bytes).unwrap();
    assert!(text.starts_with(r#"{"commitInfo":"#), "{text}");
    assert!(text.ends_with('\n'));
    assert_eq!(text.lines().count(), 3);
}

#[tokio::test]
async fn creating_a_table_twice_fails_naming_it() {
    let location = memory_location(Arc::new(InMemory::new()));
    create(&location).await;
    let second = commit(
        &location,
        None,
        create_actions(&new_txn_id()),
        &TransactionFootprint::blind_append(0),
        &WholeTable,
        None,
        &fast(),
    )
    .await;
    match second {
        Err(error @ LogError::TableAlreadyExists { .. }) => {
            assert!(
                error.to_string().contains("memory://commit-test/table"),
                "{error}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(log_txn_ids(&location).await.len(), 1);
}

#[tokio::test]
async fn creating_over_a_cleaned_up_log_fails() {
    let location = memory_location(Arc::new(InMemory::new()));
    // Versions 0..=2 were cleaned up after a checkpoint; version 3 remains.
    let later = format_commit(&[add("x.parquet"), commit_info(&new_txn_id())]).unwrap();
    location
        .store()
        .put(&location.commit_file(3), later.into())
        .await
        .unwrap();
    assert!(matches!(
        commit(
            &location,
            None,
            create_actions(&new_txn_id()),
            &TransactionFootprint::blind_append(0),
            &WholeTable,
            None,
            &fast(),
        )
        .await,
        Err(LogError::TableAlreadyExists { .. })
    ));
    assert!(
        location
            .store()
            .head(&location.commit_file(0))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_conflicting_winner_fails_the_commit_naming_version_and_reason() {
    let location = memory_location(Arc::new(InMemory::new()));
    create(&location).await;
    append(&location, 0, "a.parquet", &new_txn_id(), &fast())
        .await
        .unwrap();
    // Two deletes of a.parquet, both having read version 1.
    commit(
        &location,
        Some(1),
        vec![remove("a.parquet"), commit_info(&new_txn_id())],
        &TransactionFootprint::blind_append(1),
        &WholeTable,
        None,
        &fast(),
    )
    .await
    .unwrap();
    let loser = commit(
        &location,
        Some(1),
        vec![remove("a.parquet"), commit_info(&new_txn_id())],
        &TransactionFootprint {
            read_scope: ReadScope::Predicate,
            ..TransactionFootprint::blind_append(1)
        },
        &WholeTable,
        None,
        &fast(),
    )
    .await;
    match loser {
        Err(
            error @ LogError::CommitConflict {
                read_version: 1,
                winning_version: 2,
                ..
            },
        ) => {
            let LogError::CommitConflict { reason, .. } = &error else {
                unreachable!()
            };
            assert_eq!(
                *reason,
                ConflictReason::ConcurrentDeleteDelete {
                    path: "a.parquet".to_owned()
                }
            );
            let message = error.to_string();
            assert!(message.contains("version 2"), "{message}");
            assert!(message.contains("since version 1"), "{message}");
            assert!(message.contains("a.parquet"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(log_txn_ids(&location).await.len(), 3);
}

#[tokio::test]
async fn a_metadata_change_by_the_winner_conflicts_with_an_append() {
    let location = memory_location(Arc::new(InMemory::new()));
    create(&location).await;
    let Action::Metadata(mut metadata) = create_actions("x").swap_remove(1) else {
        unreachable!()
    };
    metadata
        .configuration
        .insert("delta.appendOnly".to_owned(), "true".to_owned());
    commit(
        &location,
        Some(0),
        vec![Action::Metadata(metadata), commit_info(&new_txn_id())],
        &TransactionFootprint::blind_append(0),
        &WholeTable,
        None,
        &fast(),
    )
    .await
    .unwrap();
    assert!(matches!(
        append(&location, 0, "late.parquet", &new_txn_id(), &fast()).await,
        Err(LogError::CommitConflict {
            winning_version: 1,
            reason: ConflictReason::MetadataChanged,
            ..
        })
    ));
}

#[tokio::test]
async fn a_non_conflicting_winner_is_rebased_over() {
    let location = memory_location(Arc::new(InMemory::new()));
    create(&location).await;
    append(&location, 0, "first.parquet", &new_txn_id(), &fast())
        .await
        .unwrap();
    append(&location, 1, "second.parquet", &new_txn_id(), &fast())
        .await
        .unwrap();
    // Read version 0; versions 1 and 2 are blind appends by others.
    let outcome = append(&location, 0, "mine.parquet", &new_txn_id(), &fast())
        .await
        .unwrap();
    assert_eq!(outcome.version, 3);
    assert_eq!(outcome.attempts, 2);
    assert_eq!(outcome.winners_checked, vec![1, 2]);
    let snapshot = Snapshot::load(Arc::new(location)).await.unwrap();
    assert_eq!(snapshot.files().len(), 3);
}

#[tokio::test]
async fn an_ambiguous_failure_is_recognised_by_txn_id_and_not_committed_twice() {
    let (store, location) = faulty_table().await;
    store.fail_after_put.store(1, Ordering::SeqCst);
    let txn_id = new_txn_id();
    let outcome = append(&location, 0, "a.parquet", &txn_id, &fast())
        .await
        .unwrap();
    assert_eq!(outcome.version, 1);
    assert!(outcome.recognised_own_commit);
    assert_eq!(store.create_puts.load(Ordering::SeqCst), 2);
    let log = log_txn_ids(&location).await;
    assert_eq!(log.len(), 2);
    assert_eq!(log.iter().filter(|(_, id)| *id == txn_id).count(), 1);
    assert_eq!(log[1], (1, txn_id.clone()));
    assert_eq!(
        find_commit_by_txn_id(&location, 0, &txn_id).await.unwrap(),
        Some(1)
    );
}

#[tokio::test]
async fn an_ambiguous_failure_with_a_failed_read_back_is_recognised_on_the_next_put() {
    let (store, location) = faulty_table().await;
    store.fail_after_put.store(1, Ordering::SeqCst);
    store.fail_gets.store(1, Ordering::SeqCst);
    let txn_id = new_txn_id();
    let outcome = append(&location, 0, "a.parquet", &txn_id, &fast())
        .await
        .unwrap();
    assert_eq!(outcome.version, 1);
    assert!(outcome.recognised_own_commit);
    // The second put found the version taken (by us) and read it.
    assert_eq!(outcome.attempts, 2);
    let log = log_txn_ids(&location).await;
    assert_eq!(log, vec![(0, log[0].1.clone()), (1, txn_id)]);
}

#[tokio::test]
async fn a_transient_failure_before_the_put_is_retried_and_committed_once() {
    let (store, location) = faulty_table().await;
    store.fail_before_put.store(2, Ordering::SeqCst);
    let txn_id = new_txn_id();
    let outcome = append(&location, 0, "a.parquet", &txn_id, &fast())
        .await
        .unwrap();
    assert_eq!(outcome.version, 1);
    assert_eq!(outcome.attempts, 3);
    assert!(!outcome.recognised_own_commit);
    let log = log_txn_ids(&location).await;
    assert_eq!(log.len(), 2);
    assert_eq!(log[1], (1, txn_id));
}

#[tokio::test]
async fn lost_races_give_up_after_max_attempts() {
    let (store, location) = faulty_table().await;
    store.race.store(u32::MAX, Ordering::SeqCst);
    let txn_id = new_txn_id();
    let result = append(
        &location,
        0,
        "a.parquet",
        &txn_id,
        &fast().with_max_attempts(3),
    )
    .await;
    match result {
        Err(
            error @ LogError::CommitAttemptsExhausted {
                attempts: 3,
                last_version: 3,
                ..
            },
        ) => assert!(error.to_string().contains("after 3 attempts"), "{error}"),
        other => panic!("unexpected {other:?}"),
    }
    // Three rivals won versions 1..=3; our transaction is nowhere in the log.
    let log = log_txn_ids(&location).await;
    assert_eq!(log.len(), 4);
    assert!(log.iter().all(|(_, id)| *id != txn_id));
    assert_eq!(
        find_commit_by_txn_id(&location, 0, &txn_id).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn lost_races_within_the_limit_commit() {
    let (store, location) = faulty_table().await;
    store.race.store(5, Ordering::SeqCst);
    let outcome = append(&location, 0, "a.parquet", &new_txn_id(), &fast())
        .await
        .unwrap();
    assert_eq!(outcome.version, 6);
    assert_eq!(outcome.attempts, 6);
    assert_eq!(outcome.winners_checked, vec![1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn persistent_store_errors_end_with_an_unknown_outcome() {
    let (store, location) = faulty_table().await;
    store.fail_before_put.store(u32::MAX, Ordering::SeqCst);
    let txn_id = new_txn_id();
    let result = append(
        &location,
        0,
        "a.parquet",
        &txn_id,
        &fast().with_max_store_errors(2),
    )
    .await;
    match result {
        Err(LogError::CommitOutcomeUnknown {
            version,
            txn_id: reported,
            ..
        }) => {
            assert_eq!(version, 1);
            assert_eq!(reported, txn_id);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(store.create_puts.load(Ordering::SeqCst), 3 + 1);
}

#[tokio::test]
async fn a_store_without_put_if_absent_is_named() {
    let (store, location) = faulty_table().await;
    store.no_conditional_put.store(true, Ordering::SeqCst);
    assert!(matches!(
        append(&location, 0, "a.parquet", &new_txn_id(), &fast()).await,
        Err(LogError::PutIfAbsentUnsupported { .. })
    ));
}

#[tokio::test]
async fn malformed_commits_are_refused_before_writing() {
    let location = memory_location(Arc::new(InMemory::new()));
    create(&location).await;
    let footprint = TransactionFootprint::blind_append(0);
    let cases: Vec<(Option<Version>, Vec<Action>, &str)> = vec![
        (Some(0), vec![add("a")], "exactly one commitInfo"),
        (
            Some(0),
            vec![add("a"), Action::CommitInfo(CommitInfo::default())],
            "no txnId",
        ),
        (
            Some(0),
            vec![commit_info("x"), commit_info("y")],
            "exactly one commitInfo",
        ),
        (None, vec![commit_info("x")], "protocol"),
        (Some(5), vec![commit_info("x")], "footprint"),
    ];
    for (read_version, actions, expected) in cases {
        match commit(
            &location,
            read_version,
            actions,
            &footprint,
            &WholeTable,
            None,
            &fast(),
        )
        .await
        {
            Err(LogError::InvalidCommit { reason, .. }) => {
                assert!(reason.contains(expected), "{reason} / {expected}")
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(log_txn_ids(&location).await.len(), 1);
}

/// `tasks` writers each append `per_task` times, tracking the version they last saw.
async fn concurrent_appends(location: TableLocation, tasks: usize, per_task: usize) {
    let location = Arc::new(location);
    create(&location).await;
    let mut handles = Vec::new();
    for task in 0..tasks {
        let location = Arc::clone(&location);
        handles.push(tokio::spawn(async move {
            let mut read = 0;
            let mut ids = Vec::new();
            for i in 0..per_task {
                let txn_id = new_txn_id();
                let outcome = append(
                    &location,
                    read,
                    &format!("t{task}-{i}.parquet"),
                    &txn_id,
                    &CommitOptions::new(),
                )
                .await
                .unwrap();
                assert!(outcome.version > read);
                read = outcome.version;
                ids.push((outcome.version, txn_id));
            }
            ids
        }));
    }
    let mut committed = BTreeMap::new();
    for handle in handles {
        for (version, txn_id) in handle.await.unwrap() {
            assert!(
                committed.insert(version, txn_id).is_none(),
                "{version} twice"
            );
        }
    }
    let log = log_txn_ids(&location).await;
    let total = tasks * per_task;
    assert_eq!(log.len(), total + 1);
    let versions: Vec<Version> = log.iter().map(|(v, _)| *v).collect();
    assert_eq!(versions, (0..=total as Version).collect::<Vec<_>>());
    let distinct: BTreeSet<&String> = log.iter().map(|(_, id)| id).collect();
    assert_eq!(distinct.len(), total + 1);
    for (version, txn_id) in &committed {
        assert_eq!(&log[*version as usize].1, txn_id);
    }
    let snapshot = Snapshot::load(location).await.unwrap();
    assert_eq!(snapshot.files().len(), total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_blind_appends_in_memory_land_once_each() {
    concurrent_appends(memory_location(Arc::new(InMemory::new())), 16, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_blind_appends_on_local_disk_land_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let location = TableLocation::parse(dir.path().to_str().unwrap()).unwrap();
    concurrent_appends(location, 16, 20).await;
}

#[test]
fn backoff_grows_exponentially_up_to_the_cap() {
    let options =
        CommitOptions::new().with_backoff(Duration::from_millis(1), Duration::from_millis(100));
    for seed in [0, 1, 12_345, u64::MAX / 3, u64::MAX] {
        assert!(options.backoff(1, seed) <= Duration::from_millis(1));
        assert!(options.backoff(4, seed) <= Duration::from_millis(8));
        assert!(options.backoff(40, seed) <= Duration::from_millis(100));
    }
    // Different seeds spread the waits.
    let waits: BTreeSet<Duration> = (0..50u64)
        .map(|seed| options.backoff(8, seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
        .collect();
    assert!(waits.len() > 40);
    assert_eq!(CommitOptions::new().with_max_attempts(0).max_attempts(), 1);
}

/// The actions of the commit file at `version`.
async fn actions_at(location: &TableLocation, version: Version) -> Vec<Action> {
    let bytes = location
        .store()
        .get(&location.commit_file(version))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    parse_commit(std::str::from_utf8(&bytes).unwrap()).unwrap()
}

fn add_with_rows(path: &str, rows: i64) -> Action {
    let Action::Add(mut add) = add(path) else {
        unreachable!()
    };
    add.stats = Some(format!("{{\"numRecords\":{rows}}}"));
    Action::Add(add)
}

/// `(path, baseRowId, defaultRowCommitVersion)` of an add.
type RowIds = (String, Option<i64>, Option<i64>);

/// The row id fields of every add, and the marks set.
fn row_ids(actions: &[Action]) -> (Vec<RowIds>, Vec<String>) {
    let mut adds = Vec::new();
    let mut marks = Vec::new();
    for action in actions {
        match action {
            Action::Add(add) => adds.push((
                add.path.clone(),
                add.base_row_id,
                add.default_row_commit_version,
            )),
            Action::DomainMetadata(domain) if domain.domain == "delta.rowTracking" => {
                marks.push(domain.configuration.clone());
            }
            _ => {}
        }
    }
    (adds, marks)
}

#[tokio::test]
async fn row_ids_are_assigned_above_the_mark_a_winner_left_at_the_version_landed() {
    let location = memory_location(Arc::new(InMemory::new()));
    create(&location).await;
    // A rival (another engine) lands version 1 with 42 rows and a mark of 41, writing the
    // same domain our commit will.
    let Action::Add(mut rival) = add_with_rows("rival.parquet", 42) else {
        unreachable!()
    };
    rival.base_row_id = Some(0);
    rival.default_row_commit_version = Some(1);
    let rival_commit = format_commit(&[
        commit_info(&new_txn_id()),
        Action::Add(rival),
        Action::DomainMetadata(tarn_protocol::row_tracking::high_water_mark_action(41)),
    ])
    .unwrap();
    location
        .store()
        .put_opts(
            &location.commit_file(1),
            rival_commit.into(),
            PutMode::Create.into(),
        )
        .await
        .unwrap();
    // We read version 0, before any id was assigned.
    let outcome = commit(
        &location,
        Some(0),
        vec![
            add_with_rows("a.parquet", 3),
            add_with_rows("b.parquet", 2),
            commit_info(&new_txn_id()),
        ],
        &TransactionFootprint::blind_append(0),
        &WholeTable,
        Some(RowIdAssigner::new(None)),
        &fast(),
    )
    .await
    .unwrap();
    assert_eq!(outcome.version, 2);
    let (adds, marks) = row_ids(&actions_at(&location, 2).await);
    assert_eq!(
        adds,
        vec![
            ("a.parquet".to_owned(), Some(42), Some(2)),
            ("b.parquet".to_owned(), Some(45), Some(2)),
        ]
    );
    assert_eq!(marks, vec![r#"{"rowIdHighWaterMark":46}"#.to_owned()]);
}

#[tokio::test]
async fn a_commit_that_cannot_assign_row_ids_writes_nothing() {
    let location = memory_location(Arc::new(InMemory::new()));
    create(&location).await;
    let Action::Add(mut no_stats) = add("a.parquet") else {
        unreachable!()
    };
    no_stats.stats = None;
    let err = commit(
        &location,
        Some(0),
        vec![Action::Add(no_stats), commit_info(&new_txn_id())],
        &TransactionFootprint::blind_append(0),
        &WholeTable,
        Some(RowIdAssigner::new(Some(5))),
        &fast(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, LogError::InvalidCommit { reason, .. } if reason.contains("a.parquet")),
        "{err}"
    );
    assert!(
        location
            .store()
            .head(&location.commit_file(1))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_winner_whose_mark_does_not_parse_stops_a_commit_assigning_row_ids() {
    let location = memory_location(Arc::new(InMemory::new()));
    create(&location).await;
    let broken = format_commit(&[
        commit_info(&new_txn_id()),
        Action::DomainMetadata(tarn_protocol::actions::DomainMetadata {
            domain: "delta.rowTracking".to_owned(),
            configuration: "{\"rowIdHighWaterMark\":\"many\"}".to_owned(),
            removed: false,
        }),
    ])
    .unwrap();
    location
        .store()
        .put_opts(
            &location.commit_file(1),
            broken.into(),
            PutMode::Create.into(),
        )
        .await
        .unwrap();
    let tracked = commit(
        &location,
        Some(0),
        vec![add("a.parquet"), commit_info(&new_txn_id())],
        &TransactionFootprint::blind_append(0),
        &WholeTable,
        Some(RowIdAssigner::new(None)),
        &fast(),
    )
    .await;
    assert!(
        matches!(tracked, Err(LogError::CorruptCommit { version: 1, .. })),
        "{tracked:?}"
    );
    // A commit that assigns no row ids has no use for the mark and lands.
    let untracked = append(&location, 0, "b.parquet", &new_txn_id(), &fast())
        .await
        .unwrap();
    assert_eq!(untracked.version, 2);
}
