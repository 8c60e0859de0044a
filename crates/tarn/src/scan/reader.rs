//! Reading one data file of a scan: footer, column matching, row-group pruning, deletion
//! vector, decoding, conversion to the table's logical types, partition columns, the residual
//! filter and the projection.
//!
//! Deleted rows and pruned row groups are never decoded: both become a Parquet row selection,
//! so the reader skips their pages where the file has an offset index.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{
    Array, ArrayRef, Int64Array, RecordBatch, RecordBatchOptions, builder::Int64Builder,
    new_null_array,
};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use arrow_select::filter::filter_record_batch;
use futures::StreamExt;
use object_store::ObjectStore;
use object_store::path::Path;
use parquet::arrow::ProjectionMask;
use parquet::arrow::RowNumber;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, RowSelection, RowSelector,
};
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use parquet::basic::Type as PhysicalType;
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaData;
use tarn_log::PathResolver;
use tarn_log::parquet_io::ObjectFileReader;
use tarn_protocol::actions::DeletionVectorDescriptor;
use tarn_protocol::row_tracking::MaterializedColumns;
use tarn_protocol::scalar::Scalar;
use tarn_protocol::schema::{ColumnMappingMode, DataType as DeltaType, StructField};

use super::convert::{ConvertError, compatible, conform, find_file_field, output_type};
use super::metrics::ScanMetrics;
use super::partition_array::scalar_array;
use super::stats::{Bound, BoundsView, ColumnBounds, array_scalar, row_group_bound};
use crate::deletion_vector::load_deletion_vector;
use crate::error::{Error, Result};
use crate::expr::Expr;

/// The name of the virtual row number column a file is decoded with when row ids are read.
const ROW_NUMBER_FIELD: &str = "_tarn_row_number";

/// One column of the batches a file is decoded into, before the filter and projection.
#[derive(Debug, Clone)]
pub(crate) enum WorkColumn {
    /// A column stored in the data files.
    Data(StructField),
    /// A partition column: the value comes from the file's `partitionValues`.
    Partition(StructField),
    /// The stable row id (row tracking): the materialized id, else `baseRowId` plus the row's
    /// position in the file.
    RowId(StructField),
    /// The stable row commit version (row tracking): the materialized version, else the
    /// file's `defaultRowCommitVersion`.
    RowCommitVersion(StructField),
}

impl WorkColumn {
    pub(crate) fn field(&self) -> &StructField {
        match self {
            WorkColumn::Data(f)
            | WorkColumn::Partition(f)
            | WorkColumn::RowId(f)
            | WorkColumn::RowCommitVersion(f) => f,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.field().name
    }
}

/// What every file of one scan is read with.
#[derive(Debug)]
pub(crate) struct ReadPlan {
    /// Resolves deletion vector files (data files were resolved when planned).
    pub(crate) resolver: PathResolver,
    pub(crate) mode: ColumnMappingMode,
    /// The columns decoded: the projection plus what the filter needs, in table order.
    pub(crate) work_columns: Vec<WorkColumn>,
    /// The schema of `work_columns`.
    pub(crate) work_schema: SchemaRef,
    /// Indexes into `work_columns` of the output columns, in output order.
    pub(crate) output_indexes: Vec<usize>,
    /// The schema of the output batches.
    pub(crate) output_schema: SchemaRef,
    /// Rows must satisfy it; files and row groups that cannot are skipped.
    pub(crate) filter: Option<Expr>,
    pub(crate) batch_size: usize,
    /// The hidden columns of materialized row ids and commit versions, when the scan returns
    /// row tracking columns.
    pub(crate) row_tracking: Option<MaterializedColumns>,
}

/// One data file to read.
#[derive(Debug, Clone)]
pub struct FileTask {
    /// The `path` of the file's `add` action, as in the log.
    pub(crate) log_path: String,
    /// The store the file is in (the table's, or a registered location's).
    pub(crate) store: Arc<dyn ObjectStore>,
    /// The file's path in `store`.
    pub(crate) path: Path,
    /// The file as an operator would name it (for errors).
    pub(crate) display: String,
    /// Size in bytes, from the log.
    pub(crate) size: u64,
    /// Record count from the log's statistics, if recorded.
    pub(crate) num_records: Option<i64>,
    /// Partition values by `work_columns` index.
    pub(crate) partition_values: Vec<(usize, Scalar)>,
    /// The file's deletion vector.
    pub(crate) deletion_vector: Option<DeletionVectorDescriptor>,
    /// The `baseRowId` of its `add` (row tracking).
    pub(crate) base_row_id: Option<i64>,
    /// The `defaultRowCommitVersion` of its `add` (row tracking).
    pub(crate) default_row_commit_version: Option<i64>,
}

impl FileTask {
    /// The `path` of the file's `add` action, as written in the log.
    pub fn log_path(&self) -> &str {
        &self.log_path
    }

