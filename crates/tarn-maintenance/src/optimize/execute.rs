//! Running a compaction plan: rewriting bins in parallel and committing them in batches.
//!
//! Each bin is read with its deletion vectors applied (a scan of exactly its files), laid out
//! as the plan says, and written as new files of its partition with `dataChange = false`.
//! Finished bins are committed together once enough bytes are ready, so a long run makes
//! progress as it goes and a crash loses at most the batch in flight (its files are left
//! uncommitted for vacuum). A batch commits only the bins whose input files are still active
//! exactly as planned (same path, same deletion vector): a bin whose input a concurrent
//! writer removed or changed is skipped and its new files deleted, never the whole job, and
//! the rest commit on top of what the other writers committed. Memory: bins being rewritten
//! at once each hold their writer's buffer and, when ordered, their rows (bin-packed, at most
//! one gathered batch of up to 8 MiB, and a quarter of the writer's buffer: small files'
//! batches are gathered before they are written).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use arrow_array::RecordBatch;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use tarn::protocol::actions::Add;
use tarn::protocol::row_tracking::RowTracking;
use tarn::{DataWriter, LogError, ReadSet, Table, WriterOptions};

use super::order::order_rows;
use super::plan::{Bin, Layout, OptimizePlan};
use crate::error::{MaintenanceError, Result};

/// How many times a batch is recommitted after conflicts before its bins are given up.
const MAX_COMMIT_ROUNDS: usize = 10;

/// What a compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OptimizeMetrics {
    /// The version the plan was made from.
    pub read_version: u64,
    /// The versions committed, in order.
    pub versions: Vec<u64>,
    /// Bins planned.
    pub bins_planned: usize,
    /// Bins committed.
    pub bins_committed: usize,
    /// Bins skipped because a concurrent writer removed or changed one of their files.
    pub bins_skipped: usize,
    /// Commits that had to be made again after a concurrent commit conflicted.
    pub commit_retries: usize,
    /// Partitions with a committed bin.
    pub partitions_optimized: usize,
    /// Files removed.
    pub files_removed: u64,
    /// Files added.
    pub files_added: u64,
    /// Bytes of the files removed.
    pub bytes_removed: u64,
    /// Bytes of the files added.
    pub bytes_added: u64,
    /// Rows rewritten.
    pub rows: u64,
    /// Bins never started because a stop was requested ([`crate::Stop`]); a later run
    /// plans them again.
    pub bins_not_started: usize,
    /// Wall time, in milliseconds.
    pub duration_ms: u64,
}

/// Progress of a running compaction, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptimizeProgress {
    /// Bins rewritten so far (committed or waiting to be).
    pub bins_done: usize,
    /// Bins planned.
    pub bins_total: usize,
    /// Input bytes rewritten so far.
    pub bytes_done: u64,
    /// Input bytes planned.
    pub bytes_total: u64,
    /// Batches committed so far.
    pub commits: usize,
}

/// A callback told of progress.
pub type ProgressFn = Arc<dyn Fn(OptimizeProgress) + Send + Sync>;

/// How a plan runs.
#[derive(Clone)]
pub(crate) struct RunOptions {
    /// Bins rewritten at once.
    pub(crate) concurrency: usize,
    /// A batch commits once its bins' input reaches this many bytes.
    pub(crate) commit_bytes: u64,
    /// Writer buffer per bin.
    pub(crate) writer_buffer_bytes: usize,
    pub(crate) progress: Option<ProgressFn>,
    /// Operation parameters recorded in each commit.
    pub(crate) parameters: Vec<(String, String)>,
    /// Once requested, no new bin starts; those running finish and commit.
    pub(crate) stop: Option<crate::Stop>,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("concurrency", &self.concurrency)
            .field("commit_bytes", &self.commit_bytes)
            .field("writer_buffer_bytes", &self.writer_buffer_bytes)
            .finish_non_exhaustive()
    }
}

/// A rewritten bin, waiting to commit.
#[derive(Debug)]
struct Rewritten {
    bin: Bin,
    adds: Vec<Add>,
    rows: u64,
}

