//! "Raw parquet": the floor for a partitioned write. No Delta log, no statistics beyond what
//! Parquet keeps itself: the parquet crate's `ArrowWriter` writes each day's batches, without
//! the `day` column, to `day=YYYY-MM-DD/part-00000-<uuid>.c000.zstd.parquet` on the local
//! disk with `std::fs`, one file open at a time (the input is in day order), on the calling
//! thread. Writer properties match tarn's: zstd level 3, row groups of at most 1 Mi rows and
//! 64 MiB, column and page statistics.
//!
//! It relies on what it knows of the input: every batch holds one day, and the days come in
//! order; a batch that breaks this is an error, not a silent mix.

use std::fs::{self, File};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::{WriteOutcome, compression};
use crate::error::{BenchError, io_error};
use crate::gen_stream::{PARTITION_COLUMN, StreamSpec, table_schema};

/// tarn's default row-group limits.
const MAX_ROW_GROUP_ROWS: usize = 1024 * 1024;
const MAX_ROW_GROUP_BYTES: usize = 64 * 1024 * 1024;

/// The file open for the current day.
struct DayFile {
    day: String,
    path: String,
    writer: ArrowWriter<File>,
}

pub(super) fn write(dir: &Path, spec: &StreamSpec) -> Result<WriteOutcome, BenchError> {
    let schema = table_schema();
    let day_column = schema
        .index_of(PARTITION_COLUMN)
        .map_err(|source| BenchError::Arrow {
            what: "raw parquet: partition column",
            source,
        })?;
    let data_columns: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| i != day_column)
        .collect();
    let file_schema =
        Arc::new(
            schema
                .project(&data_columns)
                .map_err(|source| BenchError::Arrow {
                    what: "raw parquet: file schema",
                    source,
                })?,
        );
    let properties = WriterProperties::builder()
        .set_compression(compression()?)
        .set_max_row_group_row_count(Some(MAX_ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(MAX_ROW_GROUP_BYTES))
        .set_statistics_enabled(EnabledStatistics::Page)
        .build();

    let mut open: Option<DayFile> = None;
    let mut finished: Vec<String> = Vec::new();
    for batch in spec.batches()? {
        let batch = batch?;
        if batch.num_rows() == 0 {
            continue;
        }
        let day = single_day(&batch, day_column)?;
        if open.as_ref().is_none_or(|file| file.day != day) {
            if let Some(file) = open.take() {
                finished.push(close(file)?);
            }
            if finished
                .iter()
                .any(|path| path.starts_with(&format!("day={day}/")))
            {
                return Err(BenchError::InputOrder { day });
            }
            let relative = format!(
                "day={day}/part-00000-{}.c000.zstd.parquet",
                uuid::Uuid::new_v4()
            );
            let day_dir = dir.join(format!("day={day}"));
            fs::create_dir_all(&day_dir).map_err(io_error(&day_dir))?;
            let path = dir.join(&relative);
            let sink = File::create_new(&path).map_err(io_error(&path))?;
            let writer =
                ArrowWriter::try_new(sink, Arc::clone(&file_schema), Some(properties.clone()))
                    .map_err(|source| BenchError::Parquet {
                        path: relative.clone(),
                        source,
                    })?;
            open = Some(DayFile {
                day,
                path: relative,
                writer,
            });
        }
        if let Some(file) = open.as_mut() {
            let data = batch
                .project(&data_columns)
                .map_err(|source| BenchError::Arrow {
                    what: "raw parquet: data columns",
                    source,
                })?;
            file.writer
                .write(&data)
                .map_err(|source| BenchError::Parquet {
                    path: file.path.clone(),
                    source,
                })?;
        }
    }
    if let Some(file) = open.take() {
        finished.push(close(file)?);
    }
    Ok(WriteOutcome {
        _state: Box::new(finished),
    })
}

/// The one `day` value of a non-empty `batch`; an error if it holds more than one.
fn single_day(batch: &RecordBatch, day_column: usize) -> Result<String, BenchError> {
    let days = batch
        .column(day_column)
        .as_string_opt::<i32>()
        .ok_or_else(|| BenchError::MissingColumn {
            column: PARTITION_COLUMN,
            schema: batch.schema().to_string(),
        })?;
    let first = days.value(0);
    // Days come in order, so equal ends mean one day.
    if days.null_count() > 0 || days.value(days.len() - 1) != first {
        return Err(BenchError::InputOrder {
            day: first.to_owned(),
        });
    }
    Ok(first.to_owned())
}

/// Finishes a day's file and returns its path relative to the table root.
fn close(file: DayFile) -> Result<String, BenchError> {
    file.writer.close().map_err(|source| BenchError::Parquet {
        path: file.path.clone(),
        source,
    })?;
    Ok(file.path)
}
