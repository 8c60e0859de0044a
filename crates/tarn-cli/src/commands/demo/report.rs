//! What `tarn demo` prints: each step as it completes, or one JSON object at the end.
//!
//! This module only renders what the demo did; the demo checks the numbers before they
//! reach it.

use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tarn::CommitSummary;
use tarn::ops::CheckpointSummary;

use super::ProbeScan;
use super::compaction::{self, Compaction};
use super::dir::Prepared;
use super::events::Tally;
use super::{BATCHES, ROWS_PER_BATCH, WRITERS};
use crate::CliError;
use crate::commands::commit::count;
use crate::commands::{emit, print_json};
use crate::output::{Align, TextTable, human_bytes};

/// One writer's commits.
#[derive(Debug)]
pub(crate) struct WriterRun {
    pub(crate) writer: u64,
    pub(crate) versions: Vec<u64>,
    /// Commit attempts lost to other writers and retried.
    pub(crate) retries: u64,
    /// Versions after which this writer wrote the automatic checkpoint.
    pub(crate) checkpoints: Vec<u64>,
    pub(crate) tally: Tally,
}

/// Consecutive commits of one operation.
#[derive(Debug)]
pub(crate) struct HistoryRun {
    pub(crate) first_version: u64,
    pub(crate) last_version: u64,
    pub(crate) operation: String,
    pub(crate) commits: u64,
    /// Rows written (or deleted, or updated) by the run.
    pub(crate) rows: u64,
}

/// The table at one version.
#[derive(Debug)]
pub(crate) struct VersionCount {
    pub(crate) version: u64,
    pub(crate) label: &'static str,
    pub(crate) rows: u64,
    pub(crate) refund_cents: i64,
}

/// The demo's narration and summary.
#[derive(Debug)]
pub(crate) struct DemoReport {
    json: bool,
    table: String,
    summary: Map<String, Value>,
}

fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, (cents % 100).abs())
}

fn commit_json(summary: &CommitSummary) -> Value {
    json!({
        "version": summary.version,
        "files_added": summary.files_added,
        "files_removed": summary.files_removed,
        "rows_written": summary.rows_written,
        "rows_deleted": summary.rows_deleted,
        "rows_updated": summary.rows_updated,
        "rows_copied": summary.rows_copied,
    })
}

impl DemoReport {
    pub(crate) fn new(dir: &Path, table: &Path, prepared: Prepared, json: bool) -> Self {
        let mut summary = Map::new();
        summary.insert("directory".into(), json!(dir.display().to_string()));
        summary.insert("table".into(), json!(table.display().to_string()));
        summary.insert(
            "replaced_previous_demo".into(),
            json!(prepared == Prepared::ReplacedPreviousDemo),
        );
        Self {
            json,
            table: table.display().to_string(),
            summary,
        }
    }

    fn say(&self, text: &str) -> Result<(), CliError> {
        if self.json { Ok(()) } else { emit(text) }
    }

    fn put(&mut self, key: &str, value: Value) {
        self.summary.insert(key.to_owned(), value);
    }

    pub(crate) fn begin(&self) -> Result<(), CliError> {
        let replaced = if self.summary["replaced_previous_demo"] == json!(true) {
            " (replacing the previous demo's table)"
        } else {
            ""
        };
        self.say(&format!("tarn demo: building {}{replaced}\n\n", self.table))
    }

    pub(crate) fn created(&mut self, version: u64, constraint: &str) -> Result<(), CliError> {
        self.put(
            "created",
            json!({"version": version, "partition_columns": ["day"], "constraint": constraint}),
        );
        self.say(&format!(
            "1. Created the table (version {version}): event_id, day, user_id, kind, amount, ts;\n   \
             partitioned by day, with CHECK ({constraint}) enforced on every write\n   \
             and a checkpoint every 10 commits.\n\n"
        ))
    }

