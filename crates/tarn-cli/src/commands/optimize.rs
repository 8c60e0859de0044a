//! `tarn optimize`: compaction, sorting, Z-ordering and clustering of a table.
//!
//! This module turns the command line into a [`tarn_maintenance::optimize::Optimize`] and
//! renders its plan (`--dry-run`) or its metrics; every decision is the library's.

use clap::Args;
use serde_json::{Value, json};
use tarn::Table;
use tarn_maintenance::optimize::{Layout, Optimize, OptimizeMetrics, OptimizePlan};

use super::parse_filter;
use crate::CliError;
use crate::output::human_bytes;
use crate::progress::SharedStatusLine;

/// The arguments of `tarn optimize`.
#[derive(Debug, Args)]
pub(crate) struct OptimizeArgs {
    /// Table path or URI.
    table: String,
    /// Only the files that may hold rows matching this SQL predicate (typically on partition
    /// columns, e.g. `day >= '2026-01-01'`).
    #[arg(long = "where", value_name = "EXPR")]
    filter: Option<String>,
    /// The size files are written at: `128MiB`, `1GiB` (default: the table's
    /// delta.targetFileSize, else 128 MiB). Files under 3/4 of it are compacted.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    target_size: Option<u64>,
    /// Sort rows by these columns within each partition.
    #[arg(
        long,
        value_name = "A,B",
        value_delimiter = ',',
        conflicts_with = "zorder_by"
    )]
    sort_by: Vec<String>,
    /// Order rows along a Z-order curve over these columns within each partition, so that
    /// range predicates on any of them read fewer files.
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    zorder_by: Vec<String>,
    /// Run a plan printed by `--dry-run --json` (a file, or `-` for stdin) instead of
    /// planning: the way an orchestrator runs one compaction as many tasks, each with
    /// `--bins`. Bins whose files changed since the plan are skipped.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["filter", "target_size", "sort_by", "zorder_by"]
    )]
    plan: Option<String>,
    /// With --plan: only these bins (indexes into the plan's `bins`, from 0), e.g. `0,3`.
    #[arg(long, value_name = "I,J", value_delimiter = ',', requires = "plan")]
    bins: Vec<usize>,
    /// Memory for the files rewritten at once (default 1GiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    memory: Option<u64>,
    /// Print what would be rewritten, and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn parse_size(text: &str) -> Result<u64, String> {
    tarn::protocol::size::parse_byte_size(text)
}

impl OptimizeArgs {
    /// The table path or URI.
    pub(crate) fn table(&self) -> &str {
        &self.table
    }
}

fn columns(raw: &[String]) -> Vec<String> {
    raw.iter()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect()
}

/// Runs `tarn optimize`.
pub(crate) async fn run(
    table: &Table,
    args: &OptimizeArgs,
    interrupt: &crate::interrupt::Interrupt,
) -> Result<(), CliError> {
    let mut optimize = Optimize::new(table.clone()).with_stop(super::stop_on(interrupt));
    if let Some(sql) = &args.filter {
        optimize = optimize.with_filter(parse_filter(sql)?);
    }
    if let Some(size) = args.target_size {
        optimize = optimize.with_target_size(size);
    }
    if let Some(memory) = args.memory {
        optimize = optimize.with_memory_budget(memory);
    }
    let sort_by = columns(&args.sort_by);
    let zorder_by = columns(&args.zorder_by);
    if !sort_by.is_empty() {
        optimize = optimize.with_sort_by(sort_by);
    }
    if !zorder_by.is_empty() {
        optimize = optimize.with_zorder_by(zorder_by);
    }
    let plan = match &args.plan {
        Some(file) => read_plan(file, &args.bins)?,
        None => optimize.plan().await?,
    };
    if args.dry_run {
        return if args.json {
            super::print_json(&plan_json(&plan))
        } else {
            super::emit(&plan_text(&plan))
        };
    }
    let status = SharedStatusLine::new();
    let shown = status.clone();
    let optimize = optimize.with_progress(move |p| {
        let detail = format!(
            "{}/{} bins, {} of {}, {} committed",
            p.bins_done,
            p.bins_total,
            human_bytes(p.bytes_done),
            human_bytes(p.bytes_total),
            super::commit::count(p.commits as u64, "batch", "batches"),
        );
        shown.show(
            "optimize",
            (p.bytes_done, p.bytes_total),
            &detail,
            p.bins_done == p.bins_total,
        );
    });
    let result = optimize.execute_plan(plan.clone()).await;
    status.finish();
    let metrics = result?;
    let text = metrics_text(&plan, &metrics);
    if let Some(interrupted) = interrupt.signal() {
        super::emit(&format!("{text}\n"))?;
        return Err(CliError::Interrupted {
            interrupted,
            detail: "; the bins that finished are committed, the rest are left for the next run",
        });
    }
    if args.json {
        let mut value = serde_json::to_value(&metrics).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.insert("layout".to_owned(), layout_json(&plan.options.layout));
            map.insert("message".to_owned(), json!(text));
        }
        super::print_json(&value)
    } else {
        super::emit(&format!("{text}\n"))
    }
}

