//! The data files of one partition: Parquet encoding on a blocking thread, uploading as it
//! goes, with each file's statistics kept alongside.
//!
//! This module decides how a data file is named, encoded (the physical schema, the codec, row
//! groups bounded in rows and bytes, page statistics) and uploaded (one request for a small
//! file, a multipart upload in parts for a large one, parts uploading while encoding goes on),
//! when a file is full (it rolls over at the target size, at a slice boundary), and what `add`
//! action describes each finished file.
//!
//! Encoding is the expensive part of a write, so a [`PartitionWriter`] runs it on Tokio's
//! blocking pool: [`PartitionWriter::write`] hands the rows over and returns, and the caller
//! validates and splits its next batch while they encode. Each partition has at most one
//! batch in flight, so the pipeline holds at most one extra batch per open partition. It never
//! decides which partitions are open or when they close: that is the writer's.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use bytes::Bytes;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use tarn_log::TableLocation;
use tarn_protocol::actions::{Add, PartitionValues};
use tarn_protocol::data_path::encode_relative_path;
use tokio::io::AsyncWriteExt;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::dictionary::columns_without_dictionary;
use super::encode::ColumnEncoder;
use super::enforce::relabel_batch;
use super::options::Resolved;
use super::stats::{FileStats, StatsLeaf};
use super::waiting::{Backlog, Gatherer};
use crate::error::{Error, Result};

/// Rows go to the encoder in slices of about this much Arrow memory (or the target file size,
/// if smaller; but at least [`MIN_SLICE_ROWS`] rows): files roll over at slice boundaries, so
/// a file overshoots its target by at most one slice's encoded size.
const SLICE_BYTES: usize = 8 * 1024 * 1024;
/// The fewest rows in a slice (unless row groups are smaller).
const MIN_SLICE_ROWS: usize = 1024;
/// A waiting partition's rows are replayed in batches of at least this much Arrow memory
/// (small slices are gathered): enough rows to encode columns in parallel, little enough
/// that a dozen partitions replaying at once hold little beside their row groups.
const REPLAY_BATCH_BYTES: usize = 1024 * 1024;

/// What every data file of one writer is written with, and the record of what was started.
#[derive(Debug)]
pub(crate) struct FileFactory {
    location: Arc<TableLocation>,
    /// The Arrow form of the data columns in data files: physical names, Parquet field ids.
    physical_schema: SchemaRef,
    properties: WriterProperties,
    leaves: Vec<StatsLeaf>,
    pub(crate) options: Resolved,
    /// Files started so far; numbers the next file (`part-00000-…`).
    counter: AtomicU64,
    /// Every object a file was started at, so an abort can delete them all.
    started: Mutex<Vec<Path>>,
    /// Set when the write is abandoned: replays stop at their next batch.
    cancelled: AtomicBool,
}

impl FileFactory {
    pub(crate) fn new(
        location: Arc<TableLocation>,
        physical_schema: SchemaRef,
        leaves: Vec<StatsLeaf>,
        options: Resolved,
    ) -> Self {
        Self {
            location,
            physical_schema,
            properties: writer_properties(&options),
            leaves,
            options,
            counter: AtomicU64::new(0),
            started: Mutex::new(Vec::new()),
            cancelled: AtomicBool::new(false),
        }
    }

