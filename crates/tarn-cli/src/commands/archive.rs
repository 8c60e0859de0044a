//! `tarn archive` and `tarn restore-archive`: lifecycle archiving.
//!
//! This module turns the command line into [`tarn_maintenance::archive::Archive`] and
//! [`tarn_maintenance::archive::RestoreArchive`] and renders their plans (`--dry-run`) and
//! metrics; every decision is the library's.

use clap::Args;
use serde_json::{Value, json};
use tarn::Table;
use tarn_maintenance::archive::{
    Age, Archive, ArchiveMetrics, ArchiveMode, ArchivePlan, RestoreArchive, RestoreMetrics,
    RestorePlan,
};

use super::commit::count;
use super::parse_filter;
use crate::CliError;
use crate::output::{format_millis, human_bytes};
use crate::progress::SharedStatusLine;

/// The arguments of `tarn archive`.
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("rule")
        .required(true)
        .multiple(true)
        .args(["filter", "older_than"])
))]
pub(crate) struct ArchiveArgs {
    /// Table path or URI.
    table: String,
    /// The archive location: another bucket, container, prefix or local directory, used by
    /// this table alone (`s3://archive/events`, `/mnt/cold/events`).
    #[arg(long = "to", value_name = "URI")]
    to: String,
    /// Files of the partitions matching this SQL predicate on partition columns
    /// (`day < '2026-01-01'`).
    #[arg(long = "where", value_name = "EXPR")]
    filter: Option<String>,
    /// Files added to the table (by the commit that added them) at least this long ago:
    /// `0h`, `36h`, `7d`, `90d`. With --where, files must match both.
    #[arg(long, value_name = "DURATION", value_parser = Age::parse)]
    older_than: Option<Age>,
    /// `tier`: the files stay in the table under their archive URI (every reader that
    /// resolves absolute paths reads the same rows). `detach`: they leave the live table and
    /// are recorded in its archive manifest, for restore-archive.
    #[arg(long, value_name = "MODE", default_value = "tier", value_parser = parse_mode)]
    mode: ArchiveMode,
    /// Storage class of the copies: S3 (`STANDARD_IA`, `GLACIER_IR`, ...), GCS (`NEARLINE`,
    /// `COLDLINE`, `ARCHIVE`) or Azure (`Cool`, `Cold`).
    #[arg(long, value_name = "CLASS")]
    storage_class: Option<String>,
    /// Print what would be archived, and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn parse_mode(text: &str) -> Result<ArchiveMode, String> {
    text.parse()
}

impl ArchiveArgs {
    /// The table path or URI.
    pub(crate) fn table(&self) -> &str {
        &self.table
    }
}

/// The arguments of `tarn restore-archive`.
#[derive(Debug, Args)]
pub(crate) struct RestoreArchiveArgs {
    /// Table path or URI.
    table: String,
    /// Bring back the archived files (tiered and detached) that may hold rows for which this
    /// SQL predicate is true (`true` brings back every one).
    #[arg(long = "where", value_name = "EXPR")]
    filter: String,
    /// Print what would be brought back (and the deletes that would be applied), and change
    /// nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

impl RestoreArchiveArgs {
    /// The table path or URI.
    pub(crate) fn table(&self) -> &str {
        &self.table
    }
}

/// Runs `tarn archive`.
pub(crate) async fn run(table: &Table, args: &ArchiveArgs) -> Result<(), CliError> {
    let mut archive = Archive::new(table.clone(), args.to.clone()).with_mode(args.mode);
    if let Some(sql) = &args.filter {
        archive = archive.with_filter(parse_filter(sql)?);
    }
    if let Some(age) = args.older_than {
        archive = archive.with_older_than(age);
    }
    if let Some(class) = &args.storage_class {
        archive = archive.with_storage_class(class.clone());
    }
    let plan = archive.plan().await?;
    if args.dry_run {
        return if args.json {
            super::print_json(&plan_json(&plan))
        } else {
            super::emit(&plan_text(&plan))
        };
    }
    let status = SharedStatusLine::new();
    let shown = status.clone();
    let archive = archive.with_progress(move |p| {
        let detail = format!(
            "{}/{} files, {} of {}, {} committed",
            p.files_done,
            p.files_total,
            human_bytes(p.bytes_done),
            human_bytes(p.bytes_total),
            count(p.commits as u64, "batch", "batches"),
        );
        shown.show(
            "archive",
            (p.bytes_done, p.bytes_total),
            &detail,
            p.files_done == p.files_total,
        );
    });
    let result = archive.execute_plan(plan.clone()).await;
    status.finish();
    let metrics = result?;
    let text = metrics_text(&plan, &metrics);
    if args.json {
        let mut value = serde_json::to_value(&metrics).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.insert("mode".to_owned(), json!(plan.mode));
            map.insert("location".to_owned(), json!(plan.location));
            map.insert("storage_class".to_owned(), json!(plan.storage_class));
            map.insert("message".to_owned(), json!(text));
        }
        super::print_json(&value)
    } else {
        super::emit(&format!("{text}\n"))
    }
}

fn plan_json(plan: &ArchivePlan) -> Value {
    let mut value = serde_json::to_value(plan).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("files_to_archive".to_owned(), json!(plan.files.len()));
        map.insert("bytes_to_archive".to_owned(), json!(plan.bytes()));
    }
    value
}

fn mode_text(plan: &ArchivePlan) -> String {
    match &plan.storage_class {
        Some(class) => format!("{}, storage class {class}", plan.mode.as_str()),
        None => plan.mode.as_str().to_owned(),
    }
}

