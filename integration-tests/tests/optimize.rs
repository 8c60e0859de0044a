//! Compaction (`tarn_maintenance::optimize`): small files become few, every row stays exactly
//! once, delta-rs reads the same rows, memory stays within the budget whatever a partition's
//! size, and a compaction runs beside appenders and deleters without losing a row: a bin
//! whose input a concurrent writer removed is skipped, never the whole job.

use std::collections::{BTreeMap, HashSet};
use std::process::{Command, Stdio};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use tarn::{Expr, Table};
use tarn_maintenance::optimize::Optimize;

use crate::common::gate_store::gated_table;
use crate::common::python::{assert_rows_eq, canonical_rows, read_with_delta_rs, rows_of};
use crate::common::writes::{assert_no_stray_files, read_log, scan_batches};
use crate::common::{block_on, streaming_writer, uri};

fn batch(ids: std::ops::Range<i64>, day: &str) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("day", DataType::Utf8, false),
        Field::new("payload", DataType::Utf8, true),
    ]));
    let n = ids.end - ids.start;
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(ids.clone())),
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|_| day.to_owned()),
            )),
            Arc::new(StringArray::from_iter_values(ids.map(|i| {
                format!("payload-{i}-{}", "x".repeat((i % 17) as usize))
            }))),
        ],
    )
    .unwrap()
}

/// A table of `files` appends of `rows` rows each, spread over `days` partitions.
async fn small_files(path: &std::path::Path, days: usize, files: usize, rows: i64) -> Table {
    let table = Table::open(uri(path)).await.unwrap();
    for f in 0..files {
        let day = format!("2026-01-{:02}", 1 + f % days);
        let first = i64::try_from(f).unwrap() * rows;
        table
            .write()
            .with_partition_columns(["day"])
            .execute_batches(vec![batch(first..first + rows, &day)])
            .await
            .unwrap();
    }
    table
}

async fn ids(table: &Table) -> Vec<i64> {
    let mut ids: Vec<i64> = scan_batches(table, None)
        .await
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

/// Files per partition value of `day`.
async fn files_per_day(table: &Table) -> BTreeMap<String, usize> {
    let snapshot = table.snapshot().await.unwrap();
    let mut out = BTreeMap::new();
    for file in snapshot.files().iter() {
        let day = file.partition_value("day").flatten().unwrap().to_owned();
        *out.entry(day).or_default() += 1;
    }
    out
}

#[test]
fn compaction_packs_small_files_and_keeps_every_row() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let table = small_files(dir.path(), 5, 50, 20).await;
        assert!(files_per_day(&table).await.values().all(|n| *n == 10));
        let before = canonical_rows(&scan_batches(&table, None).await);
        let optimize = Optimize::new(table.clone());
        let plan = optimize.plan().await.unwrap();
        assert_eq!(plan.bins.len(), 5);
        assert_eq!(plan.files_to_rewrite(), 50);
        let metrics = optimize.execute_plan(plan).await.unwrap();
        assert_eq!((metrics.files_removed, metrics.files_added), (50, 5));
        assert_eq!(metrics.bins_committed, 5);
        assert_eq!(metrics.partitions_optimized, 5);
        assert_eq!(metrics.rows, 1000);
        assert!(files_per_day(&table).await.values().all(|n| *n == 1));
        // The same rows, to tarn and to delta-rs.
        let after = canonical_rows(&scan_batches(&table, None).await);
        assert_eq!(after, before);
        let delta_rs = read_with_delta_rs(uri(dir.path()), None);
        assert_rows_eq(
            &rows_of(&delta_rs),
            &before,
            "delta-rs after the compaction",
        );
        // One commit (everything fits the default batch), data unchanged.
        let log = read_log(table.location()).await;
        let last = &log[&50];
        let info = last.iter().find_map(|a| a.get("commitInfo")).unwrap();
        assert_eq!(info["operation"], "OPTIMIZE");
        assert_eq!(info["isolationLevel"], "SnapshotIsolation");
        for action in last.iter().filter_map(|a| a.get("add").or(a.get("remove"))) {
            assert_eq!(action["dataChange"], false);
        }
        // Nothing left to gain.
        assert!(
            Optimize::new(table.clone())
                .plan()
                .await
                .unwrap()
                .is_empty()
        );
        assert_no_stray_files(dir.path(), "after the compaction");
    });
}

