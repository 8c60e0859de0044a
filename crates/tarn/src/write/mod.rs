//! Writing data files: from a stream of Arrow record batches to Parquet files in a table's
//! directory and the `add` actions that describe them.
//!
//! A [`DataWriter`] checks every batch against the table before writing any of it (schema
//! enforcement in [`conform_batch`], NOT NULL, CHECK constraints and invariants in
//! [`TableConstraints`]), splits it by partition values into Hive-style directories, and
//! hands each part to that partition's writer. Encoding runs in the background on Tokio's
//! blocking pool, a file's columns on several threads at once, while the caller prepares its
//! next batch; each partition has at most one batch in flight. Files roll over at the target
//! size (`delta.targetFileSize`, 128 MiB by default); row groups end by size, and the largest
//! is flushed early when the writer's total buffer passes its budget; a partition that took
//! no rows for a while (input clustered by partition moved on) is finished. So memory does
//! not grow with the input. Each file uploads as it is encoded (a multipart upload on object
//! stores, several parts at once), and statistics are computed from the batches as they go
//! by.
//!
//! This module never commits: [`DataWriter::finish`] returns the `add` actions for the
//! transaction layer to commit, and [`DataWriter::abort`] deletes what was written when the
//! transaction gives up. Files are written under their final names; until a commit names
//! them, readers do not see them.

pub(crate) mod constraints;
mod encode;
mod enforce;
mod file;
mod options;
mod partition;
mod stats;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Field, Schema};
use object_store::ObjectStoreExt;
use tarn_log::TableLocation;
use tarn_protocol::actions::{Add, PartitionValues};
use tarn_protocol::schema::{
    ColumnMappingMode, DataType as DeltaType, PARQUET_FIELD_ID_KEY, StructType,
};
use tokio::task::{Id as TaskId, JoinSet};

pub use constraints::{CONSTRAINT_KEY_PREFIX, INVARIANTS_KEY, TableConstraints};
pub(crate) use enforce::describe as describe_arrow_type;
pub use enforce::{conform_batch, merged_schema};
pub use options::{
    Compression, DEFAULT_NUM_INDEXED_COLS, DEFAULT_TARGET_FILE_SIZE, NUM_INDEXED_COLS_KEY,
    STATS_COLUMNS_KEY, StatsColumns, TARGET_FILE_SIZE_KEY, WriterOptions,
};

use crate::error::{Error, Result};
use enforce::strip;
use file::{FileFactory, PartitionWriter};
use partition::{PartitionColumn, PartitionSlice};

/// Takes the row tracking columns out of a batch: the rest, and the two columns as longs.
fn split_row_tracking(batch: &RecordBatch) -> Result<(RecordBatch, [arrow_array::ArrayRef; 2])> {
    use crate::scan::{ROW_COMMIT_VERSION_COLUMN, ROW_ID_COLUMN};
    let mut found: [Option<arrow_array::ArrayRef>; 2] = [None, None];
    let mut rest = Vec::with_capacity(batch.num_columns());
    for (index, field) in batch.schema().fields().iter().enumerate() {
        let slot = match field.name().as_str() {
            ROW_ID_COLUMN => 0,
            ROW_COMMIT_VERSION_COLUMN => 1,
            _ => {
                rest.push(index);
                continue;
            }
        };
        if field.data_type() != &arrow_schema::DataType::Int64 {
            return Err(Error::SchemaMismatch {
                column: field.name().clone(),
                reason: format!(
                    "expected a 64-bit integer (a row tracking column), found {}",
                    field.data_type()
                ),
            });
        }
        found[slot] = Some(Arc::clone(batch.column(index)));
    }
    let [Some(row_ids), Some(versions)] = found else {
        return Err(Error::SchemaMismatch {
            column: crate::scan::ROW_ID_COLUMN.to_owned(),
            reason: format!(
                "this writer preserves row ids: every batch needs the columns `{}` and `{}` \
                 (a scan with row tracking returns them)",
                crate::scan::ROW_ID_COLUMN,
                crate::scan::ROW_COMMIT_VERSION_COLUMN
            ),
        });
    };
    let rest = batch.project(&rest).map_err(|source| Error::Compute {
        context: "separating the row tracking columns".to_owned(),
        source,
    })?;
    Ok((rest, [row_ids, versions]))
}

