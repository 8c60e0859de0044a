//! `UPDATE table SET col = expr, ... WHERE predicate`: one commit that rewrites the files
//! holding matching rows.

use tarn_log::commit::CommitOptions;

use super::check_not_append_only;
use super::rewrite::{RowChange, rewrite};
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::table::Table;
use crate::transaction::{CommitSummary, ReadSet};
use crate::write::WriterOptions;

/// Sets columns of the rows that match a predicate. Obtained from [`Table::update`].
///
/// Every file that may hold a matching row is read and rewritten with the new values (copy
/// on write); rows where the predicate is null are left as they are, as in SQL. The new
/// values must fit the table's schema and constraints, or nothing is committed.
#[derive(Debug)]
pub struct UpdateBuilder {
    table: Table,
    predicate: Option<Expr>,
    assignments: Vec<(String, Expr)>,
    writer_options: Option<WriterOptions>,
    commit_options: CommitOptions,
}

impl UpdateBuilder {
    pub(crate) fn new(table: Table) -> Self {
        Self {
            table,
            predicate: None,
            assignments: Vec::new(),
            writer_options: None,
            commit_options: CommitOptions::default(),
        }
    }

    /// Updates only the rows where `predicate` is true; without one, every row.
    pub fn with_predicate(mut self, predicate: Expr) -> Self {
        self.predicate = Some(predicate);
        self
    }

    /// Sets `column` to `value`, an expression over the row's old values (`value + 1`).
    pub fn set(mut self, column: impl Into<String>, value: Expr) -> Self {
        self.assignments.push((column.into(), value));
        self
    }

    /// Parses an SQL assignment `column = expression` and adds it.
    pub fn set_sql(self, assignment: &str) -> Result<Self> {
        let (column, value) = parse_assignment(assignment)?;
        Ok(self.set(column, value))
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

    /// Updates the rows and commits. Commits nothing when no row matches, unless the table
    /// has detached files (its archive manifest): then the commit records the update (its
    /// `commitInfo` alone) for `restore-archive` to find.
    pub async fn execute(self) -> Result<CommitSummary> {
        if self.assignments.is_empty() {
            return Err(Error::InvalidArgument {
                reason: "an update needs at least one `column = value` assignment".to_owned(),
            });
        }
        let snapshot = self.table.snapshot().await?;
        let mut tx = snapshot.transaction("UPDATE", ReadSet::WholeTable)?;
        check_not_append_only(snapshot.metadata(), "UPDATE")?;
        let schema = snapshot.schema().clone();
        let predicate = match &self.predicate {
            Some(predicate) => {
                predicate.validate(&schema)?;
                predicate.resolve(&schema)?
            }
            None => Expr::Literal(tarn_protocol::scalar::Scalar::Boolean(true)),
        };
        let mut assignments = Vec::with_capacity(self.assignments.len());
        for (column, value) in &self.assignments {
            let field = schema
                .field(column)
                .or_else(|| {
                    schema
                        .fields
                        .iter()
                        .find(|f| f.name.eq_ignore_ascii_case(column))
                })
                .ok_or_else(|| Error::InvalidArgument {
                    reason: format!(
                        "cannot set `{column}`: no such column; the table's columns are: {}",
                        schema
                            .fields
                            .iter()
                            .map(|f| f.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })?;
            if assignments.iter().any(|(c, _)| c == &field.name) {
                return Err(Error::InvalidArgument {
                    reason: format!("column `{}` is assigned twice", field.name),
                });
            }
            value.validate(&schema)?;
            assignments.push((field.name.clone(), value.resolve(&schema)?));
        }
        let options = self.writer_options.unwrap_or_default();
        let change = RowChange::Update(assignments.clone());
        let outcome = rewrite(&snapshot, &predicate, &change, &options).await?;
        let detached = super::detached_file_count(&snapshot);
        // Nothing matched in the live table. On a table with detached files the update is
        // still committed (its commitInfo alone, with the predicate): rows it would have
        // matched may be among the detached files, and `restore-archive` finds the updates to
        // apply to them in the log (spec/archive.md).
        if outcome.removes.is_empty() && detached == 0 {
            return Ok(CommitSummary::nothing("UPDATE"));
        }
        tx.parameter(
            "predicate",
            serde_json::to_string(&[predicate.to_string()]).unwrap_or_default(),
        );
        tx.parameter(
            "set",
            assignments
                .iter()
                .map(|(c, v)| format!("{c} = {v}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        tx.set_reads(ReadSet::Predicate {
            predicate,
            files: outcome.read_files,
        });
        let summary = tx.summary_mut();
        summary.detached_files_not_searched = detached;
        summary.rows_updated = outcome.rows_matched;
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

/// Splits `column = expression` at the first top-level `=` and parses the expression.
pub fn parse_assignment(assignment: &str) -> Result<(String, Expr)> {
    let Some((column, value)) = assignment.split_once('=') else {
        return Err(Error::InvalidArgument {
            reason: format!("expected `column = expression`, found `{assignment}`"),
        });
    };
    let column = column.trim().trim_matches('`').trim_matches('"').to_owned();
    if column.is_empty() || value.trim().is_empty() {
        return Err(Error::InvalidArgument {
            reason: format!("expected `column = expression`, found `{assignment}`"),
        });
    }
    Ok((column, Expr::parse(value)?))
}
