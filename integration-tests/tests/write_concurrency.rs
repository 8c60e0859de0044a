//! Concurrency: many writers committing to one table.
//!
//! - Processes: 8 `streaming_writer` example processes append 50 batches each, with
//!   idempotent `txn` versions, to one local table (and 4 × 10 to a table on the moto S3
//!   emulator): every commit lands, versions are contiguous, each commit carries exactly one
//!   `txn` and no (application, version) pair appears twice, and the rows are exactly those
//!   written.
//! - Conflicts, made certain: a `GateStore` holds one operation at its commit while another
//!   commits, then lets it go. The conflict rules (write-serializable) decide: a delete of one
//!   partition and an append to another both commit; a delete on a data column conflicts with
//!   an append whose statistics may hold matching rows, and not with one whose statistics
//!   rule them out; overwrite-where on two partitions both commit, on the same partition the
//!   second fails naming the winner; a blind append never conflicts; two writes of the same
//!   `txn` application cannot both commit.
//! - Conflicts, raced: tokio tasks released together by a barrier, round after round; whatever
//!   the interleaving, no row is lost, and a conflict is reported only where the rules say.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use serde_json::Value;
use tarn::protocol::conflict::ConflictReason;
use tarn::{CommitSummary, Expr, LogError, Table};

use crate::common::gate_store::gated_table;
use crate::common::python::{assert_rows_eq, canonical_rows, read_with_delta_rs, rows_of};
use crate::common::s3::{s3_endpoint, s3_options, s3_table_uri};
use crate::common::writes::{assert_no_stray_files, commit_info, read_log, scan_batches};
use crate::common::{block_on, streaming_writer, uri};

// ---------------------------------------------------------------------------------------------
// Writer processes
// ---------------------------------------------------------------------------------------------

/// The schema the example writes: `id` (`app:sequence:row`), `day`, `sequence`, `value`.
fn events_schema() -> Schema {
    Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("day", DataType::Utf8, false),
        Field::new("sequence", DataType::Int64, false),
        Field::new("value", DataType::Int64, true),
    ])
}

/// Runs `writers` example processes at once, each appending `batches` batches of `rows` rows
/// under its own application id; `env` is added to each child's environment. Returns the
/// wall time they took (reported, never asserted).
fn run_writers(
    table: &str,
    writers: usize,
    batches: usize,
    rows: usize,
    env: &[(&str, String)],
) -> std::time::Duration {
    let binary = streaming_writer();
    let started = Instant::now();
    let children: Vec<_> = (0..writers)
        .map(|k| {
            let mut command = Command::new(&binary);
            command
                .args([
                    table.to_owned(),
                    format!("writer-{k}"),
                    batches.to_string(),
                    rows.to_string(),
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            // Only the storage settings given here: no credentials from the environment.
            for (key, _) in std::env::vars() {
                if key.starts_with("AWS_") {
                    command.env_remove(key);
                }
            }
            for (key, value) in env {
                command.env(key, value);
            }
            command.spawn().unwrap()
        })
        .collect();
    for (k, child) in children.into_iter().enumerate() {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        // Shown only when the test fails: which version each writer says each batch got, so
        // a missing or doubled version can be traced to the writers that claimed it.
        eprintln!("writer-{k} output:\n{stdout}");
        assert!(
            output.status.success(),
            "writer-{k} failed ({}):\n{}\n{stdout}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains(&format!(
                "writer-{k}: committed {batches} batches (resumed after batch -1)"
            )),
            "writer-{k} did not commit all {batches} batches:\n{stdout}"
        );
    }
    started.elapsed()
}

