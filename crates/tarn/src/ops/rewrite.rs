//! Copy-on-write changes to the rows a predicate selects: the engine of delete, update and
//! overwrite-where.
//!
//! Files the predicate cannot match (by partition values and statistics) are left alone.
//! For a delete, a file whose partition values and statistics prove that every row matches
//! is removed whole, without reading it. Every other candidate is read (deletion vectors
//! applied), its rows changed, and the result written as new files that replace it; a
//! candidate in which no row matched after all is kept as it was. Nothing here commits: the
//! caller commits the removes and adds, or calls [`RewriteOutcome::discard`] on failure.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::DataType;
use object_store::ObjectStoreExt as _;
use tarn_log::{PathResolver, TableLocation};
use tarn_protocol::actions::{Add, Remove};

use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::scan::file_predicate::{FileFacts, FilePredicate};
use crate::table::Snapshot;
use crate::transaction::remove_action;
use crate::write::{DataWriter, WriterOptions};
use tarn_protocol::row_tracking::RowTracking;

/// What happens to the rows a predicate selects.
#[derive(Debug, Clone)]
pub(crate) enum RowChange {
    /// They are deleted.
    Delete,
    /// Columns are set to the values of expressions (resolved against the table schema),
    /// evaluated on the old row.
    Update(Vec<(String, Expr)>),
}

/// The files a rewrite removes and adds, and its row counts.
#[derive(Debug, Default)]
pub(crate) struct RewriteOutcome {
    /// The log paths of the files that could hold selected rows (the scan's candidates):
    /// what the operation read, for its conflict check.
    pub(crate) read_files: std::collections::BTreeSet<String>,
    pub(crate) removes: Vec<Remove>,
    pub(crate) adds: Vec<Add>,
    /// Rows the predicate selected (deleted or updated).
    pub(crate) rows_matched: u64,
    /// Rows carried over unchanged into new files.
    pub(crate) rows_copied: u64,
    /// Rows written into new files (copied and updated).
    pub(crate) rows_written: u64,
    /// Whether the stable row ids (and, of copied rows, commit versions) of the rows
    /// written were preserved in the materialized columns (row tracking), or none were
    /// written.
    pub(crate) row_ids_preserved: bool,
}

impl RewriteOutcome {
    /// Deletes the files the rewrite wrote (after a failure, before anything was committed).
    pub(crate) async fn discard(&self, location: &TableLocation) {
        delete_data_files(location, &self.adds).await;
    }
}

/// Deletes data files written by an operation that will not commit them. Best effort: a file
/// left behind is unreferenced, and vacuum removes it. Only files under the table's root are
/// deleted: an operation writes nowhere else.
pub(crate) async fn delete_data_files(location: &TableLocation, adds: &[Add]) {
    let resolver = PathResolver::for_location(Arc::new(location.clone()));
    let mut deleted = Vec::with_capacity(adds.len());
    for add in adds {
        let Ok(path) = tarn_protocol::data_path::DataFilePath::parse(&add.path) else {
            continue;
        };
        let Ok(file) = resolver.resolve_in_table(&path) else {
            continue;
        };
        match file.store().delete(file.path()).await {
            Ok(()) => deleted.push(file.path().clone()),
            Err(err) => {
                tracing::warn!(path = %add.path, error = %err, "cannot delete an uncommitted data file")
            }
        }
    }
    location.remove_empty_directories(&deleted);
}

/// Applies `change` to the rows of `snapshot` where `predicate` (resolved against the
/// table's schema) is true.
pub(crate) async fn rewrite(
    snapshot: &Snapshot,
    predicate: &Expr,
    change: &RowChange,
    options: &WriterOptions,
) -> Result<RewriteOutcome> {
    let mut outcome = RewriteOutcome::default();
    match rewrite_into(snapshot, predicate, change, options, &mut outcome).await {
        Ok(()) => Ok(outcome),
        Err(err) => {
            outcome.discard(snapshot.location()).await;
            Err(err)
        }
    }
}