    /// The file's path as an operator would name it.
    pub fn display_path(&self) -> &str {
        &self.display
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether rows of the file are deleted by a deletion vector.
    pub fn has_deletion_vector(&self) -> bool {
        self.deletion_vector.is_some()
    }
}

fn corrupt(task: &FileTask, reason: impl std::fmt::Display) -> Error {
    Error::CorruptDataFile {
        path: task.display.clone(),
        reason: reason.to_string(),
        source: None,
    }
}

fn parquet_error(task: &FileTask, err: ParquetError) -> Error {
    if let ParquetError::External(inner) = &err
        && let Some(object_store::Error::NotFound { .. }) = inner.downcast_ref()
    {
        return Error::MissingDataFile {
            path: task.display.clone(),
        };
    }
    Error::CorruptDataFile {
        path: task.display.clone(),
        reason: err.to_string(),
        source: Some(Box::new(err)),
    }
}

fn convert_error(task: &FileTask, err: ConvertError) -> Error {
    match err {
        ConvertError::Mismatch { column, reason } => {
            corrupt(task, format!("column `{column}`: {reason}"))
        }
        ConvertError::ShreddedVariant { column, source } => Error::ShreddedVariant {
            path: task.display.clone(),
            column,
            source,
        },
    }
}

/// INT96 timestamps decode as nanoseconds by default, which overflows for dates past 2262
/// (Spark writes 9999-12-31 as a sentinel). A schema hint reads them as microseconds. Top-level
/// columns and fields of (nested) structs are covered; INT96 inside lists and maps is not.
fn int96_hint(metadata: &ParquetMetaData, schema: &Schema) -> Option<SchemaRef> {
    let descriptor = metadata.file_metadata().schema_descr();
    let int96: Vec<Vec<String>> = descriptor
        .columns()
        .iter()
        .filter(|c| c.physical_type() == PhysicalType::INT96)
        .map(|c| c.path().parts().to_vec())
        .collect();
    if int96.is_empty() {
        return None;
    }
    fn rewrite(field: &Field, path: &mut Vec<String>, int96: &[Vec<String>]) -> Field {
        path.push(field.name().clone());
        let rewritten = match field.data_type() {
            DataType::Timestamp(TimeUnit::Nanosecond, None) if int96.contains(path) => {
                field.clone().with_data_type(DataType::Timestamp(
                    TimeUnit::Microsecond,
                    Some("UTC".into()),
                ))
            }
            DataType::Struct(children) => {
                let children: Fields = children
                    .iter()
                    .map(|c| Arc::new(rewrite(c, path, int96)))
                    .collect::<Vec<_>>()
                    .into();
                field.clone().with_data_type(DataType::Struct(children))
            }
            _ => field.clone(),
        };
        path.pop();
        rewritten
    }
    let mut path = Vec::new();
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| rewrite(f, &mut path, &int96))
        .collect();
    Some(Arc::new(Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    )))
}

/// Reads the footer and prepares the reader metadata, with the INT96 hint where needed, and
/// with the virtual row number column last when `row_numbers`.
async fn open(
    task: &FileTask,
    row_numbers: bool,
) -> Result<(ObjectFileReader, ArrowReaderMetadata)> {
    let mut file = ObjectFileReader::new(Arc::clone(&task.store), task.path.clone(), task.size);
    let mut options = ArrowReaderOptions::new()
        .with_offset_index_policy(parquet::file::metadata::PageIndexPolicy::Optional);
    if row_numbers {
        let field =
            Field::new(ROW_NUMBER_FIELD, DataType::Int64, false).with_extension_type(RowNumber);
        options = options
            .with_virtual_columns(vec![Arc::new(field)])
            .map_err(|e| parquet_error(task, e))?;
    }
    let metadata = ArrowReaderMetadata::load_async(&mut file, options.clone())
        .await
        .map_err(|e| parquet_error(task, e))?;
    tarn_log::parquet_io::check_byte_ranges(metadata.metadata())
        .map_err(|e| parquet_error(task, e))?;
    let metadata = match int96_hint(metadata.metadata(), metadata.schema()) {
        Some(hint) => {
            ArrowReaderMetadata::try_new(Arc::clone(metadata.metadata()), options.with_schema(hint))
                .map_err(|e| parquet_error(task, e))?
        }
        None => metadata,
    };
    Ok((file, metadata))
}

