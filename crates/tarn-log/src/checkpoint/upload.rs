//! Writing one Parquet object as its batches are produced: bounded memory, all cores busy, and
//! no partial object ever visible.
//!
//! Three stages run at once: the producer (a blocking thread building record batches), the
//! encoder (a blocking thread running Parquet's `ArrowWriter`) and the upload (the calling
//! task, feeding object_store's `BufWriter`, which turns into a multipart upload once the
//! object outgrows its buffer). The channels between them hold two items each, so memory is a
//! few batches, the encoder's open row group and the upload buffers, whatever the file's size.
//!
//! The object appears only when the upload completes: one PUT, a completed multipart upload,
//! or, on a local disk, the rename of a staged file. On any failure in any stage the upload is
//! aborted, so a failed write leaves nothing behind for a reader to trip over.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use bytes::Bytes;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use tarn_protocol::log_path::Version;
use tokio::io::AsyncWriteExt;

use crate::error::{LogError, LogResult};
use crate::location::TableLocation;

/// Size of each part of a multipart upload (S3 needs at least 5 MiB).
const UPLOAD_PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts uploaded at once.
const UPLOAD_CONCURRENCY: usize = 2;
/// Encoded bytes handed to the upload at a time.
const HANDOFF_BYTES: usize = 4 * 1024 * 1024;

/// Where the producer sends batches. A failed send means a later stage stopped: the producer
/// should return `Ok(())` and let that stage's error be reported.
pub(super) type BatchSender = SyncSender<RecordBatch>;

/// What was written.
#[derive(Debug, Clone, Copy)]
pub(super) struct Written {
    /// Rows in the file.
    pub(super) rows: usize,
    /// Size of the file in bytes.
    pub(super) bytes: u64,
}

enum EncodeError {
    Parquet(ParquetError),
    /// The upload stopped taking bytes (its own error is reported).
    UploadGone,
}

impl From<ParquetError> for EncodeError {
    fn from(err: ParquetError) -> Self {
        Self::Parquet(err)
    }
}

fn encode(
    schema: SchemaRef,
    properties: WriterProperties,
    batches: Receiver<RecordBatch>,
    out: tokio::sync::mpsc::Sender<Bytes>,
) -> Result<Written, EncodeError> {
    let options = ArrowWriterOptions::new()
        .with_properties(properties)
        // The Parquet schema says everything a Delta reader needs; Spark writes no Arrow schema.
        .with_skip_arrow_metadata(true);
    let mut writer = ArrowWriter::try_new_with_options(Vec::new(), schema, options)?;
    let mut rows = 0;
    let hand_off = |writer: &mut ArrowWriter<Vec<u8>>| {
        let bytes = std::mem::take(writer.inner_mut());
        if bytes.is_empty() {
            return Ok(());
        }
        out.blocking_send(Bytes::from(bytes))
            .map_err(|_| EncodeError::UploadGone)
    };
    for batch in batches {
        rows += batch.num_rows();
        writer.write(&batch)?;
        if writer.inner().len() >= HANDOFF_BYTES {
            hand_off(&mut writer)?;
        }
    }
    writer.finish()?;
    hand_off(&mut writer)?;
    Ok(Written {
        rows,
        bytes: writer.bytes_written() as u64,
    })
}

/// Writes the batches `produce` sends to `path` as one Parquet file (see the module doc), and
/// returns what was written with what `produce` returned.
pub(super) async fn write_parquet<P, T>(
    location: &TableLocation,
    path: &Path,
    version: Version,
    schema: SchemaRef,
    properties: WriterProperties,
    produce: P,
) -> LogResult<(Written, T)>
where
    P: FnOnce(&BatchSender) -> LogResult<T> + Send + 'static,
    T: Send + 'static,
{
    let shown = location.display_path(path);
    let (batch_tx, batch_rx) = std::sync::mpsc::sync_channel::<RecordBatch>(2);
    let (bytes_tx, mut bytes_rx) = tokio::sync::mpsc::channel::<Bytes>(2);
    let producer = tokio::task::spawn_blocking(move || produce(&batch_tx));
    let encoder =
        tokio::task::spawn_blocking(move || encode(schema, properties, batch_rx, bytes_tx));

    let mut upload = BufWriter::with_capacity(
        Arc::clone(location.store()),
        path.clone(),
        UPLOAD_PART_BYTES,
    )
    .with_max_concurrency(UPLOAD_CONCURRENCY);
    let mut upload_error = None;
    while let Some(bytes) = bytes_rx.recv().await {
        if let Err(err) = upload.write_all(&bytes).await {
            upload_error = Some(err);
            break;
        }
    }
    // Stops the encoder (and through it the producer) if the upload failed.
    drop(bytes_rx);
    let encoded = encoder.await;
    let produced = producer.await;

    let outcome = match (upload_error, encoded, produced) {
        (Some(err), _, _) => Err(upload_failure(&shown, err)),
        (None, Err(join), _) | (None, _, Err(join)) => Err(LogError::from(join)),
        (None, Ok(Err(EncodeError::Parquet(err))), _) => Err(LogError::CheckpointWrite {
            version,
            path: shown.clone(),
            reason: err.to_string(),
        }),
        (None, _, Ok(Err(err))) => Err(err),
        (None, Ok(Err(EncodeError::UploadGone)), Ok(Ok(_))) => Err(LogError::CheckpointWrite {
            version,
            path: shown.clone(),
            reason: "the upload stopped before the file was complete".to_owned(),
        }),
        (None, Ok(Ok(written)), Ok(Ok(produced))) => Ok((written, produced)),
    };
    match outcome {
        Ok(written) => match upload.shutdown().await {
            Ok(()) => Ok(written),
            Err(err) => Err(upload_failure(&shown, err)),
        },
        Err(err) => {
            if let Err(abort) = upload.abort().await {
                tracing::warn!(path = %shown, %abort, "cannot abort the checkpoint upload");
            }
            Err(err)
        }
    }
}

/// The error of a failed upload: object_store's own error where the `io::Error` carries one.
fn upload_failure(shown: &str, err: std::io::Error) -> LogError {
    let source = match err.downcast::<object_store::Error>() {
        Ok(store) => store,
        Err(err) => object_store::Error::Generic {
            store: "upload",
            source: Box::new(err),
        },
    };
    LogError::storage(shown, source)
}