/// Reads a plan printed by `--dry-run --json`, keeping the bins asked for (all if none).
fn read_plan(file: &str, bins: &[usize]) -> Result<OptimizePlan, CliError> {
    let text = if file == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(file)
    }
    .map_err(|e| CliError::Usage(format!("cannot read the plan {file}: {e}")))?;
    let plan: OptimizePlan = serde_json::from_str(&text).map_err(|e| {
        CliError::Usage(format!(
            "{file} is not a plan printed by `tarn optimize --dry-run --json`: {e}"
        ))
    })?;
    if bins.is_empty() {
        return Ok(plan);
    }
    plan.select_bins(bins)
        .map_err(|reason| CliError::Usage(format!("--bins: {reason}")))
}

fn layout_json(layout: &Layout) -> Value {
    serde_json::to_value(layout).unwrap_or(Value::Null)
}

fn layout_text(layout: &Layout) -> String {
    match layout {
        Layout::BinPack => "bin-packing".to_owned(),
        Layout::Sort(columns) => format!("sorted by {}", columns.join(", ")),
        Layout::ZOrder(columns) => format!("Z-ordered by {}", columns.join(", ")),
        Layout::Cluster(columns) => format!("clustered by {}", columns.join(", ")),
    }
}

fn partition_text(partition: &[(String, Option<String>)]) -> String {
    if partition.is_empty() {
        return "(unpartitioned)".to_owned();
    }
    partition
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("null")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plan_json(plan: &OptimizePlan) -> Value {
    let mut value = serde_json::to_value(plan).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert(
            "files_to_rewrite".to_owned(),
            json!(plan.files_to_rewrite()),
        );
        map.insert(
            "bytes_to_rewrite".to_owned(),
            json!(plan.bytes_to_rewrite()),
        );
        map.insert(
            "partitions_to_rewrite".to_owned(),
            json!(plan.partitions_to_rewrite()),
        );
    }
    value
}

fn plan_text(plan: &OptimizePlan) -> String {
    if plan.is_empty() {
        return format!(
            "nothing to optimize at version {} ({} in {} considered, {})\n",
            plan.version,
            super::commit::count(plan.files_considered as u64, "file", "files"),
            super::commit::count(plan.partitions_considered as u64, "partition", "partitions"),
            layout_text(&plan.options.layout)
        );
    }
    let mut out = format!(
        "would rewrite {} ({}) in {} across {} at version {}, {}, files written at {}:\n",
        super::commit::count(plan.files_to_rewrite() as u64, "file", "files"),
        human_bytes(plan.bytes_to_rewrite()),
        super::commit::count(plan.bins.len() as u64, "bin", "bins"),
        super::commit::count(
            plan.partitions_to_rewrite() as u64,
            "partition",
            "partitions"
        ),
        plan.version,
        layout_text(&plan.options.layout),
        human_bytes(plan.options.target_size),
    );
    for bin in &plan.bins {
        out.push_str(&format!(
            "  {}: {} ({}), {}\n",
            partition_text(&bin.partition),
            super::commit::count(bin.files.len() as u64, "file", "files"),
            human_bytes(bin.input_bytes),
            serde_json::to_value(bin.reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        ));
    }
    out
}

fn metrics_text(plan: &OptimizePlan, metrics: &OptimizeMetrics) -> String {
    if metrics.bins_planned == 0 {
        return format!(
            "nothing to optimize at version {} ({} considered, {})",
            plan.version,
            super::commit::count(plan.files_considered as u64, "file", "files"),
            layout_text(&plan.options.layout)
        );
    }
    let mut text = format!(
        "optimized {}: {} ({}) rewritten as {} ({}), {}",
        super::commit::count(
            metrics.partitions_optimized as u64,
            "partition",
            "partitions"
        ),
        super::commit::count(metrics.files_removed, "file", "files"),
        human_bytes(metrics.bytes_removed),
        super::commit::count(metrics.files_added, "file", "files"),
        human_bytes(metrics.bytes_added),
        layout_text(&plan.options.layout),
    );
    match metrics.versions.as_slice() {
        [] => text.push_str("; nothing committed"),
        [one] => text.push_str(&format!("; committed version {one}")),
        [first, .., last] => text.push_str(&format!(
            "; committed versions {first} to {last} ({} commits)",
            metrics.versions.len()
        )),
    }
    if metrics.bins_skipped > 0 {
        text.push_str(&format!(
            "; {} skipped: other writers changed their files",
            super::commit::count(metrics.bins_skipped as u64, "bin", "bins")
        ));
    }
    text
}