/// Checks a table the writer processes filled: versions `0..=writers*batches` with no gap;
/// each commit after the first has exactly one `txn`, and the (application, version) pairs
/// are exactly every writer's `0..batches`, each once; the rows are exactly the ids the
/// writers generate, each once. Returns how many commits landed between each commit's read
/// version and its own version (the races it rebased over).
async fn check_writer_table(
    table: &Table,
    writers: usize,
    batches: usize,
    rows: usize,
) -> Vec<u64> {
    let total = u64::try_from(writers * batches).unwrap();
    let log = read_log(table.location()).await;
    let versions: Vec<u64> = log.keys().copied().collect();
    assert_eq!(
        versions,
        (0..=total).collect::<Vec<_>>(),
        "versions 0..={total}, contiguous"
    );
    let mut pairs = BTreeSet::new();
    let mut rebased = Vec::new();
    for (version, actions) in log.iter().filter(|(v, _)| **v > 0) {
        let txns: Vec<&Value> = actions.iter().filter_map(|a| a.get("txn")).collect();
        assert_eq!(
            txns.len(),
            1,
            "version {version} has {} txn actions",
            txns.len()
        );
        let pair = (
            txns[0]["appId"].as_str().unwrap().to_owned(),
            txns[0]["version"].as_i64().unwrap(),
        );
        assert!(
            pairs.insert(pair.clone()),
            "txn {pair:?} committed twice (again at version {version})"
        );
        let info = actions
            .iter()
            .find_map(|a| a.get("commitInfo"))
            .unwrap_or_else(|| panic!("version {version} has no commitInfo"));
        let read = info["readVersion"].as_u64().unwrap();
        assert!(read < *version);
        rebased.push(version - read - 1);
    }
    let expected_pairs: BTreeSet<(String, i64)> = (0..writers)
        .flat_map(|k| (0..batches).map(move |b| (format!("writer-{k}"), i64::try_from(b).unwrap())))
        .collect();
    assert_eq!(pairs, expected_pairs, "every writer's batches, each once");

    let snapshot = table.snapshot().await.unwrap();
    assert_eq!(snapshot.version(), total);
    for k in 0..writers {
        assert_eq!(
            snapshot.txn_version(&format!("writer-{k}")),
            Some(i64::try_from(batches).unwrap() - 1)
        );
    }
    let batches_read = scan_batches(table, None).await;
    let mut ids = HashSet::new();
    let mut count = 0;
    for batch in &batches_read {
        let column = batch.column_by_name("id").unwrap().as_string::<i32>();
        for id in column.iter() {
            count += 1;
            assert!(ids.insert(id.unwrap().to_owned()), "row {id:?} twice");
        }
    }
    assert_eq!(count, writers * batches * rows, "row count");
    let expected_ids: HashSet<String> = (0..writers)
        .flat_map(|k| {
            (0..batches).flat_map(move |b| (0..rows).map(move |r| format!("writer-{k}:{b}:{r}")))
        })
        .collect();
    assert!(ids == expected_ids, "the ids read are not the ids written");
    rebased
}

/// A summary of how many commits each commit rebased over.
fn describe(rebased: &[u64]) -> String {
    let mut histogram: BTreeMap<u64, usize> = BTreeMap::new();
    for r in rebased {
        *histogram.entry(*r).or_default() += 1;
    }
    let max = rebased.iter().max().copied().unwrap_or(0);
    let mean = rebased.iter().sum::<u64>() as f64 / rebased.len().max(1) as f64;
    format!(
        "commits landed between read and commit: mean {mean:.2}, max {max}, histogram {histogram:?}"
    )
}

#[test]
fn eight_writer_processes_append_fifty_batches_each() {
    const WRITERS: usize = 8;
    const BATCHES: usize = 50;
    const ROWS: usize = 10;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events");
    block_on(async {
        let table = Table::open(uri(&path)).await.unwrap();
        let created = table
            .create()
            .with_arrow_schema(&events_schema())
            .unwrap()
            .partition_by(["day"])
            .execute()
            .await
            .unwrap();
        assert_eq!(created.version, Some(0));
    });
    let took = run_writers(uri(&path), WRITERS, BATCHES, ROWS, &[]);
    let rebased = block_on(async {
        let table = Table::open(uri(&path)).await.unwrap();
        check_writer_table(&table, WRITERS, BATCHES, ROWS).await
    });
    assert_no_stray_files(&path, "after the writers");
    // The writers checkpointed at the default interval while racing each other.
    let checkpoints = std::fs::read_dir(crate::common::delta_log(&path))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_str().unwrap().ends_with(".checkpoint.parquet")
        })
        .count();
    assert!(checkpoints > 0, "no checkpoint was written");
    assert!(
        crate::common::delta_log(&path)
            .join("_last_checkpoint")
            .exists()
    );
    // delta-rs reads the same table (through those checkpoints).
    let delta_rs = read_with_delta_rs(uri(&path), None);
    assert_eq!(delta_rs["version"], 400);
    let tarn_rows = block_on(async {
        let table = Table::open(uri(&path)).await.unwrap();
        canonical_rows(&scan_batches(&table, None).await)
    });
    assert_rows_eq(&tarn_rows, &rows_of(&delta_rs), "the writers' table");
    eprintln!(
        "{WRITERS} processes x {BATCHES} appends (local): {:.1}s; {checkpoints} checkpoints; {}",
        took.as_secs_f64(),
        describe(&rebased)
    );
}

