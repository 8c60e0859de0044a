//! The public transaction API as a second crate uses it: a compaction built from the public
//! scan, writer and transaction (what `tarn-maintenance` does), its commit, and its races
//! with a delete and an update in both orders.
//!
//! The races are certain, not hoped for: the compaction's transaction is made from a snapshot
//! and committed after the other operation (compaction second), or the other operation is
//! held at its commit by a `GateStore` while the compaction commits (compaction first). The
//! rules (Spark's): a compaction conflicts only when one of its inputs was removed; a delete
//! or update conflicts when a file it read was compacted away. Whatever commits, the rows are
//! those of some serial order, and a transaction that gave up left no file behind.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use futures::TryStreamExt;
use serde_json::Value;
use tarn::protocol::conflict::ConflictReason;
use tarn::{CommitSummary, DataWriter, Expr, LogError, ReadSet, Snapshot, Table, WriterOptions};

use crate::common::gate_store::gated_table;
use crate::common::writes::{assert_no_stray_files, read_log};
use crate::common::{block_on, uri};

fn batch(rows: &[(i64, &str)]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("day", DataType::Utf8, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
        ],
    )
    .unwrap()
}

/// A table with two files in each of the partitions `a` and `b`.
async fn two_by_two(path: &std::path::Path) -> Table {
    let table = Table::open(uri(path)).await.unwrap();
    for rows in [[(1, "a"), (2, "b")], [(3, "a"), (4, "b")]] {
        table
            .write()
            .with_partition_columns(["day"])
            .execute_batches(vec![batch(&rows)])
            .await
            .unwrap();
    }
    table
}

async fn ids(table: &Table) -> Vec<i64> {
    let snapshot = table.snapshot().await.unwrap();
    let batches: Vec<RecordBatch> = snapshot
        .scan()
        .build()
        .await
        .unwrap()
        .execute()
        .try_collect()
        .await
        .unwrap();
    let mut ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("id")
                .unwrap()
                .as_primitive::<Int64Type>()
                .values()
                .to_vec()
        })
        .collect();
    ids.sort_unstable();
    ids
}

/// A compaction of partition `day` of `snapshot`, built on the public API only: read the
/// partition's files, write their rows as one file, remove the inputs and add the output,
/// all with `dataChange = false`. Returns the uncommitted transaction.
async fn compaction(snapshot: &Snapshot, day: &str) -> tarn::Transaction {
    let snapshot = snapshot.with_statistics().await.unwrap();
    let inputs: Vec<_> = snapshot
        .files()
        .iter()
        .filter(|f| {
            f.partition_values()
                .any(|(k, v)| k == "day" && v == Some(day))
        })
        .collect();
    assert_eq!(inputs.len(), 2, "two files to compact in {day}");
    let mut tx = snapshot
        .transaction("OPTIMIZE", ReadSet::files(inputs.iter().map(|f| f.path())))
        .unwrap();
    let scan = snapshot
        .scan()
        .with_filter(Expr::parse(&format!("day = '{day}'")).unwrap())
        .build()
        .await
        .unwrap();
    let batches: Vec<RecordBatch> = scan.execute().try_collect().await.unwrap();
    let mut writer = DataWriter::new(
        Arc::clone(snapshot.location()),
        snapshot.schema(),
        snapshot.partition_columns(),
        snapshot.properties(),
        WriterOptions::new(),
    )
    .unwrap();
    for batch in &batches {
        writer.write(batch).await.unwrap();
    }
    let output = writer.finish().await.unwrap();
    for file in &inputs {
        tx.remove_file(file, false);
    }
    for mut add in output.adds {
        add.data_change = false;
        tx.add_file(add);
    }
    tx.parameter("predicate", format!("[\"day = '{day}'\"]"));
    tx
}

fn conflict(result: tarn::Result<CommitSummary>) -> ConflictReason {
    match result {
        Err(tarn::Error::Log(LogError::CommitConflict { reason, .. })) => reason,
        other => panic!("expected a commit conflict, got {other:?}"),
    }
}

