//! The deltalake crate's scan, the way its documentation shows: open the table, register
//! `table.table_provider()` in a DataFusion session made by `create_session()` (delta-rs's
//! pre-configured session), run `SELECT * FROM t [WHERE <filter>]` and drain the result stream.
//! The filter is the same SQL text tarn parses. delta-rs prunes files by partition values and
//! file statistics while planning; DataFusion's Parquet source prunes row groups by their
//! statistics and a `FilterExec` keeps the matching rows.
//!
//! Read counts come from the executed plan: distinct files in the Parquet source's file groups
//! (minus those DataFusion pruned on open, when no file was split into byte ranges), row groups
//! its statistics kept, and the rows the source produced.

use std::path::Path;
use std::sync::Arc;

use deltalake::datafusion::datasource::physical_plan::FileScanConfig;
use deltalake::datafusion::datasource::source::DataSourceExec;
use deltalake::datafusion::physical_plan::metrics::MetricValue;
use deltalake::datafusion::physical_plan::{ExecutionPlan, execute_stream};
use futures::StreamExt;

use super::{ReadCounts, ScanOutcome, Selection, Tally};
use crate::engine::table_url;
use crate::error::BenchError;

pub(super) async fn scan(dir: &Path, selection: &Selection) -> Result<ScanOutcome, BenchError> {
    let table = deltalake::open_table(table_url(dir)?).await?;
    let ctx = deltalake::delta_datafusion::create_session().into_inner();
    table.update_datafusion_session(&ctx.state())?;
    ctx.register_table("t", table.table_provider().await?)?;
    let sql = match selection.sql() {
        Some(filter) => format!("SELECT * FROM t WHERE {filter}"),
        None => "SELECT * FROM t".to_owned(),
    };
    let plan = ctx.sql(&sql).await?.create_physical_plan().await?;
    let mut stream = execute_stream(Arc::clone(&plan), ctx.task_ctx())?;
    let mut tally = Tally::default();
    while let Some(batch) = stream.next().await {
        tally.add(&batch?)?;
    }
    drop(stream);
    let read = read_counts(&plan);
    Ok(ScanOutcome {
        tally,
        read,
        _state: Box::new((table, ctx, plan)),
    })
}

/// Sums the Parquet sources' counts over the plan tree.
fn read_counts(plan: &Arc<dyn ExecutionPlan>) -> ReadCounts {
    let mut counts = SourceCounts::default();
    visit(plan, &mut counts);
    if counts.sources == 0 {
        return ReadCounts::default();
    }
    let files = count(counts.files.len());
    // DataFusion may split a large file into byte ranges and prune ranges, not files: its
    // pruned count is only subtracted when every file is one range.
    let files = if counts.ranges == files {
        files.saturating_sub(counts.ranges_pruned)
    } else {
        files
    };
    ReadCounts {
        files: Some(files),
        // Without a predicate the statistics pruner never runs and counts nothing.
        row_groups: counts.row_groups_matched,
        rows_decoded: Some(counts.output_rows),
    }
}

#[derive(Debug, Default)]
struct SourceCounts {
    sources: u64,
    /// Distinct data files in the sources' file groups.
    files: std::collections::BTreeSet<String>,
    /// Entries (whole files or byte ranges of one) in the file groups.
    ranges: u64,
    /// Entries DataFusion pruned by statistics when opening them.
    ranges_pruned: u64,
    row_groups_matched: Option<u64>,
    output_rows: u64,
}

fn visit(plan: &Arc<dyn ExecutionPlan>, counts: &mut SourceCounts) {
    if let Some(source) = plan.downcast_ref::<DataSourceExec>() {
        if let Some(config) = source.data_source().downcast_ref::<FileScanConfig>() {
            counts.sources += 1;
            for file in config.file_groups.iter().flat_map(|group| group.iter()) {
                counts.ranges += 1;
                counts.files.insert(file.object_meta.location.to_string());
            }
        }
        if let Some(metrics) = plan.metrics() {
            counts.output_rows += count(metrics.output_rows().unwrap_or(0));
            for metric in metrics.iter() {
                if let MetricValue::PruningMetrics {
                    name,
                    pruning_metrics,
                } = metric.value()
                {
                    match name.as_ref() {
                        "files_ranges_pruned_statistics" => {
                            counts.ranges_pruned += count(pruning_metrics.pruned());
                        }
                        "row_groups_pruned_statistics" => {
                            let seen = pruning_metrics.pruned() + pruning_metrics.matched();
                            if seen > 0 {
                                *counts.row_groups_matched.get_or_insert(0) +=
                                    count(pruning_metrics.matched());
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    for child in plan.children() {
        visit(child, counts);
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
