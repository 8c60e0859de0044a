//! The input of `tarn write`: Parquet, CSV and NDJSON files read as one stream of record
//! batches.
//!
//! This module decides the Arrow schema each file is read as and reads the files, one batch
//! at a time, on a blocking thread, so memory stays bounded whatever the input's size. When
//! the table exists, its column types are used for CSV and NDJSON (so `2026-01-07` reads as a
//! date where the table has a date); columns the table lacks, and every column of a new
//! table, take the types inferred from the first [`INFER_ROWS`] rows. Parquet files carry
//! their own schema. Every file must have the same columns.
//!
//! CSV and NDJSON values are read exactly ([`convert`], with the rules of
//! [`crate::value_text`]): the same text is the same value in both, a value that is not
//! exactly a value of its column's type (`1.239` in a `decimal(10,2)`, `-2.9` in a `long`,
//! `300` in a `byte`) is refused naming its file, line, column and text, and what `tarn cat`
//! writes reads back to the values it was written from. Only float and double columns round,
//! as IEEE 754 text parsing does.
//!
//! It never decides whether the rows fit the table: the write operation checks every batch
//! against the table's schema and constraints. A file that does not parse is an error
//! naming the file and line; the error travels beside the stream ([`InputReader::finish`])
//! so that it reaches the user as the CLI's own error, not as a library one.

mod convert;
mod csv;
mod csv_records;
mod ndjson;
mod parquet;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use futures::Stream;
use tarn::protocol::schema::StructType;

use crate::progress::Progress;
use crate::{BadInputValue, CliError};

/// Rows per batch handed to the writer.
pub(crate) const BATCH_ROWS: usize = 8192;
/// Rows (CSV) or lines (NDJSON) read to infer the types of columns the table does not have.
pub(crate) const INFER_ROWS: usize = 1000;

/// The format of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum InputFormat {
    /// Parquet (the file's own schema).
    Parquet,
    /// CSV with a header row; an empty field is a null, `""` an empty string.
    Csv,
    /// One JSON object per line.
    Ndjson,
}

impl InputFormat {
    pub(crate) fn name(self) -> &'static str {
        match self {
            InputFormat::Parquet => "Parquet",
            InputFormat::Csv => "CSV",
            InputFormat::Ndjson => "NDJSON",
        }
    }

    /// The format a file's extension names: `.parquet`, `.csv`, `.ndjson`, `.jsonl`, `.json`.
    pub(crate) fn from_path(path: &Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "parquet" | "pq" => Some(InputFormat::Parquet),
            "csv" => Some(InputFormat::Csv),
            "ndjson" | "jsonl" | "json" => Some(InputFormat::Ndjson),
            _ => None,
        }
    }
}

/// One input file and the Arrow schema it is read as.
#[derive(Debug)]
struct InputFile {
    path: PathBuf,
    display: String,
    format: InputFormat,
    size: u64,
    schema: SchemaRef,
}

/// The input files of a write, with the schema of the batches they make.
#[derive(Debug)]
pub(crate) struct Input {
    files: Vec<InputFile>,
    schema: SchemaRef,
}

impl Input {
    /// Opens the files and works out the schema each is read as (reading Parquet footers,
    /// CSV headers and the first rows). `format` overrides the extensions; `table` is the
    /// schema of the existing table, if any. Fails if a file cannot be read or two files do
    /// not have the same columns.
    pub(crate) fn open(
        paths: &[PathBuf],
        format: Option<InputFormat>,
        table: Option<&StructType>,
    ) -> Result<Self, CliError> {
        let mut files: Vec<InputFile> = Vec::with_capacity(paths.len());
        for path in paths {
            let display = path.display().to_string();
            let format = match format.or_else(|| InputFormat::from_path(path)) {
                Some(format) => format,
                None => return Err(CliError::UnknownInputFormat { path: display }),
            };
            let size = std::fs::metadata(path)
                .map_err(|source| open_error(&display, source))
                .and_then(|m| {
                    if m.is_dir() {
                        Err(open_error(
                            &display,
                            std::io::Error::other("it is a directory"),
                        ))
                    } else if !m.is_file() {
                        // A pipe or a device: it cannot be read twice (types are inferred from
                        // a first pass), and `/dev/zero` never ends.
                        Err(open_error(
                            &display,
                            std::io::Error::other(
                                "it is not a regular file (a pipe or a device); input is read \
                                 twice, so write it to a file first",
                            ),
                        ))
                    } else {
                        Ok(m.len())
                    }
                })?;
            let schema = match format {
                InputFormat::Parquet => parquet::schema(path, &display)?,
                InputFormat::Csv => csv::schema(path, &display, table)?,
                InputFormat::Ndjson => ndjson::schema(path, &display, table)?,
            };
            if let Some(first) = files.first() {
                same_columns(&first.schema, &schema).map_err(|reason| {
                    CliError::InputSchemaMismatch {
                        path: display.clone(),
                        first: first.display.clone(),
                        reason,
                    }
                })?;
            }
            files.push(InputFile {
                path: path.clone(),
                display,
                format,
                size,
                schema,
            });
        }
        let schema = match files.first() {
            Some(first) => Arc::clone(&first.schema),
            None => return Err(CliError::Usage("no input files".to_owned())),
        };
        Ok(Self { files, schema })
    }