#[test]
fn a_compaction_built_on_the_public_api_changes_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let table = two_by_two(dir.path()).await;
        let before = table.snapshot().await.unwrap();
        let tx = compaction(&before, "a").await;
        assert_eq!(tx.written_files().len(), 1);
        let summary = tx.commit().await.unwrap();
        assert_eq!((summary.files_added, summary.files_removed), (1, 2));
        assert_eq!(ids(&table).await, [1, 2, 3, 4]);
        assert_eq!(table.snapshot().await.unwrap().num_files(), 3);
        let log = read_log(&tarn::TableLocation::parse(uri(dir.path())).unwrap()).await;
        let commit = &log[&2];
        let info = commit.iter().find_map(|a| a.get("commitInfo")).unwrap();
        assert_eq!(info["operation"], "OPTIMIZE");
        assert_eq!(info["isolationLevel"], "SnapshotIsolation");
        assert_eq!(info["isBlindAppend"], false);
        for action in commit
            .iter()
            .filter_map(|a| a.get("add").or(a.get("remove")))
        {
            assert_eq!(action["dataChange"], false, "{action}");
        }
        // Removes carry what the adds said: size, partition values, statistics.
        for remove in commit.iter().filter_map(|a| a.get("remove")) {
            assert!(remove["size"].as_i64().unwrap() > 0, "{remove}");
            assert_eq!(remove["partitionValues"]["day"], "a");
            let stats: Value = serde_json::from_str(remove["stats"].as_str().unwrap()).unwrap();
            assert_eq!(stats["numRecords"], 1);
        }
    });
}

#[test]
fn a_delete_that_commits_first_makes_a_compaction_of_its_files_conflict() {
    for (predicate, conflicts) in [("id = 1", true), ("id = 2", false)] {
        let dir = tempfile::tempdir().unwrap();
        block_on(async {
            let table = two_by_two(dir.path()).await;
            let read = table.snapshot().await.unwrap();
            let tx = compaction(&read, "a").await;
            table
                .delete()
                .with_predicate(Expr::parse(predicate).unwrap())
                .execute()
                .await
                .unwrap();
            let result = tx.commit().await;
            if conflicts {
                // The delete rewrote a file the compaction removes.
                assert!(
                    matches!(
                        conflict(result),
                        ConflictReason::ConcurrentDeleteDelete { .. }
                            | ConflictReason::ConcurrentDeleteRead { .. }
                    ),
                    "{predicate}"
                );
                assert_eq!(ids(&table).await, [2, 3, 4]);
            } else {
                result.unwrap();
                assert_eq!(ids(&table).await, [1, 3, 4]);
                assert_eq!(table.snapshot().await.unwrap().num_files(), 2);
            }
            assert_no_stray_files(dir.path(), predicate);
        });
    }
}

#[test]
fn a_compaction_that_commits_first_makes_a_delete_of_its_inputs_conflict() {
    for (predicate, conflicts) in [("id = 1", true), ("id = 2", false)] {
        let dir = tempfile::tempdir().unwrap();
        block_on(async {
            let table = two_by_two(dir.path()).await;
            let (gate, gated) = gated_table(uri(dir.path()));
            gate.arm();
            let predicate_expr = Expr::parse(predicate).unwrap();
            let delete = async {
                gated
                    .delete()
                    .with_predicate(predicate_expr)
                    .execute()
                    .await
            };
            let compact = async {
                gate.wait_reached().await;
                // The delete has read its snapshot and written its files; compact meanwhile.
                let read = table.snapshot().await.unwrap();
                let result = compaction(&read, "a").await.commit().await;
                gate.release();
                result
            };
            let (deleted, compacted) = futures::join!(delete, compact);
            compacted.unwrap();
            if conflicts {
                // The delete read (and rewrote) a file the compaction replaced: committing it
                // would bring back the compacted copy's rows or lose its own rewrite.
                assert!(
                    matches!(
                        conflict(deleted),
                        ConflictReason::ConcurrentDeleteRead { .. }
                            | ConflictReason::ConcurrentDeleteDelete { .. }
                    ),
                    "{predicate}"
                );
                assert_eq!(ids(&table).await, [1, 2, 3, 4]);
            } else {
                deleted.unwrap();
                assert_eq!(ids(&table).await, [1, 3, 4]);
            }
            assert_no_stray_files(dir.path(), predicate);
        });
    }
}