/// Runs `plan` on `table`.
pub(crate) async fn run(
    table: &Table,
    plan: OptimizePlan,
    options: RunOptions,
) -> Result<OptimizeMetrics> {
    let started = Instant::now();
    let mut metrics = OptimizeMetrics {
        read_version: plan.version,
        bins_planned: plan.bins.len(),
        ..OptimizeMetrics::default()
    };
    if plan.is_empty() {
        return Ok(metrics);
    }
    let mut plan = plan;
    let latest = table.snapshot().await?;
    if latest.version() > plan.version {
        // A plan run late (a retried task, a plan printed earlier): a bin whose files a
        // later commit removed or changed would only be rewritten to be skipped at commit.
        let active: HashMap<&str, Option<String>> = latest
            .files()
            .iter()
            .map(|f| (f.path(), f.deletion_vector_id()))
            .collect();
        let before = plan.bins.len();
        plan.bins.retain(|bin| {
            bin.files
                .iter()
                .all(|file| active.get(file.path.as_str()) == Some(&file.deletion_vector_id))
        });
        metrics.bins_skipped += before - plan.bins.len();
        if plan.bins.is_empty() {
            return Ok(metrics);
        }
    }
    let snapshot = table.snapshot_at_version(plan.version).await?;
    let mut progress = OptimizeProgress {
        bins_done: 0,
        bins_total: plan.bins.len(),
        bytes_done: 0,
        bytes_total: plan.bytes_to_rewrite(),
        commits: 0,
    };
    let layout = plan.options.layout.clone();
    let target_size = plan.options.target_size;
    let writer_options = WriterOptions::new()
        .with_target_file_size(target_size)
        .with_data_change(false)
        .with_max_buffered_bytes(options.writer_buffer_bytes);
    // A gathered batch stays a small part of the writer's budget: the writer keeps to its
    // budget between batches, and a batch larger than the budget would end files early.
    let gather_bytes = (options.writer_buffer_bytes / 4).min(Gathered::MAX_BYTES);
    let stop = options.stop.clone();
    let started_bins = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&started_bins);
    let mut rewrites = futures::stream::iter(plan.bins)
        // Checked as each bin is about to start: a stop lets the running ones finish.
        .take_while(move |_| {
            let go = !stop.as_ref().is_some_and(crate::Stop::is_requested);
            if go {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            futures::future::ready(go)
        })
        .map(|bin| {
            let snapshot = snapshot.clone();
            let writer_options = writer_options.clone();
            let layout = layout.clone();
            async move { rewrite_bin(&snapshot, bin, &layout, writer_options, gather_bytes).await }
        })
        .buffer_unordered(options.concurrency.max(1));
    let mut pending: Vec<Rewritten> = Vec::new();
    let mut pending_bytes = 0u64;
    let mut optimized: Vec<Vec<(String, Option<String>)>> = Vec::new();
    let mut failure: Option<MaintenanceError> = None;
    while let Some(done) = rewrites.next().await {
        let rewritten = match done {
            Ok(rewritten) => rewritten,
            Err(err) => {
                failure = Some(err);
                break;
            }
        };
        progress.bins_done += 1;
        progress.bytes_done += rewritten.bin.input_bytes;
        pending_bytes += rewritten.bin.input_bytes;
        pending.push(rewritten);
        if pending_bytes >= options.commit_bytes {
            commit_batch(
                table,
                std::mem::take(&mut pending),
                &options,
                &mut metrics,
                &mut optimized,
            )
            .await?;
            pending_bytes = 0;
            progress.commits += 1;
        }
        if let Some(report) = &options.progress {
            report(progress);
        }
    }
    drop(rewrites);
    if let Some(err) = failure {
        // Bins rewritten but not committed: their files are no one's.
        for rewritten in &pending {
            delete_files(table, &rewritten.adds).await;
        }
        return Err(err);
    }
    if !pending.is_empty() {
        commit_batch(table, pending, &options, &mut metrics, &mut optimized).await?;
        progress.commits += 1;
        if let Some(report) = &options.progress {
            report(progress);
        }
    }
    metrics.partitions_optimized = optimized.len();
    metrics.bins_not_started = metrics
        .bins_planned
        .saturating_sub(started_bins.load(std::sync::atomic::Ordering::SeqCst));
    metrics.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(metrics)
}