    /// The schema of the batches.
    pub(crate) fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// Starts reading the files on a blocking thread. The stream ends after the last batch,
    /// or after an error, which [`InputReader::finish`] then returns. Dropping the stream
    /// stops the reading.
    pub(crate) fn into_stream(
        self,
    ) -> (
        impl Stream<Item = tarn::Result<RecordBatch>> + Send + 'static,
        InputReader,
    ) {
        let (sender, receiver) = tokio::sync::mpsc::channel::<tarn::Result<RecordBatch>>(2);
        let error: Arc<Mutex<Option<CliError>>> = Arc::default();
        let slot = Arc::clone(&error);
        let handle = tokio::task::spawn_blocking(move || {
            let total = self.files.iter().map(|f| f.size).sum();
            let mut progress = Progress::new(self.files.len(), total);
            let mut done_bytes = 0u64;
            for (index, file) in self.files.iter().enumerate() {
                progress.start_file(index, &file.display);
                let mut send = |batch: RecordBatch, file_bytes: u64| -> bool {
                    let rows = u64::try_from(batch.num_rows()).unwrap_or(0);
                    progress.advance(rows, done_bytes + file_bytes);
                    sender.blocking_send(Ok(batch)).is_ok()
                };
                let result = read_file(file, &mut send);
                match result {
                    Ok(true) => done_bytes += file.size,
                    // The writer stopped reading (it failed): nothing more to do.
                    Ok(false) => break,
                    Err(err) => {
                        let reason = err.to_string();
                        if let Ok(mut slot) = slot.lock() {
                            *slot = Some(err);
                        }
                        // The write fails on this and deletes what it wrote; the CLI
                        // reports the reader's own error, kept in the slot.
                        let _closed = sender.blocking_send(Err(tarn::Error::Input {
                            source: reason.into(),
                        }));
                        break;
                    }
                }
            }
            progress.finish();
        });
        let stream = futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|item| (item, receiver))
        });
        (stream, InputReader { error, handle })
    }
}

/// Reads one file, handing each batch to `send` with the bytes consumed so far. Returns
/// `false` when `send` asked to stop.
fn read_file(
    file: &InputFile,
    send: &mut dyn FnMut(RecordBatch, u64) -> bool,
) -> Result<bool, CliError> {
    match file.format {
        InputFormat::Parquet => parquet::read(file, send),
        InputFormat::Csv => csv::read(file, send),
        InputFormat::Ndjson => ndjson::read(file, send),
    }
}

/// Opens and reads the files as `tarn write` does, on this thread, into memory: the readers
/// without the stream around them, for tests.
#[cfg(test)]
pub(crate) fn read_all(
    paths: &[PathBuf],
    table: Option<&StructType>,
) -> Result<Vec<RecordBatch>, CliError> {
    let input = Input::open(paths, None, table)?;
    let mut batches = Vec::new();
    for file in &input.files {
        read_file(file, &mut |batch, _| {
            batches.push(batch);
            true
        })?;
    }
    Ok(batches)
}

/// The thread reading the input, and the error that stopped it.
#[derive(Debug)]
pub(crate) struct InputReader {
    error: Arc<Mutex<Option<CliError>>>,
    handle: tokio::task::JoinHandle<()>,
}

impl InputReader {
    /// Waits for the reading thread to end (the stream must have been dropped or read to
    /// its end) and returns the error that stopped it, if any.
    pub(crate) async fn finish(self) -> Option<CliError> {
        let _joined = self.handle.await;
        self.error.lock().ok().and_then(|mut slot| slot.take())
    }
}

