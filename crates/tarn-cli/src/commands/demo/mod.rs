//! `tarn demo`: a guided tour that builds a real table and shows what tarn does with it.
//!
//! It creates a table partitioned by day, has several writers append generated events
//! concurrently (each with its own [`Table`] handle and idempotent transaction ids), deletes
//! and updates rows, writes a checkpoint, appends late events in small commits and compacts
//! the small files they leave ([`compaction`]), and reads the history, earlier versions and a
//! pruned scan back. Every count it prints is checked against what the generator produced;
//! a mismatch fails the demo ([`CliError::DemoCheck`]). The directory rules that keep it
//! from touching user data are in [`dir`].

mod archive;
mod compaction;
mod dir;
mod events;
mod invocation;
mod maintenance;
mod report;

use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use clap::Args;
use futures::StreamExt;
use tarn::{CommitSummary, Table};

use super::parse_filter;
use crate::CliError;
use events::{PROBE_DAY, PROBE_KIND, Tally};
use report::{DemoReport, HistoryRun, VersionCount, WriterRun};

/// Concurrent writers.
const WRITERS: u64 = 4;
/// Commits per writer.
const BATCHES: u64 = 5;
/// Events per commit.
const ROWS_PER_BATCH: usize = 400;
/// The demo's delete and update.
const DELETE_PREDICATE: &str = "kind = 'test'";
const UPDATE_ASSIGNMENT: &str = "amount = amount * 2";
const UPDATE_PREDICATE: &str = "kind = 'refund'";
/// Commits between automatic checkpoints.
const CHECKPOINT_INTERVAL: &str = "10";
/// A CHECK constraint the table carries; every write is checked against it.
const CONSTRAINT: (&str, &str) = ("amount_not_negative", "amount >= 0");

/// The arguments of `tarn demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Directory for the demo table (created if absent). It must be new, empty, or a
    /// previous demo's, whose table is then replaced; nothing else in it is touched.
    #[arg(value_name = "DIR", default_value = "tarn-demo")]
    dir: PathBuf,
    /// Print one JSON summary object instead of the step-by-step text.
    #[arg(long)]
    json: bool,
}