/// Which file root column (if any) holds each work column.
fn match_columns(plan: &ReadPlan, file_fields: &Fields) -> Vec<Option<usize>> {
    plan.work_columns
        .iter()
        .map(|column| match column {
            WorkColumn::Data(field) => {
                find_file_field(file_fields, field, plan.mode).map(|(index, _)| index)
            }
            WorkColumn::Partition(_) | WorkColumn::RowId(_) | WorkColumn::RowCommitVersion(_) => {
                None
            }
        })
        .collect()
}

/// The file root columns of the materialized row ids and commit versions, where the file
/// has them.
fn materialized_roots(plan: &ReadPlan, file_fields: &Fields) -> (Option<usize>, Option<usize>) {
    let Some(columns) = &plan.row_tracking else {
        return (None, None);
    };
    let find = |name: &str| file_fields.iter().position(|f| f.name() == name);
    (find(&columns.row_id), find(&columns.row_commit_version))
}

/// The row groups whose statistics allow a match, judged on top-level primitive columns.
fn select_row_groups(
    plan: &ReadPlan,
    task: &FileTask,
    metadata: &ArrowReaderMetadata,
    matched: &[Option<usize>],
) -> Vec<usize> {
    let row_groups = metadata.metadata().row_groups();
    let all: Vec<usize> = (0..row_groups.len()).collect();
    let Some(filter) = &plan.filter else {
        return all;
    };
    let file_schema = metadata.schema();
    let parquet_schema = metadata.metadata().file_metadata().schema_descr();
    // Per column: min/max/null arrays over the row groups, and exactness flags.
    let mut per_column = Vec::new();
    for (column, file_index) in plan.work_columns.iter().zip(matched) {
        let (WorkColumn::Data(field), Some(file_index)) = (column, file_index) else {
            continue;
        };
        let DeltaType::Primitive(ty) = &field.data_type else {
            continue;
        };
        let Ok(target) = output_type(&field.data_type) else {
            continue;
        };
        // Statistics of a column stored as another kind of value than the table declares
        // would be read as something they are not; such a file fails when decoded anyway.
        if !compatible(file_schema.field(*file_index).data_type(), &target) {
            continue;
        }
        let file_name = file_schema.field(*file_index).name();
        let Ok(converter) = StatisticsConverter::try_new(file_name, file_schema, parquet_schema)
        else {
            continue;
        };
        let cast = |a: ArrayRef| arrow_cast::cast(&a, &target).ok();
        let mins = converter
            .row_group_mins(row_groups.iter())
            .ok()
            .and_then(cast);
        let maxes = converter
            .row_group_maxes(row_groups.iter())
            .ok()
            .and_then(cast);
        let nulls = converter.row_group_null_counts(row_groups.iter()).ok();
        let max_exact = converter
            .row_group_is_max_value_exact(row_groups.iter())
            .ok();
        per_column.push((field.name.clone(), *ty, mins, maxes, nulls, max_exact));
    }
    let mut selected = Vec::with_capacity(row_groups.len());
    for (index, row_group) in row_groups.iter().enumerate() {
        let mut view = BoundsView {
            num_records: Some(row_group.num_rows()),
            ..BoundsView::default()
        };
        for (column, value) in &task.partition_values {
            view.add_partition_value(&plan.work_columns[*column].field().name, value);
        }
        for (name, ty, mins, maxes, nulls, max_exact) in &per_column {
            let exact_max = max_exact.as_ref().is_some_and(|e| e.value(index));
            let bounds = ColumnBounds {
                min: mins
                    .as_ref()
                    .and_then(|m| array_scalar(m, index, *ty))
                    .and_then(|s| row_group_bound(s, *ty, Bound::Lower, true)),
                max: maxes
                    .as_ref()
                    .and_then(|m| array_scalar(m, index, *ty))
                    .and_then(|s| row_group_bound(s, *ty, Bound::Upper, exact_max)),
                null_count: nulls
                    .as_ref()
                    .filter(|n| arrow_array::Array::is_valid(*n, index))
                    .and_then(|n| i64::try_from(n.value(index)).ok()),
                all_null: false,
            };
            view.columns.insert(vec![name.clone()], bounds);
        }
        if filter.could_match(&view) {
            selected.push(index);
        }
    }
    selected
}