fn open_error(display: &str, source: std::io::Error) -> CliError {
    CliError::InputOpen {
        path: display.to_owned(),
        source,
    }
}

fn format_error(display: &str, format: InputFormat, err: impl std::fmt::Display) -> CliError {
    CliError::InputFormat {
        path: display.to_owned(),
        format: format.name(),
        reason: err.to_string(),
    }
}

/// The error for a value that is not a value of its column's type, on `line`.
fn bad_value_error(display: &str, line: u64, bad: convert::BadValue) -> CliError {
    CliError::InputValue(Box::new(BadInputValue {
        path: display.to_owned(),
        line,
        column: bad.column,
        value: bad.value,
        expected: bad.expected,
        reason: bad.reason,
    }))
}

/// The message of an Arrow error without its kind prefix (`Json error: `, `Parser error: `).
fn arrow_reason(err: &ArrowError) -> String {
    match err {
        ArrowError::JsonError(s)
        | ArrowError::ParseError(s)
        | ArrowError::CsvError(s)
        | ArrowError::CastError(s)
        | ArrowError::SchemaError(s)
        | ArrowError::InvalidArgumentError(s)
        | ArrowError::ComputeError(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether two files have the same columns: names in order and types (nullability and
/// metadata aside). Returns what differs.
fn same_columns(first: &Schema, other: &Schema) -> Result<(), String> {
    let names = |s: &Schema| {
        s.fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if first.fields().len() != other.fields().len()
        || first
            .fields()
            .iter()
            .zip(other.fields())
            .any(|(a, b)| a.name() != b.name())
    {
        return Err(format!(
            "its columns are [{}], the first file's are [{}]",
            names(other),
            names(first)
        ));
    }
    for (a, b) in first.fields().iter().zip(other.fields()) {
        if a.data_type() != b.data_type() {
            return Err(format!(
                "column `{}` is {} here and {} in the first file",
                a.name(),
                b.data_type(),
                a.data_type()
            ));
        }
    }
    Ok(())
}

/// The Arrow type of the table's column `name` (matched exactly, else ignoring case).
fn table_type(table: Option<&StructType>, name: &str) -> Option<(String, DataType)> {
    let table = table?;
    let field = table.field(name).or_else(|| {
        table
            .fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    })?;
    let arrow = DataType::try_from(&field.data_type).ok()?;
    Some((field.name.clone(), arrow))
}

/// An inferred type as a Delta type can hold it: timestamps as microseconds in UTC (a
/// timestamp without a zone is read as UTC), all-null columns as strings.
fn normalize_inferred(data_type: &DataType) -> DataType {
    match data_type {
        DataType::Timestamp(_, _) => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        DataType::Null => DataType::Utf8,
        DataType::List(item) => DataType::List(Arc::new(Field::new(
            item.name(),
            normalize_inferred(item.data_type()),
            true,
        ))),
        DataType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|f| Field::new(f.name(), normalize_inferred(f.data_type()), true))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A reader that counts the bytes read through it, for progress.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R> Counting<R> {
    fn new(inner: R) -> (Self, Arc<AtomicU64>) {
        let count = Arc::new(AtomicU64::new(0));
        (
            Self {
                inner,
                count: Arc::clone(&count),
            },
            count,
        )
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(u64::try_from(n).unwrap_or(0), Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn formats_from_extensions() {
        assert_eq!(
            InputFormat::from_path(Path::new("a/b.PARQUET")),
            Some(InputFormat::Parquet)
        );
        assert_eq!(
            InputFormat::from_path(Path::new("x.jsonl")),
            Some(InputFormat::Ndjson)
        );
        assert_eq!(
            InputFormat::from_path(Path::new("x.csv")),
            Some(InputFormat::Csv)
        );
        assert_eq!(InputFormat::from_path(Path::new("x.txt")), None);
        assert_eq!(InputFormat::from_path(Path::new("x")), None);
    }

    #[test]
    fn column_differences_are_named() {
        let a = Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("v", DataType::Utf8, true),
        ]);
        let b = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("v", DataType::Float64, true),
        ]);
        let c = Schema::new(vec![Field::new("id", DataType::Int64, true)]);
        assert!(same_columns(&a, &a).is_ok());
        let err = same_columns(&a, &b).unwrap_err();
        assert!(err.contains("column `v` is Float64 here and Utf8"), "{err}");
        let err = same_columns(&a, &c).unwrap_err();
        assert!(err.contains("[id]") && err.contains("[id, v]"), "{err}");
    }
}