#[test]
fn a_partition_four_times_the_memory_budget_compacts_under_it() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        // One partition of 40 files; the budget is a quarter of its bytes.
        let table = small_files(dir.path(), 1, 40, 2_000).await;
        let snapshot = table.snapshot().await.unwrap();
        let bytes = snapshot.files().total_size();
        // Everything fits one output file; the memory budget is a quarter of the partition.
        let metrics = Optimize::new(table.clone())
            .with_target_size(bytes)
            .with_memory_budget(bytes / 4)
            .with_concurrency(1)
            .execute()
            .await
            .unwrap();
        assert_eq!(metrics.rows, 80_000);
        assert_eq!(metrics.bins_committed, 1, "{metrics:?}");
        let expected: Vec<i64> = (0..80_000).collect();
        assert_eq!(ids(&table).await, expected);
        let latest = table.snapshot().await.unwrap();
        let sizes: Vec<i64> = latest.files().iter().map(|f| f.size()).collect();
        assert!(
            latest.num_files() <= 4,
            "{} files of sizes {sizes:?}; input {bytes} bytes; {metrics:?}",
            latest.num_files()
        );
        assert_no_stray_files(dir.path(), "after the compaction");
    });
}

#[test]
fn a_concurrent_delete_of_an_input_skips_that_bin_and_the_rest_commits() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let table = small_files(dir.path(), 2, 8, 10).await;
        let (gate, gated) = gated_table(uri(dir.path()));
        gate.arm();
        let optimize = async { Optimize::new(gated).execute().await };
        let delete = async {
            gate.wait_reached().await;
            // A row of the first day's files goes while the compaction holds its commit.
            let result = table
                .delete()
                .with_predicate(Expr::parse("id = 0").unwrap())
                .execute()
                .await;
            gate.release();
            result
        };
        let (optimized, deleted) = futures::join!(optimize, delete);
        deleted.unwrap();
        let metrics = optimized.unwrap();
        assert_eq!(metrics.commit_retries, 1, "{metrics:?}");
        assert_eq!(metrics.bins_skipped, 1, "{metrics:?}");
        assert_eq!(metrics.bins_committed, 1, "{metrics:?}");
        let expected: Vec<i64> = (1..80).collect();
        assert_eq!(ids(&table).await, expected);
        let files = files_per_day(&table).await;
        assert_eq!(files["2026-01-02"], 1, "{files:?}");
        assert!(files["2026-01-01"] > 1, "{files:?}");
        assert_no_stray_files(dir.path(), "after the race");
    });
}

