//! Write operations on a table: create, write (append, overwrite, overwrite-where), delete,
//! update, restore and checkpoint.
//!
//! Each is a builder obtained from [`crate::Table`] and ends in one atomic commit (see
//! [`crate::transaction`]), or in an error that leaves the table as it was: data files an
//! operation wrote before failing are deleted, and nothing is committed.

mod checkpoint;
mod create;
mod delete;
mod restore;
mod rewrite;
mod update;
mod write;

use std::collections::BTreeMap;

use chrono::Utc;
use tarn_log::FileView;
use tarn_protocol::actions::{Metadata, Remove};

pub use checkpoint::{CheckpointBuilder, CheckpointSummary};
pub use create::CreateBuilder;
pub use delete::DeleteBuilder;
pub use restore::RestoreBuilder;
pub use update::{UpdateBuilder, parse_assignment};
pub use write::{WriteBuilder, WriteMode};

use crate::error::{Error, Result};

/// The `remove` action that takes an active file out of the table.
pub(crate) fn remove_file(file: &FileView<'_>, data_change: bool) -> Remove {
    let add = file.to_add();
    Remove {
        path: add.path,
        deletion_timestamp: Some(Utc::now().timestamp_millis()),
        data_change,
        extended_file_metadata: Some(true),
        partition_values: Some(add.partition_values),
        size: Some(add.size),
        stats: None,
        tags: add.tags,
        deletion_vector: add.deletion_vector,
        base_row_id: add.base_row_id,
        default_row_commit_version: add.default_row_commit_version,
    }
}

/// Table properties a writer must be able to read back, checked when a table is created or
/// its properties change: numbers parse, booleans are booleans, constraints are predicates.
pub(crate) fn validate_properties(
    properties: &BTreeMap<String, String>,
    schema: &tarn_protocol::schema::StructType,
) -> Result<()> {
    for (key, value) in properties {
        let invalid = |expected: &str| Error::InvalidArgument {
            reason: format!("table property {key}={value:?}: expected {expected}"),
        };
        let expected = match key.as_str() {
            "delta.checkpointInterval" if !value.parse::<u64>().is_ok_and(|n| n > 0) => {
                Some("a positive integer")
            }
            "delta.targetFileSize" if !value.parse::<u64>().is_ok_and(|n| n > 0) => {
                Some("a positive number of bytes")
            }
            "delta.dataSkippingNumIndexedCols" if !value.parse::<i64>().is_ok_and(|n| n >= -1) => {
                Some("an integer >= -1")
            }
            "delta.appendOnly" if !matches!(value.as_str(), "true" | "false") => {
                Some("true or false")
            }
            _ => None,
        };
        if let Some(expected) = expected {
            return Err(invalid(expected));
        }
        if let Some(name) = key.strip_prefix("delta.constraints.") {
            let expr = crate::Expr::parse(value).map_err(|e| Error::InvalidArgument {
                reason: format!("constraint `{name}`: {e}"),
            })?;
            let ty = expr.validate(schema)?;
            if ty != tarn_protocol::schema::DataType::BOOLEAN {
                return Err(Error::InvalidArgument {
                    reason: format!("constraint `{name}` ({value}) is not a boolean expression"),
                });
            }
        }
    }
    Ok(())
}

/// Whether the table refuses removes (`delta.appendOnly=true`).
pub(crate) fn check_not_append_only(metadata: &Metadata, operation: &str) -> Result<()> {
    if metadata
        .configuration
        .get("delta.appendOnly")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Err(Error::TableIsAppendOnly {
            operation: operation.to_owned(),
        });
    }
    Ok(())
}

/// Commits a transaction; if it definitely did not commit (a conflict, or no attempt
/// left), deletes the data files it wrote. After any other failure (the store failed
/// mid-commit) the files are left for vacuum: the commit may have landed.
pub(crate) async fn commit_or_discard(
    tx: crate::transaction::Transaction,
    options: &tarn_log::commit::CommitOptions,
    written: &[tarn_protocol::actions::Add],
) -> Result<crate::transaction::CommitSummary> {
    let location = std::sync::Arc::clone(&tx.location);
    match tx.commit(options).await {
        Ok(summary) => Ok(summary),
        Err(err) => {
            discard_after_failed_commit(&location, &err, written).await;
            Err(err)
        }
    }
}

/// Deletes the data files of a commit that failed, if it definitely did not land (a
/// conflict, no attempt left, a table created by someone else); after any other failure the
/// commit may have landed, so the files stay (vacuum removes them if it did not).
pub(crate) async fn discard_after_failed_commit(
    location: &tarn_log::TableLocation,
    err: &Error,
    written: &[tarn_protocol::actions::Add],
) {
    if matches!(
        err,
        Error::Log(
            tarn_log::LogError::CommitConflict { .. }
                | tarn_log::LogError::CommitAttemptsExhausted { .. }
                | tarn_log::LogError::TableAlreadyExists { .. }
        )
    ) {
        rewrite::delete_data_files(location, written).await;
    }
}

#[cfg(test)]
mod tests;