async fn rewrite_into(
    snapshot: &Snapshot,
    predicate: &Expr,
    change: &RowChange,
    options: &WriterOptions,
    outcome: &mut RewriteOutcome,
) -> Result<()> {
    let candidates = snapshot
        .scan()
        .with_filter(predicate.clone())
        .build()
        .await?;
    if candidates.files().is_empty() {
        return Ok(());
    }
    let candidate_paths: std::collections::HashSet<&str> =
        candidates.files().iter().map(|t| t.log_path()).collect();
    outcome
        .read_files
        .extend(candidate_paths.iter().map(|p| (*p).to_owned()));
    // Statistics were loaded for planning if the predicate needed them.
    let snapshot = if snapshot.has_statistics() {
        snapshot.clone()
    } else {
        snapshot.with_statistics().await?
    };
    let files: HashMap<&str, tarn_log::FileView<'_>> = snapshot
        .files()
        .iter()
        .filter(|f| candidate_paths.contains(f.path()))
        .map(|f| (f.path(), f))
        .collect();

    // Whole files first: removing them needs no reading.
    let schema = snapshot.schema().clone();
    let partition_columns = snapshot.partition_columns().to_vec();
    let mapping = snapshot.column_mapping_mode();
    let file_predicate =
        FilePredicate::new(predicate.clone(), &schema, &partition_columns, mapping);
    let mut to_read: Vec<&str> = Vec::new();
    for task in candidates.files() {
        let Some(file) = files.get(task.log_path()) else {
            continue;
        };
        if matches!(change, RowChange::Delete)
            && file_predicate.all_match(&FileFacts {
                partition_value: &|name| file.partition_value(name).flatten(),
                stats: file.stats(),
                num_records: file.num_records(),
            })
        {
            let rows =
                file.num_records().unwrap_or(0) - file.deletion_vector_cardinality().unwrap_or(0);
            outcome.rows_matched += u64::try_from(rows).unwrap_or(0);
            outcome.removes.push(remove_action(file, true));
        } else {
            to_read.push(task.log_path());
        }
    }
    if to_read.is_empty() {
        return Ok(());
    }

    // The rest: read every column of each file, change the matching rows, write the result.
    // On a table that tracks rows, copies and updated rows keep their stable row ids, and
    // copies their commit versions, in the materialized columns.
    let materialized = RowTracking::of(snapshot.protocol(), snapshot.metadata())?
        .materialized_columns()
        .cloned();
    let full = match &materialized {
        Some(_) => snapshot.scan().with_row_tracking().build().await?,
        None => snapshot.scan().build().await?,
    };
    let options = match &materialized {
        Some(columns) => options.clone().with_row_tracking_columns(columns.clone()),
        None => options.clone(),
    };
    let tasks: HashMap<&str, &crate::scan::FileTask> =
        full.files().iter().map(|t| (t.log_path(), t)).collect();
    for path in to_read {
        let (Some(task), Some(file)) = (tasks.get(path), files.get(path)) else {
            continue;
        };
        let mut writer = DataWriter::new(
            Arc::clone(snapshot.location()),
            &schema,
            &partition_columns,
            snapshot.properties(),
            options.clone(),
        )?;
        let mut matched = 0u64;
        let mut written = 0u64;
        let mut batches = full.read_task((*task).clone());
        let result: Result<()> = async {
            while let Some(batch) = batches.recv().await {
                let batch = batch?;
                let mask = predicate.evaluate_predicate(&batch)?;
                let selected = is_true(&mask);
                let count = selected.true_count();
                matched += u64::try_from(count).unwrap_or(0);
                let output = match change {
                    RowChange::Delete => {
                        let keep = arrow_arith::boolean::not(&selected).map_err(kernel)?;
                        arrow_select::filter::filter_record_batch(&batch, &keep).map_err(kernel)?
                    }
                    RowChange::Update(assignments) if count > 0 => {
                        let updated = update_batch(&batch, &selected, assignments)?;
                        if materialized.is_some() {
                            fresh_commit_versions(&updated, &selected)?
                        } else {
                            updated
                        }
                    }
                    RowChange::Update(_) => batch,
                };
                if output.num_rows() > 0 {
                    written += u64::try_from(output.num_rows()).unwrap_or(0);
                    writer.write(&output).await?;
                }
            }
            Ok(())
        }
        .await;
        if let Err(err) = result {
            writer.abort().await;
            return Err(err);
        }
        if matched == 0 {
            // Nothing to change after all (statistics could not rule the file out).
            writer.abort().await;
            continue;
        }
        let output = writer.finish().await?;
        outcome.rows_matched += matched;
        outcome.rows_written += written;
        outcome.rows_copied += match change {
            RowChange::Delete => written,
            RowChange::Update(_) => written - matched,
        };
        outcome.adds.extend(output.adds);
        outcome.removes.push(remove_action(file, true));
    }
    outcome.row_ids_preserved = materialized.is_some() || outcome.rows_written == 0;
    Ok(())
}