#[test]
fn writer_processes_append_to_a_table_on_s3() {
    const WRITERS: usize = 4;
    const BATCHES: usize = 10;
    const ROWS: usize = 10;
    let options = s3_options();
    let table_uri = s3_table_uri("writer-processes");
    block_on(async {
        let table = Table::open_with_options(&table_uri, &options)
            .await
            .unwrap();
        table
            .create()
            .with_arrow_schema(&events_schema())
            .unwrap()
            .partition_by(["day"])
            .execute()
            .await
            .unwrap();
    });
    let env = [
        ("AWS_ENDPOINT", s3_endpoint()),
        ("AWS_ALLOW_HTTP", "true".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ];
    let took = run_writers(&table_uri, WRITERS, BATCHES, ROWS, &env);
    let rebased = block_on(async {
        let table = Table::open_with_options(&table_uri, &options)
            .await
            .unwrap();
        check_writer_table(&table, WRITERS, BATCHES, ROWS).await
    });
    eprintln!(
        "{WRITERS} processes x {BATCHES} appends (moto S3): {:.1}s; {}",
        took.as_secs_f64(),
        describe(&rebased)
    );
}

#[test]
fn a_restarted_writer_process_resumes_without_appending_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events");
    run_writers(uri(&path), 1, 3, 5, &[]);
    // The same application again, asked for 5 batches: it commits only batches 3 and 4.
    let binary = streaming_writer();
    let output = Command::new(&binary)
        .args([uri(&path), "writer-0", "5", "5"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("committed 2 batches (resumed after batch 2)"),
        "{stdout}"
    );
    block_on(async {
        let table = Table::open(uri(&path)).await.unwrap();
        // The first run created the table at version 0 with batch 0.
        let snapshot = table.snapshot().await.unwrap();
        assert_eq!(snapshot.version(), 4);
        assert_eq!(snapshot.txn_version("writer-0"), Some(4));
        let rows: usize = scan_batches(&table, None)
            .await
            .iter()
            .map(RecordBatch::num_rows)
            .sum();
        assert_eq!(rows, 25);
    });
}

// ---------------------------------------------------------------------------------------------
// Conflicts made certain with a gate
// ---------------------------------------------------------------------------------------------

fn rows_batch(rows: &[(i64, &str, i64)]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("day", DataType::Utf8, false),
        Field::new("value", DataType::Int64, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.2))),
        ],
    )
    .unwrap()
}

/// The table's rows as (id, day, value), sorted.
async fn table_rows(table: &Table) -> Vec<(i64, String, i64)> {
    let mut out = Vec::new();
    for batch in scan_batches(table, None).await {
        let id = batch
            .column_by_name("id")
            .unwrap()
            .as_primitive::<Int64Type>();
        let day = batch.column_by_name("day").unwrap().as_string::<i32>();
        let value = batch
            .column_by_name("value")
            .unwrap()
            .as_primitive::<Int64Type>();
        for i in 0..batch.num_rows() {
            out.push((id.value(i), day.value(i).to_owned(), value.value(i)));
        }
    }
    out.sort();
    out
}

fn owned(rows: &[(i64, &str, i64)]) -> Vec<(i64, String, i64)> {
    let mut out: Vec<_> = rows
        .iter()
        .map(|(i, d, v)| (*i, (*d).to_owned(), *v))
        .collect();
    out.sort();
    out
}

/// A table partitioned by `day` holding `rows`, at version 0.
async fn table_with(path: &Path, rows: &[(i64, &str, i64)]) -> Table {
    table_at_level(path, rows, "WriteSerializable").await
}

/// A table whose `delta.isolationLevel` is `level`.
async fn table_at_level(path: &Path, rows: &[(i64, &str, i64)], level: &str) -> Table {
    let table = Table::open(uri(path)).await.unwrap();
    table
        .write()
        .with_partition_columns(["day"])
        .with_property("delta.isolationLevel", level)
        .execute_batches(vec![rows_batch(rows)])
        .await
        .unwrap();
    table
}

/// The conflict in an error, or a panic naming what came instead.
fn conflict(result: tarn::Result<CommitSummary>) -> (u64, u64, ConflictReason) {
    match result {
        Err(tarn::Error::Log(LogError::CommitConflict {
            read_version,
            winning_version,
            reason,
            ..
        })) => (read_version, winning_version, reason),
        Err(other) => panic!("expected a commit conflict, got: {other}"),
        Ok(summary) => panic!("expected a commit conflict, but it committed: {summary:?}"),
    }
}

/// Runs `held` on the gated table, holds it at its commit, runs `meanwhile` on the plain
/// table, then releases `held`: returns both results. (The two run as one task with
/// `join!`: tarn's operation futures are not `Send` to the compiler, so they cannot be
/// given to `tokio::spawn`.)
async fn hold_while<H, M>(
    path: &Path,
    held: impl FnOnce(Table) -> H,
    meanwhile: impl FnOnce(Table) -> M,
) -> (tarn::Result<CommitSummary>, tarn::Result<CommitSummary>)
where
    H: std::future::Future<Output = tarn::Result<CommitSummary>>,
    M: std::future::Future<Output = tarn::Result<CommitSummary>>,
{
    let (gate, gated) = gated_table(uri(path));
    gate.arm();
    let plain = Table::open(uri(path)).await.unwrap();
    let other = async {
        gate.wait_reached().await;
        let result = meanwhile(plain).await;
        gate.release();
        result
    };
    futures::join!(held(gated), other)
}

