//! `DELETE FROM table WHERE predicate`: one commit that removes the matching rows.

use tarn_log::commit::CommitOptions;

use super::check_not_append_only;
use super::rewrite::{RowChange, rewrite};
use crate::error::Result;
use crate::expr::Expr;
use crate::table::Table;
use crate::transaction::{CommitSummary, ReadSet};
use crate::write::WriterOptions;

/// Deletes the rows that match a predicate. Obtained from [`Table::delete`].
///
/// Files whose partition values or statistics prove that every row matches are removed
/// whole; files that may hold some matching rows are rewritten without them (copy on
/// write). Rows where the predicate is null are kept, as in SQL.
#[derive(Debug)]
pub struct DeleteBuilder {
    table: Table,
    predicate: Option<Expr>,
    writer_options: Option<WriterOptions>,
    commit_options: CommitOptions,
}

impl DeleteBuilder {
    pub(crate) fn new(table: Table) -> Self {
        Self {
            table,
            predicate: None,
            writer_options: None,
            commit_options: CommitOptions::default(),
        }
    }

    /// Deletes only the rows where `predicate` is true; without one, every row.
    pub fn with_predicate(mut self, predicate: Expr) -> Self {
        self.predicate = Some(predicate);
        self
    }

    /// How rewritten files are written (defaults from the table's properties).
    pub fn with_writer_options(mut self, options: WriterOptions) -> Self {
        self.writer_options = Some(options);
        self
    }

    /// How the commit retries when other writers commit at the same time.
    pub fn with_commit_options(mut self, options: CommitOptions) -> Self {
        self.commit_options = options;
        self
    }

    /// Deletes the rows and commits. Commits nothing when no row matches, unless the table
    /// has detached files (its archive manifest): then the commit records the delete (its
    /// `commitInfo` alone, with the predicate) for `restore-archive` to apply to them.
    pub async fn execute(self) -> Result<CommitSummary> {
        let snapshot = self.table.snapshot().await?;
        // What was read is known after the rewrite; the transaction is made first so that
        // an unwritable table fails before any file is written.
        let mut tx = snapshot.transaction("DELETE", ReadSet::WholeTable)?;
        check_not_append_only(snapshot.metadata(), "DELETE")?;
        let schema = snapshot.schema().clone();
        let predicate = match &self.predicate {
            Some(predicate) => {
                predicate.validate(&schema)?;
                predicate.resolve(&schema)?
            }
            None => Expr::Literal(tarn_protocol::scalar::Scalar::Boolean(true)),
        };
        let options = self.writer_options.unwrap_or_default();
        let outcome = rewrite(&snapshot, &predicate, &RowChange::Delete, &options).await?;
        let detached = super::detached_file_count(&snapshot);
        // Nothing matched in the live table. On a table with detached files the delete is
        // still committed (its commitInfo alone, with the predicate): rows it would have
        // matched may be among the detached files, and `restore-archive` finds the deletes to
        // apply to them in the log (spec/archive.md).
        if outcome.removes.is_empty() && detached == 0 {
            return Ok(CommitSummary::nothing("DELETE"));
        }
        tx.parameter(
            "predicate",
            serde_json::to_string(&[predicate.to_string()]).unwrap_or_default(),
        );
        tx.set_reads(ReadSet::Predicate {
            predicate,
            files: outcome.read_files,
        });
        let summary = tx.summary_mut();
        summary.detached_files_not_searched = detached;
        summary.rows_deleted = outcome.rows_matched;
        summary.rows_copied = outcome.rows_copied;
        summary.rows_written = outcome.rows_written;
        tx.set_row_ids_preserved(outcome.row_ids_preserved);
        for remove in outcome.removes {
            tx.remove(remove);
        }
        for add in outcome.adds {
            tx.add_file(add);
        }
        tx.with_commit_options(self.commit_options).commit().await
    }
}