    /// Abandons the write: every replay of a waiting partition's rows (which may be long:
    /// gigabytes read back from spill files) stops at its next batch with an error, so that
    /// an abort does not wait for rows nobody will commit. A batch of the input being
    /// encoded is finished (it is one batch), as before.
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    fn check_cancelled(&self, directory: &str) -> Result<()> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(Error::DataFileWrite {
                path: directory.to_owned(),
                reason: "the write was abandoned".to_owned(),
                source: None,
            });
        }
        Ok(())
    }

    /// Every object a data file was started at, in the order they were started.
    pub(crate) fn started(&self) -> Vec<Path> {
        self.started
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Starts the next data file in partition `directory` (empty when unpartitioned), whose
    /// first rows are `first` (logical form): they decide which columns are written without
    /// a dictionary (`dictionary.rs`).
    fn open(&self, directory: &str, first: &RecordBatch) -> Result<DataFile> {
        let counter = self.counter.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "part-{counter:05}-{}-c000{}.parquet",
            Uuid::new_v4(),
            self.options.compression.file_extension()
        );
        let relative = if directory.is_empty() {
            name
        } else {
            format!("{directory}/{name}")
        };
        let object_path = self.location.child_path(&relative);
        let display = self.location.display_path(&object_path);
        let upload = BufWriter::with_capacity(
            Arc::clone(self.location.store()),
            object_path.clone(),
            self.options.upload_part_size,
        )
        .with_max_concurrency(self.options.max_concurrent_uploads);
        let plain = columns_without_dictionary(
            first,
            &self.physical_schema,
            self.options.max_row_group_rows,
            self.properties.dictionary_page_size_limit(),
        );
        let properties = if plain.is_empty() {
            self.properties.clone()
        } else {
            plain
                .into_iter()
                .fold(self.properties.clone().into_builder(), |builder, column| {
                    builder.set_column_dictionary_enabled(column, false)
                })
                .build()
        };
        let writer = ColumnEncoder::new(
            Arc::clone(&self.physical_schema),
            properties,
            self.options.encoding_threads,
        )
        .map_err(|e| write_error(&display, e))?;
        self.started
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(object_path.clone());
        Ok(DataFile {
            relative,
            display,
            writer,
            upload,
            stats: FileStats::new(self.leaves.clone()),
        })
    }
}