fn delete(
    table: Table,
    predicate: &str,
) -> impl std::future::Future<Output = tarn::Result<CommitSummary>> + use<> {
    let predicate = Expr::parse(predicate).unwrap();
    async move { table.delete().with_predicate(predicate).execute().await }
}

fn append(
    table: Table,
    rows: &[(i64, &str, i64)],
) -> impl std::future::Future<Output = tarn::Result<CommitSummary>> + use<> {
    let batch = rows_batch(rows);
    async move { table.write().execute_batches(vec![batch]).await }
}

fn replace_where(
    table: Table,
    predicate: &str,
    rows: &[(i64, &str, i64)],
) -> impl std::future::Future<Output = tarn::Result<CommitSummary>> + use<> {
    let predicate = Expr::parse(predicate).unwrap();
    let batch = rows_batch(rows);
    async move {
        table
            .write()
            .replace_where(predicate)
            .execute_batches(vec![batch])
            .await
    }
}

const START: &[(i64, &str, i64)] = &[(1, "a", 1), (2, "a", 7), (3, "b", 2), (4, "b", 8)];

#[test]
fn delete_of_one_partition_commits_past_an_append_to_another() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let table = table_with(dir.path(), START).await;
        let (held, other) = hold_while(
            dir.path(),
            |t| delete(t, "day = 'a'"),
            |t| append(t, &[(5, "b", 9)]),
        )
        .await;
        assert_eq!(other.unwrap().version, Some(1));
        let held = held.unwrap();
        assert_eq!(held.version, Some(2), "rebased past the append");
        assert_eq!(held.attempts, 2);
        assert_eq!(
            table_rows(&table).await,
            owned(&[(3, "b", 2), (4, "b", 8), (5, "b", 9)])
        );
        assert_eq!(commit_info(dir.path(), 2)["readVersion"], 0);
        assert_no_stray_files(dir.path(), "after the delete");
    });
}

#[test]
fn delete_on_a_data_column_commits_past_an_append_its_statistics_rule_out() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let table = table_with(dir.path(), START).await;
        // The append's file has values 3..=5: its statistics prove `value > 5` matches none.
        let (held, other) = hold_while(
            dir.path(),
            |t| delete(t, "value > 5"),
            |t| append(t, &[(5, "a", 3), (6, "a", 5)]),
        )
        .await;
        assert_eq!(other.unwrap().version, Some(1));
        let held = held.unwrap();
        assert_eq!(held.version, Some(2));
        assert_eq!(held.rows_deleted, 2);
        assert_eq!(
            table_rows(&table).await,
            owned(&[(1, "a", 1), (3, "b", 2), (5, "a", 3), (6, "a", 5)])
        );
        assert_no_stray_files(dir.path(), "after the delete");
    });
}

#[test]
fn delete_on_a_data_column_commits_past_a_blind_append_of_matching_rows_at_write_serializable() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let table = table_with(dir.path(), START).await;
        let (held, other) = hold_while(
            dir.path(),
            |t| delete(t, "value > 5"),
            |t| append(t, &[(5, "b", 9)]),
        )
        .await;
        assert_eq!(other.unwrap().version, Some(1));
        assert_eq!(held.unwrap().version, Some(2));
        // The serial order: the delete, then the append, whose row stays.
        assert_eq!(
            table_rows(&table).await,
            owned(&[(1, "a", 1), (3, "b", 2), (5, "b", 9)])
        );
        assert_no_stray_files(dir.path(), "after the delete");
    });
}

#[test]
fn delete_on_a_data_column_conflicts_with_an_append_that_may_hold_matching_rows_when_serializable()
{
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let table = table_at_level(dir.path(), START, "Serializable").await;
        let (held, other) = hold_while(
            dir.path(),
            |t| delete(t, "value > 5"),
            |t| append(t, &[(5, "b", 9)]),
        )
        .await;
        assert_eq!(other.unwrap().version, Some(1));
        let (read, winner, reason) = conflict(held);
        assert_eq!((read, winner), (0, 1));
        let appended = crate::common::writes::commit_actions(dir.path(), 1)
            .into_iter()
            .find_map(|a| {
                a.get("add")
                    .map(|add| add["path"].as_str().unwrap().to_owned())
            })
            .unwrap();
        assert_eq!(reason, ConflictReason::ConcurrentAppend { path: appended });
        // Nothing of the delete landed, and the files it rewrote are gone.
        assert_eq!(table.snapshot().await.unwrap().version(), 1);
        let mut want = START.to_vec();
        want.push((5, "b", 9));
        assert_eq!(table_rows(&table).await, owned(&want));
        assert_no_stray_files(dir.path(), "after the conflicting delete");
    });
}