/// Runs `tarn demo`.
pub(crate) async fn run(args: &DemoArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let prepared = dir::prepare(&args.dir)?;
    let table_path = args.dir.join(dir::TABLE_DIR);
    let uri = path_str(&table_path)?;
    let mut report = DemoReport::new(&args.dir, &table_path, prepared, args.json);
    report.begin()?;

    let table = Table::open(&uri).await?;
    let created = table
        .create()
        .with_schema(events::table_schema())
        .partition_by(["day"])
        .with_property(format!("delta.constraints.{}", CONSTRAINT.0), CONSTRAINT.1)
        .with_property("delta.checkpointInterval", CHECKPOINT_INTERVAL)
        .execute()
        .await?;
    report.created(created.version.unwrap_or(0), CONSTRAINT.1)?;

    // Writers, concurrently: each on its own thread with its own runtime and its own handle
    // on the table, as separate processes would be. (Not tokio tasks: the library's write
    // futures are not `Send` in the form `tokio::spawn` requires.)
    let handles: Vec<_> = (1..=WRITERS)
        .map(|writer| {
            let uri = uri.clone();
            tokio::task::spawn_blocking(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(CliError::Runtime)?;
                runtime.block_on(run_writer(&uri, writer))
            })
        })
        .collect();
    let mut runs: Vec<WriterRun> = Vec::new();
    for handle in handles {
        let run = handle.await.map_err(|e| CliError::DemoCheck {
            step: "concurrent writes",
            expected: "every writer to finish".to_owned(),
            found: format!("a writer thread failed: {e}"),
        })??;
        runs.push(run);
    }
    runs.sort_by_key(|r| r.writer);
    let mut expected = Tally::default();
    for run in &runs {
        expected.add(&run.tally);
    }
    let mut versions: Vec<u64> = runs.iter().flat_map(|r| r.versions.clone()).collect();
    versions.sort_unstable();
    let wanted: Vec<u64> = (1..=WRITERS * BATCHES).collect();
    check(
        "concurrent writes",
        &format!("versions {wanted:?}"),
        versions == wanted,
        || format!("versions {versions:?}"),
    )?;
    let after_writes = *versions.last().unwrap_or(&0);
    let (rows, _) = count_rows(&table, Some(after_writes)).await?;
    check_eq("concurrent writes", expected.rows, rows)?;

    // Replaying a batch with the same transaction id commits nothing.
    let (batch, _) = events::generate(1, 1, ROWS_PER_BATCH);
    let replay = table
        .write()
        .with_txn(writer_app_id(1), 1)
        .execute_batches(vec![batch])
        .await?;
    check(
        "idempotent replay",
        "nothing committed",
        replay.version.is_none(),
        || format!("version {:?}", replay.version),
    )?;
    report.wrote(&runs, expected.rows, rows, replay.version.is_none())?;

    let deleted = table
        .delete()
        .with_predicate(parse_filter(DELETE_PREDICATE)?)
        .execute()
        .await?;
    check_eq("delete", expected.tests, deleted.rows_deleted)?;
    report.deleted(DELETE_PREDICATE, &deleted)?;

    let (_, refunds_before) = count_rows(&table, None).await?;
    let updated = table
        .update()
        .set_sql(UPDATE_ASSIGNMENT)?
        .with_predicate(parse_filter(UPDATE_PREDICATE)?)
        .execute()
        .await?;
    check_eq("update", expected.refunds, updated.rows_updated)?;
    report.updated(UPDATE_ASSIGNMENT, UPDATE_PREDICATE, &updated)?;

    let checkpoint = table.checkpoint().execute().await?;
    report.checkpointed(&checkpoint)?;

    let delete_version = deleted.version.unwrap_or(after_writes);
    let update_version = updated.version.unwrap_or(delete_version);
    let (compacted, late) = compaction::run(
        &table,
        expected.rows - expected.tests,
        expected.probe_user_rows - expected.probe_user_tests,
    )
    .await?;
    report.compacted(&compacted)?;
    let final_version = compacted.version();
    let before_compaction = compacted
        .append_versions
        .last()
        .copied()
        .unwrap_or(update_version);

    let history = history_runs(&table).await?;
    report.history(&history)?;

    let mut travel = Vec::new();
    for (version, label) in [
        (0, "created"),
        (after_writes, "after the concurrent writes"),
        (delete_version, "after the delete"),
        (update_version, "after the update"),
        (before_compaction, "after the late appends"),
        (final_version, "after the compaction"),
    ] {
        let (rows, refund_cents) = count_rows(&table, Some(version)).await?;
        travel.push(VersionCount {
            version,
            label,
            rows,
            refund_cents,
        });
    }
    check_eq("time travel", expected.refund_cents, refunds_before)?;
    check_eq(
        "time travel",
        expected.rows - expected.tests,
        travel[3].rows,
    )?;
    check_eq(
        "time travel",
        2 * expected.refund_cents,
        travel[3].refund_cents,
    )?;
    check_eq("time travel", compacted.rows, travel[4].rows)?;
    check_eq(
        "time travel",
        2 * expected.refund_cents + late.refund_cents,
        travel[4].refund_cents,
    )?;
    check_eq("time travel", travel[4].rows, travel[5].rows)?;
    check_eq(
        "time travel",
        travel[4].refund_cents,
        travel[5].refund_cents,
    )?;
    report.time_travel(&travel)?;

    let probe = probe_scan(&table).await?;
    check_eq(
        "pruned scan",
        expected.probe_rows + late.probe_rows,
        probe.rows,
    )?;
    report.scan(&probe)?;

    let removed = deleted.files_removed + updated.files_removed + compacted.files_removed;
    let maintained = maintenance::run(&table, removed).await?;
    report.maintained(&maintained)?;

    let archive_path = args.dir.join(dir::ARCHIVE_DIR);
    let archived = archive::run(&table, &path_str(&archive_path)?).await?;
    report.archived(&archived)?;

    report.finish(archived.version(), started.elapsed())
}

/// One writer: [`BATCHES`] commits of generated events, each with its own txn version.
async fn run_writer(uri: &str, writer: u64) -> Result<WriterRun, CliError> {
    let table = Table::open(uri).await?;
    let mut run = WriterRun {
        writer,
        versions: Vec::new(),
        retries: 0,
        checkpoints: Vec::new(),
        tally: Tally::default(),
    };
    for batch_number in 1..=BATCHES {
        let (batch, tally) = events::generate(writer, batch_number, ROWS_PER_BATCH);
        let summary: CommitSummary = table
            .write()
            .with_txn(
                writer_app_id(writer),
                i64::try_from(batch_number).unwrap_or(0),
            )
            .execute_batches(vec![batch])
            .await?;
        let version = summary.version.ok_or_else(|| CliError::DemoCheck {
            step: "concurrent writes",
            expected: format!("writer {writer} batch {batch_number} to commit"),
            found: "nothing committed".to_owned(),
        })?;
        run.versions.push(version);
        run.retries += u64::from(summary.attempts.saturating_sub(1));
        if summary.checkpoint_written {
            run.checkpoints.push(version);
        }
        run.tally.add(&tally);
    }
    Ok(run)
}