/// The Parquet writer settings of data files.
fn writer_properties(options: &Resolved) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(options.parquet_compression)
        .set_max_row_group_row_count(Some(options.max_row_group_rows))
        .set_max_row_group_bytes(Some(options.max_row_group_bytes))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by(format!("tarn {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// One data file being written. Its methods block: they run on a blocking thread and drive
/// the upload through `runtime`.
struct DataFile {
    /// Path relative to the table root, decoded (as on storage).
    relative: String,
    /// The file's path as an operator would name it.
    display: String,
    /// Encodes into memory; whole row groups move to `upload` as they complete.
    writer: ColumnEncoder,
    upload: BufWriter,
    stats: FileStats,
}

impl DataFile {
    /// Appends rows (the data columns, in logical form).
    /// Statistics are computed on a thread of their own while the columns encode, when the
    /// encoder may use more than one thread and the batch is large enough to be worth it.
    fn write(&mut self, batch: &RecordBatch, schema: &SchemaRef, runtime: &Handle) -> Result<()> {
        let physical = relabel_batch(batch, Arc::clone(schema))?;
        let encoded = if self.writer.is_parallel_for(batch.num_rows()) {
            let stats = &mut self.stats;
            let writer = &mut self.writer;
            std::thread::scope(|scope| {
                let stats = scope.spawn(move || stats.update(batch));
                let encoded = writer.write(&physical);
                if let Err(panic) = stats.join() {
                    std::panic::resume_unwind(panic);
                }
                encoded
            })
        } else {
            self.stats.update(batch);
            self.writer.write(&physical)
        };
        encoded.map_err(|e| write_error(&self.display, e))?;
        self.drain(runtime)
    }

    /// Ends the row group in progress and hands its bytes to the upload.
    fn flush(&mut self, runtime: &Handle) -> Result<()> {
        self.writer
            .flush()
            .map_err(|e| write_error(&self.display, e))?;
        self.drain(runtime)
    }

    /// Moves whatever the encoder has completed (whole row groups, the footer) to the upload.
    fn drain(&mut self, runtime: &Handle) -> Result<()> {
        let encoded = self.writer.take_encoded();
        if encoded.is_empty() {
            return Ok(());
        }
        runtime
            .block_on(self.upload.put(Bytes::from(encoded)))
            .map_err(|source| Error::Storage {
                path: self.display.clone(),
                source,
            })
    }

    /// Bytes encoded so far (some may still sit in the encoder's output buffer) plus the
    /// expected encoded size of the row group in progress (its estimate scaled by how the
    /// file's earlier row groups compressed).
    fn estimated_size(&self) -> u64 {
        (self.writer.bytes_written() + self.writer.expected_in_progress_size()) as u64
    }

    /// Writes the footer, completes the upload and describes the file.
    fn finish(
        mut self,
        partition_values: PartitionValues,
        data_change: bool,
        runtime: &Handle,
    ) -> Result<Add> {
        self.writer
            .finish()
            .map_err(|e| write_error(&self.display, e))?;
        self.drain(runtime)?;
        runtime
            .block_on(self.upload.shutdown())
            .map_err(|e| Error::DataFileWrite {
                path: self.display.clone(),
                reason: format!("completing the upload: {e}"),
                source: Some(Box::new(e)),
            })?;
        Ok(Add {
            path: encode_relative_path(&self.relative),
            partition_values,
            // Every byte of the file, footer included, has gone to the upload by now.
            size: i64::try_from(self.writer.bytes_written()).unwrap_or(i64::MAX),
            modification_time: chrono::Utc::now().timestamp_millis(),
            data_change,
            stats: Some(self.stats.to_json()),
            tags: None,
            deletion_vector: None,
            base_row_id: None,
            default_row_commit_version: None,
            clustering_provider: None,
        })
    }
}

/// The files of one partition, written one after another. Blocking; see [`PartitionWriter`].
struct Partition {
    factory: Arc<FileFactory>,
    directory: String,
    values: PartitionValues,
    runtime: Handle,
    /// The file being written, opened when rows first arrive.
    current: Option<DataFile>,
    /// Files finished so far.
    adds: Vec<Add>,
}

impl Partition {
    /// Writes rows slice by slice, rolling to a new file once the current one reaches the
    /// target size.
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.write_sized(batch, batch.get_array_memory_size())
    }

    /// [`write`](Self::write) of a batch whose Arrow memory is `bytes` (which
    /// [`RecordBatch::get_array_memory_size`] overstates for a batch read from a spill file:
    /// its arrays share one buffer, counted whole by each).
    ///
    /// Slices hold at most the target size in Arrow memory (which encodes smaller), so a file
    /// overshoots its target by less than the target itself, however small it is.
    fn write_sized(&mut self, batch: &RecordBatch, bytes: usize) -> Result<()> {
        let rows = batch.num_rows();
        let per_row = bytes / rows.max(1);
        let target = self.factory.options.target_file_size;
        // Files roll between slices: a slice much larger than the target would overshoot it.
        let slice_bytes = SLICE_BYTES.min(usize::try_from(target / 4).unwrap_or(usize::MAX));
        let step = (slice_bytes / per_row.max(1))
            .max(MIN_SLICE_ROWS)
            .min(self.factory.options.max_row_group_rows);
        let mut offset = 0;
        while offset < rows {
            let len = step.min(rows - offset);
            let slice = batch.slice(offset, len);
            let file = match &mut self.current {
                Some(file) => file,
                None => self
                    .current
                    .insert(self.factory.open(&self.directory, &slice)?),
            };
            file.write(&slice, &self.factory.physical_schema, &self.runtime)?;
            offset += len;
            if file.estimated_size() >= target {
                // The estimate of a row group in progress counts its buffered pages
                // uncompressed (plain columns, above all): end the row group and look at
                // what it took before ending the file.
                if file.writer.in_progress_size() > 0 {
                    file.flush(&self.runtime)?;
                }
                if file.estimated_size() >= target {
                    self.finish_current()?;
                }
            }
        }
        Ok(())
    }

    /// Writes a waiting partition's rows in input order, gathering small slices, and ends
    /// the row group in progress whenever it holds more than `row_group_limit` bytes: the
    /// job runs unattended, so it keeps to its own share of the writer's budget.
    fn replay(&mut self, backlog: Backlog, row_group_limit: usize) -> Result<()> {
        // Spilled batches of tiny partitions are tiny: gather them too.
        let mut gatherer = Gatherer::new(REPLAY_BATCH_BYTES);
        backlog.replay(REPLAY_BATCH_BYTES, |batch, bytes| {
            self.factory.check_cancelled(&self.directory)?;
            match gatherer.push(batch, bytes)? {
                Some((batch, bytes)) => self.write_replayed(&batch, bytes, row_group_limit),
                None => Ok(()),
            }
        })?;
        match gatherer.finish()? {
            Some((batch, bytes)) => self.write_replayed(&batch, bytes, row_group_limit),
            None => Ok(()),
        }
    }

    fn write_replayed(
        &mut self,
        batch: &RecordBatch,
        bytes: usize,
        row_group_limit: usize,
    ) -> Result<()> {
        self.write_sized(batch, bytes)?;
        if self.buffered_bytes() > row_group_limit {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        match &mut self.current {
            Some(file) => file.flush(&self.runtime),
            None => Ok(()),
        }
    }

    fn finish_current(&mut self) -> Result<()> {
        if let Some(file) = self.current.take() {
            let add = file.finish(
                self.values.clone(),
                self.factory.options.data_change,
                &self.runtime,
            )?;
            self.adds.push(add);
        }
        Ok(())
    }

    /// Memory held by the row group in progress.
    fn buffered_bytes(&self) -> usize {
        self.current.as_ref().map_or(0, |f| f.writer.memory_size())
    }

    /// Abandons the file in progress: aborts its multipart upload (a file still in its first
    /// part was never sent).
    async fn abort(mut self) {
        if let Some(mut file) = self.current.take()
            && let Err(err) = file.upload.abort().await
        {
            tracing::warn!(path = %file.display, error = %err, "aborting a data file upload failed");
        }
    }
}

/// Where a partition's encoder is.
enum Encoder {
    /// Waiting for rows.
    Idle(Box<Partition>),
    /// Encoding the last batch on a blocking thread.
    Busy(JoinHandle<(Box<Partition>, Result<()>)>),
    /// The blocking task panicked or was cancelled: nothing more can be written.
    Lost,
}

/// The data files of one partition, encoded in the background. See the [module docs](self).
pub(crate) struct PartitionWriter {
    /// The partition's Hive-style directory (empty when unpartitioned).
    pub(crate) directory: String,
    encoder: Encoder,
    /// Memory held by the row group in progress, as of the last batch that finished encoding.
    buffered: usize,
}

impl std::fmt::Debug for PartitionWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionWriter")
            .field("directory", &self.directory)
            .field("buffered", &self.buffered)
            .finish()
    }
}