/// Reads a bin's files (deletion vectors applied), lays the rows out and writes them as new
/// files with `dataChange = false`.
async fn rewrite_bin(
    snapshot: &tarn::Snapshot,
    bin: Bin,
    layout: &Layout,
    writer_options: WriterOptions,
    gather_bytes: usize,
) -> Result<Rewritten> {
    // On a table that tracks rows, every row keeps its stable row id and commit version:
    // read them, write them into the materialized columns.
    let materialized = RowTracking::of(snapshot.protocol(), snapshot.metadata())
        .map_err(tarn::Error::from)?
        .materialized_columns()
        .cloned();
    let mut scan = snapshot
        .scan()
        .with_files(bin.files.iter().map(|f| f.path.clone()));
    let mut writer_options = writer_options;
    if let Some(columns) = materialized {
        scan = scan.with_row_tracking();
        writer_options = writer_options.with_row_tracking_columns(columns);
    }
    let scan = scan.build().await?;
    let mut writer = DataWriter::new(
        Arc::clone(snapshot.location()),
        snapshot.schema(),
        snapshot.partition_columns(),
        snapshot.properties(),
        writer_options,
    )?;
    let result: Result<u64> = async {
        let mut rows = 0u64;
        let mut batches = scan.execute();
        if matches!(layout, Layout::BinPack) {
            // Streamed: memory is the writer's buffer and one gathered batch, whatever the
            // bin's size. Small files' batches are gathered first: the writer encodes a
            // large batch's columns on several threads, a small one's on one.
            let mut gathered = Gathered::new(gather_bytes);
            while let Some(batch) = batches.try_next().await? {
                rows += batch.num_rows() as u64;
                if let Some(batch) = gathered.push(batch)? {
                    writer.write(&batch).await?;
                }
            }
            if let Some(batch) = gathered.take()? {
                writer.write(&batch).await?;
            }
        } else {
            let collected: Vec<RecordBatch> = batches.try_collect().await?;
            for batch in order_rows(&collected, layout)? {
                rows += batch.num_rows() as u64;
                writer.write(&batch).await?;
            }
        }
        Ok(rows)
    }
    .await;
    let rows = match result {
        Ok(rows) => rows,
        Err(err) => {
            writer.abort().await;
            return Err(err);
        }
    };
    let output = writer.finish().await?;
    let mut adds = output.adds;
    if matches!(layout, Layout::Cluster(_)) {
        let run = uuid::Uuid::new_v4().to_string();
        for add in &mut adds {
            add.clustering_provider = Some(super::CLUSTERING_PROVIDER.to_owned());
            add.tags
                .get_or_insert_default()
                .insert(super::CLUSTERING_RUN_TAG.to_owned(), Some(run.clone()));
        }
    }
    Ok(Rewritten { bin, adds, rows })
}

/// Batches read from a bin's files, held until they make one batch worth encoding.
struct Gathered {
    batches: Vec<RecordBatch>,
    rows: usize,
    bytes: usize,
    /// Arrow memory a gathered batch reaches before it is written, whatever its rows.
    max_bytes: usize,
}

impl Gathered {
    /// Rows a gathered batch reaches before it is written.
    const ROWS: usize = 64 * 1024;
    /// The most Arrow memory a gathered batch may hold.
    const MAX_BYTES: usize = 8 * 1024 * 1024;

    /// Gathers batches of up to [`Self::ROWS`] rows and `max_bytes` bytes.
    fn new(max_bytes: usize) -> Self {
        Self {
            batches: Vec::new(),
            rows: 0,
            bytes: 0,
            max_bytes,
        }
    }

    /// Holds `batch`; returns the gathered batch once it is large enough.
    fn push(&mut self, batch: RecordBatch) -> Result<Option<RecordBatch>> {
        if batch.num_rows() == 0 {
            return Ok(None);
        }
        self.rows += batch.num_rows();
        self.bytes += batch.get_array_memory_size();
        self.batches.push(batch);
        if self.rows >= Self::ROWS || self.bytes >= self.max_bytes {
            self.take()
        } else {
            Ok(None)
        }
    }

    /// The rows held, as one batch (`None` when none are).
    fn take(&mut self) -> Result<Option<RecordBatch>> {
        self.rows = 0;
        self.bytes = 0;
        let batches = std::mem::take(&mut self.batches);
        match batches.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one.clone())),
            [first, ..] => arrow_select::concat::concat_batches(&first.schema(), &batches)
                .map(Some)
                .map_err(|source| MaintenanceError::Compute {
                    context: "gathering the rows of a bin".to_owned(),
                    source,
                }),
        }
    }
}