/// `batch` with `columns` appended (as nullable longs named after the row tracking columns).
fn with_trailing_columns(
    batch: &RecordBatch,
    columns: [arrow_array::ArrayRef; 2],
) -> Result<RecordBatch> {
    let mut fields: Vec<Arc<Field>> = batch.schema().fields().iter().cloned().collect();
    for name in [
        crate::scan::ROW_ID_COLUMN,
        crate::scan::ROW_COMMIT_VERSION_COLUMN,
    ] {
        fields.push(Arc::new(Field::new(
            name,
            arrow_schema::DataType::Int64,
            true,
        )));
    }
    let mut arrays = batch.columns().to_vec();
    arrays.extend(columns);
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|source| Error::Compute {
        context: "attaching the row tracking columns".to_owned(),
        source,
    })
}

/// What a finished [`DataWriter`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteOutput {
    /// One `add` action per data file, ordered by path.
    pub adds: Vec<Add>,
    /// Rows written.
    pub num_rows: u64,
    /// Data files written (`adds.len()`).
    pub num_files: usize,
    /// Bytes written, all files together.
    pub num_bytes: u64,
}

/// Writes batches into data files of a table. See the [module docs](self).
///
/// A batch that fails validation ([`Error::SchemaMismatch`], [`Error::NotNullViolation`],
/// [`Error::ConstraintViolation`], [`Error::InvariantViolation`]) is not written at all, and
/// the writer stays usable. After any other error, call [`DataWriter::abort`]. Dropping a
/// writer without [`finish`](DataWriter::finish) or [`abort`](DataWriter::abort) leaves the
/// files written so far in place (uncommitted, so invisible; `VACUUM` removes them).
///
/// Methods must be called inside a Tokio runtime: uploads run as tasks.
#[derive(Debug)]
pub struct DataWriter {
    location: Arc<TableLocation>,
    schema: StructType,
    constraints: TableConstraints,
    partitions: Vec<PartitionColumn>,
    /// The columns of a logical batch that go into data files (with the row tracking
    /// columns last, when written).
    data_columns: Vec<usize>,
    /// Whether batches carry row ids and commit versions for the materialized columns.
    row_tracking: bool,
    factory: Arc<FileFactory>,
    /// Partitions being written, by directory.
    open: HashMap<String, PartitionWriter>,
    /// Partitions being finished in the background.
    closing: JoinSet<Result<Vec<Add>>>,
    closing_paths: HashMap<TaskId, String>,
    adds: Vec<Add>,
    /// Rows accepted so far; also the clock that tells how long a partition has been idle.
    num_rows: u64,
}

