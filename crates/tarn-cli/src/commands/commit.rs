//! What a write command prints about its commit: one line of text, or one JSON object.
//!
//! This module only renders a [`CommitSummary`]; it never decides what is committed. Why a
//! command committed nothing (an idempotent write already done, a predicate matching no
//! row) is known only to the command, which passes it in.

use serde_json::{Value, json};
use tarn::CommitSummary;

/// `1 file`, `2 files`.
pub(crate) fn count(n: u64, singular: &str, plural: &str) -> String {
    if n == 1 {
        format!("1 {singular}")
    } else {
        format!("{n} {plural}")
    }
}

/// The one-line report of a commit. `what` replaces the default description of the
/// changes (used by create and restore); `nothing` says why nothing was committed.
pub(crate) fn commit_text(summary: &CommitSummary, what: Option<&str>, nothing: &str) -> String {
    let Some(version) = summary.version else {
        return match detached_note(summary) {
            Some(note) => format!("nothing committed: {nothing}; {note}"),
            None => format!("nothing committed: {nothing}"),
        };
    };
    let mut text = format!("committed version {version}: ");
    match what {
        Some(what) => text.push_str(what),
        None => {
            text.push_str(&format!(
                "{} added, {} removed, {} written",
                count(summary.files_added, "file", "files"),
                summary.files_removed,
                count(summary.rows_written, "row", "rows"),
            ));
            let mut extra = Vec::new();
            if summary.operation == "DELETE" || summary.rows_deleted > 0 {
                extra.push(format!(
                    "{} deleted",
                    count(summary.rows_deleted, "row", "rows")
                ));
            }
            if summary.operation == "UPDATE" {
                extra.push(format!(
                    "{} updated",
                    count(summary.rows_updated, "row", "rows")
                ));
            }
            if summary.rows_copied > 0 {
                extra.push(format!("{} copied unchanged", summary.rows_copied));
            }
            if !extra.is_empty() {
                text.push_str(&format!(" ({})", extra.join(", ")));
            }
        }
    }
    if summary.attempts > 1 {
        text.push_str(&format!(
            "; committed on attempt {} after other writers' commits",
            summary.attempts
        ));
    }
    if summary.checkpoint_written {
        text.push_str("; checkpoint written");
    }
    if let Some(note) = detached_note(summary) {
        text.push_str(&format!("; {note}"));
    }
    text
}

/// What a delete or update says about the files the table keeps detached in its archive
/// manifest, which it did not search (nothing when there are none).
pub(crate) fn detached_note(summary: &CommitSummary) -> Option<String> {
    let n = summary.detached_files_not_searched;
    if n == 0 {
        return None;
    }
    let files = count(n, "detached file", "detached files");
    Some(match summary.operation.as_str() {
        "UPDATE" => format!(
            "{files} in the archive manifest {} not searched: restore-archive refuses to bring \
             back rows this update would have changed",
            if n == 1 { "was" } else { "were" }
        ),
        _ => format!(
            "{files} in the archive manifest {} not searched: restore-archive applies this delete \
             to them when it brings them back",
            if n == 1 { "was" } else { "were" }
        ),
    })
}

/// The `--json` document of a write command. The keys are a contract with scripts: add,
/// never rename. `version` is `null` when nothing was committed; `message` is the text line.
pub(crate) fn commit_json(summary: &CommitSummary, message: &str) -> Value {
    json!({
        "version": summary.version,
        "operation": summary.operation,
        "files_added": summary.files_added,
        "files_removed": summary.files_removed,
        "rows_written": summary.rows_written,
        "rows_deleted": summary.rows_deleted,
        "rows_updated": summary.rows_updated,
        "rows_copied": summary.rows_copied,
        "bytes_added": summary.bytes_added,
        "attempts": summary.attempts,
        "checkpoint_written": summary.checkpoint_written,
        "detached_files_not_searched": summary.detached_files_not_searched,
        "message": message,
    })
}

/// Prints a commit report as text or JSON; `extra` keys are added to the JSON object.
pub(crate) fn print_commit(
    summary: &CommitSummary,
    what: Option<&str>,
    nothing: &str,
    json: bool,
    extra: &[(&str, Value)],
) -> Result<(), crate::CliError> {
    let text = commit_text(summary, what, nothing);
    if json {
        let mut value = commit_json(summary, &text);
        if let Value::Object(map) = &mut value {
            for (key, v) in extra {
                map.insert((*key).to_owned(), v.clone());
            }
        }
        super::print_json(&value)
    } else {
        super::emit(&format!("{text}\n"))
    }
}