    pub(crate) fn wrote(
        &mut self,
        runs: &[WriterRun],
        expected_rows: u64,
        rows: u64,
        replay_skipped: bool,
    ) -> Result<(), CliError> {
        let retries: u64 = runs.iter().map(|r| r.retries).sum();
        let mut checkpoints: Vec<u64> = runs.iter().flat_map(|r| r.checkpoints.clone()).collect();
        checkpoints.sort_unstable();
        let commits = WRITERS * BATCHES;
        self.put(
            "writes",
            json!({
                "writers": WRITERS,
                "batches_per_writer": BATCHES,
                "rows_per_batch": ROWS_PER_BATCH,
                "versions": {"first": 1, "last": commits, "contiguous": true},
                "writer_versions": runs.iter().map(|r| json!({"writer": r.writer, "versions": r.versions})).collect::<Vec<_>>(),
                "retries": retries,
                "automatic_checkpoints": checkpoints,
                "rows_expected": expected_rows,
                "rows": rows,
                "replay_skipped": replay_skipped,
            }),
        );
        let mut text = format!(
            "2. {WRITERS} writers appended {BATCHES} batches of {ROWS_PER_BATCH} events each, all at \
             once, each\n   with its own table handle and an idempotent transaction id per batch:\n"
        );
        for run in runs {
            let versions: Vec<String> = run.versions.iter().map(u64::to_string).collect();
            text.push_str(&format!(
                "     writer {}: versions {}\n",
                run.writer,
                versions.join(", ")
            ));
        }
        text.push_str(&format!(
            "   {commits} commits landed as versions 1-{commits}, none lost or doubled; the table \
             has {rows} rows\n   (expected {expected_rows}). {} lost to another writer and \
             retried.\n",
            count(retries, "commit attempt was", "commit attempts were"),
        ));
        if !checkpoints.is_empty() {
            let list: Vec<String> = checkpoints.iter().map(u64::to_string).collect();
            let at = match list.split_last() {
                Some((last, [])) => format!("version {last}"),
                Some((last, rest)) => format!("versions {} and {last}", rest.join(", ")),
                None => String::new(),
            };
            text.push_str(&format!(
                "   The writers wrote checkpoints automatically, at {at}.\n"
            ));
        }
        text.push_str(&format!(
            "   Replaying writer 1's first batch with the same transaction id: {}.\n\n",
            if replay_skipped {
                "skipped, nothing committed"
            } else {
                "committed (unexpected)"
            }
        ));
        self.say(&text)
    }

    pub(crate) fn deleted(
        &mut self,
        predicate: &str,
        summary: &CommitSummary,
    ) -> Result<(), CliError> {
        let mut value = commit_json(summary);
        value["predicate"] = json!(predicate);
        self.put("delete", value);
        self.say(&format!(
            "3. DELETE WHERE {predicate}: version {}, {} deleted;\n   {} rewritten without \
             them ({} rows copied).\n\n",
            summary.version.unwrap_or(0),
            count(summary.rows_deleted, "row", "rows"),
            count(summary.files_removed, "file", "files"),
            summary.rows_copied,
        ))
    }

    pub(crate) fn updated(
        &mut self,
        assignment: &str,
        predicate: &str,
        summary: &CommitSummary,
    ) -> Result<(), CliError> {
        let mut value = commit_json(summary);
        value["set"] = json!(assignment);
        value["predicate"] = json!(predicate);
        self.put("update", value);
        self.say(&format!(
            "4. UPDATE SET {assignment} WHERE {predicate}: version {}, {} updated in {}.\n\n",
            summary.version.unwrap_or(0),
            count(summary.rows_updated, "row", "rows"),
            count(summary.files_removed, "file", "files"),
        ))
    }

    pub(crate) fn checkpointed(&mut self, summary: &CheckpointSummary) -> Result<(), CliError> {
        self.put(
            "checkpoint",
            json!({"version": summary.version, "num_files": summary.num_files, "size_bytes": summary.size_bytes}),
        );
        self.say(&format!(
            "5. Wrote a checkpoint of version {}: {} in {};\n   readers start from it instead \
             of replaying the JSON log.\n\n",
            summary.version,
            count(summary.num_files, "file", "files"),
            human_bytes(summary.size_bytes),
        ))
    }

    pub(crate) fn compacted(&mut self, c: &Compaction) -> Result<(), CliError> {
        let scan_json = |s: &compaction::RangeScan| {
            json!({
                "files_total": s.files_total,
                "files_read": s.files_read,
                "files_pruned_by_stats": s.files_pruned_by_stats,
                "rows": s.rows,
            })
        };
        self.put(
            "compaction",
            json!({
                "late_appends": {
                    "commits": c.append_versions.len(),
                    "rows_per_commit": compaction::LATE_ROWS,
                    "versions": c.append_versions,
                    "rows": c.rows_appended,
                },
                "sort_by": [compaction::SORT_COLUMN],
                "target_size": compaction::TARGET_SIZE,
                "files_before": c.files_before,
                "plan": {
                    "version": c.plan_version,
                    "files_to_rewrite": c.plan_files,
                    "bins": c.plan_bins,
                    "partitions": c.plan_partitions,
                },
                "versions": c.versions,
                "files_removed": c.files_removed,
                "files_added": c.files_added,
                "files_after": c.files_after,
                "rows": c.rows,
                "scan": {
                    "predicate": c.predicate,
                    "before": scan_json(&c.scan_before),
                    "after": scan_json(&c.scan_after),
                },
            }),
        );
        let appends = match (c.append_versions.first(), c.append_versions.last()) {
            (Some(first), Some(last)) => format!("versions {first}-{last}"),
            _ => "no versions".to_owned(),
        };
        let committed = match c.versions.as_slice() {
            [one] => format!("version {one} (dataChange=false)"),
            [first, .., last] => format!(
                "versions {first}-{last} ({} commits, dataChange=false)",
                c.versions.len()
            ),
            [] => "nothing".to_owned(),
        };
        let mut text = format!(
            "6. {} late appends of {} events ({appends}) left every day with many small files,\n   \
             {} in all. Compacted by the code behind\n   `tarn optimize --sort-by {} \
             --target-size {}`: the plan (from version {}) rewrote\n   {} in {}, one per day, \
             sorted by {};\n   committed as {committed}: {}, the same {} rows.\n",
            c.append_versions.len(),
            compaction::LATE_ROWS,
            c.files_before,
            compaction::SORT_COLUMN,
            compact_size(compaction::TARGET_SIZE),
            c.plan_version,
            count(c.plan_files, "file", "files"),
            count(c.plan_bins, "bin", "bins"),
            compaction::SORT_COLUMN,
            count(c.files_after, "file", "files"),
            c.rows,
        );
        text.push_str(&format!(
            "   Scan WHERE {}: read {} of {} files before, {} of {} after\n   ({} pruned by \
             statistics); {} both times.\n\n",
            c.predicate,
            c.scan_before.files_read,
            c.scan_before.files_total,
            c.scan_after.files_read,
            c.scan_after.files_total,
            c.scan_after.files_pruned_by_stats,
            count(c.scan_after.rows, "row matched", "rows matched"),
        ));
        self.say(&text)
    }