impl DataWriter {
    /// A writer into the table at `location` whose logical schema is `schema`, partitioned by
    /// `partition_columns` (logical names, in partition order), with table configuration
    /// `properties` (the `metaData.configuration` map: target file size, statistics columns,
    /// column mapping mode, CHECK constraints).
    ///
    /// Fails when a partition column is not a primitive column of the schema, when every
    /// column is a partition column, when a property is malformed, or when a constraint cannot
    /// be enforced ([`Error::InvalidConstraint`]).
    pub fn new(
        location: Arc<TableLocation>,
        schema: &StructType,
        partition_columns: &[String],
        properties: &BTreeMap<String, String>,
        options: WriterOptions,
    ) -> Result<Self> {
        let mode = ColumnMappingMode::from_configuration(properties)?;
        schema.validate_column_mapping(mode)?;
        let row_tracking = options.row_tracking_columns().cloned();
        let options = options.resolve(properties)?;
        let mut partitions = Vec::with_capacity(partition_columns.len());
        for name in partition_columns {
            let index = schema
                .fields
                .iter()
                .position(|f| f.name == *name)
                .or_else(|| {
                    schema
                        .fields
                        .iter()
                        .position(|f| f.name.eq_ignore_ascii_case(name))
                })
                .ok_or_else(|| Error::InvalidArgument {
                    reason: format!("partition column `{name}` is not a column of the table"),
                })?;
            let field = &schema.fields[index];
            let DeltaType::Primitive(data_type) = field.data_type else {
                return Err(Error::InvalidArgument {
                    reason: format!(
                        "partition column `{}` has type {}; partition columns must be primitive",
                        field.name, field.data_type
                    ),
                });
            };
            if partitions
                .iter()
                .any(|p: &PartitionColumn| p.index == index)
            {
                return Err(Error::InvalidArgument {
                    reason: format!("partition column `{}` is listed twice", field.name),
                });
            }
            partitions.push(PartitionColumn {
                index,
                physical_name: field.physical_name(mode).to_owned(),
                data_type,
            });
        }
        let data_columns: Vec<usize> = (0..schema.fields.len())
            .filter(|i| !partitions.iter().any(|p| p.index == *i))
            .collect();
        if data_columns.is_empty() {
            return Err(Error::InvalidArgument {
                reason:
                    "every column is a partition column; data files need at least one data column"
                        .to_owned(),
            });
        }
        let data_schema = StructType::new(
            data_columns
                .iter()
                .map(|&i| schema.fields[i].clone())
                .collect::<Vec<_>>(),
        );
        let physical = Schema::try_from(&data_schema.to_physical(mode))?;
        let mut physical_fields: Vec<Field> = physical
            .fields()
            .iter()
            .map(|f| {
                let mut field =
                    Field::new(f.name(), strip(f.data_type(), false, true), f.is_nullable());
                if let Some(id) = f.metadata().get(PARQUET_FIELD_ID_KEY) {
                    field =
                        field.with_metadata([(PARQUET_FIELD_ID_KEY.to_owned(), id.clone())].into());
                }
                field
            })
            .collect();
        let mut data_columns = data_columns;
        if let Some(columns) = &row_tracking {
            // Hidden columns, not in the schema: last in the files, without statistics.
            for name in [&columns.row_id, &columns.row_commit_version] {
                if schema.fields.iter().any(|f| f.physical_name(mode) == name) {
                    return Err(Error::InvalidArgument {
                        reason: format!(
                            "the materialized row tracking column `{name}` is also a column \
                             of the table"
                        ),
                    });
                }
                physical_fields.push(Field::new(name, arrow_schema::DataType::Int64, true));
            }
            data_columns.extend([schema.fields.len(), schema.fields.len() + 1]);
        }
        let leaves = stats::stats_leaves(&data_schema.fields, &options.stats_columns, mode);
        let constraints = TableConstraints::from_table(schema, properties)?;
        let factory = Arc::new(FileFactory::new(
            Arc::clone(&location),
            Arc::new(Schema::new(physical_fields)),
            leaves,
            options,
        ));
        Ok(Self {
            location,
            schema: schema.clone(),
            constraints,
            partitions,
            data_columns,
            row_tracking: row_tracking.is_some(),
            factory,
            open: HashMap::new(),
            closing: JoinSet::new(),
            closing_paths: HashMap::new(),
            adds: Vec::new(),
            num_rows: 0,
        })
    }