fn writer_app_id(writer: u64) -> String {
    format!("tarn-demo-writer-{writer}")
}

fn path_str(path: &Path) -> Result<String, CliError> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| CliError::DemoDirectory {
            path: path.display().to_string(),
            reason: "the path is not valid UTF-8".to_owned(),
        })
}

fn check(
    step: &'static str,
    expected: &str,
    ok: bool,
    found: impl FnOnce() -> String,
) -> Result<(), CliError> {
    if ok {
        Ok(())
    } else {
        Err(CliError::DemoCheck {
            step,
            expected: expected.to_owned(),
            found: found(),
        })
    }
}

fn check_eq<T: PartialEq + std::fmt::Display>(
    step: &'static str,
    expected: T,
    found: T,
) -> Result<(), CliError> {
    let ok = expected == found;
    check(step, &expected.to_string(), ok, || found.to_string())
}

/// Rows and the refunds' total in cents at a version (latest when `None`), by a full scan.
async fn count_rows(table: &Table, version: Option<u64>) -> Result<(u64, i64), CliError> {
    let snapshot = match version {
        Some(v) => table.snapshot_at_version(v).await?,
        None => table.snapshot().await?,
    };
    let scan = snapshot
        .scan()
        .with_columns(["kind", "amount"])
        .build()
        .await?;
    let mut stream = scan.execute();
    let (mut rows, mut cents) = (0u64, 0i64);
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        rows += u64::try_from(batch.num_rows()).unwrap_or(0);
        let kinds = batch.column(0).as_string::<i32>();
        let amounts = batch.column(1).as_primitive::<Float64Type>();
        for i in 0..batch.num_rows() {
            if kinds.is_valid(i) && kinds.value(i) == "refund" && amounts.is_valid(i) {
                cents += (amounts.value(i) * 100.0).round() as i64;
            }
        }
    }
    Ok((rows, cents))
}

/// What the pruned scan read.
#[derive(Debug)]
pub(crate) struct ProbeScan {
    pub(crate) predicate: String,
    pub(crate) files_total: u64,
    pub(crate) files_pruned_by_partition: u64,
    pub(crate) files_pruned_by_stats: u64,
    pub(crate) files_read: u64,
    pub(crate) rows: u64,
}

async fn probe_scan(table: &Table) -> Result<ProbeScan, CliError> {
    let predicate = format!("day = DATE '{PROBE_DAY}' AND kind = '{PROBE_KIND}'");
    let snapshot = table.snapshot().await?;
    let scan = snapshot
        .scan()
        .with_filter(parse_filter(&predicate)?)
        .build()
        .await?;
    let files_read = u64::try_from(scan.files().len()).unwrap_or(0);
    let metrics = scan.metrics();
    let mut stream = scan.execute();
    let mut rows = 0u64;
    while let Some(batch) = stream.next().await {
        rows += u64::try_from(batch?.num_rows()).unwrap_or(0);
    }
    let counters = metrics.snapshot();
    Ok(ProbeScan {
        predicate,
        files_total: counters.files_total,
        files_pruned_by_partition: counters.files_pruned_by_partition,
        files_pruned_by_stats: counters.files_pruned_by_stats,
        files_read,
        rows,
    })
}

/// The history, oldest first, with runs of the same operation grouped.
async fn history_runs(table: &Table) -> Result<Vec<HistoryRun>, CliError> {
    let mut entries = table.history(None).await?;
    entries.reverse();
    let mut runs: Vec<HistoryRun> = Vec::new();
    for (expected_version, entry) in (0u64..).zip(entries) {
        check_eq("history", expected_version, entry.version)?;
        let info = entry.commit_info.as_ref();
        let operation = info
            .and_then(|i| i.operation.clone())
            .unwrap_or_else(|| "-".to_owned());
        let metric = |key: &str| {
            info.and_then(|i| i.operation_metrics.as_ref())
                .and_then(|m| m.get(key))
                .and_then(|v| {
                    v.as_str()
                        .and_then(|s| s.parse::<u64>().ok())
                        .or(v.as_u64())
                })
                .unwrap_or(0)
        };
        let rows = match operation.as_str() {
            "DELETE" => metric("numDeletedRows"),
            "UPDATE" => metric("numUpdatedRows"),
            _ => metric("numOutputRows"),
        };
        match runs.last_mut() {
            Some(run) if run.operation == operation => {
                run.last_version = entry.version;
                run.commits += 1;
                run.rows += rows;
            }
            _ => runs.push(HistoryRun {
                first_version: entry.version,
                last_version: entry.version,
                operation,
                commits: 1,
                rows,
            }),
        }
    }
    Ok(runs)
}