impl PartitionWriter {
    /// A writer for partition `directory` with `values`. Must be called inside a Tokio
    /// runtime; no file is started until rows arrive.
    pub(crate) fn new(
        factory: &Arc<FileFactory>,
        directory: &str,
        values: PartitionValues,
    ) -> Self {
        Self {
            directory: directory.to_owned(),
            encoder: Encoder::Idle(Box::new(Partition {
                factory: Arc::clone(factory),
                directory: directory.to_owned(),
                values,
                runtime: Handle::current(),
                current: None,
                adds: Vec::new(),
            })),
            buffered: 0,
        }
    }

    /// Starts encoding rows (the data columns, in logical form) and returns without waiting
    /// for them; first waits for the previous batch of this partition. An error of the
    /// previous batch is returned here.
    pub(crate) async fn write(&mut self, batch: RecordBatch) -> Result<()> {
        self.run(move |partition| partition.write(&batch)).await
    }

    /// Starts writing a waiting partition's rows (see [`Partition::replay`]) and returns
    /// without waiting for them.
    pub(crate) async fn replay(&mut self, backlog: Backlog, row_group_limit: usize) -> Result<()> {
        self.run(move |partition| partition.replay(backlog, row_group_limit))
            .await
    }

    /// Starts ending the row group in progress, releasing the encoder's buffers.
    pub(crate) async fn flush_row_group(&mut self) -> Result<()> {
        self.run(Partition::flush).await?;
        self.buffered = 0;
        Ok(())
    }

