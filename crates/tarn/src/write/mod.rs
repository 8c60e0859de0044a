//! Writing data files: from a stream of Arrow record batches to Parquet files in a table's
//! directory and the `add` actions that describe them.
//!
//! A [`DataWriter`] checks every batch against the table before writing any of it (schema
//! enforcement in [`conform_batch`], NOT NULL, CHECK constraints and invariants in
//! [`TableConstraints`]), groups its rows by partition values into Hive-style directories,
//! and hands each partition's rows to that partition's file. Encoding runs in the background
//! on Tokio's blocking pool, a file's columns on several threads at once, while the caller
//! prepares its next batch; each partition has at most one batch in flight. Each file
//! uploads as it is encoded (a multipart upload on object stores, several parts at once), and
//! statistics are computed from the batches as they go by.
//!
//! # Files per partition, and memory
//!
//! Files roll over at the target size (`delta.targetFileSize`, 128 MiB by default) and at
//! no other point: a partition's file is never finished because other partitions need room,
//! however many partitions the input interleaves (that is how small files are born). Memory
//! is bounded all the same, by one budget ([`WriterOptions::with_max_buffered_bytes`]) that
//! counts everything the writer holds for rows not yet stored (the decisions are in
//! `schedule.rs`):
//!
//! - **Open files.** Each reserves one upload part of the budget (a file's encoded bytes
//!   collect in memory up to a part before they leave, and cannot be given back without
//!   finishing the file), and all together at most half of it: 12 files with the defaults.
//!   An open Parquet writer per partition for every partition would not be bounded.
//! - **Waiting partitions.** A partition that finds every slot taken waits: its rows are
//!   kept as compact Arrow batches, the waiting rows of each input batch gathered into one
//!   batch (`waiting.rs`), so thousands of tiny partitions cost little more than their rows.
//!   When a slot frees up and the partition has rows, or at the end of the input (largest
//!   partitions first, as many at once as files may be open), its file is written from them.
//! - **When the budget is reached**, the larger side gives way: either every waiting row in
//!   memory is spilled to one local temporary file in Arrow's IPC format (`spill.rs`;
//!   [`WriterOptions::with_spill_directory`]), each partition's rows together so that reading
//!   one back decodes no other's, or the largest row group in progress ends early (a smaller
//!   row group, never a smaller file).
//!
//! This is what Spark's writers do when the partitions outnumber the writers they keep open
//! (fall back to buffering and sorting by partition, spilling to local disk), without the
//! sort: rows are grouped by hashing, and spilled rows are found by their place in the spill
//! file. Spill files are created unnamed, so they are never left behind (not after an error,
//! an abort, a dropped writer or a killed process), and their space returns as soon as the
//! partitions they hold are written.
//!
//! A partition the input has moved past (input clustered by partition, say events in time
//! order partitioned by day) is finished, to free its memory and its slot for the next
//! partitions; see [`WriterOptions::with_idle_file_rows`] for how "moved past" is told from
//! interleaved input pausing, and why a partition still gets at most two files from it.
//!
//! This module never commits: [`DataWriter::finish`] returns the `add` actions for the
//! transaction layer to commit, and [`DataWriter::abort`] deletes what was written when the
//! transaction gives up. Files are written under their final names; until a commit names
//! them, readers do not see them.

pub(crate) mod constraints;
mod dictionary;
mod encode;
mod enforce;
mod file;
mod options;
mod partition;
mod row_tracking;
mod schedule;
mod spill;
mod stats;
mod waiting;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
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