/// Rows to read from the selected row groups: all of them but the deleted ones.
fn row_selection(
    metadata: &ParquetMetaData,
    row_groups: &[usize],
    deleted: &roaring::RoaringTreemap,
) -> RowSelection {
    let mut starts = Vec::with_capacity(metadata.num_row_groups());
    let mut next = 0u64;
    for row_group in metadata.row_groups() {
        starts.push(next);
        next += u64::try_from(row_group.num_rows()).unwrap_or(0);
    }
    let mut selectors = Vec::new();
    // Row groups are selected in ascending order and the bitmap iterates ascending: one pass.
    let mut deleted_rows = deleted.iter().peekable();
    for &index in row_groups {
        let start = starts[index];
        let rows = u64::try_from(metadata.row_group(index).num_rows()).unwrap_or(0);
        let end = start + rows;
        while deleted_rows.next_if(|row| *row < start).is_some() {}
        let mut cursor = start;
        while let Some(deleted_row) = deleted_rows.next_if(|row| *row < end) {
            if deleted_row > cursor {
                selectors.push(RowSelector::select(to_usize(deleted_row - cursor)));
            }
            selectors.push(RowSelector::skip(1));
            cursor = deleted_row + 1;
        }
        if cursor < end {
            selectors.push(RowSelector::select(to_usize(end - cursor)));
        }
    }
    RowSelection::from(selectors)
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A materialized row tracking column as longs.
fn materialized_longs<'a>(
    task: &FileTask,
    column: &'a ArrayRef,
    what: &str,
) -> Result<&'a Int64Array> {
    column.as_primitive_opt::<Int64Type>().ok_or_else(|| {
        corrupt(
            task,
            format!(
                "its materialized {what} column is {}, not long",
                column.data_type()
            ),
        )
    })
}

/// Stable row ids: the materialized id where there is one, else `baseRowId` plus the
/// row's position in the file.
fn row_ids(
    task: &FileTask,
    numbers: &ArrayRef,
    materialized: Option<&ArrayRef>,
) -> Result<ArrayRef> {
    let numbers = materialized_longs(task, numbers, "row number")?;
    let materialized = materialized
        .map(|column| materialized_longs(task, column, "row id"))
        .transpose()?;
    let base = task.base_row_id;
    let mut ids = Int64Builder::with_capacity(numbers.len());
    for (row, number) in numbers.values().iter().enumerate() {
        match materialized.filter(|m| m.is_valid(row)) {
            Some(m) => ids.append_value(m.value(row)),
            None => {
                let base = base.ok_or_else(|| {
                    corrupt(task, "row tracking is enabled but its add has no baseRowId")
                })?;
                let id = base.checked_add(*number).ok_or_else(|| {
                    corrupt(task, format!("baseRowId {base} + row {number} overflows"))
                })?;
                ids.append_value(id);
            }
        }
    }
    Ok(Arc::new(ids.finish()))
}

/// Stable row commit versions: the materialized version where there is one, else the
/// file's `defaultRowCommitVersion`.
fn row_commit_versions(
    task: &FileTask,
    rows: usize,
    materialized: Option<&ArrayRef>,
) -> Result<ArrayRef> {
    let materialized = materialized
        .map(|column| materialized_longs(task, column, "row commit version"))
        .transpose()?;
    let default = task.default_row_commit_version;
    let mut versions = Int64Builder::with_capacity(rows);
    for row in 0..rows {
        match materialized.filter(|m| m.is_valid(row)) {
            Some(m) => versions.append_value(m.value(row)),
            None => versions.append_value(default.ok_or_else(|| {
                corrupt(
                    task,
                    "row tracking is enabled but its add has no defaultRowCommitVersion",
                )
            })?),
        }
    }
    Ok(Arc::new(versions.finish()))
}

/// Reads a file's footer only and counts the row groups its statistics prune (for
/// `--explain`).
pub(crate) async fn explain_file(
    plan: Arc<ReadPlan>,
    task: FileTask,
    metrics: Arc<ScanMetrics>,
) -> Result<()> {
    let (_, metadata) = open(&task, false).await?;
    let matched = match_columns(&plan, metadata.schema().fields());
    let row_groups = select_row_groups(&plan, &task, &metadata, &matched);
    let total = metadata.metadata().num_row_groups();
    metrics.add_row_groups(total, total - row_groups.len());
    Ok(())
}