    /// Validates `batch` against the table and writes it. Nothing of a batch that fails
    /// validation is written.
    ///
    /// Encoding continues in the background after this returns (one batch per partition at a
    /// time), so an error of the storage or the encoder may surface at a later call or at
    /// [`finish`](DataWriter::finish).
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let (batch, row_tracking) = if self.row_tracking {
            let (rest, columns) = split_row_tracking(batch)?;
            (std::borrow::Cow::Owned(rest), Some(columns))
        } else {
            (std::borrow::Cow::Borrowed(batch), None)
        };
        let logical = conform_batch(&self.schema, &batch)?;
        if logical.num_rows() == 0 {
            return Ok(());
        }
        self.constraints.check(&logical)?;
        let logical = match row_tracking {
            Some(columns) => with_trailing_columns(&logical, columns)?,
            None => logical,
        };
        let slices = partition::split(&logical, &self.partitions, &self.data_columns)?;
        self.num_rows += logical.num_rows() as u64;
        for PartitionSlice {
            directory,
            values,
            batch,
        } in slices
        {
            if !self.open.contains_key(&directory) {
                self.open_partition(&directory, values).await?;
            }
            let Some(partition) = self.open.get_mut(&directory) else {
                return Err(Error::DataFileWrite {
                    path: directory,
                    reason: "the partition's writer was not opened".to_owned(),
                    source: None,
                });
            };
            partition.last_used = self.num_rows;
            partition.write(batch).await?;
        }
        self.close_idle_partitions();
        self.enforce_buffer_budget().await
    }

    /// Memory held by the row groups being encoded, all open files together, as of the last
    /// batch each finished encoding. It stays below the budget set by
    /// [`WriterOptions::with_max_buffered_bytes`] between calls.
    pub fn buffered_bytes(&self) -> usize {
        self.open
            .values()
            .map(PartitionWriter::buffered_bytes)
            .sum()
    }

    /// Data files open for writing (one per partition being written).
    pub fn open_files(&self) -> usize {
        self.open.len()
    }

    /// Rows accepted so far.
    pub fn num_rows(&self) -> u64 {
        self.num_rows
    }

    /// Finishes every file and returns their `add` actions. On error, the files written so far
    /// are deleted (as by [`DataWriter::abort`]) before the error is returned.
    pub async fn finish(mut self) -> Result<WriteOutput> {
        match self.finish_files().await {
            Ok(()) => {
                let mut adds = std::mem::take(&mut self.adds);
                adds.sort_by(|a, b| a.path.cmp(&b.path));
                let num_bytes = adds.iter().map(|a| a.size.max(0) as u64).sum();
                Ok(WriteOutput {
                    num_files: adds.len(),
                    adds,
                    num_rows: self.num_rows,
                    num_bytes,
                })
            }
            Err(err) => {
                self.abort().await;
                Err(err)
            }
        }
    }

    /// Gives up: aborts uploads in progress and deletes every file this writer wrote. Best
    /// effort: failures are logged, not returned.
    pub async fn abort(mut self) {
        for (_, partition) in self.open.drain() {
            partition.abort().await;
        }
        while self.closing.join_next().await.is_some() {}
        let started = self.factory.started();
        for path in &started {
            match self.location.store().delete(path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(err) => tracing::warn!(
                    path = %self.location.display_path(path),
                    error = %err,
                    "deleting a data file of an aborted write failed"
                ),
            }
        }
        self.location.remove_empty_directories(&started);
    }

    async fn finish_files(&mut self) -> Result<()> {
        let open: Vec<PartitionWriter> = self.open.drain().map(|(_, p)| p).collect();
        for partition in open {
            self.start_close(partition);
        }
        while !self.closing.is_empty() {
            self.join_one().await?;
        }
        Ok(())
    }

    /// Opens a partition, first making room under the open-file limit.
    async fn open_partition(&mut self, directory: &str, values: PartitionValues) -> Result<()> {
        while self.open.len() + self.closing.len() >= self.factory.options.max_open_files {
            if self.closing.is_empty() {
                let oldest = self
                    .open
                    .values()
                    .min_by_key(|p| p.last_used)
                    .map(|p| p.directory.clone());
                if let Some(partition) = oldest.and_then(|d| self.open.remove(&d)) {
                    self.start_close(partition);
                }
            }
            self.join_one().await?;
        }
        let partition = PartitionWriter::new(&self.factory, directory, values);
        self.open.insert(directory.to_owned(), partition);
        Ok(())
    }

    /// Finishes the partitions that took no rows while
    /// [`WriterOptions::with_idle_file_rows`] rows went elsewhere: with input clustered by
    /// partition, a finished partition's file does not hold memory until the end.
    fn close_idle_partitions(&mut self) {
        let idle_rows = self.factory.options.idle_file_rows;
        let idle: Vec<String> = self
            .open
            .values()
            .filter(|p| self.num_rows - p.last_used >= idle_rows)
            .map(|p| p.directory.clone())
            .collect();
        for directory in idle {
            if let Some(partition) = self.open.remove(&directory) {
                self.start_close(partition);
            }
        }
    }

    /// Finishes a partition's file in the background.
    fn start_close(&mut self, partition: PartitionWriter) {
        let directory = partition.directory.clone();
        let handle = self.closing.spawn(partition.finish());
        self.closing_paths.insert(handle.id(), directory);
    }

    /// Waits for one background finish and keeps its `add`s.
    async fn join_one(&mut self) -> Result<()> {
        match self.closing.join_next_with_id().await {
            None => Ok(()),
            Some(Ok((id, result))) => {
                self.closing_paths.remove(&id);
                self.adds.extend(result?);
                Ok(())
            }
            Some(Err(err)) => Err(Error::DataFileWrite {
                path: self
                    .closing_paths
                    .remove(&err.id())
                    .unwrap_or_else(|| "<unknown>".to_owned()),
                reason: format!("the task finishing the file failed: {err}"),
                source: Some(Box::new(err)),
            }),
        }
    }

    /// Flushes the largest row groups until the buffered total is within budget.
    async fn enforce_buffer_budget(&mut self) -> Result<()> {
        let budget = self.factory.options.max_buffered_bytes;
        while self.buffered_bytes() > budget {
            let Some(largest) = self
                .open
                .values_mut()
                .max_by_key(|p| p.buffered_bytes())
                .filter(|p| p.buffered_bytes() > 0)
            else {
                break;
            };
            largest.flush_row_group().await?;
        }
        Ok(())
    }
}