fn plan_text(plan: &ArchivePlan) -> String {
    let rule = plan.rule.describe();
    if plan.is_empty() {
        let mut out = format!(
            "nothing to archive at version {}: no hot file matches {rule} ({} hot files \
             considered)\n",
            plan.version, plan.files_considered
        );
        for skipped in &plan.skipped {
            out.push_str(&format!("  skipped {}: {}\n", skipped.path, skipped.reason));
        }
        return out;
    }
    let mut out = format!(
        "would archive {} ({}) of {} hot files at version {} to {} ({}), matching {rule}{}:\n",
        count(plan.files.len() as u64, "file", "files"),
        human_bytes(plan.bytes()),
        plan.files_considered,
        plan.version,
        plan.location,
        mode_text(plan),
        if plan.declares_location {
            "; the first commit declares the location"
        } else {
            ""
        }
    );
    for file in &plan.files {
        let added = file
            .added_at
            .map(|at| format!(", added {}", format_millis(at.effective_time())))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {} ({}{added}) -> {}\n",
            file.path,
            human_bytes(file.size),
            file.archive_path
        ));
    }
    for skipped in &plan.skipped {
        out.push_str(&format!("  skipped {}: {}\n", skipped.path, skipped.reason));
    }
    out
}

fn versions_text(versions: &[u64]) -> String {
    match versions {
        [] => "nothing committed".to_owned(),
        [one] => format!("committed version {one}"),
        [first, .., last] => format!(
            "committed versions {first} to {last} ({} commits)",
            versions.len()
        ),
    }
}

fn metrics_text(plan: &ArchivePlan, metrics: &ArchiveMetrics) -> String {
    if metrics.files_planned == 0 {
        return format!(
            "nothing to archive at version {}: no hot file matches {}",
            plan.version,
            plan.rule.describe()
        );
    }
    let mut text = format!(
        "archived {} ({}) to {} ({}); {}",
        count(metrics.files_archived, "file", "files"),
        human_bytes(metrics.bytes_archived),
        plan.location,
        mode_text(plan),
        versions_text(&metrics.versions),
    );
    if metrics.files_reused > 0 {
        text.push_str(&format!(
            "; {} from an earlier run reused",
            count(metrics.files_reused, "copy", "copies")
        ));
    }
    if metrics.files_skipped > 0 {
        text.push_str(&format!(
            "; {} skipped: other writers changed them",
            count(metrics.files_skipped, "file", "files")
        ));
    }
    text
}

/// Runs `tarn restore-archive`.
pub(crate) async fn run_restore(table: &Table, args: &RestoreArchiveArgs) -> Result<(), CliError> {
    let restore = RestoreArchive::new(table.clone(), parse_filter(&args.filter)?);
    let plan = restore.plan().await?;
    if args.dry_run {
        return if args.json {
            super::print_json(&serde_json::to_value(&plan).unwrap_or(Value::Null))
        } else {
            super::emit(&restore_plan_text(&plan))
        };
    }
    let status = SharedStatusLine::new();
    let shown = status.clone();
    let restore = restore.with_progress(move |p| {
        let detail = format!("{}/{} files", p.files_done, p.files_total);
        shown.show(
            "restore-archive",
            (p.files_done as u64, p.files_total as u64),
            &detail,
            p.files_done == p.files_total,
        );
    });
    let result = restore.execute().await;
    status.finish();
    let metrics = result?;
    let text = restore_text(&metrics);
    if args.json {
        let mut value = serde_json::to_value(&metrics).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.insert("message".to_owned(), json!(text));
        }
        super::print_json(&value)
    } else {
        super::emit(&format!("{text}\n"))
    }
}

fn restore_plan_text(plan: &RestorePlan) -> String {
    if plan.is_empty() {
        return format!(
            "nothing to restore at version {}: no archived file may hold rows matching {}\n",
            plan.version, plan.filter
        );
    }
    let mut out = format!(
        "would restore {} ({}) at version {}: {} tiered (copied back), {} detached (re-added)\n",
        count(
            (plan.tiered.len() + plan.detached.len()) as u64,
            "file",
            "files"
        ),
        human_bytes(plan.bytes()),
        plan.version,
        plan.tiered.len(),
        plan.detached.len()
    );
    for file in &plan.tiered {
        out.push_str(&format!("  {} ({})\n", file.path, human_bytes(file.size)));
    }
    for file in &plan.detached {
        out.push_str(&format!(
            "  {} from {} ({}), detached {}",
            file.path,
            file.archive_path,
            human_bytes(file.size),
            format_millis(file.detached_at)
        ));
        if !file.replay.is_empty() {
            out.push_str(&format!(
                "; {} committed since to apply",
                count(
                    file.replay.len() as u64,
                    "delete or update",
                    "deletes or updates"
                )
            ));
        }
        if let Some(reason) = &file.refused {
            out.push_str(&format!("; REFUSED: {reason}"));
        }
        out.push('\n');
    }
    out
}

fn restore_text(metrics: &RestoreMetrics) -> String {
    let total = metrics.tiered_restored + metrics.detached_restored;
    if total == 0 && metrics.versions.is_empty() {
        return format!(
            "nothing to restore at version {}: no archived file matches",
            metrics.read_version
        );
    }
    let mut text = format!(
        "restored {}: {} tiered copied back ({}), {} detached re-added",
        count(total, "file", "files"),
        metrics.tiered_restored,
        human_bytes(metrics.bytes_copied),
        metrics.detached_restored,
    );
    if metrics.rows_deleted > 0 {
        text.push_str(&format!(
            " ({} rewritten without {} deleted since they were detached)",
            count(metrics.files_rewritten, "file", "files"),
            count(metrics.rows_deleted, "row", "rows")
        ));
    }
    text.push_str(&format!("; {}", versions_text(&metrics.versions)));
    text
}