#[test]
fn a_blind_append_commits_past_a_delete_of_its_partition() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let table = table_with(dir.path(), START).await;
        let (held, other) = hold_while(
            dir.path(),
            |t| append(t, &[(5, "a", 9)]),
            |t| delete(t, "day = 'a'"),
        )
        .await;
        assert_eq!(other.unwrap().version, Some(1));
        assert_eq!(held.unwrap().version, Some(2));
        // The appended row was not there for the delete to see: it stays.
        assert_eq!(
            table_rows(&table).await,
            owned(&[(3, "b", 2), (4, "b", 8), (5, "a", 9)])
        );
    });
}

#[test]
fn overwrite_where_on_different_partitions_both_commit() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let table = table_with(dir.path(), START).await;
        let (held, other) = hold_while(
            dir.path(),
            |t| replace_where(t, "day = 'a'", &[(10, "a", 10)]),
            |t| replace_where(t, "day = 'b'", &[(20, "b", 20)]),
        )
        .await;
        assert_eq!(other.unwrap().version, Some(1));
        let held = held.unwrap();
        assert_eq!(held.version, Some(2));
        assert_eq!(held.attempts, 2);
        assert_eq!(
            table_rows(&table).await,
            owned(&[(10, "a", 10), (20, "b", 20)])
        );
        assert_no_stray_files(dir.path(), "after both overwrites");
    });
}

#[test]
fn overwrite_where_on_the_same_partition_fails_naming_the_winner() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let table = table_with(dir.path(), START).await;
        let (held, other) = hold_while(
            dir.path(),
            |t| replace_where(t, "day = 'a'", &[(10, "a", 10)]),
            |t| replace_where(t, "day = 'a'", &[(30, "a", 30)]),
        )
        .await;
        assert_eq!(other.unwrap().version, Some(1));
        let (read, winner, reason) = conflict(held);
        assert_eq!((read, winner), (0, 1));
        assert!(
            matches!(
                reason,
                ConflictReason::ConcurrentAppend { .. }
                    | ConflictReason::ConcurrentDeleteRead { .. }
                    | ConflictReason::ConcurrentDeleteDelete { .. }
            ),
            "{reason}"
        );
        assert_eq!(
            table_rows(&table).await,
            owned(&[(3, "b", 2), (4, "b", 8), (30, "a", 30)])
        );
        assert_no_stray_files(dir.path(), "after the losing overwrite");
    });
}

#[test]
fn update_commits_past_a_blind_append_into_its_rows_at_write_serializable() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let table = table_with(dir.path(), START).await;
        let (held, other) = hold_while(
            dir.path(),
            |t| async move {
                t.update()
                    .with_predicate(Expr::parse("day = 'a'").unwrap())
                    .set_sql("value = 0")
                    .unwrap()
                    .execute()
                    .await
            },
            |t| append(t, &[(5, "a", 9)]),
        )
        .await;
        assert_eq!(other.unwrap().version, Some(1));
        assert_eq!(held.unwrap().version, Some(2));
        // The update, then the append: the appended row keeps its value.
        assert_eq!(
            table_rows(&table).await,
            owned(&[
                (1, "a", 0),
                (2, "a", 0),
                (3, "b", 2),
                (4, "b", 8),
                (5, "a", 9)
            ])
        );
        assert_no_stray_files(dir.path(), "after the update");
    });
}

#[test]
fn update_conflicts_with_an_append_into_the_rows_it_read_when_serializable() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let table = table_at_level(dir.path(), START, "Serializable").await;
        let (held, other) = hold_while(
            dir.path(),
            |t| async move {
                t.update()
                    .with_predicate(Expr::parse("day = 'a'").unwrap())
                    .set_sql("value = 0")
                    .unwrap()
                    .execute()
                    .await
            },
            |t| append(t, &[(5, "a", 9)]),
        )
        .await;
        assert_eq!(other.unwrap().version, Some(1));
        let (_, winner, reason) = conflict(held);
        assert_eq!(winner, 1);
        assert!(
            matches!(reason, ConflictReason::ConcurrentAppend { .. }),
            "{reason}"
        );
        let mut want = START.to_vec();
        want.push((5, "a", 9));
        assert_eq!(table_rows(&table).await, owned(&want));
        assert_no_stray_files(dir.path(), "after the losing update");
    });
}

#[test]
fn two_deletes_of_the_same_rows_cannot_both_commit() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let table = table_with(dir.path(), START).await;
        let (held, other) = hold_while(
            dir.path(),
            |t| delete(t, "value > 5"),
            |t| delete(t, "day = 'a'"),
        )
        .await;
        assert_eq!(other.unwrap().version, Some(1));
        let (_, winner, reason) = conflict(held);
        assert_eq!(winner, 1);
        assert!(
            matches!(
                reason,
                ConflictReason::ConcurrentDeleteRead { .. }
                    | ConflictReason::ConcurrentDeleteDelete { .. }
            ),
            "{reason}"
        );
        assert_eq!(table_rows(&table).await, owned(&[(3, "b", 2), (4, "b", 8)]));
        assert_no_stray_files(dir.path(), "after the losing delete");
    });
}