/// Whether files written with these table properties get statistics for the top-level
/// column `name` (`delta.dataSkippingStatsColumns`, else `delta.dataSkippingNumIndexedCols`,
/// else the first 32 leaves).
pub(crate) fn column_has_stats(
    fields: &[tarn_protocol::schema::StructField],
    properties: &BTreeMap<String, String>,
    name: &str,
) -> Result<bool> {
    let columns = options::stats_columns_from_properties(properties)?;
    Ok(stats::stats_column_paths(
        fields,
        &columns,
        tarn_protocol::schema::ColumnMappingMode::None,
    )
    .iter()
    .any(|path| path.len() == 1 && path[0] == name))
}
use enforce::{logical_schema, strip};
use file::{FileFactory, PartitionWriter};
use partition::{PartitionColumn, PartitionGroup};
use row_tracking::{split_row_tracking, with_trailing_columns};
use schedule::{Activity, MemoryPlan, Relief};
use waiting::WaitingRows;

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
/// writer without [`finish`](DataWriter::finish) or [`abort`](DataWriter::abort) aborts it
/// in the background (on the Tokio runtime it is dropped in; outside one, the files written
/// so far stay, uncommitted and so invisible, for `VACUUM` to remove).
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
    plan: MemoryPlan,
    /// Partitions being written, by directory.
    open: HashMap<String, OpenPartition>,
    /// Rows of partitions waiting for a file.
    waiting: WaitingRows,
    /// Partitions whose file was finished because the input moved past them: their next
    /// file is never finished early.
    finished_idle: HashSet<String>,
    /// Partitions being finished in the background.
    closing: JoinSet<Result<Vec<Add>>>,
    closing_paths: HashMap<TaskId, String>,
    adds: Vec<Add>,
    /// Rows accepted so far; also the clock that tells how long a partition has been idle.
    num_rows: u64,
    /// Finished or aborted: dropping has nothing left to clean up.
    done: bool,
}

/// What a background finish gave: its task and the `add`s of the partition's files.
type Joined = std::result::Result<(TaskId, Result<Vec<Add>>), tokio::task::JoinError>;