    /// Memory held by the row group in progress, as of the last batch that finished encoding
    /// (a batch still encoding is not counted).
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.buffered
    }

    /// Finishes the file in progress and returns the `add` of every file written.
    pub(crate) async fn finish(mut self) -> Result<Vec<Add>> {
        let mut partition = match self.settle().await {
            Ok(partition) => partition,
            Err(err) => {
                // An earlier batch failed (or the write was abandoned): discard the upload
                // in progress rather than leave a multipart upload open.
                if let Encoder::Idle(partition) =
                    std::mem::replace(&mut self.encoder, Encoder::Lost)
                {
                    partition.abort().await;
                }
                return Err(err);
            }
        };
        let (partition, result) = tokio::task::spawn_blocking(move || {
            let result = partition.finish_current();
            (partition, result)
        })
        .await
        .map_err(|e| lost(&self.directory, e))?;
        result?;
        Ok(partition.adds)
    }

    /// Gives up: waits for the batch in flight and aborts the upload in progress. Best effort.
    pub(crate) async fn abort(mut self) {
        match self.settle().await {
            Ok(partition) => partition.abort().await,
            Err(err) => {
                tracing::warn!(directory = %self.directory, error = %err, "aborting a partition");
                if let Encoder::Idle(partition) =
                    std::mem::replace(&mut self.encoder, Encoder::Lost)
                {
                    partition.abort().await;
                }
            }
        }
    }

    /// Waits for the previous batch, then runs `job` on the encoder on a blocking thread.
    async fn run(
        &mut self,
        job: impl FnOnce(&mut Partition) -> Result<()> + Send + 'static,
    ) -> Result<()> {
        let mut partition = self.settle().await?;
        self.encoder = Encoder::Busy(tokio::task::spawn_blocking(move || {
            let result = job(&mut partition);
            (partition, result)
        }));
        Ok(())
    }

    /// Waits for the batch in flight and takes the encoder. After an error of that batch the
    /// encoder stays here (for [`PartitionWriter::abort`]).
    async fn settle(&mut self) -> Result<Box<Partition>> {
        let (partition, result) = match std::mem::replace(&mut self.encoder, Encoder::Lost) {
            Encoder::Idle(partition) => (partition, Ok(())),
            Encoder::Busy(handle) => handle.await.map_err(|e| lost(&self.directory, e))?,
            Encoder::Lost => {
                return Err(Error::DataFileWrite {
                    path: self.directory.clone(),
                    reason: "an earlier batch of this partition failed".to_owned(),
                    source: None,
                });
            }
        };
        self.buffered = partition.buffered_bytes();
        match result {
            Ok(()) => Ok(partition),
            Err(err) => {
                self.encoder = Encoder::Idle(partition);
                Err(err)
            }
        }
    }
}

/// The error for an encoder task that panicked or was cancelled.
fn lost(directory: &str, err: tokio::task::JoinError) -> Error {
    Error::DataFileWrite {
        path: directory.to_owned(),
        reason: format!("the task encoding the partition's data failed: {err}"),
        source: Some(Box::new(err)),
    }
}

/// Maps a Parquet writer error to a write error naming the file.
pub(crate) fn write_error(path: &str, err: ParquetError) -> Error {
    Error::DataFileWrite {
        path: path.to_owned(),
        reason: err.to_string(),
        source: Some(Box::new(err)),
    }
}