#[test]
fn two_writes_of_the_same_txn_version_cannot_both_commit() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let table = table_with(dir.path(), START).await;
        let txn_append = |t: Table, id: i64| {
            let batch = rows_batch(&[(id, "c", 0)]);
            async move {
                t.write()
                    .with_txn("stream", 7)
                    .execute_batches(vec![batch])
                    .await
            }
        };
        let (held, other) = hold_while(
            dir.path(),
            move |t| txn_append(t, 100),
            move |t| txn_append(t, 200),
        )
        .await;
        assert_eq!(other.unwrap().version, Some(1));
        let (_, winner, reason) = conflict(held);
        assert_eq!(winner, 1);
        assert_eq!(
            reason,
            ConflictReason::ConcurrentTransaction {
                app_id: "stream".to_owned()
            }
        );
        let rows = table_rows(&table).await;
        assert_eq!(rows.iter().filter(|r| r.1 == "c").count(), 1);
        assert_eq!(
            table.snapshot().await.unwrap().txn_version("stream"),
            Some(7)
        );
        assert_no_stray_files(dir.path(), "after the duplicate txn");
    });
}

// ---------------------------------------------------------------------------------------------
// Conflicts raced
// ---------------------------------------------------------------------------------------------
//
// Each round starts the operations together in one task (`join!`); their I/O overlaps, so
// which commits first varies from round to round.

const ROUNDS: i64 = 15;

#[test]
fn racing_deletes_of_one_partition_and_appends_to_another_all_commit() {
    let dir = tempfile::tempdir().unwrap();
    let mut rebased_deletes = 0;
    block_on(async {
        let table = table_with(dir.path(), &[(0, "b", 0)]).await;
        let mut want: Vec<(i64, &str, i64)> = vec![(0, "b", 0)];
        for round in 0..ROUNDS {
            let base = 1000 * (round + 1);
            append(table.clone(), &[(base, "a", 1), (base + 1, "a", 2)])
                .await
                .unwrap();
            let appends = async {
                for k in 0..3 {
                    append(table.clone(), &[(base + 10 + k, "b", k)])
                        .await
                        .unwrap();
                }
            };
            let ((), deleted) = futures::join!(appends, delete(table.clone(), "day = 'a'"));
            let summary = deleted.expect("a delete of `a` never conflicts with appends to `b`");
            assert_eq!(summary.rows_deleted, 2);
            if summary.attempts > 1 {
                rebased_deletes += 1;
            }
            want.extend((0..3).map(|k| (base + 10 + k, "b", k)));
        }
        assert_eq!(table_rows(&table).await, owned(&want));
    });
    assert_no_stray_files(dir.path(), "after the races");
    eprintln!("deletes that rebased past appends: {rebased_deletes} of {ROUNDS}");
}

#[test]
fn racing_data_deletes_and_appends_follow_the_conflict_rules() {
    for level in ["Serializable", "WriteSerializable"] {
        racing_data_deletes_and_appends(level);
    }
}