/// A partition with an open file.
#[derive(Debug)]
struct OpenPartition {
    writer: PartitionWriter,
    activity: Activity,
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
        // Waiting rows are kept as the writer gets them: data columns, logical form.
        let mut logical = logical_schema(schema, false)?;
        if row_tracking.is_some() {
            let mut fields: Vec<Arc<Field>> = logical.fields().iter().cloned().collect();
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
            logical = Arc::new(Schema::new(fields));
        }
        let waiting_schema = logical
            .project(&data_columns)
            .map_err(|source| Error::Compute {
                context: "selecting the data columns of the table".to_owned(),
                source,
            })?;
        let waiting = WaitingRows::new(Arc::new(waiting_schema), options.spill_directory.clone());
        let plan = MemoryPlan::new(
            schedule::planned_budget(options.max_buffered_bytes),
            options.upload_part_size,
            options.target_file_size,
            options.max_open_files,
        );
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
            plan,
            open: HashMap::new(),
            waiting,
            finished_idle: HashSet::new(),
            closing: JoinSet::new(),
            closing_paths: HashMap::new(),
            adds: Vec::new(),
            num_rows: 0,
            done: false,
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
        let mut grouping = partition::group(&logical, &self.partitions, &self.data_columns)?;
        self.num_rows += logical.num_rows() as u64;
        let now = self.num_rows;
        self.reap_closed()?;
        let mut waiting: Vec<PartitionGroup> = Vec::new();
        let mut waiting_directories: HashSet<String> = HashSet::new();
        for group in std::mem::take(&mut grouping.groups) {
            // Two groups may share a directory (a null and an empty string): once one of
            // them waits, so does the other, so no row waits for a partition that is open.
            let waits = waiting_directories.contains(&group.directory)
                || (!self.open.contains_key(&group.directory)
                    && !self.open_partition(&group.directory, &group.values).await?);
            if waits {
                waiting_directories.insert(group.directory.clone());
                waiting.push(group);
                continue;
            }
            let rows = grouping.rows_of(&group)?;
            let Some(partition) = self.open.get_mut(&group.directory) else {
                return Err(Error::DataFileWrite {
                    path: group.directory,
                    reason: "the partition's writer was not opened".to_owned(),
                    source: None,
                });
            };
            partition.activity.touch(now);
            partition.writer.write(rows).await?;
        }
        self.waiting.add(&grouping, waiting)?;
        self.finish_idle_partitions();
        self.enforce_budget().await
    }

    /// Memory the writer holds for rows not yet stored, as it accounts it: row groups being
    /// encoded (as of the last batch each partition finished encoding), rows waiting for
    /// their partition's file, and the upload part reserved for each open file. It stays
    /// within the budget set by [`WriterOptions::with_max_buffered_bytes`] between calls.
    pub fn buffered_bytes(&self) -> usize {
        let encoding: usize = self.open.values().map(|p| p.writer.buffered_bytes()).sum();
        encoding
            + self.waiting.memory_bytes()
            + self.plan.reserved(self.open.len() + self.closing.len())
    }

    /// Data files open for writing (one per partition being written).
    pub fn open_files(&self) -> usize {
        self.open.len()
    }

    /// Partitions whose rows wait for a data file (in memory or spilled).
    pub fn waiting_partitions(&self) -> usize {
        self.waiting.len()
    }

    /// Bytes written to local spill files so far (see
    /// [`WriterOptions::with_spill_directory`]); 0 when the rows fit the budget.
    pub fn spilled_bytes(&self) -> u64 {
        self.waiting.spilled_bytes()
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
                self.done = true;
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
                self.discard().await;
                Err(err)
            }
        }
    }

    /// Gives up: aborts uploads in progress and deletes every file this writer wrote; rows
    /// waiting in memory or spill files are dropped, and files being written from them stop
    /// at their next batch. Best effort: failures are logged, not
    /// returned.
    pub async fn abort(mut self) {
        self.discard().await;
    }

    async fn discard(&mut self) {
        let cleanup = self.take_cleanup();
        cleanup.run().await;
    }

    /// Marks the writer done and takes what an abort must wait for and delete.
    fn take_cleanup(&mut self) -> Cleanup {
        self.done = true;
        self.factory.cancel();
        self.waiting.clear();
        Cleanup {
            location: Arc::clone(&self.location),
            factory: Arc::clone(&self.factory),
            open: self.open.drain().map(|(_, p)| p.writer).collect(),
            closing: std::mem::take(&mut self.closing),
        }
    }

    /// Finishes the open files, then writes the waiting partitions' files from their rows,
    /// largest first, as many at once as files may be open.
    async fn finish_files(&mut self) -> Result<()> {
        let open: Vec<PartitionWriter> = self.open.drain().map(|(_, p)| p.writer).collect();
        for partition in open {
            self.start_close(partition);
        }
        // Their row groups in progress count against the rows' share of the budget until
        // they are written; the waiting partitions' files get that share afterwards.
        while !self.closing.is_empty() {
            self.join_one().await?;
        }
        if self.plan.spill_before_replay(self.waiting.memory_bytes()) {
            self.spill_waiting().await?;
        }
        let limit = self
            .plan
            .replay_row_group_limit(self.waiting.memory_bytes());
        for directory in self.waiting.turn_order() {
            while self.closing.len() >= self.plan.max_open_files {
                self.join_one().await?;
            }
            let Some((values, backlog)) = self.waiting.take(&directory) else {
                continue;
            };
            let mut partition = PartitionWriter::new(&self.factory, &directory, values);
            let started = partition.replay(backlog, limit).await;
            self.start_close(partition);
            started?;
        }
        while !self.closing.is_empty() {
            self.join_one().await?;
        }
        Ok(())
    }

    /// Opens a file for partition `directory` if a slot is free (waiting for a file being
    /// finished, if that frees one), and starts writing the partition's waiting rows into it.
    /// Returns whether it opened one; if not, the partition's rows wait.
    async fn open_partition(&mut self, directory: &str, values: &PartitionValues) -> Result<bool> {
        while self.open.len() + self.closing.len() >= self.plan.max_open_files {
            if self.closing.is_empty() {
                return Ok(false);
            }
            self.join_one().await?;
        }
        let backlog = self.waiting.take(directory);
        let values = backlog
            .as_ref()
            .map_or_else(|| values.clone(), |(values, _)| values.clone());
        let limit = self
            .plan
            .replay_row_group_limit(self.waiting.memory_bytes());
        let partition = OpenPartition {
            writer: PartitionWriter::new(&self.factory, directory, values),
            activity: Activity::new(self.num_rows),
        };
        let partition = self.open.entry(directory.to_owned()).or_insert(partition);
        if let Some((_, backlog)) = backlog {
            partition.writer.replay(backlog, limit).await?;
        }
        Ok(true)
    }

    /// Finishes the partitions the input moved past (see
    /// [`WriterOptions::with_idle_file_rows`]), at most once per partition: with input
    /// clustered by partition, a finished partition's file does not hold memory or a slot
    /// until the end.
    fn finish_idle_partitions(&mut self) {
        let idle_rows = self.factory.options.idle_file_rows;
        let now = self.num_rows;
        let idle: Vec<String> = self
            .open
            .iter()
            .filter(|(directory, p)| {
                !self.finished_idle.contains(*directory) && p.activity.is_idle(now, idle_rows)
            })
            .map(|(directory, _)| directory.clone())
            .collect();
        for directory in idle {
            if let Some(partition) = self.open.remove(&directory) {
                self.start_close(partition.writer);
                self.finished_idle.insert(directory);
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
        let joined = self.closing.join_next_with_id().await;
        self.joined(joined)
    }

    /// Keeps the `add`s of the background finishes that are done, freeing their slots.
    fn reap_closed(&mut self) -> Result<()> {
        while let Some(joined) = self.closing.try_join_next_with_id() {
            self.joined(Some(joined))?;
        }
        Ok(())
    }

    fn joined(&mut self, joined: Option<Joined>) -> Result<()> {
        match joined {
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

    /// Releases memory until the writer is within its budget: spills the waiting rows or
    /// ends the largest row group, whichever holds more (see [`schedule::relieve`]).
    async fn enforce_budget(&mut self) -> Result<()> {
        loop {
            let row_budget = self.plan.row_budget(self.open.len() + self.closing.len());
            let (directories, row_groups): (Vec<&String>, Vec<usize>) = self
                .open
                .iter()
                .map(|(directory, p)| (directory, p.writer.buffered_bytes()))
                .unzip();
            match schedule::relieve(row_budget, self.waiting.memory_bytes(), &row_groups) {
                Relief::None => return Ok(()),
                Relief::SpillWaiting => self.spill_waiting().await?,
                Relief::FlushRowGroup(index) => {
                    let directory = directories[index].clone();
                    if let Some(partition) = self.open.get_mut(&directory) {
                        partition.writer.flush_row_group().await?;
                    }
                }
            }
        }
    }

    /// Writes every waiting row in memory to a spill file, on a blocking thread.
    async fn spill_waiting(&mut self) -> Result<()> {
        let Some(job) = self.waiting.start_spill() else {
            return Ok(());
        };
        let directory = self.factory.options.spill_directory.display().to_string();
        let (partitions, spilled) = tokio::task::spawn_blocking(move || job.run())
            .await
            .map_err(|err| Error::Spill {
                directory,
                reason: "the task writing the spill file failed".to_owned(),
                source: Box::new(err),
            })??;
        self.waiting.finish_spill(partitions, spilled);
        Ok(())
    }
}

impl Drop for DataWriter {
    /// Aborts a writer that was neither finished nor aborted, in the background.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let cleanup = self.take_cleanup();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(cleanup.run());
            }
            Err(_) => tracing::warn!(
                table = %self.location.display_path(self.location.root()),
                "a data writer was dropped outside a Tokio runtime; the data files it wrote \
                 stay (uncommitted, so invisible; VACUUM removes them)"
            ),
        }
    }
}

/// What an abort waits for and deletes.
struct Cleanup {
    location: Arc<TableLocation>,
    factory: Arc<FileFactory>,
    open: Vec<PartitionWriter>,
    closing: JoinSet<Result<Vec<Add>>>,
}

impl Cleanup {
    /// Aborts the open files' uploads, waits for the files being finished, and deletes every
    /// file that was started. Best effort: failures are logged.
    async fn run(mut self) {
        for partition in self.open {
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
}
