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

use tarn_protocol::actions::Metadata;

pub use checkpoint::{CheckpointBuilder, CheckpointSummary};
pub use create::{CLUSTERING_DOMAIN, CreateBuilder, LIQUID_PREVIEW_DOMAIN};
pub use delete::DeleteBuilder;
pub use restore::RestoreBuilder;
pub use update::{UpdateBuilder, parse_assignment};
pub use write::{WriteBuilder, WriteMode};

pub(crate) use rewrite::delete_data_files;

use crate::error::{Error, Result};

/// How many files the table keeps detached in its archive manifest (`tarn.archive`): rows a
/// delete or update does not reach. A manifest that does not parse counts as none, with a
/// warning: the operation on the live table stands either way.
pub(crate) fn detached_file_count(snapshot: &crate::Snapshot) -> u64 {
    match tarn_protocol::archive_domain::ArchiveConfiguration::of_domains(
        snapshot.domain_metadata(),
    ) {
        Ok(Some(config)) => config.detached_count() as u64,
        Ok(None) => 0,
        Err(err) => {
            tracing::warn!(error = %err, "the tarn.archive domain does not parse; cannot count detached files");
            0
        }
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

#[cfg(test)]
mod tests;