fn racing_data_deletes_and_appends(level: &str) {
    let serializable = level == "Serializable";
    let dir = tempfile::tempdir().unwrap();
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    block_on(async {
        let table = table_at_level(dir.path(), &[(0, "a", 0)], level).await;
        // The model: the table's rows by id.
        let mut model: BTreeMap<i64, (&str, i64)> = BTreeMap::from([(0, ("a", 0))]);
        for round in 0..ROUNDS {
            let base = 1000 * (round + 1);
            // `low` has values up to 5 (its statistics rule out `value > 5`), `high` one above.
            let low = [(base, "a", 1), (base + 1, "b", 5)];
            let high = [(base + 2, "a", 6), (base + 3, "b", 4)];
            // The appends start after a delay that varies by round, so that the delete
            // sometimes commits first, sometimes reads before and commits after them.
            let delay = std::time::Duration::from_millis(u64::try_from(round % 5).unwrap() * 15);
            let late = |rows: [(i64, &'static str, i64); 2]| {
                let table = table.clone();
                async move {
                    tokio::time::sleep(delay).await;
                    append(table, &rows).await
                }
            };
            let (low_result, high_result, deleted) =
                futures::join!(late(low), late(high), delete(table.clone(), "value > 5"),);
            // Blind appends never conflict.
            let low_version = low_result.unwrap().version.unwrap();
            let high_version = high_result.unwrap().version.unwrap();
            for (id, day, value) in low.into_iter().chain(high) {
                model.insert(id, (day, value));
            }
            match deleted {
                Ok(CommitSummary {
                    version: Some(version),
                    ..
                }) => {
                    let read = commit_info(dir.path(), version)["readVersion"]
                        .as_u64()
                        .unwrap();
                    // Serializable: a file that may hold `value > 5` rows landing between the
                    // delete's read and its commit must have made it fail. (WriteSerializable
                    // orders the blind append after the delete instead.)
                    assert!(
                        !(serializable && read < high_version && high_version < version),
                        "round {round}: the delete read v{read} and committed v{version} past \
                         the append of matching rows at v{high_version}"
                    );
                    let key = if read < low_version && low_version < version {
                        "delete committed past the concurrent low append"
                    } else {
                        "delete committed"
                    };
                    *outcomes.entry(key).or_default() += 1;
                    // The rows it could see (committed at or before its read) with value > 5
                    // are gone; rows appended after its read stay whatever their value.
                    let high_seen = high_version <= read;
                    model.retain(|id, (_, value)| {
                        let unseen = *id >= base + 2 && !high_seen;
                        unseen || *value <= 5
                    });
                }
                Ok(_) => {
                    // Nothing matched at the version it read.
                    *outcomes.entry("delete matched nothing").or_default() += 1;
                }
                Err(err) => {
                    let (_, winner, reason) = conflict(Err(err));
                    assert!(
                        serializable,
                        "round {round}: blind appends never fail a delete at {level} ({reason})"
                    );
                    assert_eq!(
                        winner, high_version,
                        "round {round}: only the append of matching rows may conflict ({reason})"
                    );
                    assert!(
                        matches!(reason, ConflictReason::ConcurrentAppend { .. }),
                        "{reason}"
                    );
                    *outcomes
                        .entry("delete conflicted with the high append")
                        .or_default() += 1;
                }
            }
            let want: Vec<(i64, String, i64)> = model
                .iter()
                .map(|(id, (day, value))| (*id, (*day).to_owned(), *value))
                .collect();
            assert_eq!(table_rows(&table).await, want, "round {round}");
        }
    });
    assert_no_stray_files(dir.path(), "after the races");
    eprintln!("data deletes racing appends over {ROUNDS} rounds at {level}: {outcomes:?}");
}

#[test]
fn racing_overwrites_where_of_two_partitions_all_commit() {
    let dir = tempfile::tempdir().unwrap();
    let mut rebased = 0;
    block_on(async {
        let table = table_with(dir.path(), START).await;
        for round in 0..ROUNDS {
            let base = 1000 * (round + 1);
            let (a, b) = futures::join!(
                replace_where(table.clone(), "day = 'a'", &[(base, "a", round)]),
                replace_where(table.clone(), "day = 'b'", &[(base + 1, "b", round)]),
            );
            for result in [a, b] {
                let summary = result.expect("overwrites of different partitions never conflict");
                if summary.attempts > 1 {
                    rebased += 1;
                }
            }
            assert_eq!(
                table_rows(&table).await,
                owned(&[(base, "a", round), (base + 1, "b", round)]),
                "round {round}"
            );
        }
    });
    assert_no_stray_files(dir.path(), "after the races");
    eprintln!(
        "overwrites-where that rebased past the other partition's: {rebased} of {}",
        2 * ROUNDS
    );
}

#[test]
fn racing_overwrites_where_of_one_partition_keep_exactly_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let mut conflicts = 0;
    block_on(async {
        let table = table_with(dir.path(), START).await;
        for round in 0..ROUNDS {
            let base = 1000 * (round + 1);
            let (first, second) = futures::join!(
                replace_where(table.clone(), "day = 'a'", &[(base, "a", 0)]),
                replace_where(table.clone(), "day = 'a'", &[(base + 1, "a", 1)]),
            );
            let mut committed: Vec<(u64, i64)> = Vec::new();
            let mut failed = Vec::new();
            for (k, result) in [(0, first), (1, second)] {
                match result {
                    Ok(summary) => committed.push((summary.version.unwrap(), k)),
                    Err(err) => failed.push(conflict(Err(err))),
                }
            }
            committed.sort_unstable();
            assert!(!committed.is_empty(), "round {round}: neither committed");
            for (read, winner, reason) in &failed {
                conflicts += 1;
                assert_eq!(
                    *winner, committed[0].0,
                    "round {round}: the loser names the winner's version ({reason})"
                );
                assert!(read < winner);
            }
            if committed.len() == 2 {
                // Both committed: the later one must have read the earlier one's commit.
                let later = committed[1].0;
                let read = commit_info(dir.path(), later)["readVersion"]
                    .as_u64()
                    .unwrap();
                assert!(
                    read >= committed[0].0,
                    "round {round}: v{later} read v{read} and still committed past v{}",
                    committed[0].0
                );
            }
            // The partition holds the row of the last commit.
            let last = committed.last().unwrap().1;
            assert_eq!(
                table_rows(&table).await,
                owned(&[(3, "b", 2), (4, "b", 8), (base + last, "a", last)]),
                "round {round}"
            );
        }
    });
    assert_no_stray_files(dir.path(), "after the races");
    eprintln!("same-partition overwrites-where: {conflicts} conflicts in {ROUNDS} rounds");
}

