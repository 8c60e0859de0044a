//! The demo's compaction step: late events arrive in small appends, so every day holds many
//! small files; then the table is compacted and sorted by `user_id` through
//! [`tarn_maintenance::optimize::Optimize`], the code `tarn optimize` runs, and a range scan
//! on `user_id` is run before and after.
//!
//! What is checked: the plan rewrites every file of every day (sorting rewrites whole
//! partitions), the compaction commits exactly the plan (no bin skipped: nothing else writes),
//! the file count drops by what it removed and added, every row is still there exactly once
//! (the same multiset before and after, and the count the generator predicts), each day's
//! files cover disjoint `user_id` ranges (what sorting promises), and the range scan returns
//! the same rows, as many as the generator predicts, from fewer files.

use arrow_array::RecordBatch;
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use futures::StreamExt;
use tarn::Table;
use tarn_maintenance::optimize::Optimize;

use super::events::{self, DAYS, PROBE_USERS, Tally};
use super::{WRITERS, check, check_eq};
use crate::CliError;
use crate::commands::parse_filter;

/// Late appends, one after another.
pub(crate) const LATE_APPENDS: u64 = 10;
/// Events per late append: about 20 per day, so each append adds a tiny file to every day.
pub(crate) const LATE_ROWS: usize = 100;
/// The column the compaction sorts each day by.
pub(crate) const SORT_COLUMN: &str = "user_id";
/// The size the compaction writes files at. Small, so that this small table gets several
/// files per day (a day's ~1,700 rows encode to ~25 KiB; files roll between slices of at
/// least 1,024 rows) and the sort has something to prune; a real table keeps the default
/// (`delta.targetFileSize`, else 128 MiB).
pub(crate) const TARGET_SIZE: u64 = 8 * 1024;

/// A scan of the users `1..=PROBE_USERS`.
#[derive(Debug)]
pub(crate) struct RangeScan {
    pub(crate) files_total: u64,
    pub(crate) files_read: u64,
    pub(crate) files_pruned_by_stats: u64,
    pub(crate) rows: u64,
}

/// What the step did, every number checked.
#[derive(Debug)]
pub(crate) struct Compaction {
    pub(crate) append_versions: Vec<u64>,
    pub(crate) rows_appended: u64,
    pub(crate) files_before: u64,
    pub(crate) plan_version: u64,
    pub(crate) plan_files: u64,
    pub(crate) plan_bins: u64,
    pub(crate) plan_partitions: u64,
    pub(crate) files_removed: u64,
    pub(crate) files_added: u64,
    pub(crate) files_after: u64,
    pub(crate) versions: Vec<u64>,
    pub(crate) rows: u64,
    pub(crate) predicate: String,
    pub(crate) scan_before: RangeScan,
    pub(crate) scan_after: RangeScan,
}

impl Compaction {
    /// The table's version after the step.
    pub(crate) fn version(&self) -> u64 {
        self.versions
            .last()
            .or(self.append_versions.last())
            .copied()
            .unwrap_or(0)
    }
}

/// The range predicate the step scans with.
pub(crate) fn predicate() -> String {
    format!("{SORT_COLUMN} BETWEEN 1 AND {PROBE_USERS}")
}

/// Runs the step on the demo table; `expected` is the tally of the rows the table holds
/// before it, `probe_users` how many of them belong to users `1..=PROBE_USERS`.
pub(crate) async fn run(
    table: &Table,
    expected_rows: u64,
    probe_users: u64,
) -> Result<(Compaction, Tally), CliError> {
    const STEP: &str = "compaction";
    let mut late = Tally::default();
    let mut append_versions = Vec::new();
    for batch_number in 1..=LATE_APPENDS {
        let (batch, tally) = events::generate(WRITERS + 1, batch_number, LATE_ROWS);
        let summary = table.write().execute_batches(vec![batch]).await?;
        let version = summary.version.ok_or_else(|| CliError::DemoCheck {
            step: STEP,
            expected: format!("late append {batch_number} to commit"),
            found: "nothing committed".to_owned(),
        })?;
        append_versions.push(version);
        late.add(&tally);
    }
    let rows_expected = expected_rows + late.rows;
    let probe_expected = probe_users + late.probe_user_rows;
    let predicate = predicate();

    let before = table.snapshot().await?;
    let files_before = u64::try_from(before.num_files()).unwrap_or(0);
    let rows_before = all_rows(&before).await?;
    check_eq(STEP, rows_expected, rows_before.len() as u64)?;
    let (scan_before, matched_before) = range_scan(&before, &predicate).await?;
    check_eq(STEP, probe_expected, scan_before.rows)?;

    let optimize = Optimize::new(table.clone())
        .with_sort_by([SORT_COLUMN])
        .with_target_size(TARGET_SIZE);
    let plan = optimize.plan().await?;
    let plan_files = u64::try_from(plan.files_to_rewrite()).unwrap_or(0);
    let plan_bins = u64::try_from(plan.bins.len()).unwrap_or(0);
    let plan_partitions = u64::try_from(plan.partitions_to_rewrite()).unwrap_or(0);
    // Every day has many files: sorting rewrites all of them.
    check(
        STEP,
        &format!(
            "a plan rewriting all {files_before} files of {} days",
            DAYS.len()
        ),
        plan_files == files_before && plan_partitions == DAYS.len() as u64,
        || format!("{plan_files} files of {plan_partitions} days"),
    )?;
    let metrics = optimize.execute_plan(plan.clone()).await?;
    check(
        STEP,
        &format!("{plan_bins} bins committed, none skipped, {plan_files} files removed"),
        metrics.bins_committed as u64 == plan_bins
            && metrics.bins_skipped == 0
            && metrics.files_removed == plan_files,
        || format!("{metrics:?}"),
    )?;

    let after = table.snapshot().await?;
    let files_after = u64::try_from(after.num_files()).unwrap_or(0);
    check_eq(
        STEP,
        files_before - metrics.files_removed + metrics.files_added,
        files_after,
    )?;
    check(
        STEP,
        &format!("fewer than {files_before} files"),
        files_after < files_before,
        || files_after.to_string(),
    )?;
    check(
        STEP,
        "the same rows after the compaction",
        all_rows(&after).await? == rows_before,
        || "other rows".to_owned(),
    )?;
    check_sorted_days(&after.with_statistics().await?)?;
    let (scan_after, matched_after) = range_scan(&after, &predicate).await?;
    check(
        STEP,
        "the range scan to return the same rows",
        matched_after == matched_before,
        || format!("{} rows, some of them others", matched_after.len()),
    )?;
    check(
        STEP,
        &format!(
            "fewer files read than the {} before",
            scan_before.files_read
        ),
        scan_after.files_read < scan_before.files_read,
        || scan_after.files_read.to_string(),
    )?;
    check(
        STEP,
        "the sorted files to let the range scan skip some",
        scan_after.files_read < scan_after.files_total,
        || {
            format!(
                "{} of {} read",
                scan_after.files_read, scan_after.files_total
            )
        },
    )?;
    Ok((
        Compaction {
            append_versions,
            rows_appended: late.rows,
            files_before,
            plan_version: plan.version,
            plan_files,
            plan_bins,
            plan_partitions,
            files_removed: metrics.files_removed,
            files_added: metrics.files_added,
            files_after,
            versions: metrics.versions,
            rows: rows_expected,
            predicate,
            scan_before,
            scan_after,
        },
        late,
    ))
}