    pub(crate) fn history(&mut self, runs: &[HistoryRun]) -> Result<(), CliError> {
        self.put(
            "history",
            json!(
                runs.iter()
                    .map(|r| json!({
                        "first_version": r.first_version,
                        "last_version": r.last_version,
                        "operation": r.operation,
                        "commits": r.commits,
                        "rows": r.rows,
                    }))
                    .collect::<Vec<_>>()
            ),
        );
        let mut table = TextTable::new(&[
            ("VERSIONS", Align::Left),
            ("OPERATION", Align::Left),
            ("COMMITS", Align::Right),
            ("ROWS", Align::Right),
        ]);
        for run in runs {
            let versions = if run.first_version == run.last_version {
                run.first_version.to_string()
            } else {
                format!("{}-{}", run.first_version, run.last_version)
            };
            table.push(vec![
                versions,
                run.operation.clone(),
                run.commits.to_string(),
                run.rows.to_string(),
            ]);
        }
        self.say(&format!(
            "7. History (oldest first; ROWS written, deleted, updated or rewritten):\n{}\n",
            indent(&table.render())
        ))
    }

    pub(crate) fn time_travel(&mut self, versions: &[VersionCount]) -> Result<(), CliError> {
        self.put(
            "time_travel",
            json!(
                versions
                    .iter()
                    .map(|v| json!({
                        "version": v.version,
                        "label": v.label,
                        "rows": v.rows,
                        "refund_total": money(v.refund_cents),
                    }))
                    .collect::<Vec<_>>()
            ),
        );
        let mut table = TextTable::new(&[
            ("VERSION", Align::Right),
            ("ROWS", Align::Right),
            ("REFUND TOTAL", Align::Right),
            ("", Align::Left),
        ]);
        for v in versions {
            table.push(vec![
                v.version.to_string(),
                v.rows.to_string(),
                money(v.refund_cents),
                v.label.to_owned(),
            ]);
        }
        self.say(&format!(
            "8. Time travel: every version is still readable.\n{}\n",
            indent(&table.render())
        ))
    }

    pub(crate) fn scan(&mut self, probe: &ProbeScan) -> Result<(), CliError> {
        self.put(
            "scan",
            json!({
                "predicate": probe.predicate,
                "files_total": probe.files_total,
                "files_pruned_by_partition": probe.files_pruned_by_partition,
                "files_pruned_by_stats": probe.files_pruned_by_stats,
                "files_read": probe.files_read,
                "rows": probe.rows,
            }),
        );
        self.say(&format!(
            "9. Scan WHERE {}:\n   read {} of {} files ({} pruned by partition value, {} by \
             statistics); {} matched.\n\n",
            probe.predicate,
            probe.files_read,
            probe.files_total,
            probe.files_pruned_by_partition,
            probe.files_pruned_by_stats,
            count(probe.rows, "row", "rows"),
        ))
    }