// ---------------------------------------------------------------------------------------------
// Racing creators
// ---------------------------------------------------------------------------------------------

/// Holds a write that creates the table at its commit while `meanwhile` creates it first.
async fn create_while_another_creates<M>(
    path: &Path,
    held_rows: &[(i64, &str, i64)],
    meanwhile: impl FnOnce(Table) -> M,
) -> (tarn::Result<CommitSummary>, tarn::Result<CommitSummary>)
where
    M: std::future::Future<Output = tarn::Result<CommitSummary>>,
{
    let batch = rows_batch(held_rows);
    hold_while(
        path,
        |t| async move {
            t.write()
                .with_partition_columns(["day"])
                .execute_batches(vec![batch])
                .await
        },
        meanwhile,
    )
    .await
}

#[test]
fn a_writer_that_loses_the_race_to_create_the_table_appends_to_it() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let (held, other) =
            create_while_another_creates(dir.path(), &[(1, "a", 1), (2, "b", 2)], |t| async move {
                t.write()
                    .with_partition_columns(["day"])
                    .execute_batches(vec![rows_batch(&[(3, "a", 3)])])
                    .await
            })
            .await;
        assert_eq!(other.unwrap().version, Some(0));
        let held = held.unwrap();
        assert_eq!(held.version, Some(1));
        assert_eq!((held.files_added, held.rows_written), (2, 2));
        let table = Table::open(uri(dir.path())).await.unwrap();
        assert_eq!(
            table_rows(&table).await,
            owned(&[(1, "a", 1), (2, "b", 2), (3, "a", 3)])
        );
        // The loser's commit is an append: no protocol or metadata of its own.
        let log = read_log(&tarn::TableLocation::parse(uri(dir.path())).unwrap()).await;
        assert!(
            log[&1]
                .iter()
                .all(|line| line.get("protocol").is_none() && line.get("metaData").is_none()),
            "{:?}",
            log[&1]
        );
        assert_no_stray_files(dir.path(), "after the race");
    });
}

#[test]
fn a_writer_that_loses_the_race_to_a_different_table_fails_naming_the_difference() {
    for (case, winner) in [
        ("schema", rows_batch_with_extra_column()),
        ("partitioning", rows_batch(&[(3, "a", 3)])),
    ] {
        let dir = tempfile::tempdir().unwrap();
        block_on(async {
            let partitioned = case == "schema";
            let (held, other) = create_while_another_creates(
                dir.path(),
                &[(1, "a", 1), (2, "b", 2)],
                |t| async move {
                    let write = t.write();
                    let write = if partitioned {
                        write.with_partition_columns(["day"])
                    } else {
                        write
                    };
                    write.execute_batches(vec![winner]).await
                },
            )
            .await;
            assert_eq!(other.unwrap().version, Some(0));
            match held {
                Err(tarn::Error::TableCreatedConcurrently {
                    version,
                    difference,
                    ..
                }) => {
                    assert_eq!(version, 0, "{case}");
                    let expected = if partitioned {
                        "a column `extra` this write does not have"
                    } else {
                        "partition columns [] where this write has [day]"
                    };
                    assert_eq!(difference, expected, "{case}");
                }
                other => panic!("{case}: expected TableCreatedConcurrently, got {other:?}"),
            }
            let table = Table::open(uri(dir.path())).await.unwrap();
            assert_eq!(table.snapshot().await.unwrap().version(), 0, "{case}");
            assert_no_stray_files(dir.path(), case);
        });
    }
}

#[test]
fn a_writer_that_loses_the_race_with_a_txn_the_winner_committed_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let batch = rows_batch(&[(1, "a", 1)]);
        let (held, other) = hold_while(
            dir.path(),
            |t| async move {
                t.write()
                    .with_partition_columns(["day"])
                    .with_txn("ingest", 7)
                    .execute_batches(vec![batch])
                    .await
            },
            |t| async move {
                t.write()
                    .with_partition_columns(["day"])
                    .with_txn("ingest", 7)
                    .execute_batches(vec![rows_batch(&[(1, "a", 1)])])
                    .await
            },
        )
        .await;
        assert_eq!(other.unwrap().version, Some(0));
        assert_eq!(held.unwrap().version, None);
        let table = Table::open(uri(dir.path())).await.unwrap();
        assert_eq!(table_rows(&table).await, owned(&[(1, "a", 1)]));
        assert_no_stray_files(dir.path(), "after the idempotent race");
    });
}

/// The rows' schema with one more column.
fn rows_batch_with_extra_column() -> RecordBatch {
    let base = rows_batch(&[(3, "a", 3)]);
    let mut fields: Vec<Field> = base
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("extra", DataType::Int64, true));
    let mut columns = base.columns().to_vec();
    columns.push(Arc::new(Int64Array::from(vec![9])));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}