#[test]
fn compaction_beside_four_writer_processes_loses_and_duplicates_nothing() {
    const WRITERS: usize = 4;
    const BATCHES: usize = 15;
    const ROWS: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_owned();
    let binary = streaming_writer();
    // The table exists before the writers start, so that compaction has something to plan.
    block_on(async {
        let table = Table::open(&path).await.unwrap();
        let schema = Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("day", DataType::Utf8, false),
            Field::new("sequence", DataType::Int64, false),
            Field::new("value", DataType::Int64, true),
        ]);
        table
            .create()
            .with_arrow_schema(&schema)
            .unwrap()
            .partition_by(["day"])
            .execute()
            .await
            .unwrap();
    });
    let mut children: Vec<_> = (0..WRITERS)
        .map(|k| {
            Command::new(&binary)
                .args([
                    path.clone(),
                    format!("writer-{k}"),
                    BATCHES.to_string(),
                    ROWS.to_string(),
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut runs: Vec<tarn_maintenance::optimize::OptimizeMetrics> = Vec::new();
    block_on(async {
        let table = Table::open(&path).await.unwrap();
        // Compact over and over while the writers append.
        while children.iter_mut().any(|c| c.try_wait().unwrap().is_none()) {
            let metrics = Optimize::new(table.clone())
                .with_commit_bytes(1)
                .execute()
                .await
                .expect("a compaction beside appenders never fails");
            runs.push(metrics);
        }
        runs.push(Optimize::new(table.clone()).execute().await.unwrap());
    });
    for (k, child) in children.into_iter().enumerate() {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "writer-{k}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    block_on(async {
        let table = Table::open(&path).await.unwrap();
        let snapshot = table.snapshot().await.unwrap();
        // Every append landed, once.
        for k in 0..WRITERS {
            assert_eq!(
                snapshot.txn_version(&format!("writer-{k}")),
                Some(i64::try_from(BATCHES).unwrap() - 1)
            );
        }
        let batches = scan_batches(&table, None).await;
        let mut seen = HashSet::new();
        for batch in &batches {
            for id in batch
                .column_by_name("id")
                .unwrap()
                .as_string::<i32>()
                .iter()
            {
                assert!(seen.insert(id.unwrap().to_owned()), "row {id:?} twice");
            }
        }
        assert_eq!(seen.len(), WRITERS * BATCHES * ROWS);
        // Every compaction commit changed no data; the last run left one file per day.
        let log = read_log(table.location()).await;
        let compactions = log
            .values()
            .filter(|actions| {
                actions.iter().any(|a| {
                    a.get("commitInfo")
                        .is_some_and(|i| i["operation"] == "OPTIMIZE")
                })
            })
            .count();
        assert!(compactions >= 1);
        assert_eq!(
            snapshot.num_files(),
            3,
            "one file per day after the last run"
        );
        let delta_rs = read_with_delta_rs(&path, None);
        assert_rows_eq(
            &rows_of(&delta_rs),
            &canonical_rows(&batches),
            "delta-rs after compacting beside writers",
        );
        let committed: usize = runs.iter().map(|m| m.bins_committed).sum();
        let skipped: usize = runs.iter().map(|m| m.bins_skipped).sum();
        let retries: usize = runs.iter().map(|m| m.commit_retries).sum();
        eprintln!(
            "{} compaction runs beside {WRITERS} writers: {compactions} commits, {committed} \
             bins committed, {skipped} skipped, {retries} commits retried",
            runs.len()
        );
    });
    assert_no_stray_files(dir.path(), "after compacting beside writers");
}

#[test]
fn the_filter_is_recorded_as_json_whatever_its_quotes() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let table = small_files(dir.path(), 2, 6, 5).await;
        let filter = r#"day = '2026-01-01' OR payload = 'a "quoted" \ value'"#;
        let metrics = Optimize::new(table.clone())
            .with_filter(Expr::parse(filter).unwrap())
            .execute()
            .await
            .unwrap();
        let version = *metrics.versions.last().unwrap();
        let log = read_log(table.location()).await;
        let info = log[&version]
            .iter()
            .find_map(|action| action.get("commitInfo"))
            .unwrap();
        let text = info["operationParameters"]["predicate"].as_str().unwrap();
        let predicate: Vec<String> = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("predicate {text:?} is not a JSON list: {e}"));
        let recorded = Expr::parse(&predicate[0]).unwrap();
        assert_eq!(
            recorded.to_string(),
            Expr::parse(filter).unwrap().to_string()
        );
    });
}

#[test]
fn a_table_that_becomes_unwritable_mid_run_keeps_no_rewritten_file() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let table = small_files(dir.path(), 2, 8, 10).await;
        let before = ids(&table).await;
        let (gate, gated) = gated_table(uri(dir.path()));
        gate.arm();
        let optimize = async { Optimize::new(gated).execute().await };
        let upgrade = async {
            gate.wait_reached().await;
            // While the compaction holds its commit, another engine moves the table to a
            // writer feature tarn does not support.
            let version = table.snapshot().await.unwrap().version() + 1;
            let commit = dir.path().join(format!("_delta_log/{version:020}.json"));
            std::fs::write(
                commit,
                concat!(
                    r#"{"protocol":{"minReaderVersion":1,"minWriterVersion":7,"writerFeatures":["appendOnly","featureFromTheFuture"]}}"#,
                    "\n"
                ),
            )
            .unwrap();
            gate.release();
        };
        let (optimized, ()) = futures::join!(optimize, upgrade);
        assert!(optimized.is_err(), "{optimized:?}");
        assert_no_stray_files(dir.path(), "after the failed compaction");
        assert_eq!(files_per_day(&table).await.values().sum::<usize>(), 8);
        assert_eq!(ids(&table).await, before);
    });
}
