//! Parquet input: the file's own schema, read a batch at a time.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{BATCH_ROWS, InputFile, InputFormat, format_error, open_error};
use crate::CliError;

fn builder(path: &Path, display: &str) -> Result<ParquetRecordBatchReaderBuilder<File>, CliError> {
    let file = File::open(path).map_err(|source| open_error(display, source))?;
    ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| format_error(display, InputFormat::Parquet, e))
}

/// The file's Arrow schema (without file-level metadata).
pub(super) fn schema(path: &Path, display: &str) -> Result<SchemaRef, CliError> {
    let builder = builder(path, display)?;
    Ok(Arc::new(Schema::new(builder.schema().fields().clone())))
}

/// Reads the file, handing each batch to `send` with an estimate of the bytes consumed (the
/// share of rows read). Returns `false` when `send` asked to stop.
pub(super) fn read(
    file: &InputFile,
    send: &mut dyn FnMut(RecordBatch, u64) -> bool,
) -> Result<bool, CliError> {
    let builder = builder(&file.path, &file.display)?;
    let total_rows = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    let reader = builder
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| format_error(&file.display, InputFormat::Parquet, e))?;
    let mut rows = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| format_error(&file.display, InputFormat::Parquet, e))?;
        // Same columns as announced, without the file's schema metadata.
        let batch = RecordBatch::try_new(Arc::clone(&file.schema), batch.columns().to_vec())
            .map_err(|e| format_error(&file.display, InputFormat::Parquet, e))?;
        rows += u64::try_from(batch.num_rows()).unwrap_or(0);
        let consumed = if total_rows == 0 {
            file.size
        } else {
            (u128::from(file.size) * u128::from(rows) / u128::from(total_rows)) as u64
        };
        if !send(batch, consumed) {
            return Ok(false);
        }
    }
    Ok(true)
}