/// Reads one file, sending its output batches (or the error that stopped it) to `send`.
/// Returns early, without error, when `send` reports the receiver has gone (a limit was
/// reached or the consumer dropped the scan).
pub(crate) async fn read_file<F, Fut>(
    plan: Arc<ReadPlan>,
    task: FileTask,
    metrics: Arc<ScanMetrics>,
    mut send: F,
) -> Result<()>
where
    F: FnMut(RecordBatch) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let (file, metadata) = open(&task, plan.row_tracking.is_some()).await?;
    let file_fields = metadata.schema().fields().clone();
    let matched = match_columns(&plan, &file_fields);
    let (materialized_id, materialized_version) = materialized_roots(&plan, &file_fields);
    let row_groups = select_row_groups(&plan, &task, &metadata, &matched);
    let total_row_groups = metadata.metadata().num_row_groups();
    metrics.add_row_groups(total_row_groups, total_row_groups - row_groups.len());
    if row_groups.is_empty() {
        return Ok(());
    }
    let deleted = match &task.deletion_vector {
        Some(descriptor) => load_deletion_vector(&plan.resolver, descriptor)
            .await?
            .as_treemap()
            .clone(),
        None => roaring::RoaringTreemap::new(),
    };

    let roots: Vec<usize> = {
        let mut roots: Vec<usize> = matched
            .iter()
            .flatten()
            .chain(&materialized_id)
            .chain(&materialized_version)
            .copied()
            .collect();
        roots.sort_unstable();
        roots.dedup();
        roots
    };
    let mask = ProjectionMask::roots(
        metadata.metadata().file_metadata().schema_descr(),
        roots.clone(),
    );
    let mut builder = ParquetRecordBatchStreamBuilder::new_with_metadata(file, metadata.clone())
        .with_projection(mask)
        .with_batch_size(plan.batch_size)
        .with_row_groups(row_groups.clone());
    if !deleted.is_empty() {
        builder =
            builder.with_row_selection(row_selection(metadata.metadata(), &row_groups, &deleted));
    }
    let mut stream = builder.build().map_err(|e| parquet_error(&task, e))?;
    // Position of each file root column in the decoded batches.
    let position = |root: usize| roots.binary_search(&root).ok();

    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| parquet_error(&task, e))?;
        let rows = batch.num_rows();
        metrics.add_rows_read(rows);
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(plan.work_columns.len());
        for (index, (column, file_index)) in plan.work_columns.iter().zip(&matched).enumerate() {
            let array = match column {
                WorkColumn::Partition(field) => {
                    let value = task
                        .partition_values
                        .iter()
                        .find(|(i, _)| *i == index)
                        .map(|(_, v)| v);
                    let target =
                        output_type(&field.data_type).map_err(|e| convert_error(&task, e))?;
                    match value {
                        Some(value) => scalar_array(value, &target, rows).map_err(|reason| {
                            corrupt(
                                &task,
                                format!("partition column `{}`: {reason}", field.name),
                            )
                        })?,
                        None => new_null_array(&target, rows),
                    }
                }
                WorkColumn::Data(field) => match file_index.and_then(position) {
                    Some(at) => conform(batch.column(at), field, plan.mode, &field.name)
                        .map_err(|e| convert_error(&task, e))?,
                    None => {
                        let target =
                            output_type(&field.data_type).map_err(|e| convert_error(&task, e))?;
                        new_null_array(&target, rows)
                    }
                },
                WorkColumn::RowId(_) => {
                    // The virtual row number column comes after the file's columns.
                    let numbers = batch.column(roots.len());
                    let materialized = materialized_id
                        .and_then(position)
                        .map(|at| batch.column(at));
                    row_ids(&task, numbers, materialized)?
                }
                WorkColumn::RowCommitVersion(_) => {
                    let materialized = materialized_version
                        .and_then(position)
                        .map(|at| batch.column(at));
                    row_commit_versions(&task, rows, materialized)?
                }
            };
            columns.push(array);
        }
        let work = RecordBatch::try_new_with_options(
            Arc::clone(&plan.work_schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(|e| corrupt(&task, e))?;
        let work = match &plan.filter {
            Some(filter) => {
                let keep = filter.evaluate_predicate(&work)?;
                filter_record_batch(&work, &keep).map_err(|e| corrupt(&task, e))?
            }
            None => work,
        };
        if work.num_rows() == 0 {
            continue;
        }
        let output = work
            .project(&plan.output_indexes)
            .map_err(|e| corrupt(&task, e))?
            .with_schema(Arc::clone(&plan.output_schema))
            .map_err(|e| corrupt(&task, e))?;
        if !send(output).await {
            return Ok(());
        }
    }
    metrics.add_file_read();
    Ok(())
}
