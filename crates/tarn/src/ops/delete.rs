//! `DELETE FROM table WHERE predicate`: one commit that removes the matching rows.

use std::sync::Arc;

use tarn_log::commit::CommitOptions;

use super::check_not_append_only;
use super::rewrite::{RowChange, rewrite};
use crate::error::Result;
use crate::expr::Expr;
use crate::table::Table;
use crate::transaction::{CommitSummary, Reads, Transaction};
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

    /// Deletes the rows and commits. Commits nothing when no row matches.
    pub async fn execute(self) -> Result<CommitSummary> {
        let snapshot = self.table.snapshot().await?;
        tarn_protocol::features::check_writable(snapshot.protocol(), snapshot.metadata())?;
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
        if outcome.removes.is_empty() {
            return Ok(CommitSummary::nothing("DELETE"));
        }
        let mut tx = Transaction::new(
            Arc::clone(snapshot.location()),
            Some(snapshot.version()),
            schema,
            snapshot.partition_columns().to_vec(),
            snapshot.column_mapping_mode(),
            "DELETE",
        );
        tx.read_metadata = Some(snapshot.metadata().clone());
        tx.parameter(
            "predicate",
            serde_json::to_string(&[predicate.to_string()]).unwrap_or_default(),
        );
        tx.reads = Reads::Predicate(predicate);
        tx.summary.rows_deleted = outcome.rows_matched;
        tx.summary.rows_copied = outcome.rows_copied;
        tx.summary.rows_written = outcome.rows_written;
        let adds = outcome.adds.clone();
        tx.remove_files(outcome.removes);
        tx.add_files(outcome.adds);
        super::commit_or_discard(tx, &self.commit_options, &adds).await
    }
}
