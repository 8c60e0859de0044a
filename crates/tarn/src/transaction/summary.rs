//! What a committed operation did: [`CommitSummary`].

use serde_json::{Map, Value};
use tarn_protocol::log_path::Version;

/// What a committed operation did. Counters an operation does not use are zero.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommitSummary {
    /// The version committed; `None` when there was nothing to commit (an idempotent write
    /// whose `txn` version was already committed, a delete that matched no rows).
    pub version: Option<Version>,
    /// The operation, as `commitInfo.operation` records it (`WRITE`, `DELETE`, ...).
    pub operation: String,
    /// Data files added.
    pub files_added: u64,
    /// Data files removed.
    pub files_removed: u64,
    /// Bytes in the files added.
    pub bytes_added: u64,
    /// Bytes in the files removed (as their `remove` actions record them).
    pub bytes_removed: u64,
    /// Rows written in new files (including rows a rewrite carried over).
    pub rows_written: u64,
    /// Rows deleted.
    pub rows_deleted: u64,
    /// Rows updated.
    pub rows_updated: u64,
    /// Rows copied unchanged into rewritten files.
    pub rows_copied: u64,
    /// Put attempts the commit took (1 when no other writer got in the way).
    pub attempts: u32,
    /// Whether a checkpoint was written after the commit.
    pub checkpoint_written: bool,
    /// Files the table keeps detached in its archive manifest (the `tarn.archive` domain)
    /// that this operation did not search: a delete or update never reaches them. Set by
    /// delete and update, whether they committed or not; `tarn restore-archive` applies the
    /// deletes committed since when it brings such files back.
    pub detached_files_not_searched: u64,
}

impl CommitSummary {
    /// A summary of an operation that committed nothing.
    pub fn nothing(operation: &str) -> Self {
        Self {
            operation: operation.to_owned(),
            ..Self::default()
        }
    }

    /// The summary as `commitInfo.operationMetrics` (string values, as Spark writes them).
    pub(crate) fn operation_metrics(&self) -> Map<String, Value> {
        let mut metrics = Map::new();
        let mut put = |key: &str, value: u64| {
            metrics.insert(key.to_owned(), Value::String(value.to_string()));
        };
        put("numAddedFiles", self.files_added);
        put("numRemovedFiles", self.files_removed);
        put("numOutputBytes", self.bytes_added);
        put("numOutputRows", self.rows_written);
        if self.bytes_removed > 0 {
            put("numRemovedBytes", self.bytes_removed);
        }
        if self.operation == "DELETE" {
            put("numDeletedRows", self.rows_deleted);
            put("numCopiedRows", self.rows_copied);
        }
        if self.operation == "UPDATE" {
            put("numUpdatedRows", self.rows_updated);
            put("numCopiedRows", self.rows_copied);
        }
        metrics
    }
}