    pub(crate) fn maintained(
        &mut self,
        m: &super::maintenance::Maintenance,
    ) -> Result<(), CliError> {
        let orphans = m.check.orphans.as_ref().map_or(0, |o| o.files);
        self.put(
            "maintenance",
            json!({
                "vacuum_zero_retention_would_delete": m.would_delete,
                "vacuum_zero_retention_would_delete_bytes": m.would_delete_bytes,
                "vacuum": {
                    "files_deleted": m.vacuum.files_deleted,
                    "start_version": m.vacuum.start_version,
                    "end_version": m.vacuum.end_version,
                },
                "check": {
                    "healthy": m.check.is_healthy(),
                    "files_checked": m.check.files_checked,
                    "bytes_checked": m.check.bytes_checked,
                    "orphans": orphans,
                },
            }),
        );
        let table = shell_word(&self.table);
        let tarn = super::invocation::tarn_command();
        self.say(&format!(
            "10. Maintenance. A vacuum keeping no history at all would delete {} ({}):\n    \
             exactly the files the delete, the update and the compaction removed, which only\n    \
             older versions read ({tarn} vacuum {table} --retain 0h --force --dry-run).\n    \
             A vacuum keeping the table's 7 days of history deleted {} and recorded versions\n    \
             {}-{} ({tarn} vacuum {table}). The check found {} ({}) present as logged and\n    \
             {} orphan files ({tarn} check {table}).\n\n",
            count(m.would_delete, "file", "files"),
            crate::output::human_bytes(m.would_delete_bytes),
            m.vacuum.files_deleted,
            m.vacuum.start_version.unwrap_or_default(),
            m.vacuum.end_version.unwrap_or_default(),
            count(m.check.files_checked, "file", "files"),
            crate::output::human_bytes(m.check.bytes_checked),
            orphans,
        ))
    }

    pub(crate) fn archived(&mut self, a: &super::archive::Archiving) -> Result<(), CliError> {
        self.put(
            "archive",
            json!({
                "location": a.location,
                "tiered_day": super::archive::TIER_DAY,
                "tiered_files": a.tiered_files,
                "tiered_bytes": a.tiered_bytes,
                "tier_version": a.tier_version,
                "detached_day": super::archive::DETACH_DAY,
                "detached_files": a.detached_files,
                "detached_rows": a.detached_rows,
                "detach_version": a.detach_version,
                "restored_files": a.restored_files,
                "restore_version": a.restore_version,
                "rows": a.rows,
            }),
        );
        let table = shell_word(&self.table);
        let location = shell_word(&a.location);
        let tarn = super::invocation::tarn_command();
        self.say(&format!(
            "11. Archive. Tiered {} ({}) of {} to {location}: version {} names them\n    \
             there by absolute path, and every version reads the same rows\n    \
             ({tarn} archive {table} --to {location} --where \"day = '{}'\").\n    \
             Detached {}: version {} leaves {} rows out of the live table, kept in its\n    \
             archive manifest ({tarn} archive ... --mode detach); version {} restores them\n    \
             ({tarn} restore-archive {table} --where \"day = '{}'\"): {} rows again.\n    \
             `{tarn} files {table}` shows where each file lives.\n\n",
            count(a.tiered_files, "file", "files"),
            crate::output::human_bytes(a.tiered_bytes),
            super::archive::TIER_DAY,
            a.tier_version,
            super::archive::TIER_DAY,
            super::archive::DETACH_DAY,
            a.detach_version,
            a.detached_rows,
            a.restore_version,
            super::archive::DETACH_DAY,
            a.rows,
        ))
    }

    pub(crate) fn finish(mut self, version: u64, elapsed: Duration) -> Result<(), CliError> {
        self.put("final_version", json!(version));
        if self.json {
            return print_json(&Value::Object(self.summary));
        }
        let table = shell_word(&self.table);
        let tarn = super::invocation::tarn_command();
        emit(&format!(
            "Done in {:.1} s; the table is at version {version}. Look around:\n  \
             {tarn} describe {table}\n  {tarn} history {table}\n  \
             {tarn} files {table} --where \"day = '2026-01-07'\"\n  \
             {tarn} cat {table} --where \"kind = 'refund'\" --limit 5\n  \
             {tarn} cat {table} --version 1 --explain\n",
            elapsed.as_secs_f64(),
        ))
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("   {l}\n")).collect()
}

/// A byte size as `--target-size` takes it: `16KiB`, `128MiB`.
fn compact_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes;
    let mut unit = 0;
    while unit + 1 < UNITS.len() && value >= 1024 && value.is_multiple_of(1024) {
        value /= 1024;
        unit += 1;
    }
    format!("{value}{}", UNITS[unit])
}

/// The path as one shell word (quoted if it has anything but safe characters).
pub(crate) fn shell_word(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_shell_words() {
        assert_eq!(money(12345), "123.45");
        assert_eq!(money(5), "0.05");
        assert_eq!(shell_word("./tarn-demo/events"), "./tarn-demo/events");
        assert_eq!(shell_word("my dir/it's"), "'my dir/it'\\''s'");
        assert_eq!(compact_size(16 * 1024), "16KiB");
        assert_eq!(compact_size(128 << 20), "128MiB");
        assert_eq!(compact_size(1500), "1500B");
    }
}
