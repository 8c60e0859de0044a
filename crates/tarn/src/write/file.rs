//! One data file being written: Parquet encoding into a buffered (multipart) upload, with its
//! statistics kept alongside.
//!
//! This module decides how a data file is named, encoded (the physical schema, the codec, row
//! groups bounded in rows and bytes, page statistics) and uploaded (one request for a small
//! file, a multipart upload in parts for a large one, parts uploading while encoding goes on),
//! and what `add` action describes it once finished. It never decides when a file is opened,
//! rolled or closed: that is the writer's.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use bytes::Bytes;
use futures::future::BoxFuture;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use parquet::arrow::AsyncArrowWriter;
use parquet::arrow::async_writer::AsyncFileWriter;
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use tarn_log::TableLocation;
use tarn_protocol::actions::{Add, PartitionValues};
use tarn_protocol::data_path::encode_relative_path;
use tokio::io::AsyncWrite;
use uuid::Uuid;

use super::enforce::relabel_batch;
use super::options::Resolved;
use super::stats::{FileStats, StatsLeaf};
use crate::error::{Error, Result};

/// The [`AsyncFileWriter`] of a data file: an object store upload that buffers up to one part
/// and then switches to a multipart upload, counting the bytes it is given.
struct UploadSink {
    upload: BufWriter,
    bytes: u64,
}

impl AsyncFileWriter for UploadSink {
    fn write(&mut self, bytes: Bytes) -> BoxFuture<'_, parquet::errors::Result<()>> {
        Box::pin(async move {
            self.bytes += bytes.len() as u64;
            self.upload
                .put(bytes)
                .await
                .map_err(|e| ParquetError::External(Box::new(e)))
        })
    }

    fn complete(&mut self) -> BoxFuture<'_, parquet::errors::Result<()>> {
        Box::pin(async move {
            poll_fn(|cx| Pin::new(&mut self.upload).poll_shutdown(cx))
                .await
                .map_err(|e| ParquetError::External(Box::new(e)))
        })
    }
}

/// What every data file of one writer is written with.
#[derive(Debug)]
pub(crate) struct FileFactory {
    pub(crate) location: Arc<TableLocation>,
    /// The Arrow form of the data columns in data files: physical names, Parquet field ids.
    pub(crate) physical_schema: SchemaRef,
    pub(crate) properties: WriterProperties,
    pub(crate) leaves: Vec<StatsLeaf>,
    pub(crate) options: Resolved,
}

impl FileFactory {
    pub(crate) fn writer_properties(options: &Resolved) -> WriterProperties {
        WriterProperties::builder()
            .set_compression(options.parquet_compression)
            .set_max_row_group_row_count(Some(options.max_row_group_rows))
            .set_max_row_group_bytes(Some(options.max_row_group_bytes))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_created_by(format!("tarn {}", env!("CARGO_PKG_VERSION")))
            .build()
    }

    /// Starts file number `counter` in partition `directory` (empty when unpartitioned).
    pub(crate) fn open(
        self: &Arc<Self>,
        directory: &str,
        partition_values: PartitionValues,
        counter: u64,
    ) -> Result<OpenFile> {
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
        let sink = UploadSink { upload, bytes: 0 };
        let writer = AsyncArrowWriter::try_new(
            sink,
            Arc::clone(&self.physical_schema),
            Some(self.properties.clone()),
        )
        .map_err(|e| Error::DataFileWrite {
            path: display.clone(),
            reason: e.to_string(),
        })?;
        Ok(OpenFile {
            directory: directory.to_owned(),
            relative,
            object_path,
            display,
            partition_values,
            writer,
            stats: FileStats::new(self.leaves.clone()),
            physical_schema: Arc::clone(&self.physical_schema),
            data_change: self.options.data_change,
            last_used: 0,
        })
    }
}