#[test]
fn an_update_and_a_compaction_race_in_both_orders() {
    // Update first: it rewrote a file of partition `a`; the compaction of `a` conflicts.
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let table = two_by_two(dir.path()).await;
        let read = table.snapshot().await.unwrap();
        let tx = compaction(&read, "a").await;
        table
            .update()
            .with_predicate(Expr::parse("id = 3").unwrap())
            .set_sql("id = 30")
            .unwrap()
            .execute()
            .await
            .unwrap();
        assert!(matches!(
            conflict(tx.commit().await),
            ConflictReason::ConcurrentDeleteDelete { .. }
                | ConflictReason::ConcurrentDeleteRead { .. }
        ));
        assert_eq!(ids(&table).await, [1, 2, 4, 30]);
        assert_no_stray_files(dir.path(), "update first");
    });
    // Compaction first: the update read a file that is gone; it conflicts, the table keeps
    // the compacted rows, and rerunning the update applies it.
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let table = two_by_two(dir.path()).await;
        let (gate, gated) = gated_table(uri(dir.path()));
        gate.arm();
        let update = async {
            gated
                .update()
                .with_predicate(Expr::parse("id = 3").unwrap())
                .set_sql("id = 30")
                .unwrap()
                .execute()
                .await
        };
        let compact = async {
            gate.wait_reached().await;
            let read = table.snapshot().await.unwrap();
            let result = compaction(&read, "a").await.commit().await;
            gate.release();
            result
        };
        let (updated, compacted) = futures::join!(update, compact);
        compacted.unwrap();
        assert!(matches!(
            conflict(updated),
            ConflictReason::ConcurrentDeleteRead { .. }
                | ConflictReason::ConcurrentDeleteDelete { .. }
        ));
        assert_eq!(ids(&table).await, [1, 2, 3, 4]);
        table
            .update()
            .with_predicate(Expr::parse("id = 3").unwrap())
            .set_sql("id = 30")
            .unwrap()
            .execute()
            .await
            .unwrap();
        assert_eq!(ids(&table).await, [1, 2, 4, 30]);
        assert_no_stray_files(dir.path(), "compaction first");
    });
}

#[test]
fn a_delete_commits_past_a_blind_append_at_write_serializable_but_not_at_serializable() {
    for (level, conflicts) in [("WriteSerializable", false), ("Serializable", true)] {
        let dir = tempfile::tempdir().unwrap();
        block_on(async {
            let table = Table::open(uri(dir.path())).await.unwrap();
            table
                .write()
                .with_property("delta.isolationLevel", level)
                .execute_batches(vec![batch(&[(1, "a"), (2, "a")])])
                .await
                .unwrap();
            let (gate, gated) = gated_table(uri(dir.path()));
            gate.arm();
            let delete = async {
                gated
                    .delete()
                    .with_predicate(Expr::parse("id > 1").unwrap())
                    .execute()
                    .await
            };
            let append = async {
                gate.wait_reached().await;
                // Rows the delete's predicate matches, blindly appended meanwhile.
                let result = table
                    .write()
                    .execute_batches(vec![batch(&[(5, "a")])])
                    .await;
                gate.release();
                result
            };
            let (deleted, appended) = futures::join!(delete, append);
            appended.unwrap();
            if conflicts {
                assert!(matches!(
                    conflict(deleted),
                    ConflictReason::ConcurrentAppend { .. }
                ));
                assert_eq!(ids(&table).await, [1, 2, 5]);
            } else {
                // Serial order: the delete, then the append.
                deleted.unwrap();
                assert_eq!(ids(&table).await, [1, 5]);
            }
            let log = read_log(&tarn::TableLocation::parse(uri(dir.path())).unwrap()).await;
            let last = log.values().last().unwrap();
            let info = last.iter().find_map(|a| a.get("commitInfo")).unwrap();
            if !conflicts {
                assert_eq!(info["operation"], "DELETE");
                assert_eq!(info["isolationLevel"], level);
            }
            assert_no_stray_files(dir.path(), level);
        });
    }
}

#[test]
fn domain_metadata_and_app_transactions_commit_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let table = two_by_two(dir.path()).await;
        let snapshot = table.snapshot().await.unwrap();
        let mut tx = snapshot
            .transaction("SET DOMAIN", ReadSet::Nothing)
            .unwrap();
        tx.set_domain_metadata("tarn.test", r#"{"k":1}"#);
        tx.set_app_transaction("job-7", 3);
        tx.metric("numThings", 7);
        tx.commit().await.unwrap();
        let latest = table.snapshot().await.unwrap();
        assert_eq!(
            latest.domain_metadata()["tarn.test"].configuration,
            r#"{"k":1}"#
        );
        assert_eq!(latest.txn_version("job-7"), Some(3));
        // Two writers of one domain that read the same version cannot both commit; a domain
        // written meanwhile under another name does not get in the way.
        let mut a = snapshot.transaction("A", ReadSet::Nothing).unwrap();
        a.set_domain_metadata("tarn.other", "1");
        let mut b = snapshot.transaction("B", ReadSet::Nothing).unwrap();
        b.set_domain_metadata("tarn.other", "2");
        a.commit().await.unwrap();
        assert!(matches!(
            conflict(b.commit().await),
            ConflictReason::ConcurrentDomainUpdate { .. }
        ));
    });
}