/// The batch with the row commit version of the selected (updated) rows set to null: an
/// updated row takes the version of the commit that writes it (PROTOCOL.md, "Row Commit
/// Versions").
fn fresh_commit_versions(batch: &RecordBatch, selected: &BooleanArray) -> Result<RecordBatch> {
    let schema = batch.schema();
    let index = schema
        .index_of(crate::scan::ROW_COMMIT_VERSION_COLUMN)
        .map_err(kernel)?;
    let versions = batch.column(index);
    let nulls = arrow_array::new_null_array(versions.data_type(), versions.len());
    let mut columns = batch.columns().to_vec();
    columns[index] = arrow_select::zip::zip(selected, &nulls, versions).map_err(kernel)?;
    let mut fields: Vec<arrow_schema::FieldRef> = schema.fields().iter().cloned().collect();
    fields[index] = Arc::new(fields[index].as_ref().clone().with_nullable(true));
    RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), columns).map_err(kernel)
}

/// `true` where the predicate is true; nulls are `false`.
fn is_true(mask: &BooleanArray) -> BooleanArray {
    match mask.nulls() {
        None => mask.clone(),
        Some(nulls) => BooleanArray::new(mask.values() & nulls.inner(), None),
    }
}

fn kernel(source: arrow_schema::ArrowError) -> Error {
    Error::Compute {
        context: "computing the changed rows".to_owned(),
        source,
    }
}

/// The batch with each assigned column replaced, on the selected rows, by its expression's
/// value converted to the column's type. The conversion never changes a value: a value that
/// the column cannot hold exactly (`1.5` into a `long`, `300` into a `byte`, a timestamp with
/// a time of day into a `date`) fails the update, naming the column and the value. Float and
/// double columns are the one exception, and round to the nearest representable value, as
/// any conversion to floating point does. Only the selected rows are converted: the value an
/// expression has on a row it does not update does not matter.
fn update_batch(
    batch: &RecordBatch,
    selected: &BooleanArray,
    assignments: &[(String, Expr)],
) -> Result<RecordBatch> {
    let schema = batch.schema();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    for (column, expr) in assignments {
        let index = schema.index_of(column).map_err(|source| Error::Compute {
            context: format!("finding column `{column}` to update"),
            source,
        })?;
        let target: &DataType = schema.field(index).data_type();
        let value = expr.evaluate(batch)?;
        let value = if value.data_type() == target {
            value
        } else {
            // Only the rows being updated: nulls elsewhere.
            let unselected = arrow_array::new_null_array(value.data_type(), value.len());
            let value = arrow_select::zip::zip(selected, &value, &unselected).map_err(kernel)?;
            convert_exactly(&value, target).map_err(|reason| Error::InvalidArgument {
                reason: format!(
                    "cannot set `{column}` to {expr}: {reason} (the column is {})",
                    crate::write::describe_arrow_type(target)
                ),
            })?
        };
        columns[index] =
            arrow_select::zip::zip(selected, &value, &columns[index]).map_err(kernel)?;
    }
    RecordBatch::try_new(schema, columns).map_err(kernel)
}

/// Converts `value` to `target` without changing any value (floating-point targets round to
/// nearest): the conversion is undone and compared, so truncation of fractions, of times of
/// day or of digits is caught whatever the types. Text is converted by parsing, which fails
/// on its own for what does not read as the type.
fn convert_exactly(value: &ArrayRef, target: &DataType) -> std::result::Result<ArrayRef, String> {
    let strict = arrow_cast::CastOptions {
        safe: false,
        ..Default::default()
    };
    let converted = arrow_cast::cast_with_options(value, target, &strict)
        .map_err(|err| format!("a value does not fit: {err}"))?;
    let rounds = matches!(
        target,
        DataType::Float16 | DataType::Float32 | DataType::Float64
    );
    let parsed = matches!(
        value.data_type(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    );
    if rounds || parsed {
        return Ok(converted);
    }
    let back = arrow_cast::cast_with_options(&converted, value.data_type(), &strict)
        .map_err(|err| format!("a value does not fit: {err}"))?;
    let same = arrow_ord::cmp::not_distinct(value, &back).map_err(|err| err.to_string())?;
    if let Some(row) = (0..same.len()).find(|&row| !same.value(row)) {
        let shown = arrow_cast::display::ArrayFormatter::try_new(
            value.as_ref(),
            &arrow_cast::display::FormatOptions::default(),
        )
        .map(|f| f.value(row).to_string())
        .unwrap_or_default();
        return Err(format!("the value {shown} does not fit exactly"));
    }
    Ok(converted)
}