/// Commits a batch of rewritten bins on top of the latest version: each bin whose input files
/// are still active exactly as planned replaces them; the others are skipped and their files
/// deleted. A conflict with a commit that landed meanwhile makes it check again and retry.
async fn commit_batch(
    table: &Table,
    mut batch: Vec<Rewritten>,
    options: &RunOptions,
    metrics: &mut OptimizeMetrics,
    optimized: &mut Vec<Vec<(String, Option<String>)>>,
) -> Result<()> {
    for round in 0..MAX_COMMIT_ROUNDS {
        let snapshot = match table.snapshot().await {
            Ok(snapshot) => snapshot,
            Err(err) => {
                discard(table, &batch).await;
                return Err(err.into());
            }
        };
        let active: HashMap<&str, Option<String>> = snapshot
            .files()
            .iter()
            .map(|f| (f.path(), f.deletion_vector_id()))
            .collect();
        let (valid, stale): (Vec<Rewritten>, Vec<Rewritten>) =
            batch.into_iter().partition(|rewritten| {
                rewritten
                    .bin
                    .files
                    .iter()
                    .all(|file| active.get(file.path.as_str()) == Some(&file.deletion_vector_id))
            });
        drop(active);
        for skipped in &stale {
            tracing::info!(
                partition = ?skipped.bin.partition,
                "a concurrent commit removed or changed a file of this bin; skipping it"
            );
            delete_files(table, &skipped.adds).await;
            metrics.bins_skipped += 1;
        }
        if valid.is_empty() {
            return Ok(());
        }
        let inputs: Vec<&str> = valid
            .iter()
            .flat_map(|r| r.bin.files.iter().map(|f| f.path.as_str()))
            .collect();
        let mut tx = match snapshot.transaction("OPTIMIZE", ReadSet::files(inputs.iter().copied()))
        {
            Ok(tx) => tx,
            Err(err) => {
                discard(table, &valid).await;
                return Err(err.into());
            }
        };
        let wanted: std::collections::HashSet<&str> = inputs.iter().copied().collect();
        for file in snapshot
            .files()
            .iter()
            .filter(|f| wanted.contains(f.path()))
        {
            tx.remove_file(&file, false);
        }
        let mut rows = 0u64;
        for rewritten in &valid {
            rows += rewritten.rows;
            for add in &rewritten.adds {
                // Not `add_file`: on a conflict the files are kept for the next round.
                tx.add_existing_file(add.clone());
            }
        }
        for (key, value) in &options.parameters {
            tx.parameter(key, value.clone());
        }
        tx.summary_mut().rows_written = rows;
        // Copies only, each keeping its stable row id and commit version (`rewrite_bin`).
        tx.set_row_ids_preserved(true);
        tx.metric("numBins", valid.len());
        match tx.commit().await {
            Ok(summary) => {
                if let Some(version) = summary.version {
                    metrics.versions.push(version);
                }
                metrics.bins_committed += valid.len();
                metrics.files_removed += summary.files_removed;
                metrics.files_added += summary.files_added;
                metrics.bytes_removed += summary.bytes_removed;
                metrics.bytes_added += summary.bytes_added;
                metrics.rows += rows;
                for rewritten in &valid {
                    if !optimized.contains(&rewritten.bin.partition) {
                        optimized.push(rewritten.bin.partition.clone());
                    }
                }
                return Ok(());
            }
            Err(tarn::Error::Log(LogError::CommitConflict { .. }))
                if round + 1 < MAX_COMMIT_ROUNDS =>
            {
                metrics.commit_retries += 1;
                batch = valid;
            }
            Err(err) => {
                if !matches!(err, tarn::Error::Log(LogError::CommitOutcomeUnknown { .. })) {
                    discard(table, &valid).await;
                }
                return Err(err.into());
            }
        }
    }
    Ok(())
}

/// Deletes the files written for bins that will not commit.
async fn discard(table: &Table, bins: &[Rewritten]) {
    for rewritten in bins {
        delete_files(table, &rewritten.adds).await;
    }
}

/// Deletes files written for bins that will not commit; vacuum removes any this misses.
async fn delete_files(table: &Table, adds: &[Add]) {
    table.delete_uncommitted_files(adds).await;
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Array, Int64Array};

    use super::*;

    fn batch(start: i64, rows: i64) -> RecordBatch {
        RecordBatch::try_from_iter([(
            "id",
            Arc::new(Int64Array::from_iter_values(start..start + rows)) as _,
        )])
        .unwrap()
    }

    #[test]
    fn small_batches_are_gathered_in_order_and_none_is_lost() {
        let mut gathered = Gathered::new(Gathered::MAX_BYTES);
        let mut out = Vec::new();
        let mut start = 0;
        for rows in [4000, 0, 1, 30_000, 4000, 40_000, 7, 100_000, 3] {
            if let Some(batch) = gathered.push(batch(start, rows)).unwrap() {
                out.push(batch);
            }
            start += rows;
        }
        out.extend(gathered.take().unwrap());
        assert!(gathered.take().unwrap().is_none());
        let sizes: Vec<usize> = out.iter().map(RecordBatch::num_rows).collect();
        // Written once they reach 64 Ki rows; the rest at the end.
        assert_eq!(sizes, [78_001, 100_007, 3]);
        let ids: Vec<i64> = out
            .iter()
            .flat_map(|b| {
                let column = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                column.values().to_vec()
            })
            .collect();
        assert_eq!(ids, (0..start).collect::<Vec<_>>());
    }

    #[test]
    fn a_small_budget_gathers_little() {
        // 4,000 longs are 32 KB of Arrow memory: past a 16 KB limit, each goes on alone.
        let mut gathered = Gathered::new(16 * 1024);
        assert_eq!(
            gathered.push(batch(0, 4000)).unwrap().unwrap().num_rows(),
            4000
        );
        assert!(gathered.push(batch(4000, 100)).unwrap().is_none());
        assert_eq!(
            gathered
                .push(batch(4100, 4000))
                .unwrap()
                .unwrap()
                .num_rows(),
            4100
        );
    }
}