/// A data file being written.
pub(crate) struct OpenFile {
    pub(crate) directory: String,
    /// Path relative to the table root, decoded (as on storage).
    relative: String,
    pub(crate) object_path: Path,
    display: String,
    partition_values: PartitionValues,
    writer: AsyncArrowWriter<UploadSink>,
    stats: FileStats,
    physical_schema: SchemaRef,
    data_change: bool,
    /// When the file was last written to, on the writer's clock (for eviction).
    pub(crate) last_used: u64,
}

impl std::fmt::Debug for OpenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenFile")
            .field("path", &self.display)
            .field("rows", &self.stats.num_records())
            .finish()
    }
}

impl OpenFile {
    /// The file's path as an operator would name it.
    pub(crate) fn display(&self) -> &str {
        &self.display
    }

    /// Appends rows (the data columns, in logical form).
    pub(crate) async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.stats.update(batch);
        let physical = relabel_batch(batch, Arc::clone(&self.physical_schema))?;
        self.writer
            .write(&physical)
            .await
            .map_err(|e| write_error(&self.display, e))
    }

    /// Bytes written so far plus the expected encoded size of the row group in progress.
    pub(crate) fn estimated_size(&self) -> u64 {
        (self.writer.bytes_written() + self.writer.in_progress_size()) as u64
    }

    /// Memory held by the row group in progress.
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.writer.memory_size()
    }

    /// Ends the row group in progress, handing its bytes to the upload.
    pub(crate) async fn flush_row_group(&mut self) -> Result<()> {
        self.writer
            .flush()
            .await
            .map_err(|e| write_error(&self.display, e))
    }

    /// Writes the footer, completes the upload and describes the file.
    pub(crate) async fn finish(mut self) -> Result<Add> {
        self.writer
            .finish()
            .await
            .map_err(|e| write_error(&self.display, e))?;
        let size = self.writer.into_inner().bytes;
        Ok(Add {
            path: encode_relative_path(&self.relative),
            partition_values: self.partition_values,
            size: i64::try_from(size).unwrap_or(i64::MAX),
            modification_time: chrono::Utc::now().timestamp_millis(),
            data_change: self.data_change,
            stats: Some(self.stats.to_json()),
            tags: None,
            deletion_vector: None,
            base_row_id: None,
            default_row_commit_version: None,
            clustering_provider: None,
        })
    }

    /// Abandons the file: aborts a multipart upload in progress (a file still in its first
    /// part was never sent).
    pub(crate) async fn abort(self) {
        let mut sink = self.writer.into_inner();
        if let Err(err) = sink.upload.abort().await {
            tracing::warn!(path = %self.display, error = %err, "aborting a data file upload failed");
        }
    }
}

/// Maps a Parquet writer error to a storage error when the store failed, else to a write
/// error naming the file.
pub(crate) fn write_error(path: &str, err: ParquetError) -> Error {
    let ParquetError::External(inner) = err else {
        return Error::DataFileWrite {
            path: path.to_owned(),
            reason: err.to_string(),
        };
    };
    match storage_error(inner) {
        Ok(source) => Error::Storage {
            path: path.to_owned(),
            source,
        },
        Err(other) => Error::DataFileWrite {
            path: path.to_owned(),
            reason: other.to_string(),
        },
    }
}

/// Digs an object store error out of the wrappers the Parquet writer and the upload put
/// around it.
fn storage_error(
    err: Box<dyn std::error::Error + Send + Sync>,
) -> std::result::Result<object_store::Error, Box<dyn std::error::Error + Send + Sync>> {
    let err = match err.downcast::<object_store::Error>() {
        Ok(store) => return Ok(*store),
        Err(other) => other,
    };
    let err = match err.downcast::<ParquetError>() {
        Ok(parquet) => match *parquet {
            ParquetError::External(inner) => return storage_error(inner),
            other => return Err(Box::new(other)),
        },
        Err(other) => other,
    };
    match err.downcast::<std::io::Error>() {
        Ok(io) => {
            let display = io.to_string();
            match io.into_inner() {
                Some(inner) => storage_error(inner),
                None => Err(display.into()),
            }
        }
        Err(other) => Err(other),
    }
}