/// Every row of a snapshot as text (one string per row, all columns), sorted: the table's
/// row multiset.
async fn all_rows(snapshot: &tarn::Snapshot) -> Result<Vec<String>, CliError> {
    let scan = snapshot.scan().build().await?;
    let mut rows = Vec::new();
    let mut stream = scan.execute();
    while let Some(batch) = stream.next().await {
        push_rows(&batch?, &mut rows)?;
    }
    rows.sort_unstable();
    Ok(rows)
}

fn push_rows(batch: &RecordBatch, rows: &mut Vec<String>) -> Result<(), CliError> {
    let options = FormatOptions::default().with_null("NULL");
    let formatters = batch
        .columns()
        .iter()
        .map(|column| ArrayFormatter::try_new(column.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::Output(e.to_string()))?;
    for row in 0..batch.num_rows() {
        let text: Vec<String> = formatters
            .iter()
            .map(|f| f.value(row).to_string())
            .collect();
        rows.push(text.join("|"));
    }
    Ok(())
}

/// The scan of `predicate`: what it planned, and its rows (as [`all_rows`] renders them).
async fn range_scan(
    snapshot: &tarn::Snapshot,
    predicate: &str,
) -> Result<(RangeScan, Vec<String>), CliError> {
    let scan = snapshot
        .scan()
        .with_filter(parse_filter(predicate)?)
        .build()
        .await?;
    let files_read = u64::try_from(scan.files().len()).unwrap_or(0);
    let metrics = scan.metrics();
    let mut rows = Vec::new();
    let mut stream = scan.execute();
    while let Some(batch) = stream.next().await {
        push_rows(&batch?, &mut rows)?;
    }
    rows.sort_unstable();
    let counters = metrics.snapshot();
    Ok((
        RangeScan {
            files_total: counters.files_total,
            files_read,
            files_pruned_by_stats: counters.files_pruned_by_stats,
            rows: rows.len() as u64,
        },
        rows,
    ))
}

/// Sorting promises that the files of each day hold disjoint `user_id` ranges (touching at
/// most at a value split between two files): checked on the files' statistics.
fn check_sorted_days(snapshot: &tarn::Snapshot) -> Result<(), CliError> {
    let mut ranges: std::collections::BTreeMap<String, Vec<(i64, i64)>> = Default::default();
    for file in snapshot.files().iter() {
        let day = file
            .partition_value("day")
            .flatten()
            .unwrap_or_default()
            .to_owned();
        let stats: Option<serde_json::Value> =
            file.stats().and_then(|s| serde_json::from_str(s).ok());
        let bound = |key: &str| stats.as_ref().and_then(|s| s[key][SORT_COLUMN].as_i64());
        let (Some(min), Some(max)) = (bound("minValues"), bound("maxValues")) else {
            return Err(CliError::DemoCheck {
                step: "compaction",
                expected: format!("{SORT_COLUMN} statistics in every file"),
                found: format!("a file of {day} without them"),
            });
        };
        ranges.entry(day).or_default().push((min, max));
    }
    for (day, mut files) in ranges {
        files.sort_unstable();
        for pair in files.windows(2) {
            check(
                "compaction",
                &format!("the files of {day} to hold disjoint {SORT_COLUMN} ranges"),
                pair[0].1 <= pair[1].0,
                || format!("{:?} and {:?}", pair[0], pair[1]),
            )?;
        }
    }
    Ok(())
}
